"""Forecast sums by category, month and quarter, and the owner's forecast edits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import AccountFactory
from metrics.choices import Period
from renewals.choices import ForecastCategory, Outcome, RenewalStage
from renewals.models import Renewal
from renewals.selectors import pipeline, renewal_list, totals_by_currency
from renewals.services.closing import renewal_close
from renewals.services.forecast import renewal_update
from renewals.tests.factories import annual_line, renewal_of

pytestmark = pytest.mark.django_db


def _forecast(line, category, probability=None, expected_arr=None) -> Renewal:
    renewal = renewal_of(line)
    return renewal_update(
        renewal=renewal,
        forecast_category=category,
        probability=probability,
        expected_arr=expected_arr,
    )


@pytest.fixture
def book():
    """Renewals due in March and May 2031 (USD) and one in EUR.

    March, open:  commit 12,000 (90 %) · probable 6,000 expected at 7,200 (70 %)
                  at risk 24,000 (30 %) · churn 3,600 expected to churn (0 %)
    March, closed: 12,000 contracted to 9,600 · 1,200 churned
    May, open:    probable 2,400 (50 % set by hand)
    EUR, March:   commit 6,000
    """
    march = dt.date(2031, 3, 10)
    may = dt.date(2031, 5, 20)

    def line(licenses, day, currency="USD"):
        account = AccountFactory(currency=currency)
        return annual_line(account, quantity=licenses, renews_on=day, currency=currency)

    _forecast(line(10, march), ForecastCategory.COMMIT)
    _forecast(line(5, march), ForecastCategory.PROBABLE, expected_arr=Decimal("7200"))
    _forecast(line(20, march), ForecastCategory.AT_RISK)
    churn = _forecast(line(3, march), ForecastCategory.CHURN)
    renewal_update(renewal=churn, expected_outcome=Outcome.CHURNED)  # expects 0 back
    renewal_close(
        renewal=renewal_of(line(10, march)),
        outcome=Outcome.CONTRACTED,
        quantity=8,
        reason="budget",
    )
    renewal_close(renewal=renewal_of(line(1, march)), outcome=Outcome.CHURNED, reason="price")
    _forecast(line(2, may), ForecastCategory.PROBABLE, probability=50)
    _forecast(line(5, march, "EUR"), ForecastCategory.COMMIT)


def test_totals_add_up_by_category_per_currency(book):
    usd, eur = totals_by_currency(renewal_list().filter(renewal_date__year=2031))

    assert (usd.currency, eur.currency) == ("USD", "EUR")
    assert usd.renewals == 7 and usd.open == 5 and usd.closed == 2
    assert usd.arr == Decimal("61200")  # 12,000+6,000+24,000+3,600+12,000+1,200+2,400
    assert (usd.commit, usd.probable, usd.at_risk, usd.churn) == (
        Decimal("12000"),
        Decimal("9600"),  # 7,200 expected + 2,400
        Decimal("24000"),
        Decimal("3600"),
    )
    # 12,000 × 90 % + 7,200 × 70 % + 24,000 × 30 % + 3,600 × 0 % + 2,400 × 50 %
    assert usd.weighted == Decimal("24240")
    assert usd.won == Decimal("9600") and usd.lost == Decimal("3600")  # 2,400 + 1,200
    assert usd.forecast == Decimal("31200")  # renewed 9,600 + commit 12,000 + probable 9,600
    assert usd.weighted_forecast == Decimal("33840")  # 9,600 + 24,240
    assert usd.forecast_rate == Decimal("55.3")  # 33,840 ÷ 61,200
    assert usd.at_risk_count == 0
    assert (eur.arr, eur.commit, eur.weighted) == (
        Decimal("6000"),
        Decimal("6000"),
        Decimal("5400"),
    )


def test_the_pipeline_groups_by_month_and_by_quarter(book):
    qs = renewal_list().filter(renewal_date__year=2031)

    by_month = pipeline(qs=qs, by=Period.MONTH)
    by_quarter = pipeline(qs=qs, by=Period.QUARTER)

    march, may = by_month.rows["USD"]
    assert (march.label, march.period, march.end) == (
        "2031-03",
        dt.date(2031, 3, 1),
        dt.date(2031, 3, 31),
    )
    assert march.totals.arr == Decimal("58800") and march.totals.weighted_forecast == Decimal(
        "32640"
    )
    assert (may.label, may.totals.arr, may.totals.weighted) == (
        "2031-05",
        Decimal("2400"),
        Decimal("1200"),
    )
    q1, q2 = by_quarter.rows["USD"]
    assert (q1.label, q1.totals.arr) == ("2031 Q1", Decimal("58800"))
    assert (q2.label, q2.end, q2.totals.arr) == ("2031 Q2", dt.date(2031, 6, 30), Decimal("2400"))
    assert by_month.currencies == ["USD", "EUR"]
    assert [r.totals.arr for r in by_quarter.rows["EUR"]] == [Decimal("6000")]


def test_a_category_chosen_by_hand_takes_its_probability_and_sticks(alice):
    renewal = renewal_of(annual_line(AccountFactory(owner=alice)))

    renewal_update(renewal=renewal, actor=alice, forecast_category=ForecastCategory.AT_RISK)

    renewal.refresh_from_db()
    assert (renewal.forecast_category, renewal.probability) == ("at_risk", 30)
    assert renewal.forecast_manual
    entry = Activity.objects.get(metadata__renewal_id=renewal.pk)
    assert entry.author == alice and "At risk (30 %)" in entry.subject


def test_committing_forecasts_commit_and_a_given_probability_wins():
    renewal = renewal_of(annual_line())

    renewal_update(renewal=renewal, stage=RenewalStage.COMMITTED)
    assert (renewal.forecast_category, renewal.probability) == ("commit", 90)

    renewal_update(renewal=renewal, probability=95)
    assert renewal.probability == 95 and renewal.forecast_manual


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"stage": RenewalStage.CLOSED}, "stage"),
        ({"probability": 120}, "probability"),
        ({"forecast_category": "maybe"}, "forecast_category"),
        ({"expected_arr": Decimal("-1")}, "expected_arr"),
    ],
)
def test_bad_forecasts_are_refused_by_field_and_not_saved(fields, field):
    renewal = renewal_of(annual_line())

    with pytest.raises(ValidationError) as raised:
        renewal_update(renewal=renewal, **fields)

    assert field in raised.value.message_dict
    stored = Renewal.objects.get(pk=renewal.pk)
    assert (stored.stage, stored.forecast_category, stored.probability) == (
        "not_started",
        "probable",
        70,
    )


def test_a_closed_renewal_keeps_its_forecast():
    renewal = renewal_close(renewal=renewal_of(annual_line()), outcome=Outcome.RENEWED)

    with pytest.raises(ValidationError):
        renewal_update(renewal=renewal, forecast_category=ForecastCategory.CHURN)
    assert Renewal.objects.get(pk=renewal.pk).forecast_category == "probable"
    assert timezone.localdate()  # the renewal's close date is today
