"""Onboarding: templates a CS Lead maintains, and the plans accounts follow.

A plan is a copy of its template taken when it starts (milestones, tasks, criteria and
thresholds), so that editing a template changes the plans started afterwards and never
moves the due dates of a customer half-way through.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import BusinessModel, LifecycleStage, Tier, TouchModel
from accounts.models import Account, Contact, Task
from metrics.models import Feature
from onboarding.choices import (
    ActivationMatch,
    CancelReason,
    CriterionKind,
    CriterionRole,
    PlanHealth,
    PlanStatus,
    TaskSide,
)

# Relative due days stop at two years: a longer onboarding is a project, not a plan.
MAX_DUE_DAY = 730
DUE_DAY = [MinValueValidator(0), MaxValueValidator(MAX_DUE_DAY)]


class PlanSettings(models.Model):
    """The thresholds and hand-over settings a template passes on to each plan it starts."""

    activation_match = models.CharField(
        _("activated when"),
        max_length=3,
        choices=ActivationMatch.choices,
        default=ActivationMatch.ALL,
    )
    behind_after_days = models.PositiveSmallIntegerField(
        _("behind after (days late)"),
        default=3,
        validators=[MaxValueValidator(365)],
        help_text=_("A plan is Behind when a task is overdue by more than this many days."),
    )
    stuck_after_days = models.PositiveSmallIntegerField(
        _("stuck after (days without progress)"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_(
            "A plan is Stuck when work is overdue and no task or milestone has moved for "
            "this many days."
        ),
    )
    first_qbr_after_days = models.PositiveSmallIntegerField(
        _("first QBR after (days)"),
        default=30,
        validators=[MaxValueValidator(365)],
        help_text=_("The first QBR is due this many days after onboarding completes."),
    )
    next_stage = models.CharField(
        _("lifecycle stage on completion"),
        max_length=16,
        choices=[c for c in LifecycleStage.choices if c[0] != LifecycleStage.CHURNED],
        default=LifecycleStage.ADOPTION,
    )

    class Meta:
        abstract = True


class OnboardingTemplate(PlanSettings):
    """A reusable onboarding plan for a kind of customer: milestones, tasks, criteria."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    # Which accounts it suits; blank means any.
    touch_model = models.CharField(
        _("touch model"), max_length=8, choices=TouchModel.choices, blank=True
    )
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, blank=True)
    business_model = models.CharField(
        _("B2B or B2C"), max_length=3, choices=BusinessModel.choices, blank=True
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"),
        default=100,
        help_text=_("When several templates suit an account equally well, the lowest number wins."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Archived templates start no new plans.")
    )
    auto_start = models.BooleanField(
        _("start automatically"),
        default=True,
        help_text=_("Start a plan from this template for new accounts in the onboarding stage."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("onboarding template")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("onboarding:template_detail", args=[self.pk])


class TemplateMilestone(models.Model):
    """A step of a template, reached when its tasks are done."""

    template = models.ForeignKey(
        OnboardingTemplate, on_delete=models.CASCADE, related_name="milestones"
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    due_day = models.PositiveSmallIntegerField(
        _("due on day"), validators=DUE_DAY, help_text=_("Days after the plan starts.")
    )

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("template milestone")

    def __str__(self) -> str:
        return self.name


class TemplateTask(models.Model):
    """A task of a template milestone, done by our team or by the customer."""

    milestone = models.ForeignKey(TemplateMilestone, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    side = models.CharField(_("done by"), max_length=8, choices=TaskSide.choices)
    due_day = models.PositiveSmallIntegerField(
        _("due on day"), validators=DUE_DAY, help_text=_("Days after the plan starts.")
    )
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", "due_day", "pk"]
        verbose_name = _("template task")

    def __str__(self) -> str:
        return self.title


class CriterionFields(models.Model):
    """What a criterion asks for; shared by templates and the plans copied from them."""

    role = models.CharField(_("counts towards"), max_length=10, choices=CriterionRole.choices)
    kind = models.CharField(_("criterion"), max_length=16, choices=CriterionKind.choices)
    # A deleted feature leaves the criterion in place, unmet, rather than changing the plan.
    feature = models.ForeignKey(
        Feature,
        verbose_name=_("feature"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    threshold = models.PositiveIntegerField(
        _("at least"), default=1, validators=[MinValueValidator(1)]
    )

    class Meta:
        abstract = True

    @property
    def label(self) -> str:
        kind = CriterionKind(self.kind)
        if kind == CriterionKind.MILESTONE:
            milestone = getattr(self, "milestone", None)
            return str(_("Milestone “%(name)s” completed") % {"name": milestone or "—"})
        if kind.needs_feature:
            feature = self.feature.name if self.feature_id else _("a deleted feature")  # type: ignore[union-attr]
            text = {
                CriterionKind.FEATURE_EVENTS: _("%(n)s events of %(feature)s"),
                CriterionKind.FEATURE_USERS: _("%(n)s end users of %(feature)s"),
            }[kind]
            return str(text % {"n": self.threshold, "feature": feature})
        text = {
            CriterionKind.ACTIVE_USERS: _("%(n)s active end users"),
            CriterionKind.CORE_EVENTS: _("%(n)s core events"),
            CriterionKind.ACTIVE_DAYS: _("%(n)s days with activity"),
        }[kind]
        return str(text % {"n": self.threshold})


class TemplateCriterion(CriterionFields):
    """A condition of a template's activation or of its time-to-value point."""

    template = models.ForeignKey(
        OnboardingTemplate, on_delete=models.CASCADE, related_name="criteria"
    )
    milestone = models.ForeignKey(
        TemplateMilestone,
        verbose_name=_("milestone"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="criteria",
    )

    class Meta:
        ordering = ["role", "pk"]
        verbose_name = _("template criterion")
        verbose_name_plural = _("template criteria")

    def __str__(self) -> str:
        return self.label


class OnboardingPlan(PlanSettings):
    """One account's onboarding, copied from a template when it started."""

    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        related_name="onboarding_plans",
    )
    template = models.ForeignKey(
        OnboardingTemplate,
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plans",
    )
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.ACTIVE
    )
    health = models.CharField(
        _("health"), max_length=10, choices=PlanHealth.choices, default=PlanHealth.ON_TRACK
    )
    health_changed_at = models.DateTimeField(_("health since"), null=True, blank=True)
    started_on = models.DateField(_("started on"))
    target_on = models.DateField(_("target completion"))
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    cancelled_on = models.DateField(_("cancelled on"), null=True, blank=True)
    cancel_reason = models.CharField(
        _("cancel reason"), max_length=12, choices=CancelReason.choices, blank=True
    )
    activated_on = models.DateField(_("activated on"), null=True, blank=True)
    value_on = models.DateField(_("value reached on"), null=True, blank=True)
    first_qbr_due_on = models.DateField(_("first QBR due"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_on", "-pk"]
        verbose_name = _("onboarding plan")
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status="active"),
                name="plan_one_active_per_account",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "health"], name="plan_status_health"),
            models.Index(fields=["started_on"], name="plan_started_on"),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.account_id}"

    def get_absolute_url(self) -> str:
        return reverse("onboarding:plan_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == PlanStatus.ACTIVE

    @property
    def time_to_value_days(self) -> int | None:
        return (self.value_on - self.started_on).days if self.value_on else None

    @property
    def onboarding_days(self) -> int | None:
        return (self.completed_on - self.started_on).days if self.completed_on else None

    @property
    def days_running(self) -> int:
        end = self.completed_on or self.cancelled_on or timezone.localdate()
        return max(0, (end - self.started_on).days)


class PlanMilestone(models.Model):
    """A step of a plan; the current step is the first one not completed."""

    plan = models.ForeignKey(OnboardingPlan, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    due_on = models.DateField(_("due on"))
    # When it became the current step (or was completed before it did).
    started_on = models.DateField(_("started on"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("plan milestone")

    def __str__(self) -> str:
        return self.name

    @property
    def days_in_step(self) -> int | None:
        if self.started_on is None:
            return None
        end = self.completed_on or timezone.localdate()
        return max(0, (end - self.started_on).days)


class PlanShareLink(models.Model):
    """A link to the mutual action plan for the customer's contacts; only its hash is kept."""

    plan = models.ForeignKey(OnboardingPlan, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the token, so people can tell links apart; not enough to use.
    token_prefix = models.CharField(max_length=8)
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("for contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("plan share link")

    def __str__(self) -> str:
        return f"{self.token_prefix}… ({self.plan_id})"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class PlanTask(models.Model):
    """A task of a plan; our side's tasks are mirrored by a CSM task in the accounts app."""

    plan = models.ForeignKey(OnboardingPlan, on_delete=models.CASCADE, related_name="tasks")
    milestone = models.ForeignKey(PlanMilestone, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    side = models.CharField(_("done by"), max_length=8, choices=TaskSide.choices)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    due_on = models.DateField(_("due on"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_by_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_via = models.ForeignKey(
        PlanShareLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The CSM task that puts our side's work in "My book".
    task = models.OneToOneField(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="onboarding_task"
    )

    class Meta:
        ordering = ["position", "due_on", "pk"]
        verbose_name = _("plan task")
        indexes = [models.Index(fields=["plan", "completed_at"], name="plantask_plan_done")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.completed_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.completed_at is None and self.due_on < timezone.localdate()


class PlanCriterion(CriterionFields):
    """A plan's copy of a template criterion, with how far the account has got."""

    plan = models.ForeignKey(OnboardingPlan, on_delete=models.CASCADE, related_name="criteria")
    milestone = models.ForeignKey(
        PlanMilestone, null=True, blank=True, on_delete=models.CASCADE, related_name="criteria"
    )
    current = models.PositiveIntegerField(_("so far"), default=0)
    met_on = models.DateField(_("met on"), null=True, blank=True)

    class Meta:
        ordering = ["role", "pk"]
        verbose_name = _("plan criterion")
        verbose_name_plural = _("plan criteria")
        indexes = [models.Index(fields=["kind", "met_on"], name="plancriterion_kind_met")]

    def __str__(self) -> str:
        return self.label

    @property
    def progress(self) -> int:
        if self.met_on is not None:
            return 100
        return min(100, self.current * 100 // max(1, self.threshold))
