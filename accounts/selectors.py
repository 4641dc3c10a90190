"""Reads of the accounts app that span relations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.choices import SubscriptionStatus, TaskStatus
from accounts.models import Account, Activity, Contact, Goal, Subscription, Task
from csplatform.models import User
from csplatform.roles import can_edit_owned


def account_list(*, user: User | None = None) -> QuerySet[Account]:
    """Accounts as the list page and the API show them: owner joined, open-task counts."""
    today = timezone.localdate()
    return Account.objects.select_related("owner").annotate(
        open_tasks=Count("tasks", filter=Q(tasks__status=TaskStatus.OPEN)),
        tasks_due=Count(
            "tasks", filter=Q(tasks__status=TaskStatus.OPEN, tasks__due_date__lte=today)
        ),
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
    return qs.order_by("due_date", "-priority", "pk")


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
