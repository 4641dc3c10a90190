"""Renewals (SPEC §7): one per subscription term, its forecast, outcome and offboarding.

A renewal is created for every paid subscription line with an end date and follows the
line while it is open (date, notice deadline, MRR, owner); closing it decides the line's
future (a successor line, or a cancellation) and freezes what it was worth, so that the
realised retention of a period can be read from closed renewals.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Contact, Subscription, Task
from csplatform.models import OutboundEmail
from renewals.choices import (
    ChurnType,
    Communication,
    CounterOfferKind,
    CounterOfferStatus,
    ForecastCategory,
    Outcome,
    ReasonCode,
    ReminderKind,
    RenewalStage,
    WinBackStatus,
    WouldReturn,
)

PERCENT = [MinValueValidator(0), MaxValueValidator(100)]


class Renewal(models.Model):
    """One subscription term coming up for renewal: forecast while open, outcome once closed."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="renewals")
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="renewals"
    )
    # The account's owner while open (kept in step), frozen when closed.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="renewals",
    )
    renewal_date = models.DateField(_("renewal date"))
    notice_deadline = models.DateField(_("cancellation deadline"))
    # MRR of the line up for renewal (ARR = 12 × MRR), in the line's currency.
    mrr = models.DecimalField(_("MRR up for renewal"), max_digits=16, decimal_places=4)
    currency = models.CharField(_("currency"), max_length=3, default="USD")

    stage = models.CharField(
        _("stage"), max_length=12, choices=RenewalStage.choices, default=RenewalStage.NOT_STARTED
    )
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PROBABLE,
    )
    probability = models.PositiveSmallIntegerField(
        _("probability %"), default=70, validators=PERCENT
    )
    # Set once a person chose the category: risk changes then no longer move it.
    forecast_manual = models.BooleanField(default=False)
    expected_outcome = models.CharField(
        _("expected outcome"), max_length=10, choices=Outcome.choices, blank=True
    )
    expected_arr = models.DecimalField(
        _("expected ARR"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("What the customer is expected to renew at; empty: the current ARR."),
    )
    notes = models.TextField(_("notes and next steps"), blank=True)

    # The outcome, once closed.
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    outcome_mrr = models.DecimalField(
        _("MRR after the renewal"), max_digits=16, decimal_places=4, null=True, blank=True
    )
    # The first day the outcome moves MRR: the successor's start, or the day after the last
    # paid day of a churned line (the metric engine's rule).
    effective_on = models.DateField(_("effective from"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    successor = models.ForeignKey(
        Subscription,
        verbose_name=_("next term"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(_("reason"), max_length=20, choices=ReasonCode.choices, blank=True)
    churn_type = models.CharField(
        _("churn type"), max_length=12, choices=ChurnType.choices, blank=True
    )
    reason_note = models.TextField(_("about the reason"), blank=True)
    competitor = models.CharField(_("competitor moved to"), max_length=120, blank=True)

    # Risk, refreshed set-based from health, usage, escalations and NPS (services.risk).
    health_color = models.CharField(_("health colour"), max_length=6, blank=True)
    usage_change = models.DecimalField(
        _("usage change %"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    escalations_open = models.PositiveIntegerField(_("open escalations"), default=0)
    nps_last = models.PositiveSmallIntegerField(_("last NPS answer"), null=True, blank=True)
    risk_health = models.BooleanField(default=False)
    risk_usage = models.BooleanField(default=False)
    risk_escalations = models.BooleanField(default=False)
    risk_nps = models.BooleanField(default=False)
    at_risk = models.BooleanField(_("at risk"), default=False)
    risk_checked_at = models.DateTimeField(null=True, blank=True)
    mitigation_started_on = models.DateField(_("mitigation plan since"), null=True, blank=True)

    # Win-back of a churned customer.
    win_back_status = models.CharField(
        _("win-back"), max_length=8, choices=WinBackStatus.choices, blank=True
    )
    win_back_next_on = models.DateField(_("approach again on"), null=True, blank=True)
    won_back_on = models.DateField(_("won back on"), null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["renewal_date", "pk"]
        verbose_name = _("renewal")
        indexes = [
            models.Index(fields=["renewal_date"], name="renewal_date"),
            models.Index(fields=["owner", "renewal_date"], name="renewal_owner_date"),
            models.Index(fields=["account", "renewal_date"], name="renewal_account_date"),
            # Realised retention reads closed renewals by the day they took effect.
            models.Index(fields=["outcome", "effective_on"], name="renewal_outcome_effective"),
        ]
        constraints = [
            # The sync's INSERT relies on these to be idempotent.
            models.UniqueConstraint(
                fields=["subscription"], condition=Q(outcome=""), name="renewal_one_open_per_line"
            ),
            models.UniqueConstraint(
                fields=["subscription", "renewal_date"], name="renewal_one_per_term"
            ),
            models.CheckConstraint(
                condition=(Q(outcome="") & Q(closed_on__isnull=True) & ~Q(stage="closed"))
                | (~Q(outcome="") & Q(closed_on__isnull=False) & Q(stage="closed")),
                name="renewal_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=Q(probability__lte=100), name="renewal_probability_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} · {self.renewal_date:%Y-%m-%d}"

    def get_absolute_url(self) -> str:
        return reverse("renewals:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return not self.outcome

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12

    @property
    def outcome_arr(self) -> Decimal | None:
        return None if self.outcome_mrr is None else self.outcome_mrr * 12

    @property
    def forecast_arr(self) -> Decimal:
        """What the owner expects to renew: the expected ARR, else the current one."""
        return self.expected_arr if self.expected_arr is not None else self.arr

    @property
    def weighted_arr(self) -> Decimal:
        return self.forecast_arr * self.probability / 100

    @property
    def days_left(self) -> int:
        return (self.renewal_date - timezone.localdate()).days

    @property
    def notice_days_left(self) -> int:
        return (self.notice_deadline - timezone.localdate()).days

    @property
    def risk_reasons(self) -> list[str]:
        """The flags that made it at risk, as the keys of RiskFlag."""
        flags = (
            ("health", self.risk_health),
            ("usage", self.risk_usage),
            ("escalations", self.risk_escalations),
            ("nps", self.risk_nps),
        )
        return [key for key, on in flags if on]


class CounterOffer(models.Model):
    """Something offered to keep a customer (payment extension, free months, consulting)."""

    renewal = models.ForeignKey(Renewal, on_delete=models.CASCADE, related_name="counter_offers")
    kind = models.CharField(_("offer"), max_length=20, choices=CounterOfferKind.choices)
    description = models.CharField(_("details"), max_length=255, blank=True)
    value = models.DecimalField(
        _("value"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("What it costs us, in the renewal's currency (optional)."),
    )
    offered_on = models.DateField(_("offered on"), default=timezone.localdate)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=CounterOfferStatus.choices,
        default=CounterOfferStatus.OFFERED,
    )
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-offered_on", "-pk"]
        verbose_name = _("counter-offer")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="offered", decided_on__isnull=True)
                | (~Q(status="offered") & Q(decided_on__isnull=False)),
                name="counteroffer_decided_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"


# What the owner of an open renewal sets by hand (form, API, services.forecast).
FORECAST_FIELDS = (
    "stage",
    "forecast_category",
    "probability",
    "expected_outcome",
    "expected_arr",
    "notes",
)
# The answers of an exit interview, as the form and the API take them.
INTERVIEW_FIELDS = (
    "contact",
    "interviewed_on",
    "why_cancel",
    "used_for",
    "biggest_benefit",
    "how_to_improve",
    "communication",
    "communication_note",
    "moving_to",
    "would_return",
)


class ExitInterview(models.Model):
    """The standard questions asked of a customer who leaves (SPEC §7)."""

    renewal = models.OneToOneField(Renewal, on_delete=models.CASCADE, related_name="exit_interview")
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("interviewee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    interviewed_on = models.DateField(_("interviewed on"), default=timezone.localdate)
    conducted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    why_cancel = models.TextField(_("Why are you cancelling?"))
    used_for = models.TextField(_("What did you use the product for?"))
    biggest_benefit = models.TextField(_("What was the biggest benefit?"), blank=True)
    how_to_improve = models.TextField(_("How could we improve?"))
    communication = models.CharField(
        _("Did our team communicate well?"), max_length=8, choices=Communication.choices
    )
    communication_note = models.TextField(_("About our communication"), blank=True)
    moving_to = models.CharField(
        _("Who are you moving to?"),
        max_length=120,
        blank=True,
        help_text=_("A competitor, an in-house tool, or leave empty for nobody."),
    )
    would_return = models.CharField(
        _("Would you consider coming back?"),
        max_length=6,
        choices=WouldReturn.choices,
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-interviewed_on", "-pk"]
        verbose_name = _("exit interview")

    def __str__(self) -> str:
        return f"{self.renewal.account}: {self.interviewed_on:%Y-%m-%d}"


class RenewalReminder(models.Model):
    """A reminder due at a lead time before a renewal's date or notice deadline.

    The row is claimed before its task and email are made, and its unique key makes a
    second run (or two at once) find it already there: one reminder per lead time.
    """

    renewal = models.ForeignKey(Renewal, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=8, choices=ReminderKind.choices)
    lead_days = models.PositiveSmallIntegerField()
    # The date it counts down to (the renewal date or the notice deadline at the time).
    target_date = models.DateField()
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.ForeignKey(
        OutboundEmail, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("renewal reminder")
        constraints = [
            models.UniqueConstraint(
                fields=["renewal", "kind", "lead_days", "target_date"],
                name="reminder_once_per_lead_time",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(processed_at__isnull=True),
                name="reminder_unprocessed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.renewal_id} {self.kind} −{self.lead_days}d"
