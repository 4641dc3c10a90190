"""The engine as a job: idempotent, overlap-safe, consistent with accounts, driven by beat."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from accounts.models import Account
from accounts.services import account_financials_refresh
from accounts.tests.factories import AccountFactory, SubscriptionFactory
from metrics.models import AccountDailyMetrics, MetricSnapshot, MrrMovement
from metrics.services import engine
from metrics.services.engine import metrics_recalculate, mrr_movements_rebuild, period_bounds
from metrics.tasks.engine import metrics_recalculate_today, metrics_recalculate_yesterday

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.fixture
def demo(db):
    call_command("seed_demo", accounts=40, seed=7, no_progress=True, verbosity=0)


def _rows():
    adm = set(
        AccountDailyMetrics.objects.values_list(
            "account_id", "date", "mrr", "dau", "wau", "mau", "events_30d", "tickets_open"
        )
    )
    snaps = set(
        MetricSnapshot.objects.values_list(
            "metric", "period", "segment", "date", "value", "numerator", "denominator"
        )
    )
    moves = set(MrrMovement.objects.values_list("account_id", "month", "kind", "amount"))
    return adm, snaps, moves


def test_slices_of_accounts_add_up_to_the_same_figures(demo, monkeypatch):
    today = timezone.now().date()
    start = today - dt.timedelta(days=100)
    whole = metrics_recalculate(start=start, end=today)
    assert whole.slices == 1
    expected = _rows()
    monkeypatch.setattr(engine, "SLICE_ACCOUNTS", 7)
    sliced = metrics_recalculate(start=start, end=today)
    assert sliced.slices == 6
    # Inside the test's transaction other connections could not see its rows.
    assert sliced.workers == 1
    assert _rows() == expected


@pytest.mark.django_db(transaction=True)
def test_slices_side_by_side_on_separate_connections_give_the_same_figures(settings, monkeypatch):
    settings.DEMO_METRICS_BACKFILL_DAYS = 0
    call_command("seed_demo", accounts=40, seed=7, no_progress=True, verbosity=0)
    today = timezone.now().date()
    start = today - dt.timedelta(days=100)
    alone = metrics_recalculate(start=start, end=today, workers=1)
    assert alone.workers == 1
    expected = _rows()
    monkeypatch.setattr(engine, "SLICE_ACCOUNTS", 7)
    together = metrics_recalculate(start=start, end=today, workers=2)
    assert (together.slices, together.workers) == (6, 2)
    assert _rows() == expected
    assert all(n > 0 for n in (len(expected[0]), len(expected[1]), len(expected[2])))


def test_running_twice_gives_identical_rows(demo):
    today = timezone.now().date()
    start = today - dt.timedelta(days=40)
    metrics_recalculate(start=start, end=today)
    first = _rows()
    metrics_recalculate(start=start, end=today)
    assert _rows() == first
    assert first[0] and first[1] and first[2]


def test_movements_add_up_from_opening_to_closing_on_the_portfolio(demo):
    today = timezone.now().date()
    start_month = (today.replace(day=1) - dt.timedelta(days=400)).replace(day=1)
    mrr_movements_rebuild(start_month=start_month, end_month=today)
    months = MrrMovement.objects.values_list("month", flat=True).distinct()
    assert months
    for month in months:
        rows = MrrMovement.objects.filter(month=month)
        by_kind = {
            k: v or Decimal(0)
            for k, v in rows.values("kind").annotate(s=Sum("amount")).values_list("kind", "s")
        }
        opening = rows.aggregate(s=Sum("opening_mrr"))["s"]
        closing = rows.aggregate(s=Sum("closing_mrr"))["s"]
        moved = (
            by_kind.get("new", 0)
            + by_kind.get("expansion", 0)
            + by_kind.get("reactivation", 0)
            - by_kind.get("contraction", 0)
            - by_kind.get("churn", 0)
        )
        assert opening + moved == closing, month


def test_portfolio_snapshots_satisfy_the_movement_identity(demo):
    today = timezone.now().date()
    start = today - dt.timedelta(days=60)
    metrics_recalculate(start=start, end=today)
    for snap in MetricSnapshot.objects.filter(metric="mrr", segment="", period="month"):

        def v(metric, snap=snap):
            return MetricSnapshot.objects.get(
                metric=metric, period="month", segment="", date=snap.date
            ).value

        opening = MetricSnapshot.objects.get(
            metric="gross_mrr_churn", period="month", segment="", date=snap.date
        ).denominator
        closing = opening + v("mrr_new") + v("mrr_expansion") + v("mrr_reactivation")
        closing -= v("mrr_contraction") + v("mrr_churned")
        assert closing == snap.value


def test_todays_mrr_agrees_with_the_accounts_figure(demo):
    today = timezone.now().date()
    account_financials_refresh(today=today)
    metrics_recalculate(start=today, end=today)
    engine_mrr = dict(
        AccountDailyMetrics.objects.filter(date=today).values_list("account_id", "mrr")
    )
    assert engine_mrr == dict(Account.objects.values_list("id", "mrr"))


def test_a_run_that_finds_the_engine_busy_skips_and_says_so(db):
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        dbname=settings["NAME"],
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [engine.LOCK_KEY])
        day = D(2025, 3, 1)
        result = metrics_recalculate(start=day, end=day, wait=False)
        assert result.skipped
        assert not AccountDailyMetrics.objects.exists()
        other.execute("SELECT pg_advisory_unlock(%s)", [engine.LOCK_KEY])
        AccountFactory()
        assert not metrics_recalculate(start=day, end=day, wait=False).skipped
        assert AccountDailyMetrics.objects.filter(date=day).count() == 1
    finally:
        other.close()


def test_the_current_period_is_stored_to_date_under_its_last_day():
    acc = AccountFactory()
    SubscriptionFactory(account=acc, start_date=D(2025, 1, 1), end_date=None)
    metrics_recalculate(start=D(2025, 3, 10), end=D(2025, 3, 10), today=D(2025, 3, 10))
    month = MetricSnapshot.objects.get(
        metric="dau", period="month", segment="", date=D(2025, 3, 31)
    )
    # Ten days so far: the mean daily users is divided by 10, not 31.
    assert month.denominator == 10
    assert MetricSnapshot.objects.filter(period="year", date=D(2025, 12, 31), metric="mrr").exists()


def test_period_bounds_use_iso_weeks_and_calendar_periods():
    day = D(2025, 2, 12)  # a Wednesday
    assert period_bounds("week", day) == (D(2025, 2, 10), D(2025, 2, 16))
    assert period_bounds("month", day) == (D(2025, 2, 1), D(2025, 2, 28))
    assert period_bounds("quarter", day) == (D(2025, 1, 1), D(2025, 3, 31))
    assert period_bounds("year", day) == (D(2025, 1, 1), D(2025, 12, 31))


def test_backfill_command_rebuilds_the_range_and_reports(capsys):
    AccountFactory()
    call_command("metrics_backfill", "--start", "2025-01-01", "--end", "2025-02-15", verbosity=0)
    assert (
        AccountDailyMetrics.objects.filter(
            date__gte=D(2025, 1, 1), date__lte=D(2025, 2, 15)
        ).count()
        == 46
    )
    assert "Recalculated 46 days" in capsys.readouterr().out


def test_beat_tasks_recalculate_today_and_yesterday():
    AccountFactory()
    today = timezone.now().date()
    metrics_recalculate_today()
    metrics_recalculate_yesterday()
    dates = set(AccountDailyMetrics.objects.values_list("date", flat=True))
    assert dates == {today, today - dt.timedelta(days=1)}


def test_registered_snapshot_sources_are_stored_with_the_periods_and_replaced_on_rerun():
    from metrics.registry import register_snapshot_source, unregister_snapshot_source

    calls = []

    def source(spans):
        calls.append(len(spans))
        return [
            MetricSnapshot(
                date=s.date, period=s.kind, metric="test_source", segment="", value=Decimal(1)
            )
            for s in spans
            if s.kind == "month"
        ]

    register_snapshot_source(key="test", source=source)
    try:
        metrics_recalculate(start=D(2025, 3, 30), end=D(2025, 4, 2), today=D(2025, 6, 1))
        metrics_recalculate(start=D(2025, 3, 30), end=D(2025, 4, 2), today=D(2025, 6, 1))
    finally:
        unregister_snapshot_source(key="test")
    rows = MetricSnapshot.objects.filter(metric="test_source").order_by("date")
    assert [r.date for r in rows] == [D(2025, 3, 31), D(2025, 4, 30)]
    assert len(calls) == 2
    # Without the source, a rerun of the same periods removes its rows with the rest.
    metrics_recalculate(start=D(2025, 3, 30), end=D(2025, 4, 2), today=D(2025, 6, 1))
    assert not MetricSnapshot.objects.filter(metric="test_source").exists()
