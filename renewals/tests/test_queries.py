"""Every renewals list page and API list costs the same queries for 5 renewals as for 50
(and at most onboarding's ceiling), and the account 360 page's renewal panel a fixed one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from itertools import count

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Subscription
from accounts.tests.test_view_queries import MAX_QUERIES_360, enrich_account
from onboarding.tests.test_queries import api_client, queries, same_for_5_and_50
from renewals.models import CounterOffer, ExitInterview, Renewal
from renewals.services.sync import renewals_sync

_seq = count()


def add_renewals(n: int, owner) -> None:
    """n accounts renewing over the next months, a third closed (some churned with an
    interview and an offer), some at risk, in two currencies."""
    today = timezone.localdate()
    start = next(_seq) * 1000
    accounts = Account.objects.bulk_create(
        Account(name=f"Bulk {start + i:05d}", owner=owner, currency="EUR" if i % 4 else "USD")
        for i in range(n)
    )
    Subscription.objects.bulk_create(
        Subscription(
            account=a,
            plan_name="Pro",
            quantity=10,
            unit_price=Decimal("1200"),
            billing_period="annual",
            billing_period_months=12,
            mrr=Decimal("1000"),
            currency=a.currency,
            start_date=today - dt.timedelta(days=300),
            end_date=today + dt.timedelta(days=(i * 7) % 120 - 20),
        )
        for i, a in enumerate(accounts)
    )
    renewals_sync()
    renewals = list(Renewal.objects.filter(account__in=accounts).order_by("pk"))
    closed = renewals[::3]
    for i, r in enumerate(closed):
        r.outcome = "churned" if i % 2 else "contracted"
        r.outcome_mrr = Decimal(0) if i % 2 else Decimal("800")
        r.stage = "closed"
        r.closed_on = today
        r.effective_on = r.renewal_date
        r.reason = "price"
    Renewal.objects.bulk_update(
        closed, ["outcome", "outcome_mrr", "stage", "closed_on", "effective_on", "reason"]
    )
    Renewal.objects.filter(pk__in=[r.pk for r in renewals[1::3]]).update(
        at_risk=True, risk_usage=True
    )
    ExitInterview.objects.bulk_create(
        ExitInterview(
            renewal=r, why_cancel="x", used_for="y", how_to_improve="z", communication="well"
        )
        for r in closed
        if r.outcome == "churned"
    )
    CounterOffer.objects.bulk_create(CounterOffer(renewal=r, kind="free_months") for r in renewals)


PAGES = [
    reverse("renewals:list"),
    reverse("renewals:list") + "?state=all&ordering=-weighted&at_risk=true",
    reverse("renewals:list") + "?state=closed&reason=price&page=2",
    reverse("renewals:list") + "?format=csv&state=all",
    reverse("renewals:pipeline"),
    reverse("renewals:pipeline") + "?by=quarter&format=csv",
    reverse("renewals:retention"),
    reverse("renewals:retention") + "?by=quarter&segment=tier:smb&format=csv",
    reverse("renewals:calendar"),
    reverse("renewals:churn"),
    reverse("renewals:churn") + "?format=csv",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_list_pages(client_for, alice, url, django_assert_max_num_queries):
    same_for_5_and_50(
        client_for(alice), url, lambda n: add_renewals(n, alice), django_assert_max_num_queries
    )


API_LISTS = [
    "/api/v1/renewals/",
    "/api/v1/renewals/?state=closed&ordering=-arr",
    "/api/v1/renewals/pipeline/?by=quarter",
    "/api/v1/renewals/retention/",
    "/api/v1/renewals/counter-offers/",
    "/api/v1/renewals/exit-interviews/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", API_LISTS)
def test_api_lists(alice, url, django_assert_max_num_queries):
    same_for_5_and_50(
        api_client(alice), url, lambda n: add_renewals(n, alice), django_assert_max_num_queries
    )


@pytest.mark.django_db
def test_renewal_page(client_for, alice, django_assert_max_num_queries):
    add_renewals(1, alice)
    renewal = Renewal.objects.get()

    def grow(n: int) -> None:
        CounterOffer.objects.bulk_create(
            CounterOffer(renewal=renewal, kind="discount") for _ in range(n)
        )

    same_for_5_and_50(
        client_for(alice),
        reverse("renewals:detail", args=[renewal.pk]),
        grow,
        django_assert_max_num_queries,
    )


@pytest.mark.django_db
def test_account_360_page_with_renewals(client_for, alice):
    """The renewal panel adds one query to the 360 page, however many renewals."""
    add_renewals(1, alice)
    account = Account.objects.get()
    enrich_account(account, 5, alice)
    url = reverse("accounts:detail", args=[account.pk])
    client = client_for(alice)
    queries(client, url)
    with_renewals = queries(client, url)
    assert with_renewals <= MAX_QUERIES_360
    add_renewals(0, alice)
    Subscription.objects.filter(account=account).update(
        end_date=timezone.localdate() + dt.timedelta(days=90)
    )
    renewals_sync()
    CounterOffer.objects.bulk_create(
        CounterOffer(renewal=r, kind="consulting") for r in Renewal.objects.all() for _ in range(3)
    )
    assert Renewal.objects.filter(account=account).count() > 1
    assert queries(client, url) == with_renewals
