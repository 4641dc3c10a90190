"""Reads of the playbooks app that span relations, for the pages; a fixed number of queries
each, whatever the number of rules, runs, matches, deliveries or notifications."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.choices import BusinessModel, LifecycleStage, Tier, TouchModel
from accounts.models import Account
from csplatform.models import User
from playbooks.choices import ActionKind, AssigneeRole
from playbooks.models import (
    Notification,
    PlaybookStep,
    PlaybookTemplate,
    Rule,
    RuleAction,
    RuleMatch,
    RuleRun,
    WebhookDelivery,
    WebhookEndpoint,
)
from playbooks.services.evaluate import Match
from playbooks.triggers import Trigger, trigger

# Rules -------------------------------------------------------------------------------------


def rule_list() -> QuerySet[Rule]:
    """Rules with their actions (and what they point to) and the id of their latest run."""
    latest = RuleRun.objects.filter(rule=OuterRef("pk")).order_by("-started_at", "-pk")
    return Rule.objects.annotate(last_run_id=Subquery(latest.values("pk")[:1])).prefetch_related(
        Prefetch(
            "actions",
            queryset=RuleAction.objects.select_related("playbook", "endpoint").order_by(
                "position", "pk"
            ),
        )
    )


def last_runs_attach(rules: Sequence[Rule]) -> None:
    """Set `last_run` on each rule of a page (one query for all of them)."""
    ids = [r.last_run_id for r in rules if getattr(r, "last_run_id", None)]  # type: ignore[attr-defined]
    runs = {run.pk: run for run in RuleRun.objects.filter(pk__in=ids)} if ids else {}
    for rule in rules:
        rule.last_run = runs.get(getattr(rule, "last_run_id", None))  # type: ignore[attr-defined,arg-type]


def rule_detail(*, pk: int) -> Rule:
    return (
        Rule.objects.select_related("created_by")
        .prefetch_related(
            Prefetch(
                "actions",
                queryset=RuleAction.objects.select_related("playbook", "endpoint").order_by(
                    "position", "pk"
                ),
            )
        )
        .get(pk=pk)
    )


def rule_runs(*, rule: Rule) -> QuerySet[RuleRun]:
    return RuleRun.objects.filter(rule=rule).order_by("-started_at", "-pk")


def run_matches(*, run: RuleRun) -> QuerySet[RuleMatch]:
    """The accounts a run matched, with their owners, failures first."""
    return (
        RuleMatch.objects.filter(run=run)
        .select_related("account", "account__owner")
        .order_by("account__name", "pk")
    )


def _labels(choices: Any, values: Iterable[str]) -> list[str]:
    """Labels of the values, in the choices' order."""
    return [str(label) for value, label in choices.choices if value in set(values)]


def scope_summary(rule: Rule) -> list[str]:
    """The rule's segment scope and conditions in words (empty: every customer)."""
    parts = []
    for name, choices in (
        ("tiers", Tier),
        ("touch_models", TouchModel),
        ("business_models", BusinessModel),
        ("lifecycle_stages", LifecycleStage),
    ):
        values = getattr(rule, name) or []
        if values:
            parts.append(" / ".join(_labels(choices, values)))
    if rule.min_mrr is not None and rule.max_mrr is not None:
        parts.append(_("MRR %(low)s–%(high)s") % {"low": rule.min_mrr, "high": rule.max_mrr})
    elif rule.min_mrr is not None:
        parts.append(_("MRR ≥ %(low)s") % {"low": rule.min_mrr})
    elif rule.max_mrr is not None:
        parts.append(_("MRR ≤ %(high)s") % {"high": rule.max_mrr})
    if rule.tags:
        parts.append(_("tagged %(tags)s") % {"tags": ", ".join(rule.tags)})
    return parts


def trigger_settings_text(rule: Rule) -> str:
    """The trigger's settings in words, e.g. "Within (days): 120; Turned: Red"."""
    found = trigger(rule.trigger)
    if found is None:
        return ""
    settings = found.settings(rule.params)
    shown = []
    for p in found.params:
        value = settings.get(p.name)
        if value in (None, ""):
            continue
        if p.kind == "choice":
            named: dict[Any, Any] = dict(p.choices)
            value = named.get(value, value)
        shown.append(f"{p.label}: {value}")
    return "; ".join(shown)


