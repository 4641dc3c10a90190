"""What customers tell us: support tickets and survey answers (NPS, CSAT, CES)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import LifecycleStage
from accounts.models import Account, BaseImportJob, Contact
from metrics.choices import ResponseSource, SurveyKind, TicketChannel, TicketPriority, TicketStatus


class Ticket(models.Model):
    """A support ticket raised by a customer."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tickets")
    external_id = models.CharField(
        _("external id"), max_length=100, null=True, blank=True, unique=True
    )
    requester_email = models.EmailField(_("requester"), blank=True)
    subject = models.CharField(_("subject"), max_length=255)
    channel = models.CharField(
        _("channel"), max_length=8, choices=TicketChannel.choices, default=TicketChannel.EMAIL
    )
    priority = models.CharField(
        _("priority"), max_length=2, choices=TicketPriority.choices, default=TicketPriority.P3
    )
    status = models.CharField(
        _("status"), max_length=8, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    is_escalation = models.BooleanField(_("escalation"), default=False)
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "opened_at"], name="ticket_account_opened"),
            models.Index(fields=["opened_at"], name="ticket_opened"),
        ]

    def __str__(self) -> str:
        return self.subject


class SurveySchedule(models.Model):
    """When to email a survey to contacts: a first send after a start, then every N days."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("survey"), max_length=4, choices=SurveyKind.choices, default=SurveyKind.NPS
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    first_after_days = models.PositiveIntegerField(
        _("first send after (days)"),
        default=90,
        help_text=_("Days after the customer started (onboarding start, else customer since)."),
    )
    repeat_every_days = models.PositiveIntegerField(_("then every (days)"), default=182)
    quiet_period_days = models.PositiveIntegerField(
        _("quiet period (days)"),
        default=60,
        help_text=_("Never survey the same contact twice within this many days."),
    )

    def __str__(self) -> str:
        return self.name


class SurveySend(models.Model):
    """One survey emailed to one contact, answered once through a signed link."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="survey_sends")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=4, choices=SurveyKind.choices)
    schedule = models.ForeignKey(
        SurveySchedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="sends"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    sent_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["contact", "-sent_at"], name="surveysend_contact_sent")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.contact_id} ({self.sent_at:%Y-%m-%d})"


class SurveyResponse(models.Model):
    """An NPS (0–10), CSAT (1–5) or CES (1–7) answer, with the stage the account was in."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="survey_responses")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="survey_responses"
    )
    kind = models.CharField(_("survey"), max_length=4, choices=SurveyKind.choices)
    score = models.PositiveSmallIntegerField(
        _("score"), validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    comment = models.TextField(_("comment"), blank=True)
    lifecycle_stage = models.CharField(
        _("stage at the time"), max_length=16, choices=LifecycleStage.choices, blank=True
    )
    responded_at = models.DateTimeField(_("answered"), default=timezone.now)
    source = models.CharField(
        max_length=8, choices=ResponseSource.choices, default=ResponseSource.API
    )
    survey_send = models.OneToOneField(
        SurveySend, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-responded_at", "-pk"]
        indexes = [
            models.Index(fields=["kind", "responded_at"], name="response_kind_time"),
            models.Index(fields=["account", "kind", "responded_at"], name="response_account_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(kind="nps", score__lte=10)
                    | models.Q(kind="csat", score__gte=1, score__lte=5)
                    | models.Q(kind="ces", score__gte=1, score__lte=7)
                ),
                name="response_score_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score}"


class FeedbackImport(BaseImportJob):
    """A CSV of tickets or survey responses: previewed with per-row errors, then committed."""

    class Kind(models.TextChoices):
        TICKETS = "tickets", _("Support tickets")
        SURVEY_RESPONSES = "survey_responses", _("Survey responses")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("feedback CSV import")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename}"
