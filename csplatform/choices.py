from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The roles of SPEC §0; each is a Group of the same name."""

    CSM = "CSM", _("CSM")
    CS_LEAD = "CS Lead", _("CS Lead")
    ADMIN = "Admin", _("Admin")
    VIEWER = "Viewer", _("Viewer")


class EmailStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SUPPRESSED = "suppressed", _("Suppressed by preference")


class NotificationCategory(models.TextChoices):
    """Kinds of email a user may switch off. Security emails are always sent."""

    SECURITY = "security", _("Security (password reset)")
    ALERTS = "alerts", _("Account alerts")
    DIGEST = "digest", _("Daily digest")
    REMINDERS = "reminders", _("Task and renewal reminders")
    ASSIGNMENTS = "assignments", _("Assignments to me")

    @classmethod
    def optional(cls) -> list["NotificationCategory"]:
        return [c for c in cls if c != cls.SECURITY]
