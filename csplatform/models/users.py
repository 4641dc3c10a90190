from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from csplatform.choices import NotificationCategory, Role


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
        """The highest role the user holds (Admin > CS Lead > CSM > Viewer)."""
        if self.is_superuser:
            return Role.ADMIN
        names = {g.name for g in self.groups.all()}
        for role in (Role.ADMIN, Role.CS_LEAD, Role.CSM, Role.VIEWER):
            if role.value in names:
                return role
        return None

    @property
    def is_cs_lead_or_admin(self) -> bool:
        return self.role in (Role.ADMIN, Role.CS_LEAD)

    def wants_email(self, category: str) -> bool:
        if category == NotificationCategory.SECURITY:
            return True
        return bool(self.notification_preferences.get(category, True))
