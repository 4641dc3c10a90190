"""Scores computed by hand: weights, bands, linear scoring, NA re-weighting, selection,
overrides and their expiry, trends, explanations, and one account against all of them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import Tier, TouchModel
from accounts.models import Activity
from accounts.tests.factories import AccountFactory
from health.models import HealthScore, HealthScoreHistory
from health.selectors import account_health, explain
from health.services import overrides
from health.services.scores import health_recalculate
from health.signals import health_changed
from health.tests.factories import bands, build_scorecard, linear
from metrics.models import AccountDailyMetrics

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 20)


def figures(account, day=TODAY, **values):
    defaults = {"mrr": Decimal(0), "dau": 0, "wau": 0, "mau": 0, "events_30d": 0}
    return AccountDailyMetrics.objects.create(account=account, date=day, **{**defaults, **values})


def usage_and_nps():
    """Usage 60 % (stickiness, MAU trend), Sentiment 40 % (NPS)."""
    return build_scorecard(
        [
            (
                "Usage",
                60,
                [
                    ("stickiness", 50, bands((0, 0), (25, 50), (40, 75), (60, 100))),
                    ("mau_trend", 50, bands((-100, 0), (0, 60), (10, 100))),
                ],
            ),
            ("Sentiment", 40, [("nps", 100, bands((-100, 0), (0, 50), (20, 80), (50, 100)))]),
        ]
    )


def score_of(account):
    return HealthScore.objects.get(account=account)


def test_weights_and_bands_add_up_as_computed_by_hand():
    usage_and_nps()
    account = AccountFactory()
    figures(account, mau=100, wau=50, nps_365d=Decimal(30))  # stickiness 50 → 75
    figures(account, TODAY - dt.timedelta(days=30), mau=80)  # MAU +25 % → 100
    health_recalculate(as_of=TODAY)
    # Usage = (50·75 + 50·100) / 100 = 87.5; Sentiment = 80; 0.6·87.5 + 0.4·80 = 84.5
    h = score_of(account)
    assert (h.computed_score, h.score, h.color) == (Decimal("84.50"), Decimal("84.50"), "green")
    assert h.details["groups"] == [87.5, 80.0]
    assert h.details["raw"][:2] == [50.0, 25.0]


def test_linear_scoring_clamps_and_runs_either_way():
    build_scorecard(
        [
            ("Sentiment", 50, [("csat", 100, linear(50, 95))]),
            ("Usage", 50, [("days_since_activity", 100, linear(30, 0))]),
        ]
    )
    a, b = AccountFactory(), AccountFactory()
    figures(a, csat_365d=Decimal("72.5"), days_since_last_activity=6)
    figures(b, csat_365d=Decimal(99), days_since_last_activity=45)
    health_recalculate(as_of=TODAY)
    # a: CSAT (72.5 − 50)·100/45 = 50; activity (6 − 30)·100/(0 − 30) = 80 → 65
    assert score_of(a).computed_score == Decimal("65.00")
    # b: CSAT above 95 → 100; 45 days, past the 30 that score 0 → 0 → 50
    assert score_of(b).computed_score == Decimal("50.00")


def test_a_measure_without_data_hands_its_weight_to_its_group_and_a_group_to_the_others():
    usage_and_nps()
    partial = AccountFactory()
    figures(partial, mau=100, wau=50, nps_365d=Decimal(30))  # no MAU 30 days ago: trend NA
    silent = AccountFactory()
    figures(silent, mau=100, wau=50)  # no MAU trend, no NPS: only stickiness counts
    nothing = AccountFactory()
    health_recalculate(as_of=TODAY)
    # Usage = stickiness alone, 75; 0.6·75 + 0.4·80 = 77
    assert score_of(partial).computed_score == Decimal("77.00")
    assert score_of(silent).computed_score == Decimal("75.00")
    assert score_of(partial).details["scores"] == [75.0, None, 80.0]
    # No figures at all: every measure NA, no score and no colour (not a zero).
    h = score_of(nothing)
    assert (h.computed_score, h.color) == (None, "")


def test_colour_bands_are_the_versions_own():
    usage_and_nps().scorecard.versions.update(red_max=60, yellow_max=80)
    account = AccountFactory()
    figures(account, mau=100, wau=50, nps_365d=Decimal(30))
    health_recalculate(as_of=TODAY)
    assert score_of(account).color == "yellow"  # 77 ≤ 80


def test_the_first_matching_scorecard_by_priority_scores_an_account_else_the_default():
    default = build_scorecard([("Usage", 100, [("stickiness", 100, linear(0, 100))])])
    enterprise = build_scorecard(
        [("Usage", 100, [("stickiness", 100, linear(0, 50))])],
        is_default=False,
        priority=10,
        tiers=[Tier.ENTERPRISE],
    )
    high_touch = build_scorecard(
        [("Usage", 100, [("stickiness", 100, linear(0, 200))])],
        is_default=False,
        priority=20,
        touch_models=[TouchModel.HIGH],
    )
    build_scorecard(
        [("Usage", 100, [("stickiness", 100, linear(0, 10))])],
        is_default=False,
        priority=1,
        is_active=False,
    )
    both = AccountFactory(tier=Tier.ENTERPRISE, touch_model=TouchModel.HIGH)
    touch = AccountFactory(tier=Tier.SMB, touch_model=TouchModel.HIGH)
    other = AccountFactory(tier=Tier.SMB, touch_model=TouchModel.LOW)
    for account in (both, touch, other):
        figures(account, mau=100, wau=40)  # stickiness 40
    health_recalculate(as_of=TODAY)
    assert (score_of(both).version_id, score_of(both).computed_score) == (
        enterprise.pk,
        Decimal("80.00"),
    )
    assert (score_of(touch).version_id, score_of(touch).computed_score) == (
        high_touch.pk,
        Decimal("20.00"),
    )
    assert (score_of(other).version_id, score_of(other).computed_score) == (
        default.pk,
        Decimal("40.00"),
    )


def test_an_override_wins_until_it_expires_and_recalculation_keeps_it(alice, monkeypatch):
    usage_and_nps()
    account = AccountFactory(owner=alice)
    today = timezone.now().date()
    figures(account, today, mau=100, wau=50, nps_365d=Decimal(30))
    health_recalculate(as_of=today)
    assert score_of(account).score == Decimal("77.00")
    override = overrides.override_set(
        account=account,
        score=Decimal(30),
        reason="Champion left; renewal at risk.",
        expires_on=today + dt.timedelta(days=1),
        actor=alice,
    )
    h = score_of(account)
    assert (h.score, h.color, h.computed_score, h.overridden) == (
        Decimal("30.00"),
        "red",
        Decimal("77.00"),
        True,
    )
    health_recalculate(as_of=today)  # the nightly run keeps it
    assert score_of(account).score == Decimal("30.00")
    # Two days later it has expired: the computed score counts again.
    assert overrides.overrides_expire(today=today + dt.timedelta(days=2)) == [account.pk]
    override.refresh_from_db()
    assert (override.end_reason, override.ended_at is not None) == ("expired", True)
    h = score_of(account)
    assert (h.score, h.overridden) == (Decimal("77.00"), False)
    subjects = list(Activity.objects.filter(account=account).values_list("subject", flat=True))
    assert any("overridden to 30" in s for s in subjects)
    assert any("override expired" in s for s in subjects)
    assert overrides.overrides_expire(today=today + dt.timedelta(days=2)) == []  # once


def test_the_sentiment_measure_scores_the_csms_reading_while_it_lasts(alice):
    build_scorecard([("Sentiment", 100, [("csm_sentiment", 100, linear(0, 100))])])
    account = AccountFactory(owner=alice)
    today = timezone.now().date()
    health_recalculate(as_of=today)
    assert score_of(account).computed_score is None  # no sentiment: NA
    overrides.sentiment_set(
        account=account,
        sentiment="neutral",
        reason="Quiet quarter.",
        expires_on=today + dt.timedelta(days=30),
        actor=alice,
    )
    assert score_of(account).computed_score == Decimal("60.00")


def test_trends_compare_with_the_scores_7_and_30_days_before(alice):
    usage_and_nps()
    account = AccountFactory(owner=alice)
    today = timezone.now().date()
    figures(account, today, mau=100, wau=50, nps_365d=Decimal(30))
    HealthScoreHistory.objects.create(account=account, date=today - dt.timedelta(days=7), score=70)
    HealthScoreHistory.objects.create(account=account, date=today - dt.timedelta(days=30), score=90)
    health_recalculate(as_of=today)
    panel = account_health(account=account, user=alice)
    assert (panel.trend_7, panel.trend_30) == (Decimal("7.00"), Decimal("-13.00"))
    assert [h[1] for h in panel.history] == [Decimal(90), Decimal(70), Decimal("77.00")]


def test_the_explanation_adds_up_to_the_score_and_says_what_changed_since_yesterday():
    usage_and_nps()
    account = AccountFactory()
    yesterday = TODAY - dt.timedelta(days=1)
    figures(account, yesterday, mau=100, wau=20, nps_365d=Decimal(30))
    figures(account, mau=100, wau=50, nps_365d=Decimal(30))
    figures(account, TODAY - dt.timedelta(days=30), mau=80)
    health_recalculate(as_of=yesterday)
    health_recalculate(as_of=TODAY)
    h = score_of(account)
    why = explain(health=h)
    assert why is not None
    assert why.total == h.computed_score == Decimal("84.50")
    usage, sentiment = why.groups
    stickiness, _trend = usage.measures
    # 0.6 · (50 / 100) · 75 = 22.5 points from stickiness; NPS 0.4 · 80 = 32
    assert (stickiness.raw, stickiness.band, stickiness.contribution) == (
        Decimal("50.0"),
        "from 40",
        Decimal("22.50"),
    )
    assert sentiment.measures[0].contribution == Decimal("32.00")
    # Yesterday stickiness was 20 % (score 0) and the trend had no data (NA), so usage
    # was stickiness alone: 0.6 · 0 = 0 points then, 22.5 now.
    assert stickiness.change == Decimal("22.50")
    assert why.previous_as_of == yesterday


def test_a_single_account_recalculation_gives_the_numbers_of_a_full_one():
    usage_and_nps()
    accounts = [AccountFactory() for _ in range(4)]
    for i, account in enumerate(accounts):
        figures(account, mau=100, wau=20 + 15 * i, nps_365d=Decimal(10 * i - 10))
        figures(account, TODAY - dt.timedelta(days=30), mau=90 + 5 * i)
    health_recalculate(as_of=TODAY)
    full = {h.account_id: (h.score, h.color, h.details) for h in HealthScore.objects.all()}
    HealthScore.objects.all().delete()
    for account in accounts:
        health_recalculate(as_of=TODAY, account_ids=[account.pk])
    single = {h.account_id: (h.score, h.color, h.details) for h in HealthScore.objects.all()}
    assert single == full
    assert len({v[0] for v in full.values()}) == 4


def test_colour_changes_go_on_the_timeline_and_are_announced(django_capture_on_commit_callbacks):
    usage_and_nps()
    account = AccountFactory()
    today = timezone.now().date()
    figures(account, today, mau=100, wau=70, nps_365d=Decimal(60))
    health_recalculate(as_of=today)  # green: 100
    AccountDailyMetrics.objects.filter(account=account).update(wau=5, nps_365d=-50)
    seen = []

    def receiver(sender, *, as_of, changes, **kwargs):
        seen.extend(changes)

    health_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = health_recalculate(as_of=today)
    finally:
        health_changed.disconnect(receiver)
    (change,) = run.changes
    assert (change.old_color, change.new_color) == ("green", "red")
    assert (change.old_score, change.new_score) == (Decimal("100.00"), Decimal("0.00"))
    assert seen == [change]
    entry = Activity.objects.get(account=account, source="health")
    assert entry.subject == "Health turned red (100 → 0)"
