"""The backtest and the draft preview, computed by hand on small portfolios."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.choices import AccountStatus, SubscriptionStatus, Tier
from accounts.tests.factories import AccountFactory, SubscriptionFactory
from health.models import Measure, MeasureGroup, Scorecard
from health.services import scorecards
from health.services.backtest import backtest_run, roc_auc, roc_curve
from health.services.scorecards import version_draft, version_preview
from health.services.scores import health_recalculate
from health.tests.factories import bands, build_scorecard, linear
from metrics.models import AccountDailyMetrics

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 20)


def stickiness_on(account, day, percent):
    """Figures that make the stickiness measure read `percent` on `day`."""
    AccountDailyMetrics.objects.create(
        account=account, date=day, mrr=Decimal(0), dau=0, wau=percent, mau=100, events_30d=0
    )


def days(n):
    return dt.timedelta(days=n)


def usage_scorecard(**kwargs):
    """Stickiness scored linearly 0 → 0 … 100 → 100: the score is the stickiness."""
    return build_scorecard([("Usage", 100, [("stickiness", 100, linear(0, 100))])], **kwargs)


# The separation figures --------------------------------------------------------------------


def test_auc_counts_renewed_above_churned_and_ties_as_half():
    churned = [Decimal(20), Decimal(60)]
    renewed = [Decimal(50), Decimal(60), Decimal(90)]
    # 50 beats 20 (1) and loses to 60; 60 beats 20 and ties 60 (1.5); 90 beats both (2).
    assert roc_auc(churned, renewed) == Fraction(9, 12)
    assert roc_auc(renewed, churned) == Fraction(3, 12)
    assert roc_auc([Decimal(5)], [Decimal(5)]) == Fraction(1, 2)
    assert roc_auc([], renewed) is None


def test_the_area_under_the_roc_curve_is_the_auc():
    churned = [Decimal(v) for v in (10, 35, 35, 60, 72)]
    renewed = [Decimal(v) for v in (35, 50, 80, 91, 60, 99)]
    points = roc_curve(churned, renewed)
    assert points[0] == (0.0, 0.0) and points[-1] == (1.0, 1.0)
    area = sum((x2 - x1) * (y1 + y2) / 2 for (x1, y1), (x2, y2) in pairwise(points))
    assert area == pytest.approx(float(roc_auc(churned, renewed)), abs=1e-3)


# The backtest on a hand-built portfolio ----------------------------------------------------


def churned(on, score, **account):
    a = AccountFactory(status=AccountStatus.CHURNED, churned_at=on, **account)
    stickiness_on(a, on - days(30), score)
    return a


def renewed(ended, score, **account):
    """A line that ended on `ended`, and its successor from the day after."""
    a = AccountFactory(**account)
    SubscriptionFactory(account=a, start_date=ended - days(365), end_date=ended)
    SubscriptionFactory(account=a, start_date=ended + days(1), end_date=ended + days(366))
    stickiness_on(a, ended - days(30), score)
    return a


def portfolio():
    """2 churned and 3 renewed accounts with known scores 30 days before, and noise."""
    churned(TODAY - days(40), 20)
    churned(TODAY - days(100), 60)
    renewed(TODAY - days(50), 50)
    renewed(TODAY - days(200), 60)
    renewed(TODAY - days(300), 90)
    # Not outcomes: a churn before the window, a line that ended without a successor
    # (the account stopped paying), a trial that ended, a line that has not ended yet.
    churned(TODAY - days(400), 10)
    stopped = AccountFactory()
    SubscriptionFactory(account=stopped, start_date=TODAY - days(400), end_date=TODAY - days(35))
    trial = AccountFactory()
    SubscriptionFactory(
        account=trial,
        start_date=TODAY - days(60),
        end_date=TODAY - days(30),
        status=SubscriptionStatus.TRIAL,
    )
    SubscriptionFactory(account=trial, start_date=TODAY - days(29), end_date=TODAY + days(300))
    SubscriptionFactory(start_date=TODAY - days(10), end_date=TODAY + days(355))


def test_the_backtest_scores_churns_and_renewals_before_they_happened():
    version = usage_scorecard()
    portfolio()
    result = backtest_run(version=version, days=365, today=TODAY, horizons=(30, 60))
    assert (result.churns, result.renewals, result.capped) == (2, 3, False)
    at30, at60 = result.horizons
    assert at30.churned.scores == [Decimal(20), Decimal(60)]
    assert at30.renewed.scores == [Decimal(50), Decimal(60), Decimal(90)]
    assert at30.auc == Fraction(3, 4)
    assert (at30.churned.mean, at30.churned.median) == (Decimal("40.0"), Decimal("40.0"))
    assert (at30.renewed.mean, at30.renewed.median) == (Decimal("66.7"), Decimal("60.0"))
    assert at30.churned.histogram == [0, 0, 1, 0, 0, 0, 1, 0, 0, 0]
    # 20 is red (≤ 50), 60 yellow; of the renewed, 50 red, 60 yellow, 90 green.
    assert at30.churned.colors == {"red": 1, "yellow": 1}
    assert at30.renewed.color_share("green") == pytest.approx(100 / 3)
    assert "Useful" in at30.reading and "Few outcomes" in at30.reading
    # No figures 60 days before: no score, counted apart.
    assert (at60.churned.n, at60.churned.unscored, at60.auc) == (0, 2, None)


def test_a_scorecard_is_tested_on_the_accounts_it_would_score():
    usage_scorecard()
    enterprise = usage_scorecard(is_default=False, priority=10, tiers=[Tier.ENTERPRISE])
    churned(TODAY - days(40), 20, tier=Tier.ENTERPRISE)
    churned(TODAY - days(41), 30, tier=Tier.SMB)
    renewed(TODAY - days(50), 80, tier=Tier.ENTERPRISE)
    result = backtest_run(version=enterprise, today=TODAY, horizons=(30,))
    assert (result.churns, result.renewals) == (1, 1)
    default = Scorecard.objects.get(is_default=True).versions.get()
    assert backtest_run(version=default, today=TODAY).churns == 1  # the SMB one


def test_measures_reading_todays_facts_are_na_in_the_backtest():
    version = build_scorecard(
        [
            ("Usage", 50, [("stickiness", 100, linear(0, 100))]),
            # No contact: 999 days → 0 today; it must not drag the past down.
            ("Relationship", 50, [("sponsor_contact", 100, bands((0, 100), (91, 0)))]),
        ]
    )
    portfolio()
    scorecards = Scorecard.objects.count()
    result = backtest_run(version=version, today=TODAY, horizons=(30,))
    assert result.horizons[0].churned.scores == [Decimal(20), Decimal(60)]
    assert result.left_out == [("Executive sponsor engaged", "Executive sponsor engaged")]
    assert Scorecard.objects.count() == scorecards  # the stand-in was rolled back
    assert Measure.objects.filter(group__version=version).count() == 2


def test_the_most_recent_outcomes_are_kept_when_there_are_too_many():
    version = usage_scorecard()
    portfolio()
    result = backtest_run(version=version, today=TODAY, horizons=(30,), limit=3)
    # Most recent first: churn −40, renewal −50, churn −100.
    assert (result.churns, result.renewals, result.capped) == (2, 1, True)


def test_the_backtest_costs_the_same_queries_for_5_and_50_outcomes():
    version = usage_scorecard()
    build_scorecard(
        [("Relationship", 100, [("sponsor_contact", 100, bands((0, 100), (91, 0)))])],
        is_default=False,
        priority=5,
        tiers=[Tier.SMB],
    )

    def grow(n):
        for i in range(n):
            churned(TODAY - days(40 + i), i % 100)
            renewed(TODAY - days(50 + i), (i * 7) % 100)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            result = backtest_run(version=version, today=TODAY)
        return len(ctx.captured_queries), result.outcomes

    grow(3)
    small = count()
    grow(22)
    large = count()
    assert (small[1], large[1]) == (6, 50)
    assert small[0] == large[0]


def test_the_backtest_page_for_leads_admins_and_viewers_only(
    client_for, lead, admin_user, vic, alice
):
    version = usage_scorecard()
    portfolio()
    url = reverse("health:backtest")
    for user in (lead, admin_user, vic):
        response = client_for(user).get(url)
        assert response.status_code == 200
        assert response.context["version"] == version
    assert client_for(alice).get(url).status_code == 403
    assert client_for(vic).get(url + "?scorecard=abc&days=zzz").status_code == 200


# The preview -------------------------------------------------------------------------------


def test_the_preview_counts_the_accounts_that_would_change_colour(client_for, lead):
    today = timezone.now().date()
    published = usage_scorecard()  # red ≤ 50 < yellow ≤ 75 < green
    a, b, c, d, _e = (AccountFactory(name=n) for n in "ABCDE")
    for account, stickiness in ((a, 30), (b, 60), (c, 90), (d, 45)):
        stickiness_on(account, today, stickiness)
    health_recalculate(as_of=today)  # a 30 red, b 60 yellow, c 90 green, d 45 red, e none
    draft = version_draft(scorecard=published.scorecard)
    Measure.objects.filter(group__version=draft).update(low=0, high=50)  # doubled, capped
    preview = version_preview(version=draft)
    # a 60 yellow, b 100 green, c 100 green, d 90 green, e still none.
    assert (preview.accounts, preview.scored, preview.changing) == (5, 4, 3)
    assert preview.moves == {
        ("red", "yellow"): 1,
        ("yellow", "green"): 1,
        ("green", "green"): 1,
        ("red", "green"): 1,
        ("", ""): 1,
    }
    # Biggest move first: d +45, b +40, a +30.
    assert [pk for pk, _old, _new in preview.changed] == [d.pk, b.pk, a.pk]
    response = client_for(lead).get(
        reverse("health:draft_preview", args=[published.scorecard_id]), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "change the colour of <strong>3</strong> of 5 accounts" in body
    assert body.index(d.get_absolute_url()) < body.index(b.get_absolute_url())


def test_a_draft_with_an_empty_group_asks_for_a_measure_before_its_preview(client_for, lead):
    draft = version_draft(scorecard=usage_scorecard().scorecard)
    MeasureGroup.objects.create(version=draft, name="Support", weight=0, position=1)
    url = reverse("health:draft_preview", args=[draft.scorecard_id])
    response = client_for(lead).get(url)
    assert response.status_code == 200
    assert b"Add a measure to every group to preview the draft." in response.content


def test_a_draft_that_cannot_be_scored_says_so_instead_of_failing(client_for, lead, monkeypatch):
    draft = version_draft(scorecard=usage_scorecard().scorecard)
    AccountFactory()

    def broken(**kwargs):
        raise DatabaseError("relation does not exist")

    monkeypatch.setattr(scorecards, "version_preview", broken)
    response = client_for(lead).get(reverse("health:draft_preview", args=[draft.scorecard_id]))
    assert response.status_code == 200
    assert b'data-testid="preview-failed"' in response.content


def test_a_feature_usage_measure_scores_the_share_of_users_of_the_feature():
    """Users of the feature in 30 days ÷ MAU; NA where the plan does not include it."""
    from health.services.scores import health_scores_for
    from metrics.models import EndUser, EndUserFeatureDaily, Feature

    built = build_scorecard(
        [
            (
                "Usage",
                100,
                [("feature_usage", 100, {**linear(0, 50), "options": {"feature": "reports"}})],
            )
        ]
    )
    feature = Feature.objects.create(key="reports", name="Reports", plans=["Pro"])
    day = timezone.localdate() - dt.timedelta(days=1)
    pro, basic = AccountFactory(), AccountFactory()
    SubscriptionFactory(account=pro, plan_name="Pro")
    SubscriptionFactory(account=basic, plan_name="Basic")
    for account in (pro, basic):
        AccountDailyMetrics.objects.create(account=account, date=day, mrr=500, mau=10)
    for user in [EndUser.objects.create(account=pro, external_id=f"u{i}") for i in range(2)]:
        EndUserFeatureDaily.objects.create(
            account=pro, end_user=user, feature=feature, date=day - dt.timedelta(days=3)
        )
    scores = health_scores_for(version=built, pairs=[(pro.pk, day), (basic.pk, day)])
    # 2 of 10 monthly users = 20 %, on a 0–50 line = 40.
    assert scores[(pro.pk, day)] == Decimal("40.00")
    assert scores[(basic.pk, day)] is None
