from __future__ import annotations

from functools import partial
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


def _account_saved(
    sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any
) -> None:
    """A new account in the onboarding stage may get a plan from the matching template; a
    churned one stops its plan."""
    from accounts.choices import AccountStatus, LifecycleStage
    from onboarding.tasks import plan_autostart_account, plans_stop_churned

    if raw:
        return
    if instance.status == AccountStatus.CHURNED and not created:
        # After commit, so the task sees the account; robust, so a broker outage never
        # fails the save.
        transaction.on_commit(partial(plans_stop_churned.delay, instance.pk), robust=True)
        return
    if not created or not settings.ONBOARDING_AUTO_START:
        return
    if instance.lifecycle_stage != LifecycleStage.ONBOARDING:
        return
    # The periodic sweep starts the plan later if the broker is down now.
    transaction.on_commit(partial(plan_autostart_account.delay, instance.pk), robust=True)


def _csm_task_completed(sender: Any, task: Any, actor: Any = None, **kwargs: Any) -> None:
    from onboarding.services.plans import SOURCE, plan_task_done_from_csm_task

    if task.source == SOURCE:
        plan_task_done_from_csm_task(task=task, actor=actor)


def _usage_recorded(sender: Any, **kwargs: Any) -> None:
    from onboarding.tasks import plans_detect_soon

    plans_detect_soon()


class OnboardingConfig(AppConfig):
    name = "onboarding"
    verbose_name = _("Onboarding")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.demo import demo_seeded
        from accounts.models import Account
        from accounts.panels import register_account_panel
        from accounts.signals import task_completed
        from metrics.registry import register_snapshot_source
        from metrics.signals import usage_recorded
        from onboarding.demo import demo_seeded_receiver
        from onboarding.selectors import snapshot_rows
        from onboarding.views import account_onboarding_panel

        post_save.connect(_account_saved, sender=Account, dispatch_uid="onboarding.account_saved")
        task_completed.connect(_csm_task_completed, dispatch_uid="onboarding.task_completed")
        usage_recorded.connect(_usage_recorded, dispatch_uid="onboarding.usage_recorded")
        demo_seeded.connect(demo_seeded_receiver, dispatch_uid="onboarding.demo_plans")
        register_account_panel(
            key="onboarding",
            template="onboarding/account_panel.html",
            context=account_onboarding_panel,
            order=5,
        )
        register_snapshot_source(key="onboarding", source=snapshot_rows)
