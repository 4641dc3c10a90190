from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _figures_refreshed(sender: Any, *, account_ids: list[int], day: Any, **kwargs: Any) -> None:
    """New signals moved some accounts' figures: rescore just those, on that day."""
    from health.services.scores import health_recalculate

    health_recalculate(as_of=day, account_ids=account_ids)


class HealthConfig(AppConfig):
    name = "health"
    verbose_name = _("Health scoring")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from metrics.signals import account_figures_refreshed

        account_figures_refreshed.connect(
            _figures_refreshed, dispatch_uid="health.figures_refreshed"
        )
