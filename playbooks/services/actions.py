"""What a rule does for the accounts it fired for, each kind of action for all of them at once.

Every action writes rows in the caller's transaction (the evaluation's): tasks through
accounts.tasks_upsert (an open task per account + rule + reason is updated, not
duplicated), emails and webhook calls through their outboxes (sent after commit, never
twice thanks to their idempotency keys), in-app notifications, account changes and one
timeline entry per account saying what the rule did and why.

People are never flooded: the account owner gets one email per run listing every account
of theirs the rule fired for, CS Leads one per run too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.choices import LifecycleStage, TaskKind, TaskPriority
from accounts.models import Account
from accounts.services import ActivitySpec, TaskSpec, activities_add, tasks_upsert
from csplatform.choices import NotificationCategory, Role
from csplatform.models import User
from csplatform.services import email_enqueue
from playbooks.choices import ActionKind, AssigneeRole
from playbooks.models import Notification, Rule, RuleAction, RuleRun, WebhookDelivery

if TYPE_CHECKING:
    from playbooks.services.evaluate import Match

logger = logging.getLogger(__name__)

SOURCE = "playbooks"
Results = dict[int, list[dict[str, Any]]]


def cs_leads() -> list[User]:
    """Active CS Leads (the role's group), the people rules notify."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.CS_LEAD)
        .exclude(email="")
        .order_by("pk")
    )


def _assignee(role: str, user_id: Any, owner_id: int | None, lead: User | None) -> int | None:
    if role == AssigneeRole.USER and user_id:
        return int(user_id)
    if role == AssigneeRole.CS_LEAD and lead is not None:
        return lead.pk
    return owner_id


def _task_key(rule: Rule, reason_key: str, step: str = "") -> str:
    return f"rule:{rule.pk}:{reason_key}{':' + step if step else ''}"[:255]


def _digest(parts: Iterable[str]) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def _note(results: Results, matches: list[Match], kind: str, ok: bool, detail: str) -> None:
    for m in matches:
        results[m.account_id].append({"action": kind, "ok": ok, "detail": detail})


class Context:
    """What the actions of one run share: the rule, the fired accounts, who leads."""

    def __init__(self, rule: Rule, fired: list[Match], now: dt.datetime, run: RuleRun) -> None:
        self.rule = rule
        self.fired = fired
        self.now = now
        self.today = now.date()
        self.run = run
        leads = cs_leads()
        author = rule.created_by
        # "The CS Lead" of a rule: its author if a lead, else the first lead.
        self.lead = (
            author if author is not None and author in leads else (leads[0] if leads else None)
        )
        self.leads = leads
        owners = {m.owner_id for m in fired if m.owner_id}
        self.owners = {u.pk: u for u in get_user_model().objects.filter(pk__in=owners)}


def _create_task(ctx: Context, action: RuleAction, results: Results) -> None:
    p = action.params or {}
    due = ctx.today + dt.timedelta(days=int(p.get("due_days") or 0))
    specs = [
        TaskSpec(
            account_id=m.account_id,
            title=str(p.get("title") or ctx.rule.name)[:255],
            description=m.reason
            if not p.get("description")
            else f"{p['description']}\n\n{m.reason}",
            dedupe_key=_task_key(ctx.rule, m.reason_key, f"a{action.pk}"),
            source=SOURCE,
            kind=p.get("kind") or TaskKind.FOLLOW_UP,
            priority=p.get("priority") or TaskPriority.NORMAL,
            due_date=due,
            assignee_id=_assignee(
                p.get("assignee_role") or AssigneeRole.OWNER,
                p.get("assignee"),
                m.owner_id,
                ctx.lead,
            ),
        )
        for m in ctx.fired
    ]
    tasks_upsert(tasks=specs)
    _note(
        results,
        ctx.fired,
        action.kind,
        True,
        _("task “%(title)s”") % {"title": specs[0].title if specs else ""},
    )


def _start_playbook(ctx: Context, action: RuleAction, results: Results) -> None:
    playbook = action.playbook
    if playbook is None:
        _note(results, ctx.fired, action.kind, False, _("no playbook chosen"))
        return
    steps = list(playbook.steps.order_by("position", "pk"))
    specs = [
        TaskSpec(
            account_id=m.account_id,
            title=step.title,
            description=f"{step.description}\n\n{m.reason}".strip(),
            dedupe_key=_task_key(ctx.rule, m.reason_key, f"s{step.pk}"),
            source=SOURCE,
            kind=step.kind,
            priority=step.priority,
            due_date=ctx.today + dt.timedelta(days=step.due_days),
            assignee_id=_assignee(step.assignee_role, step.assignee_id, m.owner_id, ctx.lead),
        )
        for m in ctx.fired
        for step in steps
    ]
    tasks_upsert(tasks=specs)
    _note(
        results,
        ctx.fired,
        action.kind,
        True,
        _("playbook “%(name)s”: %(n)s tasks") % {"name": playbook.name, "n": len(steps)},
    )