def trigger_label(rule: Rule) -> str:
    found = trigger(rule.trigger)
    if found is None:
        return _("Unknown trigger “%(key)s”") % {"key": rule.trigger}
    return str(found.label)


def trigger_summary(rule: Rule) -> str:
    """ "Health score below a value (Below: 50)" — the trigger and its settings in words."""
    details = trigger_settings_text(rule)
    return f"{trigger_label(rule)} ({details})" if details else trigger_label(rule)


def action_short(action: RuleAction, users: dict[Any, Any] | None = None) -> str:
    """An action in a few words, for the rule list."""
    p = action.params or {}
    users = users or {}
    if action.kind == ActionKind.CREATE_TASK:
        return _("Task “%(title)s”") % {"title": p.get("title") or ""}
    if action.kind == ActionKind.START_PLAYBOOK:
        return _("Playbook “%(name)s”") % {"name": action.playbook.name if action.playbook else "—"}
    if action.kind == ActionKind.EMAIL_OWNER:
        return _("Email the owner")
    if action.kind == ActionKind.NOTIFY_LEAD:
        return _("Notify the CS Leads")
    if action.kind == ActionKind.CHANGE_STAGE:
        stage = p.get("stage")
        label = LifecycleStage(stage).label if stage in LifecycleStage.values else "—"
        return _("Stage → %(stage)s") % {"stage": label}
    if action.kind == ActionKind.REASSIGN:
        return _("Reassign to %(user)s") % {"user": users.get(p.get("user"), "—")}
    name = action.endpoint.name if action.endpoint else "—"
    if action.kind == ActionKind.SLACK:
        return _("Slack “%(name)s”") % {"name": name}
    return _("Webhook “%(name)s”") % {"name": name}


ACTION_ICONS = {
    ActionKind.CREATE_TASK: "check2-square",
    ActionKind.START_PLAYBOOK: "list-check",
    ActionKind.EMAIL_OWNER: "envelope",
    ActionKind.NOTIFY_LEAD: "megaphone",
    ActionKind.CHANGE_STAGE: "signpost-split",
    ActionKind.REASSIGN: "person-gear",
    ActionKind.WEBHOOK: "broadcast",
    ActionKind.SLACK: "slack",
}


def action_summary(action: RuleAction, users: dict[Any, Any] | None = None) -> str:
    """One action in words, e.g. "Create a task: Call the sponsor (urgent, in 2 days)"."""
    p = action.params or {}
    kind = action.get_kind_display()
    users = users or {}
    if action.kind == ActionKind.CREATE_TASK:
        role = p.get("assignee_role") or AssigneeRole.OWNER
        who = (
            users.get(p.get("assignee"), _("a named user"))
            if role == AssigneeRole.USER
            else AssigneeRole(role).label
        )
        return _("%(kind)s: “%(title)s”, due in %(days)s days, for %(who)s") % {
            "kind": kind,
            "title": p.get("title") or "",
            "days": p.get("due_days") or 0,
            "who": str(who).lower() if role != AssigneeRole.USER else who,
        }
    if action.kind == ActionKind.START_PLAYBOOK:
        return f"{kind}: {action.playbook.name if action.playbook else '—'}"
    if action.kind == ActionKind.CHANGE_STAGE:
        stage = p.get("stage")
        return f"{kind}: {LifecycleStage(stage).label if stage in LifecycleStage.values else '—'}"
    if action.kind == ActionKind.REASSIGN:
        return f"{kind}: {users.get(p.get('user'), '—')}"
    if action.kind in (ActionKind.WEBHOOK, ActionKind.SLACK):
        return f"{kind}: {action.endpoint.name if action.endpoint else '—'}"
    return str(kind)


def action_users(rules: Iterable[Rule]) -> dict[int, User]:
    """The people the rules' actions name (a task's assignee, a reassignment's user)."""
    ids = set()
    for rule in rules:
        for action in rule.actions.all():
            p = action.params or {}
            for key in ("assignee", "user"):
                if isinstance(p.get(key), int):
                    ids.add(p[key])
    if not ids:
        return {}
    return {u.pk: u for u in get_user_model().objects.filter(pk__in=ids)}


@dataclass(frozen=True)
class PreviewRow:
    account_id: int
    name: str
    owner: User | None
    reason: str


