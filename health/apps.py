from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _figures_refreshed(sender: Any, *, account_ids: list[int], day: Any, **kwargs: Any) -> None:
    """New signals moved some accounts' figures: rescore just those, on that day."""
    from health.services.scores import health_recalculate

    health_recalculate(as_of=day, account_ids=account_ids)


def _metrics_recalculated(sender: Any, *, start: Any, end: Any, **kwargs: Any) -> None:
    """Score the days a metric recalculation covered, in the background."""
    from functools import partial

    from django.db import transaction

    from health.tasks import health_after_metrics

    transaction.on_commit(
        partial(health_after_metrics.delay, start.isoformat(), end.isoformat()), robust=True
    )


class HealthConfig(AppConfig):
    name = "health"
    verbose_name = _("Health scoring")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.demo import demo_seeded
        from accounts.panels import register_account_panel
        from health.demo import demo_seeded_receiver
        from health.views import account_health_panel
        from metrics.signals import account_figures_refreshed, metrics_recalculated

        account_figures_refreshed.connect(
            _figures_refreshed, dispatch_uid="health.figures_refreshed"
        )
        metrics_recalculated.connect(_metrics_recalculated, dispatch_uid="health.after_metrics")
        demo_seeded.connect(demo_seeded_receiver, dispatch_uid="health.demo")
        # First on the 360 page: the one figure a CSM looks at before anything else.
        register_account_panel(
            key="health",
            template="health/account_panel.html",
            context=account_health_panel,
            order=1,
        )
