"""Writes of the accounts app. Keyword-only, typed, named <thing>_<verb>."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import (
    AccountStatus,
    ActivityKind,
    BillingPeriod,
    DiscountType,
    SubscriptionStatus,
    TaskKind,
    TaskPriority,
    TaskStatus,
)
from accounts.models import (
    Account,
    Activity,
    Contact,
    Goal,
    GoalRevision,
    Subscription,
    Tag,
    Task,
)
from accounts.selectors import subscriptions_paying_on
from accounts.signals import task_completed
from csplatform.models import User

FOUR_PLACES = Decimal("0.0001")
ZERO = Decimal("0")

# Subscriptions -------------------------------------------------------------------------


def months_in_billing_period(*, billing_period: str, custom_months: int | None = None) -> int:
    months = BillingPeriod(billing_period).months
    if months is None:
        if not custom_months or custom_months < 1:
            raise ValueError("an 'every N months' billing period needs N of at least 1")
        return custom_months
    return months


def subscription_net_amount(
    *, unit_price: Decimal, quantity: int, discount_type: str, discount_value: Decimal
) -> Decimal:
    """Recurring amount per billing period after discount; never below zero."""
    gross = Decimal(unit_price) * quantity
    if discount_type == DiscountType.PERCENT:
        net = gross - gross * Decimal(discount_value) / Decimal(100)
    elif discount_type == DiscountType.AMOUNT:
        net = gross - Decimal(discount_value)
    else:
        net = gross
    return max(net, ZERO)


def subscription_mrr(
    *,
    unit_price: Decimal,
    quantity: int,
    discount_type: str,
    discount_value: Decimal,
    billing_period: str,
    billing_period_months: int | None = None,
) -> Decimal:
    """MRR = (recurring amount − discount) ÷ months in the billing period (SPEC §1, §3).

    One-time fees are not an input: they never count towards MRR.
    """
    months = months_in_billing_period(
        billing_period=billing_period, custom_months=billing_period_months
    )
    net = subscription_net_amount(
        unit_price=unit_price,
        quantity=quantity,
        discount_type=discount_type,
        discount_value=discount_value,
    )
    return (net / Decimal(months)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def _subscription_prepare(subscription: Subscription) -> None:
    subscription.billing_period_months = months_in_billing_period(
        billing_period=subscription.billing_period,
        custom_months=subscription.billing_period_months,
    )
    subscription.mrr = subscription_mrr(
        unit_price=subscription.unit_price,
        quantity=subscription.quantity,
        discount_type=subscription.discount_type,
        discount_value=subscription.discount_value,
        billing_period=subscription.billing_period,
        billing_period_months=subscription.billing_period_months,
    )


def subscription_save(*, subscription: Subscription, actor: User | None = None) -> Subscription:
    """Create or update a subscription, keeping its MRR and its account's figures right."""
    created = subscription.pk is None
    _subscription_prepare(subscription)
    with transaction.atomic():
        subscription.full_clean()
        subscription.save()
        account_financials_refresh(account_ids=[subscription.account_id])
        if created:
            activity_record(
                account_id=subscription.account_id,
                subject=_("Subscription added: %(plan)s") % {"plan": subscription.plan_name},
                kind=ActivityKind.SYSTEM,
                author=actor,
                source="accounts",
            )
    return subscription


def subscription_delete(*, subscription: Subscription) -> None:
    account_id = subscription.account_id
    with transaction.atomic():
        subscription.delete()
        account_financials_refresh(account_ids=[account_id])


def subscriptions_bulk_create(
    *, subscriptions: Iterable[Subscription], batch_size: int = 2000
) -> list[Subscription]:
    """Create many subscriptions at once (imports, demo data); refresh their accounts in one go."""
    items = list(subscriptions)
    for sub in items:
        _subscription_prepare(sub)
    with transaction.atomic():
        created = Subscription.objects.bulk_create(items, batch_size=batch_size)
        account_financials_refresh(account_ids={s.account_id for s in items})
    return created