@dataclass(frozen=True)
class Preview:
    total: int
    rows: list[PreviewRow]

    @property
    def capped(self) -> bool:
        return self.total > len(self.rows)


def preview_rows(*, matches: Sequence[Match], limit: int) -> Preview:
    """The first `limit` matches with their owners (one query), and how many there are."""
    shown = sorted(matches, key=lambda m: (m.name.lower(), m.account_id))[:limit]
    owner_ids = {m.owner_id for m in shown if m.owner_id}
    owners = (
        {u.pk: u for u in get_user_model().objects.filter(pk__in=owner_ids)} if owner_ids else {}
    )
    return Preview(
        total=len(matches),
        rows=[
            PreviewRow(
                account_id=m.account_id,
                name=m.name,
                owner=owners.get(m.owner_id) if m.owner_id else None,
                reason=m.reason,
            )
            for m in shown
        ],
    )


def trigger_choices(triggers: dict[str, Trigger]) -> list[tuple[str, str]]:
    return sorted(((k, str(t.label)) for k, t in triggers.items()), key=lambda c: c[1])


# Playbooks ----------------------------------------------------------------------------------


def playbook_list() -> QuerySet[PlaybookTemplate]:
    """Playbooks with their number of steps and of rules that start them."""
    rules = (
        RuleAction.objects.filter(playbook=OuterRef("pk"), kind=ActionKind.START_PLAYBOOK)
        .order_by()
        .values("playbook")
        .annotate(n=Count("rule", distinct=True))
        .values("n")
    )
    return PlaybookTemplate.objects.annotate(
        step_count=Count("steps", distinct=True),
        rule_count=Subquery(rules),
    ).order_by("name")


def playbook_detail(*, pk: int) -> PlaybookTemplate:
    return PlaybookTemplate.objects.prefetch_related(
        Prefetch(
            "steps",
            queryset=PlaybookStep.objects.select_related("assignee").order_by("position", "pk"),
        )
    ).get(pk=pk)


def playbook_used_by(*, playbook: PlaybookTemplate) -> QuerySet[Rule]:
    return (
        Rule.objects.filter(actions__kind=ActionKind.START_PLAYBOOK, actions__playbook=playbook)
        .distinct()
        .order_by("name")
    )


# Webhooks -----------------------------------------------------------------------------------


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    """Endpoints with delivery counts by outcome, and the rules that call them."""
    return WebhookEndpoint.objects.annotate(
        delivered=Count("deliveries", filter=Q(deliveries__status="sent")),
        waiting=Count("deliveries", filter=Q(deliveries__status__in=["pending", "retrying"])),
        failed=Count("deliveries", filter=Q(deliveries__status="failed")),
    ).order_by("name")


def endpoint_deliveries(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("account")
        .order_by("-created_at", "-pk")
    )


def endpoint_used_by(*, endpoint: WebhookEndpoint) -> QuerySet[Rule]:
    return Rule.objects.filter(actions__endpoint=endpoint).distinct().order_by("name")


# Notifications ------------------------------------------------------------------------------


def notification_list(*, user: User) -> QuerySet[Notification]:
    """The user's notifications, unread first, newest first."""
    return (
        Notification.objects.filter(user=user)
        .select_related("account")
        .annotate(
            is_read=Case(
                When(read_at__isnull=True, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("is_read", "-created_at", "-pk")
    )


def account_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return dict(Account.objects.filter(pk__in=wanted).values_list("pk", "name"))


def rule_task_links(tasks: list[Any]) -> dict[int, tuple[str, str]]:
    """The rule a playbook task came from ("rule:<id>:..." dedupe key), for the task list."""
    wanted: dict[int, int] = {}
    for task in tasks:
        parts = (task.dedupe_key or "").split(":")
        if len(parts) >= 2 and parts[0] == "rule" and parts[1].isdigit():
            wanted[task.pk] = int(parts[1])
    names = (
        dict(Rule.objects.filter(pk__in=set(wanted.values())).values_list("pk", "name"))
        if wanted
        else {}
    )
    return {
        task_id: (
            _("Rule: %(name)s") % {"name": names[rule_id]},
            reverse("playbooks:rule", args=[rule_id]),
        )
        for task_id, rule_id in wanted.items()
        if rule_id in names
    }
