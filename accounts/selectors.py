"""Reads of the accounts app that span relations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.choices import SubscriptionStatus, TaskPriority, TaskStatus
from accounts.models import Account, Activity, Contact, Goal, Subscription, Task
from csplatform.choices import Role
from csplatform.models import User
from csplatform.roles import can_edit_owned

# Priority is stored as text; sorting needs its rank, not its alphabetical order.
PRIORITY_RANK = Case(
    When(priority=TaskPriority.URGENT, then=Value(0)),
    When(priority=TaskPriority.HIGH, then=Value(1)),
    When(priority=TaskPriority.NORMAL, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


def subscriptions_paying_on(day: date) -> QuerySet[Subscription]:
    """Lines that count towards MRR on `day` (the metric engine's rule, SPEC §3).

    Not a trial, and start date ≤ day ≤ end date (none: open-ended): a cancelled or
    expired line counts until its end date, since cancelling sets the end date to the
    effective day. A line whose successor of the same account and product starts on its
    end date (a renewal written with end = next start) stops the day before, so the
    hand-over day is counted once.
    """
    successor = (
        Subscription.objects.filter(
            account=OuterRef("account"),
            product=OuterRef("product"),
            start_date=OuterRef("end_date"),
            start_date__gt=OuterRef("start_date"),
        )
        .exclude(status=SubscriptionStatus.TRIAL)
        .exclude(pk=OuterRef("pk"))
    )
    return (
        Subscription.objects.exclude(status=SubscriptionStatus.TRIAL)
        .filter(start_date__lte=day)
        .filter(
            Q(end_date__isnull=True) | Q(end_date__gt=day) | (Q(end_date=day) & ~Exists(successor))
        )
    )


def _open_task_count(**extra: Any) -> Coalesce:
    counted = (
        Task.objects.filter(account=OuterRef("pk"), status=TaskStatus.OPEN, **extra)
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def account_list(*, user: User | None = None) -> QuerySet[Account]:
    """Accounts as the list page and the API show them: owner joined, open-task counts.

    The counts are correlated subqueries rather than a JOIN + GROUP BY, so the database
    computes them for the rows of the page only and the paginator's COUNT drops them.
    """
    today = timezone.localdate()
    return Account.objects.select_related("owner").annotate(
        open_tasks=_open_task_count(),
        tasks_due=_open_task_count(due_date__lte=today),
    )


def my_book(*, user: User) -> QuerySet[Account]:
    return account_list(user=user).filter(owner=user).order_by("renewal_date", "name")


def tasks_for_user(*, user: User, include_snoozed: bool = False) -> QuerySet[Task]:
    """Open tasks assigned to the user, overdue first, then by due date."""
    today = timezone.localdate()
    qs = Task.objects.filter(assignee=user, status=TaskStatus.OPEN).select_related(
        "account", "assignee"
    )
    if not include_snoozed:
        qs = qs.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=today))
    return qs.annotate(priority_rank=PRIORITY_RANK).order_by("due_date", "priority_rank", "pk")


def task_list(*, open_only: bool = False) -> QuerySet[Task]:
    """Tasks as the task list shows them: open and overdue first, then by due date.

    For open tasks the due date alone puts overdue ones first, and ordering by it lets
    PostgreSQL walk the (assignee, status, due_date) index instead of sorting them all.
    """
    today = timezone.localdate()
    qs = Task.objects.select_related("account", "assignee").annotate(priority_rank=PRIORITY_RANK)
    if open_only:
        return qs.filter(status=TaskStatus.OPEN).order_by("due_date", "priority_rank", "pk")
    return qs.annotate(
        overdue_rank=Case(
            When(status=TaskStatus.OPEN, due_date__lt=today, then=Value(0)),
            When(status=TaskStatus.OPEN, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
    ).order_by("overdue_rank", "due_date", "priority_rank", "pk")


def task_can_change(*, user: Any, task: Task) -> bool:
    """Owner-level editors of the task's account, or the task's own assignee (not a Viewer)."""
    if can_edit_owned(user, task.account.owner_id):
        return True
    return (
        getattr(user, "is_authenticated", False)
        and task.assignee_id == user.pk
        and user.role in (Role.CSM, Role.CS_LEAD, Role.ADMIN)
    )


@dataclass(frozen=True)
class BookKpis:
    """The small numbers at the top of "My book"."""

    accounts: int
    mrr_by_currency: list[tuple[str, Decimal, Decimal]]  # (currency, MRR, ARR)
    renewals_90d: int
    tasks_overdue: int
    tasks_due_today: int


def my_book_kpis(*, user: User) -> BookKpis:
    """Counts and MRR of the user's book in two queries, whatever its size."""
    today = timezone.localdate()
    per_currency = list(
        Account.objects.filter(owner=user)
        .values("currency")
        .annotate(
            n=Count("pk"),
            mrr=Sum("mrr"),
            renewing=Count(
                "pk",
                filter=Q(renewal_date__gte=today, renewal_date__lte=today + timedelta(days=90)),
            ),
        )
        .order_by("currency")
    )
    tasks = Task.objects.filter(assignee=user, status=TaskStatus.OPEN).aggregate(
        overdue=Count("pk", filter=Q(due_date__lt=today)),
        today=Count("pk", filter=Q(due_date=today)),
    )
    return BookKpis(
        accounts=sum(r["n"] for r in per_currency),
        mrr_by_currency=[
            (r["currency"], r["mrr"] or Decimal(0), (r["mrr"] or Decimal(0)) * 12)
            for r in per_currency
        ],
        renewals_90d=sum(r["renewing"] for r in per_currency),
        tasks_overdue=tasks["overdue"],
        tasks_due_today=tasks["today"],
    )


@dataclass(frozen=True)
class AccountHeader:
    """The facts at the top of the account 360 page."""

    account: Account
    tenure_days: int | None
    mrr: object
    arr: object
    renewal_date: date | None
    days_to_renewal: int | None
    cancellation_deadline: date | None
    licenses: int
    can_edit: bool


def account_detail(*, pk: int) -> Account:
    """One account with everything the 360 page shows, in a fixed number of queries."""
    return (
        Account.objects.select_related("owner", "parent")
        .prefetch_related(
            "tags",
            Prefetch("contacts", queryset=Contact.objects.order_by("-is_primary", "last_name")),
            Prefetch(
                "subscriptions", queryset=Subscription.objects.order_by("-status", "end_date")
            ),
            Prefetch(
                "tasks",
                queryset=Task.objects.filter(status=TaskStatus.OPEN).select_related("assignee"),
                to_attr="open_task_list",
            ),
            Prefetch("goals", queryset=Goal.objects.order_by("due_date")),
        )
        .get(pk=pk)
    )


def account_timeline(*, account: Account, limit: int = 50) -> QuerySet[Activity]:
    return (
        Activity.objects.filter(account=account)
        .select_related("author")
        .prefetch_related("contacts")
        .order_by("-occurred_at", "-pk")[:limit]
    )


def account_header(*, account: Account, user: User) -> AccountHeader:
    """Header facts from the prefetched subscriptions of `account_detail` (no extra query)."""
    today = timezone.localdate()
    active = [
        s
        for s in account.subscriptions.all()
        if s.status == SubscriptionStatus.ACTIVE
        and s.start_date <= today
        and (s.end_date is None or s.end_date >= today)
    ]
    renewing = sorted((s for s in active if s.end_date), key=lambda s: s.end_date)  # type: ignore[arg-type,return-value]
    deadline = renewing[0].cancellation_deadline if renewing else None
    return AccountHeader(
        account=account,
        tenure_days=account.tenure_days,
        mrr=account.mrr,
        arr=account.arr,
        renewal_date=account.renewal_date,
        days_to_renewal=account.days_to_renewal,
        cancellation_deadline=deadline,
        licenses=sum(s.quantity for s in active),
        can_edit=can_edit_owned(user, account.owner_id),
    )


def accounts_renewing_within(*, days: int) -> QuerySet[Account]:
    today = timezone.localdate()
    return Account.objects.filter(
        renewal_date__gte=today, renewal_date__lte=today + timedelta(days=days)
    )


def accounts_with_overdue_tasks() -> QuerySet[Account]:
    today = timezone.localdate()
    overdue = Task.objects.filter(
        account=OuterRef("pk"), status=TaskStatus.OPEN, due_date__lt=today
    )
    return Account.objects.filter(Exists(overdue))
