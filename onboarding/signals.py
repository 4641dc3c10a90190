"""Announcements of the onboarding app to the apps built on it (health, playbooks, qbr).

Each is sent with csplatform.signals.announce_on_commit once the transaction that made the
change commits, with ids only, so a receiver reads fresh rows and a failing receiver never
undoes the change.

- plan_started: plan_ids, account_ids.
- plan_health_changed: changes, a list of (plan_id, account_id, health) where health is a
  PlanHealth value; playbooks fire "plan stalled" from it.
- plan_activated: plan_ids, account_ids (activation criteria met).
- onboarding_completed: plan_id, account_id, completed_on, time_to_value_days (None when
  the value point was not reached) and first_qbr_due_on; the qbr app schedules the first
  QBR from it.
"""

from django.dispatch import Signal

plan_started = Signal()
plan_health_changed = Signal()
plan_activated = Signal()
onboarding_completed = Signal()