# An alert lists this many accounts and says how many more there are (a rule firing for
# hundreds of an owner's accounts is one readable email, and one notification).
EMAIL_LIST = 25


@cache
def _account_path_pattern() -> str:
    """The account page's path with a slot for the id (reverse() once, not per account)."""
    return reverse("accounts:detail", args=[987654321]).replace("987654321", "{}")


def _account_path(account_id: int) -> str:
    return _account_path_pattern().format(account_id)


def _alert_context(matches: list[Match]) -> dict[str, Any]:
    return {
        "accounts": [
            {"name": m.name, "reason": m.reason, "link_path": _account_path(m.account_id)}
            for m in matches[:EMAIL_LIST]
        ],
        "total": len(matches),
        "more": max(len(matches) - EMAIL_LIST, 0),
    }


def _notification(user: User, ctx: Context, matches: list[Match], key: str) -> Notification:
    """One notification per person and run: the account when one, else the run."""
    if len(matches) == 1:
        m = matches[0]
        return Notification(
            user=user,
            account_id=m.account_id,
            title=f"{m.name}: {m.reason}"[:255],
            body=ctx.rule.name,
            link=_account_path(m.account_id),
            idempotency_key=key[:255],
        )
    return Notification(
        user=user,
        title=(
            _("“%(rule)s” fired for %(n)s accounts") % {"rule": ctx.rule.name, "n": len(matches)}
        )[:255],
        body="; ".join(m.name for m in matches[:10]),
        link=reverse("playbooks:run", args=[ctx.run.pk]),
        idempotency_key=key[:255],
    )


def _email_owner(ctx: Context, action: RuleAction, results: Results) -> None:
    by_owner: dict[int | None, list[Match]] = defaultdict(list)
    for m in ctx.fired:
        by_owner[m.owner_id].append(m)
    notifications = []
    for owner_id, matches in by_owner.items():
        owner = ctx.owners.get(owner_id) if owner_id else None
        if owner is None or not owner.email:
            _note(results, matches, action.kind, False, _("the account has no owner with an email"))
            continue
        key = _digest(
            [str(ctx.rule.pk), str(owner.pk), *(f"{m.account_id}/{m.reason_key}" for m in matches)]
        )
        email_enqueue(
            idempotency_key=f"rule-email:{key}",
            template="playbook_alert",
            context={
                "recipient": owner,
                "rule": ctx.rule.name,
                "note": (action.params or {}).get("note", ""),
                "run_path": reverse("playbooks:run", args=[ctx.run.pk]) if len(matches) > 1 else "",
                **_alert_context(matches),
            },
            to=[owner.email],
            category=NotificationCategory.ALERTS,
            user=owner,
        )
        notifications.append(_notification(owner, ctx, matches, f"rule-email:{key}"))
        _note(results, matches, action.kind, True, _("emailed %(who)s") % {"who": owner.email})
    Notification.objects.bulk_create(notifications, ignore_conflicts=True)


def _notify_lead(ctx: Context, action: RuleAction, results: Results) -> None:
    if not ctx.leads:
        _note(results, ctx.fired, action.kind, False, _("no active CS Lead with an email"))
        return
    key = _digest([str(ctx.rule.pk), *(f"{m.account_id}/{m.reason_key}" for m in ctx.fired)])
    for lead in ctx.leads:
        email_enqueue(
            idempotency_key=f"rule-lead:{lead.pk}:{key}",
            template="playbook_alert",
            context={
                "recipient": lead,
                "rule": ctx.rule.name,
                "note": (action.params or {}).get("note", ""),
                "run_path": reverse("playbooks:run", args=[ctx.run.pk]),
                **_alert_context(ctx.fired),
            },
            to=[lead.email],
            category=NotificationCategory.ALERTS,
            user=lead,
        )
    Notification.objects.bulk_create(
        [_notification(lead, ctx, ctx.fired, f"rule-lead:{lead.pk}:{key}") for lead in ctx.leads],
        ignore_conflicts=True,
    )
    _note(
        results, ctx.fired, action.kind, True, _("notified %(n)s CS Leads") % {"n": len(ctx.leads)}
    )


