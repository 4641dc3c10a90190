from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from csplatform.choices import NotificationCategory, Role

# The permission that only each role (and the ones above it) holds; see csplatform.roles.
ROLE_MARKERS = (
    (Role.ADMIN, "csplatform.change_user"),
    (Role.CS_LEAD, "accounts.change_any_account"),
    (Role.CSM, "accounts.change_account"),
    (Role.VIEWER, "accounts.view_account"),
)


class User(AbstractUser):
    """A person who logs in: CSM, CS Lead, Admin or Viewer (the role is a group)."""

    email = models.EmailField(_("email address"), blank=True, db_index=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    # {category: bool}; a missing category means "on".
    notification_preferences = models.JSONField(
        _("notification preferences"), default=dict, blank=True
    )

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]
        swappable = "AUTH_USER_MODEL"
        ordering = ["first_name", "last_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def role(self) -> Role | None:
        """The highest role the user holds (Admin > CS Lead > CSM > Viewer).

        Read from the permissions the role groups grant (csplatform.roles), which every page
        loads anyway for its navigation, rather than from a query of its own for group names.
        """
        if self.is_superuser:
            return Role.ADMIN
        if not self.is_active:
            return None
        perms = self.get_all_permissions()
        for role, marker in ROLE_MARKERS:
            if marker in perms:
                return role
        return None

    @property
    def is_cs_lead_or_admin(self) -> bool:
        return self.role in (Role.ADMIN, Role.CS_LEAD)

    def wants_email(self, category: str) -> bool:
        if category == NotificationCategory.SECURITY:
            return True
        return bool(self.notification_preferences.get(category, True))