def account_financials_refresh(
    *, account_ids: Iterable[int] | None = None, today: date | None = None
) -> int:
    """Recompute Account.mrr and Account.renewal_date from subscriptions, set-based.

    MRR counts the lines paying today by the metric engine's rule (a cancelled line pays
    until its end date); the renewal date is the earliest end of an active line. Runs for
    the given accounts, or for all of them (nightly, so that lines starting or ending move
    MRR).
    """
    today = today or timezone.now().date()
    paying = subscriptions_paying_on(today).filter(account=OuterRef("pk"))
    mrr = paying.order_by().values("account").annotate(total=Sum("mrr")).values("total")
    active = Subscription.objects.filter(
        account=OuterRef("pk"), status=SubscriptionStatus.ACTIVE, start_date__lte=today
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    renewal = (
        active.filter(end_date__isnull=False)
        .values("account")
        .annotate(first=Min("end_date"))
        .values("first")
    )
    qs = Account.objects.all()
    if account_ids is not None:
        ids = list(account_ids)
        if not ids:
            return 0
        qs = qs.filter(pk__in=ids)
    return qs.update(
        mrr=Coalesce(Subquery(mrr), Value(ZERO)),
        renewal_date=Subquery(renewal),
        updated_at=timezone.now(),
    )


# Accounts ------------------------------------------------------------------------------


def account_create(
    *, actor: User | None = None, tags: Iterable[Any] = (), **fields: Any
) -> Account:
    account = Account(**fields)
    if account.owner_id is None and actor is not None and actor.role == "CSM":
        account.owner = actor
    if account.status != AccountStatus.TRIAL and account.customer_since is None:
        account.customer_since = timezone.now().date()
    with transaction.atomic():
        account.full_clean()
        account.save()
        if tags:
            account.tags.set(tags)
        activity_record(
            account_id=account.pk,
            subject=_("Account created"),
            kind=ActivityKind.SYSTEM,
            author=actor,
            source="accounts",
        )
    return account


def account_update(
    *, account: Account, actor: User | None = None, tags: Iterable[Any] | None = None, **fields: Any
) -> Account:
    old_owner_id = account.owner_id
    for name, value in fields.items():
        setattr(account, name, value)
    if account.status == AccountStatus.CHURNED and account.churned_at is None:
        account.churned_at = timezone.now().date()
    with transaction.atomic():
        account.full_clean()
        account.save()
        if tags is not None:
            account.tags.set(tags)
        if account.owner_id != old_owner_id:
            activity_record(
                account_id=account.pk,
                subject=_("Owner changed to %(owner)s") % {"owner": account.owner or _("nobody")},
                kind=ActivityKind.SYSTEM,
                author=actor,
                source="accounts",
            )
    return account


# Contacts ------------------------------------------------------------------------------


def contact_save(*, contact: Contact) -> Contact:
    with transaction.atomic():
        contact.full_clean()
        contact.save()
        if contact.is_primary:
            # One primary contact per account.
            Contact.objects.filter(account_id=contact.account_id, is_primary=True).exclude(
                pk=contact.pk
            ).update(is_primary=False)
    return contact


def contact_delete(*, contact: Contact) -> None:
    contact.delete()


# Timeline ------------------------------------------------------------------------------


def activity_record(
    *,
    account_id: int,
    subject: str,
    kind: str = ActivityKind.NOTE,
    summary: str = "",
    author: User | None = None,
    occurred_at: Any = None,
    source: str = "",
    metadata: Mapping[str, Any] | None = None,
    contact_ids: Iterable[int] = (),
) -> Activity:
    """Put an entry on an account's timeline. Every app calls this for what it does."""
    activity = Activity.objects.create(
        account_id=account_id,
        kind=kind,
        subject=subject[:255],
        summary=summary,
        author=author,
        occurred_at=occurred_at or timezone.now(),
        source=source,
        metadata=dict(metadata or {}),
    )
    ids = list(contact_ids)
    if ids:
        activity.contacts.set(ids)
        Contact.objects.filter(pk__in=ids).update(last_contacted_at=activity.occurred_at)
    return activity


# Tasks ---------------------------------------------------------------------------------


def task_create(
    *,
    account: Account,
    title: str,
    actor: User | None = None,
    assignee: User | None = None,
    source: str = "",
    dedupe_key: str = "",
    **fields: Any,
) -> Task:
    """Create a task; with a dedupe_key, update the open task for the same reason instead."""
    assignee = assignee or account.owner
    with transaction.atomic():
        if dedupe_key:
            existing = (
                Task.objects.select_for_update()
                .filter(account=account, dedupe_key=dedupe_key, status=TaskStatus.OPEN)
                .first()
            )
            if existing is not None:
                existing.title = title
                for name, value in fields.items():
                    setattr(existing, name, value)
                existing.save()
                return existing
        task = Task(
            account=account,
            title=title,
            assignee=assignee,
            created_by=actor,
            source=source,
            dedupe_key=dedupe_key,
            **fields,
        )
        task.full_clean()
        task.save()
    return task


@dataclass(frozen=True)
class ActivitySpec:
    """One system entry for `activities_add`."""

    account_id: int
    subject: str
    source: str
    summary: str = ""
    kind: str = ActivityKind.SYSTEM
    metadata: Mapping[str, Any] | None = None


def activities_add(*, entries: Sequence[ActivitySpec], occurred_at: Any = None) -> int:
    """Put many entries on many timelines at once (rules firing for thousands of accounts).

    On PostgreSQL one statement unnests column arrays, so its size does not grow with the
    number of entries; SQLite takes the ORM's batched insert.
    """
    if not entries:
        return 0
    stamp = occurred_at or timezone.now()
    if connection.vendor != "postgresql":
        Activity.objects.bulk_create(
            [
                Activity(
                    account_id=e.account_id,
                    kind=e.kind,
                    subject=e.subject[:255],
                    summary=e.summary,
                    occurred_at=stamp,
                    source=e.source,
                    metadata=dict(e.metadata or {}),
                )
                for e in entries
            ],
            batch_size=1000,
        )
        return len(entries)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO accounts_activity (account_id, kind, subject, summary, occurred_at,"
            " source, metadata, created_at)"
            " SELECT a, k, s, m, %s, src, CAST(md AS jsonb), %s FROM unnest("
            "CAST(%s AS bigint[]), CAST(%s AS text[]), CAST(%s AS text[]), CAST(%s AS text[]),"
            " CAST(%s AS text[]), CAST(%s AS text[])) AS x(a, k, s, m, src, md)",
            [
                stamp,
                timezone.now(),
                [e.account_id for e in entries],
                [e.kind for e in entries],
                [e.subject[:255] for e in entries],
                [e.summary for e in entries],
                [e.source for e in entries],
                [json.dumps(dict(e.metadata or {}), default=str) for e in entries],
            ],
        )
    return len(entries)


@dataclass(frozen=True)
class TaskSpec:
    """One task for `tasks_upsert`: `dedupe_key` names the reason it exists."""

    account_id: int
    title: str
    dedupe_key: str
    source: str
    description: str = ""
    kind: str = TaskKind.OTHER
    priority: str = TaskPriority.NORMAL
    due_date: date | None = None
    assignee_id: int | None = None
    created_by_id: int | None = None


def tasks_upsert(*, tasks: Sequence[TaskSpec], chunk: int = 2000) -> int:
    """Create many tasks at once; where an open task with the same account and dedupe_key
    exists, update it instead (title, description, priority, due date), never duplicate it.

    One statement per `chunk` tasks, safe when two callers race for the same task: the
    partial unique index on open (account, dedupe_key) decides, and the loser updates.
    Returns the number of tasks created or updated.
    """
    if any(not t.dedupe_key for t in tasks):
        raise ValueError("tasks_upsert needs a dedupe_key on every task")
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    done = 0
    # Key order: two callers lock the same open tasks in the same order (no deadlock).
    ordered = sorted(tasks, key=lambda t: (t.account_id, t.dedupe_key))
    conflict = (
        # The index's own predicate, word for word: SQLite matches it literally.
        " ON CONFLICT (account_id, dedupe_key) WHERE (status = 'open'"
        " AND NOT (dedupe_key = '')) DO UPDATE SET title = excluded.title,"
        " description = excluded.description, priority = excluded.priority,"
        " due_date = excluded.due_date, updated_at = excluded.updated_at"
    )
    columns = (
        "INSERT INTO accounts_task (account_id, title, description, kind, priority,"
        " status, due_date, assignee_id, created_by_id, source, dedupe_key, outcome,"
        " note, created_at, updated_at)"
    )
    for start in range(0, len(ordered), chunk):
        part = ordered[start : start + chunk]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Column arrays: the statement stays small whatever the number of tasks.
                cursor.execute(
                    columns + " SELECT a, ti, de, k, pr, 'open', du, asg, cb, src, dk, '', '',"
                    " %s, %s FROM unnest(CAST(%s AS bigint[]), CAST(%s AS text[]),"
                    " CAST(%s AS text[]), CAST(%s AS text[]), CAST(%s AS text[]),"
                    " CAST(%s AS date[]), CAST(%s AS bigint[]), CAST(%s AS bigint[]),"
                    " CAST(%s AS text[]), CAST(%s AS text[]))"
                    " AS x(a, ti, de, k, pr, du, asg, cb, src, dk)" + conflict,
                    [
                        now,
                        now,
                        [t.account_id for t in part],
                        [t.title[:255] for t in part],
                        [t.description for t in part],
                        [t.kind for t in part],
                        [t.priority for t in part],
                        [t.due_date for t in part],
                        [t.assignee_id for t in part],
                        [t.created_by_id for t in part],
                        [t.source for t in part],
                        [t.dedupe_key[:255] for t in part],
                    ],
                )
            else:
                params: list[Any] = []
                for t in part:
                    params += [
                        t.account_id,
                        t.title[:255],
                        t.description,
                        t.kind,
                        t.priority,
                        t.due_date,
                        t.assignee_id,
                        t.created_by_id,
                        t.source,
                        t.dedupe_key[:255],
                        now,
                        now,
                    ]
                row = "(%s, %s, %s, %s, %s, 'open', %s, %s, %s, %s, %s, '', '', %s, %s)"
                cursor.execute(
                    columns + " VALUES " + ", ".join([row] * len(part)) + conflict, params
                )
            done += max(cursor.rowcount, 0)
    return done


def task_update(*, task: Task, **fields: Any) -> Task:
    for name, value in fields.items():
        setattr(task, name, value)
    task.full_clean()
    task.save()
    return task


def task_complete(*, task: Task, actor: User | None, outcome: str = "", note: str = "") -> Task:
    """Close a task with an outcome and note, and log it on the account's timeline."""
    if task.status != TaskStatus.OPEN:
        return task
    with transaction.atomic():
        task.status = TaskStatus.DONE
        task.completed_at = timezone.now()
        task.outcome = outcome
        task.note = note
        task.snoozed_until = None
        task.save()
        activity_record(
            account_id=task.account_id,
            subject=_("Task completed: %(title)s") % {"title": task.title},
            summary="\n\n".join(p for p in (outcome, note) if p),
            kind=ActivityKind.SYSTEM,
            author=actor,
            source="accounts",
            metadata={"task_id": task.pk},
        )
        task_completed.send(sender=Task, task=task, actor=actor)
    return task


def task_snooze(*, task: Task, until: date) -> Task:
    if until <= timezone.localdate():
        raise ValueError(_("Snooze until a future date."))
    task.snoozed_until = until
    task.due_date = until
    task.save(update_fields=["snoozed_until", "due_date", "updated_at"])
    return task


def task_reassign(*, task: Task, assignee: User, actor: User | None = None) -> Task:
    """Hand an open task to someone else, and say so on the account's timeline."""
    if task.status != TaskStatus.OPEN:
        raise ValidationError(_("Only an open task can be reassigned."))
    if not assignee.is_active:
        raise ValidationError({"assignee": [_("Choose an active user.")]})
    if task.assignee_id == assignee.pk:
        return task
    with transaction.atomic():
        previous = task.assignee
        task.assignee = assignee
        task.save(update_fields=["assignee", "updated_at"])
        activity_record(
            account_id=task.account_id,
            subject=_("Task reassigned to %(user)s: %(title)s")
            % {"user": assignee, "title": task.title},
            summary=_("Was assigned to %(user)s.") % {"user": previous or _("nobody")},
            kind=ActivityKind.SYSTEM,
            author=actor,
            source="accounts",
            metadata={"task_id": task.pk},
        )
    return task


# Goals ---------------------------------------------------------------------------------


def goal_save(*, goal: Goal, actor: User | None = None, note: str = "") -> Goal:
    """Create or update a goal; every change of status or target is kept as a revision."""
    previous = (
        Goal.objects.filter(pk=goal.pk).values("status", "target").first() if goal.pk else None
    )
    with transaction.atomic():
        goal.full_clean()
        goal.save()
        if previous is None or previous != {"status": goal.status, "target": goal.target} or note:
            GoalRevision.objects.create(
                goal=goal, author=actor, status=goal.status, target=goal.target, note=note
            )
    return goal


# Tags and timeline edits --------------------------------------------------------------


def tags_ensure(*, names: Iterable[str]) -> list[Tag]:
    """The tags with these names, creating the missing ones (API and imports name tags)."""
    wanted = sorted({n.strip() for n in names if n and n.strip()})
    if not wanted:
        return []
    Tag.objects.bulk_create([Tag(name=n) for n in wanted], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=wanted))


def activity_update(
    *, activity: Activity, contact_ids: Iterable[int] | None = None, **fields: Any
) -> Activity:
    """Correct a timeline entry; the contacts involved are replaced when given."""
    for name, value in fields.items():
        setattr(activity, name, value)
    with transaction.atomic():
        activity.full_clean()
        activity.save()
        if contact_ids is not None:
            activity.contacts.set(list(contact_ids))
    return activity


__all__ = [
    "account_create",
    "account_financials_refresh",
    "account_update",
    "activity_record",
    "activity_update",
    "contact_delete",
    "contact_save",
    "goal_save",
    "months_in_billing_period",
    "subscription_delete",
    "subscription_mrr",
    "subscription_net_amount",
    "subscription_save",
    "subscriptions_bulk_create",
    "tags_ensure",
    "task_complete",
    "task_create",
    "task_reassign",
    "task_snooze",
    "task_update",
]