def _change_stage(ctx: Context, action: RuleAction, results: Results) -> None:
    stage = (action.params or {}).get("stage")
    if stage not in LifecycleStage.values:
        _note(results, ctx.fired, action.kind, False, _("no valid stage chosen"))
        return
    Account.objects.filter(pk__in=[m.account_id for m in ctx.fired]).update(lifecycle_stage=stage)
    _note(
        results,
        ctx.fired,
        action.kind,
        True,
        _("stage set to %(stage)s") % {"stage": LifecycleStage(stage).label},
    )


def _reassign(ctx: Context, action: RuleAction, results: Results) -> None:
    user_id = (action.params or {}).get("user")
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        _note(results, ctx.fired, action.kind, False, _("no active user to reassign to"))
        return
    ids = [m.account_id for m in ctx.fired]
    Account.objects.filter(pk__in=ids).update(owner=user)
    if user.email:
        email_enqueue(
            idempotency_key="rule-assign:"
            + _digest([str(ctx.rule.pk), str(user.pk), *map(str, ids)]),
            template="playbook_alert",
            context={
                "recipient": user,
                "rule": ctx.rule.name,
                "note": _("These accounts are yours now."),
                **_alert_context(ctx.fired),
            },
            to=[user.email],
            category=NotificationCategory.ASSIGNMENTS,
            user=user,
        )
    _note(results, ctx.fired, action.kind, True, _("reassigned to %(user)s") % {"user": user})


def _webhook(ctx: Context, action: RuleAction, results: Results) -> None:
    from playbooks.services.webhooks import deliveries_enqueue, payload_for

    endpoint = action.endpoint
    if endpoint is None or not endpoint.is_active:
        _note(results, ctx.fired, action.kind, False, _("the webhook is missing or disabled"))
        return
    rows = [
        WebhookDelivery(
            endpoint=endpoint,
            idempotency_key=f"rule:{ctx.rule.pk}:a{action.pk}:{m.account_id}:{m.reason_key}:{ctx.today:%Y%m%d}"[
                :255
            ],
            event="rule.fired",
            payload=payload_for(endpoint=endpoint, rule=ctx.rule, match=m, fired_at=ctx.now),
            account_id=m.account_id,
        )
        for m in ctx.fired
    ]
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    deliveries_enqueue(keys=[r.idempotency_key for r in rows])
    _note(
        results,
        ctx.fired,
        action.kind,
        True,
        _("webhook “%(name)s” queued") % {"name": endpoint.name},
    )


EXECUTORS = {
    ActionKind.CREATE_TASK: _create_task,
    ActionKind.START_PLAYBOOK: _start_playbook,
    ActionKind.EMAIL_OWNER: _email_owner,
    ActionKind.NOTIFY_LEAD: _notify_lead,
    ActionKind.CHANGE_STAGE: _change_stage,
    ActionKind.REASSIGN: _reassign,
    ActionKind.WEBHOOK: _webhook,
    ActionKind.SLACK: _webhook,
}


def _timeline(ctx: Context, results: Results) -> None:
    subject = _("Rule “%(rule)s”: %(reason)s")
    activities_add(
        entries=[
            ActivitySpec(
                account_id=m.account_id,
                subject=(subject % {"rule": ctx.rule.name, "reason": m.reason})[:255],
                summary="; ".join(r["detail"] for r in results.get(m.account_id, [])),
                source=SOURCE,
                metadata={"rule": ctx.rule.pk, "run": ctx.run.pk, "reason_key": m.reason_key},
            )
            for m in ctx.fired
        ],
        occurred_at=ctx.now,
    )


def actions_run(*, rule: Rule, fired: list[Match], now: dt.datetime, run: RuleRun) -> Results:
    """Run the rule's actions, in order, for every fired account; returns per account what
    each action did. An action that fails is recorded and the others still run."""
    results: Results = defaultdict(list)
    if not fired:
        return results
    ctx = Context(rule, fired, now, run)
    for action in rule.actions.select_related("playbook", "endpoint").order_by("position", "pk"):
        executor = EXECUTORS.get(action.kind)  # type: ignore[call-overload]
        if executor is None:
            continue
        try:
            with transaction.atomic():
                executor(ctx, action, results)
        except Exception as exc:
            logger.exception("action %s of rule %s failed", action.pk, rule.pk)
            _note(results, fired, action.kind, False, f"{type(exc).__name__}: {exc}"[:500])
    _timeline(ctx, results)
    return results
