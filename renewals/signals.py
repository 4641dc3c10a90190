"""Announcements of the renewals app to the apps built on it (playbooks, qbr).

Each is sent with csplatform.signals.announce_on_commit once the transaction that made the
change commits, with ids only, so a receiver reads fresh rows and a failing receiver never
undoes the change.

- renewal_closed: renewal_id, account_id, outcome (an Outcome value), automatic (True when
  the platform closed it: an auto-renewal, or a subscription changed by hand or import).
- renewals_risk_changed: at_risk (renewal ids that became at risk) and recovered (ids that
  no longer are); playbooks start rescue plays from it.
- renewal_reminders_due: reminders, a list of (renewal_id, account_id, kind, lead_days) for
  the lead times reached today ("renewal in N days", "cancellation deadline in N days").
"""

from django.dispatch import Signal

renewal_closed = Signal()
renewals_risk_changed = Signal()
renewal_reminders_due = Signal()
