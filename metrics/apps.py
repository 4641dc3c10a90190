from __future__ import annotations

from functools import partial
from typing import Any

from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


def _account_saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """An account with an external id may be the one waiting end users named in `group`."""
    if raw or not instance.external_id:
        return
    from metrics.tasks.ingestion import events_attach_account

    # After commit, so the task sees the account; robust, so a broker outage never fails
    # the save (the periodic sweep attaches the events later).
    transaction.on_commit(partial(events_attach_account.delay, instance.pk), robust=True)


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Signals and metrics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.demo import demo_seeded
        from accounts.models import Account
        from metrics.demo import demo_seeded_receiver

        demo_seeded.connect(demo_seeded_receiver, dispatch_uid="metrics.demo_signals")

        from metrics.services.engine import _feedback_recorded
        from metrics.services.feedback import survey_responses_recorded, tickets_recorded

        # New tickets and answers move figures (open tickets, NPS): refresh those accounts.
        tickets_recorded.connect(_feedback_recorded, dispatch_uid="metrics.queue.tickets")
        survey_responses_recorded.connect(_feedback_recorded, dispatch_uid="metrics.queue.answers")
        post_save.connect(_account_saved, sender=Account, dispatch_uid="metrics.account_saved")

        from accounts.panels import register_account_panel
        from metrics.views_dashboard import account_usage_panel

        register_account_panel(
            key="usage",
            template="metrics/dashboard/account_panel.html",
            context=account_usage_panel,
            order=10,
        )

        from metrics.views_feedback import account_feedback_panel

        register_account_panel(
            key="feedback",
            template="metrics/feedback/account_panel.html",
            context=account_feedback_panel,
            order=20,
        )
