"""Every API list endpoint costs the same number of queries for 5 rows as for 500."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Account, Activity, Contact, Goal, GoalRevision, Subscription, Tag, Task
from csplatform.services import api_key_create


@pytest.fixture(autouse=True)
def _private_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "accounts-test-api-queries",
        }
    }
    cache.clear()


def _accounts(n: int, owners: list) -> list[Account]:
    start = Account.objects.count()
    accounts = Account.objects.bulk_create(
        Account(name=f"Bulk {start + i:05d}", owner=owners[i % len(owners)]) for i in range(n)
    )
    tags = [Tag.objects.get_or_create(name=name)[0] for name in ("beta", "strategic")]
    Account.tags.through.objects.bulk_create(
        Account.tags.through(account_id=a.pk, tag_id=t.pk) for a in accounts for t in tags
    )
    Task.objects.bulk_create(
        Task(account=a, title="Call", assignee=a.owner, due_date=timezone.localdate())
        for a in accounts
    )
    return accounts


def _contacts(n: int, owners: list) -> None:
    Contact.objects.bulk_create(
        Contact(account=a, first_name="C", email=f"c{a.pk}@x.example") for a in _accounts(n, owners)
    )


def _subscriptions(n: int, owners: list) -> None:
    today = timezone.localdate()
    services.subscriptions_bulk_create(
        subscriptions=[
            Subscription(
                account=a,
                plan_name="Pro",
                unit_price=Decimal("100"),
                start_date=today - dt.timedelta(days=30),
                end_date=today + dt.timedelta(days=300),
            )
            for a in _accounts(n, owners)
        ]
    )


def _activities(n: int, owners: list) -> None:
    accounts = _accounts(n, owners)
    contacts = Contact.objects.bulk_create(
        Contact(account=a, first_name="C", email=f"c{a.pk}@x.example") for a in accounts
    )
    activities = Activity.objects.bulk_create(
        Activity(account=a, subject="Call", author=a.owner) for a in accounts
    )
    Activity.contacts.through.objects.bulk_create(
        Activity.contacts.through(activity_id=act.pk, contact_id=c.pk)
        for act, c in zip(activities, contacts, strict=True)
    )


def _tasks(n: int, owners: list) -> None:
    _accounts(n, owners)  # one task per account


def _goals(n: int, owners: list) -> None:
    goals = Goal.objects.bulk_create(
        Goal(account=a, title="Adoption", target="50%") for a in _accounts(n, owners)
    )
    GoalRevision.objects.bulk_create(
        GoalRevision(goal=g, status=g.status, target=g.target) for g in goals
    )


MAKERS: dict[str, Callable[[int, list], None]] = {
    "accounts": lambda n, owners: _accounts(n, owners) and None,
    "contacts": _contacts,
    "subscriptions": _subscriptions,
    "activities": _activities,
    "tasks": _tasks,
    "goals": _goals,
}


def _count_queries(client: APIClient, url: str, expected_rows: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"page_size": 500})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == expected_rows
    assert len(response.json()["results"]) == expected_rows
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", MAKERS)
def test_list_query_count_does_not_grow_with_rows(name, alice, bob, lead):
    _key, raw = api_key_create(user=lead, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    url = f"/api/v1/{name}/"
    make = MAKERS[name]

    # The key's first use records last_used_at; measure after it.
    assert client.get(url).status_code == 200
    make(5, [alice, bob])
    small = _count_queries(client, url, 5)
    make(495, [alice, bob])
    large = _count_queries(client, url, 500)

    assert small == large, f"{name}: {small} queries for 5 rows, {large} for 500"
    # Auth, role, permissions, count, page and at most two prefetches.
    assert large <= 6, f"{name}: {large} queries"
