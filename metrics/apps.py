from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = _("Signals and metrics")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.demo import demo_seeded
        from metrics.demo import demo_seeded_receiver

        demo_seeded.connect(demo_seeded_receiver, dispatch_uid="metrics.demo_signals")
