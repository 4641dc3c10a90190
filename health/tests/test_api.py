"""The health API: scores (filters, order, query counts), explanation, history, access."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from accounts.tests.test_api import api_client
from health.models import HealthScoreHistory
from health.services.scores import health_recalculate
from health.tests.factories import bands, build_scorecard
from metrics.models import AccountDailyMetrics

pytestmark = pytest.mark.django_db


@pytest.fixture
def portfolio(alice):
    build_scorecard(
        [
            ("Usage", 60, [("stickiness", 100, bands((0, 0), (40, 75), (60, 100)))]),
            ("Sentiment", 40, [("nps", 100, bands((-100, 0), (20, 80)))]),
        ]
    )
    today = timezone.now().date()
    accounts = {}
    for name, wau, nps in (("Acme", 50, 30), ("Globex", 10, 40), ("Initech", 70, 60)):
        accounts[name] = AccountFactory(owner=alice, name=name)
        AccountDailyMetrics.objects.create(
            account=accounts[name], date=today, mrr=0, mau=100, wau=wau, nps_365d=Decimal(nps)
        )
    health_recalculate()
    return accounts


def test_scores_list_worst_first_and_filter_by_colour(vic, portfolio):
    client = api_client(vic)
    body = client.get("/api/v1/health/scores/").json()
    # Globex 0.4·80 = 32 (red), Acme 77 (green), Initech 0.6·100 + 0.4·80 = 92 (green).
    assert [(r["account_name"], r["score"], r["color"]) for r in body["results"]] == [
        ("Globex", "32.00", "red"),
        ("Acme", "77.00", "green"),
        ("Initech", "92.00", "green"),
    ]
    red = client.get("/api/v1/health/scores/", {"color": "red"}).json()
    assert [r["account_name"] for r in red["results"]] == ["Globex"]
    below = client.get("/api/v1/health/scores/", {"score_below": "80"}).json()
    assert [r["account_name"] for r in below["results"]] == ["Globex", "Acme"]


def test_an_accounts_health_comes_with_its_explanation(vic, portfolio):
    body = api_client(vic).get(f"/api/v1/accounts/{portfolio['Acme'].pk}/health/").json()
    assert body["health"]["score"] == "77.00"
    why = body["explanation"]
    assert why["total"] == "77.00"
    usage = why["groups"][0]
    assert usage["measures"][0]["kind"] == "stickiness"
    assert (usage["measures"][0]["raw"], usage["measures"][0]["contribution"]) == (
        "50.00",
        "45.00",
    )


def test_history_of_an_account(vic, portfolio):
    account = portfolio["Acme"]
    HealthScoreHistory.objects.create(
        account=account, date=timezone.now().date() - dt.timedelta(days=3), score=70, color="yellow"
    )
    body = api_client(vic).get(f"/api/v1/accounts/{account.pk}/health/history/").json()
    assert [(p["score"], p["color"]) for p in body] == [("70.00", "yellow"), ("77.00", "green")]
    bad = api_client(vic).get(f"/api/v1/accounts/{account.pk}/health/history/", {"days": "0"})
    assert bad.status_code == 400 and "days" in bad.json()["errors"]


def test_health_needs_a_key_and_a_scored_account(portfolio):
    assert api_client().get("/api/v1/health/scores/").status_code == 401
    unscored = AccountFactory()
    assert (
        api_client(portfolio["Acme"].owner)
        .get(f"/api/v1/accounts/{unscored.pk}/health/")
        .status_code
        == 404
    )


def test_scores_cost_the_same_queries_for_5_and_50_accounts(
    vic, alice, portfolio, django_assert_max_num_queries
):
    client = api_client(vic)

    def add(n):
        for i in range(n):
            account = AccountFactory(owner=alice)
            AccountDailyMetrics.objects.create(
                account=account, date=timezone.now().date(), mrr=0, mau=100, wau=i
            )
        health_recalculate()

    add(2)
    client.get("/api/v1/health/scores/")
    with django_assert_max_num_queries(8) as small:
        client.get("/api/v1/health/scores/")
    add(45)
    with django_assert_max_num_queries(8) as large:
        client.get("/api/v1/health/scores/")
    assert len(small.captured_queries) == len(large.captured_queries)
