from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CsplatformConfig(AppConfig):
    name = "csplatform"
    verbose_name = _("Platform")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from csplatform.roles import roles_sync

        # After the last app's migrations so that every permission exists.
        post_migrate.connect(roles_sync, dispatch_uid="csplatform.roles_sync")
