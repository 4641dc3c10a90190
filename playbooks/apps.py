from __future__ import annotations

from functools import partial
from typing import Any

from django.apps import AppConfig
from django.db import transaction
from django.utils.translation import gettext_lazy as _


def _evaluate_soon(event: str, account_ids: list[int]) -> None:
    """Evaluate the rules that listen to `event` for these accounts, in the background."""
    from playbooks.tasks import rules_evaluate_event

    if account_ids:
        transaction.on_commit(
            partial(rules_evaluate_event.delay, event, sorted(set(account_ids))), robust=True
        )


def _task_sources_register() -> None:
    """The task list links a task a rule made (source "playbooks") to that rule."""
    from accounts.task_sources import register_task_source
    from playbooks.selectors import rule_task_links

    register_task_source(source="playbooks", links=rule_task_links)


def _health_changed(sender: Any, *, changes: list[Any], **kwargs: Any) -> None:
    from playbooks.triggers import HEALTH

    _evaluate_soon(HEALTH, [c.account_id for c in changes])


def _survey_answered(sender: Any, *, account_ids: list[int], **kwargs: Any) -> None:
    from playbooks.triggers import SURVEY

    _evaluate_soon(SURVEY, account_ids)


def _tickets_recorded(sender: Any, *, account_ids: list[int], **kwargs: Any) -> None:
    from playbooks.triggers import TICKETS

    _evaluate_soon(TICKETS, account_ids)


def _onboarding_changed(sender: Any, **kwargs: Any) -> None:
    from playbooks.triggers import ONBOARDING

    ids = kwargs.get("account_ids") or [c[1] for c in kwargs.get("changes") or []]
    _evaluate_soon(ONBOARDING, list(ids))


def _health_backfilled(sender: Any, *, start: Any, end: Any, **kwargs: Any) -> None:
    """History was rebuilt over several days: every rule sees the new figures at once."""
    if start == end:
        return  # a day's scoring: its changes already went out as health_changed
    from playbooks.tasks import rules_evaluate_scheduled

    transaction.on_commit(rules_evaluate_scheduled.delay, robust=True)


class PlaybooksConfig(AppConfig):
    name = "playbooks"
    verbose_name = _("Playbooks and alerts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.demo import demo_seeded
        from health.signals import health_backfilled, health_changed
        from metrics.services.feedback import survey_responses_recorded, tickets_recorded
        from onboarding.signals import plan_health_changed
        from playbooks.demo import demo_seeded_receiver

        health_changed.connect(_health_changed, dispatch_uid="playbooks.health")
        health_backfilled.connect(_health_backfilled, dispatch_uid="playbooks.backfilled")
        survey_responses_recorded.connect(_survey_answered, dispatch_uid="playbooks.survey")
        _task_sources_register()
        tickets_recorded.connect(_tickets_recorded, dispatch_uid="playbooks.tickets")
        plan_health_changed.connect(_onboarding_changed, dispatch_uid="playbooks.onboarding")
        # After the metrics and health demos (INSTALLED_APPS order): the rules see their data.
        demo_seeded.connect(demo_seeded_receiver, dispatch_uid="playbooks.demo")
