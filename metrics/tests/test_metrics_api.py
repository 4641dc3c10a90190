"""The metrics read API: the catalogue, series by period/segment/range, account daily figures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tests.factories import AccountFactory
from csplatform.services import api_key_create
from metrics.definitions import METRICS
from metrics.models import AccountDailyMetrics, MetricSnapshot

D = dt.date


@pytest.fixture(autouse=True)
def _private_cache(settings):
    # Throttle counters live in the cache; keep them away from other runs' Redis keys.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "metrics-test-api",
        }
    }
    cache.clear()
    yield
    cache.clear()


def api_client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        _key, raw = api_key_create(user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def snap(metric, day, value, *, period="month", segment=""):
    return MetricSnapshot.objects.create(
        metric=metric, period=period, segment=segment, date=day, value=Decimal(value)
    )


def test_metric_list_returns_every_catalogued_metric_with_formula_and_benchmarks(vic):
    response = api_client(vic).get("/api/v1/metrics/")
    assert response.status_code == 200
    by_key = {m["key"]: m for m in response.json()}
    assert set(by_key) == set(METRICS)
    assert by_key["nps"]["formula"] == str(METRICS["nps"].formula)
    assert {"label": "best in class", "low": 50.0, "high": None} in by_key["nps"]["benchmarks"]
    assert by_key["customer_churn_rate"]["higher_is_better"] is False


def test_anonymous_callers_get_401(db):
    assert api_client().get("/api/v1/metrics/").status_code == 401
    assert api_client().get("/api/v1/metrics/nrr/").status_code == 401


def test_series_returns_the_segment_and_period_in_the_range_oldest_first(vic):
    snap("nrr", D(2026, 3, 31), "104.5", segment="tier:enterprise")
    snap("nrr", D(2026, 1, 31), "101.0", segment="tier:enterprise")
    snap("nrr", D(2026, 2, 28), "102.0", segment="tier:enterprise")
    snap("nrr", D(2025, 12, 31), "99.0", segment="tier:enterprise")  # before start
    snap("nrr", D(2026, 2, 28), "90.0")  # portfolio, not the segment
    snap("nrr", D(2026, 2, 1), "80.0", period="week", segment="tier:enterprise")
    snap("grr", D(2026, 2, 28), "95.0", segment="tier:enterprise")

    response = api_client(vic).get(
        "/api/v1/metrics/nrr/",
        {
            "period": "month",
            "segment": "tier:enterprise",
            "start": "2026-01-01",
            "end": "2026-03-31",
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["metric"]["key"] == "nrr"
    assert body["segment"] == "tier:enterprise"
    assert [(p["date"], p["value"]) for p in body["points"]] == [
        ("2026-01-31", "101.0000"),
        ("2026-02-28", "102.0000"),
        ("2026-03-31", "104.5000"),
    ]


def test_series_defaults_to_the_portfolio_by_month_over_the_last_year(vic):
    today = dt.datetime.now(dt.UTC).date()
    snap("mrr", today - dt.timedelta(days=10), "1000")
    snap("mrr", today - dt.timedelta(days=400), "900")
    body = api_client(vic).get("/api/v1/metrics/mrr/").json()
    assert body["period"] == "month"
    assert body["segment"] == ""
    assert [p["value"] for p in body["points"]] == ["1000.0000"]


def test_feature_adoption_series_is_read_per_feature(vic):
    snap("feature_adoption", D(2026, 2, 28), "41.5", segment="feature:reports")
    snap("feature_adoption", D(2026, 2, 28), "12.0", segment="feature:exports")
    body = (
        api_client(vic)
        .get(
            "/api/v1/metrics/feature_adoption/",
            {"segment": "feature:reports", "start": "2026-01-01", "end": "2026-03-31"},
        )
        .json()
    )
    assert [p["value"] for p in body["points"]] == ["41.5000"]


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/metrics/no_such_metric/", {}, "metric"),
        ("/api/v1/metrics/nrr/", {"period": "fortnight"}, "period"),
        ("/api/v1/metrics/nrr/", {"segment": "tier:galactic"}, "segment"),
        ("/api/v1/metrics/nrr/", {"segment": "owner:5"}, "segment"),
        ("/api/v1/metrics/nrr/", {"segment": "feature:not a key!"}, "segment"),
        ("/api/v1/metrics/nrr/", {"start": "2026-13-01"}, "start"),
        ("/api/v1/metrics/nrr/", {"start": "2026-03-01", "end": "2026-02-01"}, "start"),
        (
            "/api/v1/metrics/nrr/",
            {"period": "day", "start": "2000-01-01", "end": "2026-01-01"},
            "start",
        ),
    ],
)
def test_bad_parameters_answer_400_with_the_field_named(vic, url, params, field):
    response = api_client(vic).get(url, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]


def test_account_metrics_return_the_accounts_daily_rows_in_the_range(vic):
    account, other = AccountFactory(), AccountFactory()
    for day, dau in [(D(2026, 5, 1), 3), (D(2026, 5, 2), 5), (D(2026, 5, 9), 8)]:
        AccountDailyMetrics.objects.create(
            account=account, date=day, dau=dau, mau=20, mrr=Decimal("150.5")
        )
    AccountDailyMetrics.objects.create(account=other, date=D(2026, 5, 2), dau=99)

    response = api_client(vic).get(
        f"/api/v1/accounts/{account.pk}/metrics/", {"start": "2026-05-01", "end": "2026-05-05"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["account"] == account.pk
    assert [(p["date"], p["dau"], p["mau"], p["mrr"]) for p in body["points"]] == [
        ("2026-05-01", 3, 20, "150.5000"),
        ("2026-05-02", 5, 20, "150.5000"),
    ]


def test_account_metrics_of_a_missing_account_answer_404(vic):
    assert api_client(vic).get("/api/v1/accounts/999999/metrics/").status_code == 404


def test_account_metrics_reject_a_range_longer_than_two_years(vic):
    account = AccountFactory()
    response = api_client(vic).get(
        f"/api/v1/accounts/{account.pk}/metrics/", {"start": "2020-01-01", "end": "2026-01-01"}
    )
    assert response.status_code == 400
    assert "start" in response.json()["errors"]


def test_the_accounts_router_still_answers_the_account_itself(vic):
    account = AccountFactory(name="Routed Inc")
    response = api_client(vic).get(f"/api/v1/accounts/{account.pk}/")
    assert response.status_code == 200
    assert response.json()["name"] == "Routed Inc"


def test_series_query_count_does_not_grow_with_points(vic, django_assert_max_num_queries):
    client = api_client(vic)
    for i in range(3):
        snap("mrr", D(2025, 1, 1) + dt.timedelta(days=31 * i), "10")
    client.get("/api/v1/metrics/mrr/", {"start": "2025-01-01", "end": "2026-12-31"})
    MetricSnapshot.objects.bulk_create(
        MetricSnapshot(
            metric="mrr",
            period="day",
            segment="",
            date=D(2025, 1, 1) + dt.timedelta(days=i),
            value=1,
        )
        for i in range(500)
    )
    with django_assert_max_num_queries(4):
        response = client.get(
            "/api/v1/metrics/mrr/", {"period": "day", "start": "2025-01-01", "end": "2026-05-31"}
        )
    assert len(response.json()["points"]) == 500


def test_account_metrics_query_count_does_not_grow_with_days(vic, django_assert_max_num_queries):
    account = AccountFactory()
    client = api_client(vic)
    AccountDailyMetrics.objects.bulk_create(
        AccountDailyMetrics(account=account, date=D(2025, 1, 1) + dt.timedelta(days=i), dau=i)
        for i in range(400)
    )
    with django_assert_max_num_queries(4):
        response = client.get(
            f"/api/v1/accounts/{account.pk}/metrics/", {"start": "2025-01-01", "end": "2026-12-31"}
        )
    assert len(response.json()["points"]) == 400
