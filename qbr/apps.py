from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _onboarding_completed(sender: Any, *, account_id: int, **kwargs: Any) -> None:
    """A new customer finished onboarding: its first QBR is planned at once, answering the
    "Hold the first QBR" task onboarding put in the owner's book."""
    from qbr.services.qbrs import first_qbr_plan

    first_qbr_plan(account_id=account_id, due_on=kwargs.get("first_qbr_due_on"))


class QbrConfig(AppConfig):
    name = "qbr"
    verbose_name = _("QBRs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.demo import demo_seeded
        from accounts.panels import register_account_panel
        from onboarding.signals import onboarding_completed
        from qbr.demo import demo_seeded_receiver
        from qbr.views import account_qbr_panel

        onboarding_completed.connect(_onboarding_completed, dispatch_uid="qbr.onboarding_completed")
        demo_seeded.connect(demo_seeded_receiver, dispatch_uid="qbr.demo")
        register_account_panel(
            key="qbr", template="qbr/account_panel.html", context=account_qbr_panel, order=9
        )
