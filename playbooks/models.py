"""Playbooks and alerts (SPEC §5): rules, task-list playbooks, runs, webhooks, notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.choices import TaskKind, TaskPriority
from accounts.models import Account
from playbooks.choices import (
    ActionKind,
    AssigneeRole,
    DeliveryStatus,
    EndpointFormat,
    MatchOutcome,
    RuleMode,
    RunSource,
)


class PlaybookTemplate(models.Model):
    """A reusable list of tasks with relative due dates and assignee roles."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("playbook")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("playbooks:playbook", args=[self.pk])


class PlaybookStep(models.Model):
    """One task of a playbook: due `due_days` after the playbook starts."""

    playbook = models.ForeignKey(PlaybookTemplate, on_delete=models.CASCADE, related_name="steps")
    title = models.CharField(_("title"), max_length=255)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(
        _("type"), max_length=12, choices=TaskKind.choices, default=TaskKind.OTHER
    )
    priority = models.CharField(
        _("priority"), max_length=8, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    due_days = models.PositiveSmallIntegerField(_("due after (days)"), default=0)
    assignee_role = models.CharField(
        _("assigned to"), max_length=8, choices=AssigneeRole.choices, default=AssigneeRole.OWNER
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("named user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["playbook", "position", "pk"]
        verbose_name = _("playbook step")

    def __str__(self) -> str:
        return self.title


class Rule(models.Model):
    """Trigger + conditions + segment scope + actions: what to do, for whom, and how often."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    description = models.TextField(_("description"), blank=True)
    # A key of playbooks.triggers' registry, and its parameters.
    trigger = models.CharField(_("trigger"), max_length=40)
    params = models.JSONField(_("trigger settings"), default=dict, blank=True)
    mode = models.CharField(
        _("mode"), max_length=10, choices=RuleMode.choices, default=RuleMode.DRY_RUN
    )
    # Segment scope; an empty list means any value.
    tiers = models.JSONField(_("tiers"), default=list, blank=True)
    touch_models = models.JSONField(_("touch models"), default=list, blank=True)
    business_models = models.JSONField(_("B2B or B2C"), default=list, blank=True)
    lifecycle_stages = models.JSONField(_("lifecycle stages"), default=list, blank=True)
    # Extra conditions on the account (all must hold): MRR at least / at most, tags.
    min_mrr = models.DecimalField(
        _("MRR at least"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    max_mrr = models.DecimalField(
        _("MRR at most"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    tags = models.JSONField(_("with any of these tags"), default=list, blank=True)
    # After firing for an account, the rule leaves that account alone this long.
    cooldown_days = models.PositiveSmallIntegerField(_("cooldown (days)"), default=14)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_run_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("rule")
        indexes = [models.Index(fields=["trigger", "mode"], name="rule_trigger_mode")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("playbooks:rule", args=[self.pk])


class RuleAction(models.Model):
    """One thing a rule does for every account it fires for, in order."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=16, choices=ActionKind.choices)
    position = models.PositiveSmallIntegerField(default=0)
    # Per kind: create_task {title, kind, priority, due_days, assignee_role, assignee};
    # change_stage {stage}; reassign {user}; email_owner / notify_lead {note}.
    params = models.JSONField(_("settings"), default=dict, blank=True)
    playbook = models.ForeignKey(
        PlaybookTemplate,
        verbose_name=_("playbook"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    endpoint = models.ForeignKey(
        "WebhookEndpoint",
        verbose_name=_("webhook"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["rule", "position", "pk"]
        verbose_name = _("rule action")

    def __str__(self) -> str:
        return self.get_kind_display()


class RuleCooldown(models.Model):
    """When a rule last fired for an account: the claim that makes firing exactly-once."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="+", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    fired_at = models.DateTimeField()
    reason_key = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "account"], name="cooldown_one_per_rule_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}/{self.account_id} {self.fired_at:%Y-%m-%d}"


class RuleRun(models.Model):
    """One evaluation of a rule: when, why, what matched, what was done, what failed."""

    rule = models.ForeignKey(Rule, on_delete=models.CASCADE, related_name="runs")
    source = models.CharField(max_length=10, choices=RunSource.choices)
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # Accounts considered (for an event: those it was about), matched, fired for.
    considered = models.PositiveIntegerField(default=0)
    matched = models.PositiveIntegerField(default=0)
    fired = models.PositiveIntegerField(default=0)
    cooled = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = _("rule run")
        indexes = [models.Index(fields=["rule", "-started_at"], name="run_rule_started")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.started_at:%Y-%m-%d %H:%M}"


class RuleMatch(models.Model):
    """An account a run matched, the reason, and what happened to it."""

    run = models.ForeignKey(RuleRun, on_delete=models.CASCADE, related_name="matches")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    reason_key = models.CharField(max_length=200)
    reason = models.CharField(max_length=255)
    outcome = models.CharField(max_length=10, choices=MatchOutcome.choices)
    # What each action did: [{"action": kind, "ok": bool, "detail": "..."}].
    actions = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["run", "pk"]
        verbose_name = _("rule match")

    def __str__(self) -> str:
        return f"{self.account_id}: {self.reason}"


class WebhookEndpoint(models.Model):
    """Where a webhook action posts: JSON signed with HMAC-SHA256, or a Slack-compatible URL."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    url = models.URLField(_("URL"), max_length=500)
    format = models.CharField(
        _("format"), max_length=6, choices=EndpointFormat.choices, default=EndpointFormat.JSON
    )
    # The signing secret of JSON endpoints (shown to Admins, who give it to the receiver).
    secret = models.CharField(_("signing secret"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # Consecutive deliveries that failed for good; at WEBHOOK_DISABLE_AFTER it is disabled.
    consecutive_failures = models.PositiveSmallIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("webhook endpoint")

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One webhook call, kept like an email in the outbox: sent once, retried with backoff."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    idempotency_key = models.CharField(max_length=255, unique=True)
    event = models.CharField(max_length=60)
    payload = models.JSONField()
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(
                fields=["status", "next_attempt_at"],
                name="delivery_due",
                condition=Q(status__in=["pending", "retrying"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} {self.event} {self.status}"


class Notification(models.Model):
    """An in-app notification for one person (the bell in the navigation bar)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    title = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The same notification is never made twice (a retried evaluation).
    idempotency_key = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        indexes = [
            models.Index(
                fields=["user", "-created_at"],
                name="notification_unread",
                condition=Q(read_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return self.title
