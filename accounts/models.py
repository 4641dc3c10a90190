from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import (
    AccountStatus,
    ActivityKind,
    BillingPeriod,
    BusinessModel,
    DiscountType,
    GoalStatus,
    ImportKind,
    ImportStatus,
    LifecycleStage,
    PowerRole,
    SubscriptionStatus,
    TaskKind,
    TaskPriority,
    TaskStatus,
    Tier,
    TouchModel,
)

# Money is max_digits=14, decimal_places=2; MRR keeps four places so that sums of 1/12ths
# do not drift, and is shown with two.


class Tag(models.Model):
    """A free label on accounts (e.g. "beta", "strategic")."""

    name = models.CharField(_("name"), max_length=64, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    """A customer company."""

    name = models.CharField(_("name"), max_length=200, db_index=True)
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        null=True,
        blank=True,
        unique=True,
        help_text=_("The CRM id; unique when set."),
    )
    domain = models.CharField(_("domain"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code"))
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    tier = models.CharField(_("tier"), max_length=16, choices=Tier.choices, default=Tier.SMB)
    touch_model = models.CharField(
        _("touch model"), max_length=8, choices=TouchModel.choices, default=TouchModel.LOW
    )
    business_model = models.CharField(
        _("B2B or B2C"), max_length=3, choices=BusinessModel.choices, default=BusinessModel.B2B
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=16,
        choices=LifecycleStage.choices,
        default=LifecycleStage.ONBOARDING,
    )
    status = models.CharField(
        _("status"), max_length=8, choices=AccountStatus.choices, default=AccountStatus.ACTIVE
    )
    customer_since = models.DateField(_("customer since"), null=True, blank=True)
    churned_at = models.DateField(_("churned at"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner (CSM)"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_accounts",
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="children",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="accounts")
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    years_in_business = models.PositiveSmallIntegerField(
        _("years in business"), null=True, blank=True
    )
    single_decision_maker = models.BooleanField(_("single decision maker"), default=False)
    next_tier_price_threshold = models.DecimalField(
        _("next price-tier threshold"), null=True, blank=True, max_digits=14, decimal_places=2
    )
    # Read model kept by accounts.services.account_financials_refresh (set-based).
    mrr = models.DecimalField(_("MRR"), default=Decimal("0"), max_digits=16, decimal_places=4)
    renewal_date = models.DateField(_("next renewal date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("account")
        permissions = [("change_any_account", _("Can change any account, whoever owns it"))]
        indexes = [
            models.Index(fields=["owner", "name"], name="account_owner_name"),
            models.Index(fields=["renewal_date"], name="account_renewal_date"),
            models.Index(fields=["-mrr", "id"], name="account_mrr_desc"),
            models.Index(fields=["status", "lifecycle_stage"], name="account_status_stage"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("accounts:detail", args=[self.pk])

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12

    @property
    def tenure_days(self) -> int | None:
        if not self.customer_since:
            return None
        end = self.churned_at or timezone.localdate()
        return (end - self.customer_since).days

    @property
    def days_to_renewal(self) -> int | None:
        if not self.renewal_date:
            return None
        return (self.renewal_date - timezone.localdate()).days


class Contact(models.Model):
    """A person at a customer, with their place in the power map."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    title = models.CharField(_("title"), max_length=150, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    power_role = models.CharField(
        _("power-map role"), max_length=20, choices=PowerRole.choices, default=PowerRole.USER
    )
    is_primary = models.BooleanField(_("primary contact"), default=False)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    anniversary = models.DateField(_("work anniversary"), null=True, blank=True)
    last_contacted_at = models.DateTimeField(_("last contacted"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "last_name", "first_name", "pk"]
        verbose_name = _("contact")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "email"],
                condition=~Q(email=""),
                name="contact_unique_email_per_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def full_name(self) -> str:
        return str(self)


class Subscription(models.Model):
    """A contract line: what the customer pays for, how often, and until when."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="subscriptions")
    plan_name = models.CharField(_("plan / tier"), max_length=100)
    product = models.CharField(_("product"), max_length=100, blank=True)
    quantity = models.PositiveIntegerField(_("quantity (licenses)"), default=1)
    unit_price = models.DecimalField(
        _("list price per unit per billing period"),
        validators=[MinValueValidator(0)],
        max_digits=14,
        decimal_places=2,
    )
    discount_type = models.CharField(
        _("discount type"), max_length=8, choices=DiscountType.choices, default=DiscountType.NONE
    )
    discount_value = models.DecimalField(
        _("discount"),
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
        max_digits=14,
        decimal_places=2,
    )
    billing_period = models.CharField(
        _("billing period"),
        max_length=12,
        choices=BillingPeriod.choices,
        default=BillingPeriod.MONTHLY,
    )
    billing_period_months = models.PositiveSmallIntegerField(
        _("months in billing period"),
        default=1,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text=_("Set by the billing period; enter it for 'every N months'."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    one_time_fees = models.DecimalField(
        _("one-time fees"),
        default=Decimal("0"),
        validators=[MinValueValidator(0)],
        max_digits=14,
        decimal_places=2,
    )
    mrr = models.DecimalField(
        _("MRR"), default=Decimal("0"), editable=False, max_digits=16, decimal_places=4
    )
    signed_on = models.DateField(_("signed on"), null=True, blank=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date (renewal date)"), null=True, blank=True)
    notice_period_days = models.PositiveSmallIntegerField(_("notice period (days)"), default=30)
    auto_renew = models.BooleanField(_("auto-renew"), default=True)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.ACTIVE,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["end_date", "pk"]
        verbose_name = _("subscription")
        indexes = [
            models.Index(fields=["account", "status", "end_date"], name="sub_account_status_end")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="subscription_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_name} × {self.quantity}"

    def clean(self) -> None:
        ended = (SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED)
        if self.status in ended and self.end_date is None:
            # MRR counts a line until its end date: without one it would count for ever.
            raise ValidationError(
                {
                    "end_date": _(
                        "A cancelled or expired subscription needs the day it ends (or ended)."
                    )
                }
            )

    @property
    def gross_amount(self) -> Decimal:
        """Amount per billing period before discount."""
        return self.unit_price * self.quantity

    @property
    def cancellation_deadline(self) -> date | None:
        if not self.end_date:
            return None
        return self.end_date - timedelta(days=self.notice_period_days)

    @property
    def arr(self) -> Decimal:
        return self.mrr * 12


class Activity(models.Model):
    """An entry on an account's timeline: a note, call, meeting, email, QBR or system event."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(
        _("kind"), max_length=10, choices=ActivityKind.choices, default=ActivityKind.NOTE
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    occurred_at = models.DateTimeField(_("date"), default=timezone.now)
    subject = models.CharField(_("subject"), max_length=255)
    summary = models.TextField(_("summary"), blank=True)
    contacts = models.ManyToManyField(
        Contact, verbose_name=_("contacts involved"), blank=True, related_name="activities"
    )
    # Which part of the platform wrote it ("accounts", "health", ...); blank for people.
    source = models.CharField(max_length=32, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [models.Index(fields=["account", "-occurred_at"], name="activity_account_time")]

    def __str__(self) -> str:
        return self.subject


class Task(models.Model):
    """A CSM to-do on an account, whichever part of the platform created it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("type"), max_length=12, choices=TaskKind.choices, default=TaskKind.OTHER
    )
    priority = models.CharField(
        _("priority"), max_length=8, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=255, blank=True)
    note = models.TextField(_("note"), blank=True)
    # Who created it ("accounts", "playbooks", ...) and a key that keeps one open task per reason.
    source = models.CharField(max_length=32, blank=True)
    dedupe_key = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "pk"]
        verbose_name = _("task")
        indexes = [
            models.Index(
                fields=["assignee", "status", "due_date"], name="task_assignee_status_due"
            ),
            models.Index(fields=["account", "status"], name="task_account_status"),
        ]
        constraints = [
            # An open task with the same account and reason is updated, never duplicated.
            models.UniqueConstraint(
                fields=["account", "dedupe_key"],
                condition=Q(status="open") & ~Q(dedupe_key=""),
                name="task_one_open_per_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_overdue(self) -> bool:
        return (
            self.status == TaskStatus.OPEN
            and self.due_date is not None
            and self.due_date < timezone.localdate()
        )


class Goal(models.Model):
    """A goal the customer stated (success plan item), with its KPI and target."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="goals")
    title = models.CharField(_("goal"), max_length=255)
    kpi = models.CharField(_("KPI"), max_length=255, blank=True)
    target = models.CharField(_("target"), max_length=255, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=GoalStatus.choices, default=GoalStatus.NOT_STARTED
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "pk"]
        verbose_name = _("goal")

    def __str__(self) -> str:
        return self.title


class GoalRevision(models.Model):
    """One change to a goal (goals are re-agreed at QBRs); the goal's history."""

    goal = models.ForeignKey(Goal, on_delete=models.CASCADE, related_name="revisions")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=12, choices=GoalStatus.choices)
    target = models.CharField(max_length=255, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.goal}: {self.status}"


class BaseImportJob(models.Model):
    """A stored CSV upload: kept with its check report for preview, then committed once."""

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    filename = models.CharField(max_length=255)
    content = models.TextField()
    status = models.CharField(max_length=12, choices=ImportStatus.choices)
    row_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    committed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class ImportJob(BaseImportJob):
    """A CSV upload: previewed with per-row errors, then committed all or nothing."""

    kind = models.CharField(_("kind"), max_length=16, choices=ImportKind.choices)
    # Its first migration said list; every job is written with a dict report.
    report = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("CSV import")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename}"
