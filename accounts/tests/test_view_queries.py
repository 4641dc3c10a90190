"""Every list page runs the same number of queries for 5 rows as for 500 (ARCHITECTURE: Data and speed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import ActivityKind, PowerRole, SubscriptionStatus, TaskPriority, Tier
from accounts.models import Account, Activity, Contact, Goal, Subscription, Tag, Task

# Generous ceilings; the real guarantee is "the same for 5 as for 500".
MAX_QUERIES = 15
# The 360 page also renders the panels other apps register (accounts/panels.py), each at
# a fixed cost whatever the history: metrics' "usage and sentiment" three queries,
# onboarding's two, health's four at most (score, history, override, sentiment), renewals'
# one and the QBR panel's two (the account's QBRs, its cadence). bench/run.py holds the
# 360 page to the same ceiling.
PANEL_QUERIES = {"metrics": 3, "onboarding": 2, "health": 4, "renewals": 1, "qbr": 2}
MAX_QUERIES_360 = MAX_QUERIES + sum(PANEL_QUERIES.values())

_seq = count()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def add_accounts(n: int, *, owners: list, tag: Tag) -> list[Account]:
    """n accounts, each with a subscription, two contacts, two tasks and two activities."""
    today = timezone.localdate()
    accounts = Account.objects.bulk_create(
        [
            Account(
                name=f"Bulk {next(_seq):05d}",
                owner=owners[i % len(owners)],
                tier=[Tier.ENTERPRISE, Tier.MID_MARKET, Tier.SMB][i % 3],
                currency="USD",
                mrr=Decimal(100 + i),
                renewal_date=today + dt.timedelta(days=i % 400),
                customer_since=today - dt.timedelta(days=365),
            )
            for i in range(n)
        ]
    )
    Account.tags.through.objects.bulk_create(
        [Account.tags.through(account_id=a.pk, tag_id=tag.pk) for a in accounts[::2]]
    )
    Subscription.objects.bulk_create(
        [
            Subscription(
                account=a,
                plan_name="Pro",
                quantity=10,
                unit_price=Decimal("10"),
                mrr=Decimal("100"),
                start_date=today - dt.timedelta(days=30),
                end_date=today + dt.timedelta(days=335),
                status=SubscriptionStatus.ACTIVE,
            )
            for a in accounts
        ]
    )
    Contact.objects.bulk_create(
        [
            Contact(account=a, first_name=f"C{j}", email=f"c{j}@{a.pk}.example")
            for a in accounts
            for j in range(2)
        ]
    )
    Task.objects.bulk_create(
        [
            Task(
                account=a,
                title=f"Task {j}",
                assignee=a.owner,
                due_date=today + dt.timedelta(days=j * 3 - 2),
                priority=TaskPriority.HIGH,
            )
            for a in accounts
            for j in range(2)
        ]
    )
    Activity.objects.bulk_create(
        [
            Activity(account=a, subject=f"Call {j}", author=a.owner)
            for a in accounts
            for j in range(2)
        ]
    )
    return accounts


def enrich_account(account: Account, n: int, author) -> None:
    """n contacts, subscriptions, activities (with contacts), open tasks and goals on one account."""
    today = timezone.localdate()
    start = next(_seq)
    contacts = Contact.objects.bulk_create(
        [
            Contact(
                account=account,
                first_name=f"P{start}-{i}",
                email=f"p{start}-{i}@x.example",
                power_role=PowerRole.values[i % len(PowerRole.values)],
            )
            for i in range(n)
        ]
    )
    Subscription.objects.bulk_create(
        [
            Subscription(
                account=account,
                plan_name=f"Line {i}",
                unit_price=Decimal("5"),
                mrr=Decimal("5"),
                start_date=today - dt.timedelta(days=10),
                end_date=today + dt.timedelta(days=100 + i),
            )
            for i in range(n)
        ]
    )
    activities = Activity.objects.bulk_create(
        [
            Activity(
                account=account, subject=f"Meeting {i}", kind=ActivityKind.MEETING, author=author
            )
            for i in range(n)
        ]
    )
    Activity.contacts.through.objects.bulk_create(
        [
            Activity.contacts.through(activity_id=act.pk, contact_id=c.pk)
            for act, c in zip(activities, contacts, strict=True)
        ]
    )
    Task.objects.bulk_create(
        [
            Task(account=account, title=f"Todo {i}", assignee=author, due_date=today)
            for i in range(n)
        ]
    )
    Goal.objects.bulk_create([Goal(account=account, title=f"Goal {i}") for i in range(n)])


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200
    return len(ctx.captured_queries)


LIST_URLS = {
    "home": lambda u: reverse("accounts:home"),
    "list": lambda u: reverse("accounts:list"),
    "list_filtered": lambda u: (
        reverse("accounts:list")
        + f"?owner={u.pk}&tier=enterprise&renewal_window=365&q=Bulk&tag=strategic"
    ),
    "list_sorted": lambda u: reverse("accounts:list") + "?ordering=-mrr",
    "list_sorted_owner_page2": lambda u: reverse("accounts:list") + "?ordering=owner&page=2",
    "csv": lambda u: reverse("accounts:list") + "?format=csv",
    "csv_filtered": lambda u: reverse("accounts:list") + "?format=csv&tier=smb&ordering=-mrr",
    "tasks": lambda u: reverse("accounts:tasks"),
    "tasks_team": lambda u: reverse("accounts:tasks") + "?scope=team&status=",
}


@pytest.mark.parametrize("page", LIST_URLS)
def test_list_pages_run_the_same_queries_for_5_and_500_accounts(
    client_for, alice, bob, django_assert_max_num_queries, page
):
    tag = Tag.objects.create(name="strategic")
    client = client_for(alice)
    url = LIST_URLS[page](alice)
    add_accounts(5, owners=[alice, bob], tag=tag)
    queries_for(client, url)  # warm the session and content-type caches
    small = queries_for(client, url)
    add_accounts(495, owners=[alice, bob], tag=tag)
    with django_assert_max_num_queries(MAX_QUERIES):
        large = queries_for(client, url)
    print(f"queries {page}: 5 accounts={small} 500 accounts={large}")
    assert small == large, f"{page}: {small} queries for 5 accounts, {large} for 500"


def test_account_360_runs_the_same_queries_for_5_and_500_related_rows(
    client_for, alice, bob, django_assert_max_num_queries
):
    tag = Tag.objects.create(name="strategic")
    (account,) = add_accounts(1, owners=[alice], tag=tag)
    url = reverse("accounts:detail", args=[account.pk])
    client = client_for(alice)  # the owner: edit buttons and the activity form render too
    enrich_account(account, 5, alice)
    queries_for(client, url)
    small = queries_for(client, url)
    enrich_account(account, 495, alice)
    with django_assert_max_num_queries(MAX_QUERIES_360):
        large = queries_for(client, url)
    print(f"queries detail: 5 of each={small} 500 of each={large}")
    assert small == large, f"360: {small} queries with 5 of each, {large} with 500"


def test_my_book_lists_the_soonest_renewals_first_and_caps_the_page(client_for, alice):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Account

    today = timezone.localdate()
    Account.objects.bulk_create(
        Account(name=f"Book {i:03d}", owner=alice, renewal_date=today + timedelta(days=i))
        for i in range(60)
    )
    response = client_for(alice).get("/")
    shown = response.context["accounts"]
    assert len(shown) == 50
    assert [a.name for a in shown[:2]] == ["Book 000", "Book 001"]
    assert response.context["kpis"].accounts == 60
