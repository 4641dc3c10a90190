from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from csplatform.choices import EmailStatus, NotificationCategory


class OutboundEmail(models.Model):
    """One email to send, keyed so that a retried or duplicated job never sends it twice."""

    idempotency_key = models.CharField(max_length=255, unique=True)
    category = models.CharField(max_length=32, choices=NotificationCategory.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to = models.JSONField(default=list)
    from_email = models.CharField(max_length=255)
    subject = models.CharField(max_length=998)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    headers = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=EmailStatus.choices, default=EmailStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outbound email")
        indexes = [
            # The sweeper looks for pending rows that no worker picked up.
            models.Index(fields=["status", "updated_at"], name="outbox_status_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)} [{self.status}]"
