"""Health scoring (SPEC §4): scorecards and their versions, scores, history, overrides."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Account
from health.choices import Color, ScoringMethod, Sentiment, VersionStatus

PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class Scorecard(models.Model):
    """A health model that applies to the accounts matching its segment criteria."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    # The first active scorecard (lowest priority number) whose criteria match an account
    # scores it; the default one scores the accounts no other scorecard claims.
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    is_default = models.BooleanField(_("default scorecard"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    # Empty list: any value. Values are the choices of the account fields of the same name.
    tiers = models.JSONField(_("tiers"), default=list, blank=True)
    touch_models = models.JSONField(_("touch models"), default=list, blank=True)
    business_models = models.JSONField(_("B2B or B2C"), default=list, blank=True)
    lifecycle_stages = models.JSONField(_("lifecycle stages"), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "priority", "name"]
        verbose_name = _("scorecard")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="scorecard_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("health:scorecard", args=[self.pk])


class ScorecardVersion(models.Model):
    """One edition of a scorecard's tree and colour bands: a draft, published or archived."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    # Scores up to red_max are red, up to yellow_max yellow, above green (SPEC §4 default
    # 0–50 red, 51–75 yellow, 76–100 green).
    red_max = models.DecimalField(
        _("red up to"), max_digits=5, decimal_places=2, default=Decimal(50), validators=PERCENT
    )
    yellow_max = models.DecimalField(
        _("yellow up to"), max_digits=5, decimal_places=2, default=Decimal(75), validators=PERCENT
    )
    note = models.CharField(_("what changed"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["scorecard", "-number"]
        verbose_name = _("scorecard version")
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "number"], name="version_number_unique"),
            models.UniqueConstraint(
                fields=["scorecard"],
                condition=Q(status="published"),
                name="version_one_published",
            ),
            models.UniqueConstraint(
                fields=["scorecard"], condition=Q(status="draft"), name="version_one_draft"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scorecard} v{self.number} ({self.get_status_display()})"

    def color_of(self, score: Decimal | None) -> str | None:
        if score is None:
            return None
        if score <= self.red_max:
            return Color.RED
        if score <= self.yellow_max:
            return Color.YELLOW
        return Color.GREEN


class MeasureGroup(models.Model):
    """A weighted group of measures (Product usage, Support, Sentiment, ...)."""

    version = models.ForeignKey(ScorecardVersion, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(_("name"), max_length=80)
    # Percent of the scorecard; a version's group weights add up to 100.
    weight = models.DecimalField(_("weight %"), max_digits=5, decimal_places=2, validators=PERCENT)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["version", "position", "pk"]
        verbose_name = _("measure group")

    def __str__(self) -> str:
        return self.name


class Measure(models.Model):
    """One measure of a group: a registered kind of raw value mapped to 0–100."""

    group = models.ForeignKey(MeasureGroup, on_delete=models.CASCADE, related_name="measures")
    # A key of health.measures' registry.
    kind = models.CharField(_("measure"), max_length=40)
    label = models.CharField(_("label"), max_length=80, blank=True)
    # Percent of its group; a group's measure weights add up to 100.
    weight = models.DecimalField(_("weight %"), max_digits=5, decimal_places=2, validators=PERCENT)
    position = models.PositiveSmallIntegerField(default=0)
    method = models.CharField(
        _("scoring"), max_length=8, choices=ScoringMethod.choices, default=ScoringMethod.BANDS
    )
    # Bands: [{"from": <lowest raw value of the band>, "score": 0–100}, ...]; a value below
    # every "from" scores the lowest band's score.
    bands = models.JSONField(_("bands"), default=list, blank=True)
    # Linear: `low` scores 0 and `high` scores 100, clamped (low > high for "less is better").
    low = models.DecimalField(
        _("value scoring 0"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    high = models.DecimalField(
        _("value scoring 100"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    # Options of the kind, e.g. {"feature": "reports"} or {"field": "overdue_invoices"}.
    options = models.JSONField(_("options"), default=dict, blank=True)

    class Meta:
        ordering = ["group", "position", "pk"]
        verbose_name = _("measure")

    def __str__(self) -> str:
        return self.label or self.kind


class HealthScore(models.Model):
    """An account's current health: the computed score, the effective one, and why."""

    account = models.OneToOneField(
        Account, primary_key=True, on_delete=models.CASCADE, related_name="health"
    )
    version = models.ForeignKey(
        ScorecardVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    as_of = models.DateField(_("as of"))
    # What the scorecard says (None when every measure is NA) ...
    computed_score = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    computed_color = models.CharField(max_length=6, choices=Color.choices, blank=True)
    # ... and what counts: an active override wins until it expires.
    score = models.DecimalField(_("health score"), max_digits=5, decimal_places=2, null=True)
    color = models.CharField(_("colour"), max_length=6, choices=Color.choices, blank=True)
    overridden = models.BooleanField(default=False)
    # {"raw": [...], "scores": [...], "groups": [...]} in the version's measure and group
    # order; contributions are derived from them and the weights (health.selectors).
    details = models.JSONField(default=dict)
    # The same as of the last earlier day scored, for "what changed since yesterday".
    previous_as_of = models.DateField(null=True, blank=True)
    previous_details = models.JSONField(default=dict)
    previous_score = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    previous_color = models.CharField(max_length=6, choices=Color.choices, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("health score")
        indexes = [models.Index(fields=["color", "score"], name="health_color_score")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.score} ({self.color})"


class HealthScoreHistory(models.Model):
    """An account's health on one day (the daily history behind trends and charts)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    date = models.DateField()
    score = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    computed_score = models.DecimalField(max_digits=5, decimal_places=2, null=True)
    color = models.CharField(max_length=6, choices=Color.choices, blank=True)
    version = models.ForeignKey(
        ScorecardVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Group scores that day, in the version's group order.
    groups = models.JSONField(default=list)

    class Meta:
        verbose_name = _("health history")
        verbose_name_plural = _("health history")
        constraints = [
            models.UniqueConstraint(fields=["account", "date"], name="health_history_one_per_day")
        ]
        indexes = [models.Index(fields=["date"], name="health_history_date")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.date}: {self.score}"


class OverrideBase(models.Model):
    """What a CSM sets by hand: with a reason, until an expiry date, never wiped silently."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField(_("reason"))
    expires_on = models.DateField(_("expires on"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # "expired", "removed" (by a person) or "replaced" (by a newer one).
    end_reason = models.CharField(max_length=10, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class HealthOverride(OverrideBase):
    """A manual health score for an account until its expiry date."""

    score = models.DecimalField(_("score"), max_digits=5, decimal_places=2, validators=PERCENT)

    class Meta(OverrideBase.Meta):
        verbose_name = _("health override")
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(ended_at__isnull=True), name="override_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.score} until {self.expires_on}"


class CsmSentiment(OverrideBase):
    """The CSM's reading of an account, scored by the csm_sentiment measure until it expires."""

    sentiment = models.CharField(_("sentiment"), max_length=10, choices=Sentiment.choices)

    class Meta(OverrideBase.Meta):
        verbose_name = _("CSM sentiment")
        constraints = [
            models.UniqueConstraint(
                fields=["account"], condition=Q(ended_at__isnull=True), name="sentiment_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.sentiment} until {self.expires_on}"
