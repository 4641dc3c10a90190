"""Realised GRR and NRR from closed renewals equal the metric engine's for the same period."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from metrics.choices import Period
from metrics.models import MetricSnapshot
from metrics.services.engine import metrics_recalculate, period_bounds
from renewals.choices import Outcome
from renewals.selectors import closed_periods, realised_retention
from renewals.services.closing import renewal_close
from renewals.services.sync import renewals_sync
from renewals.tests.factories import annual_line, renewal_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def month() -> tuple[dt.date, dt.date]:
    """The month before last: closed, and recent enough for the roll-forward."""
    first_of_this = timezone.localdate().replace(day=1)
    last_month_end = first_of_this - dt.timedelta(days=1)
    return period_bounds(Period.MONTH, last_month_end.replace(day=1) - dt.timedelta(days=1))


@pytest.fixture
def book(month):
    """Seven customers whose renewals fall in the month, and one new customer.

    MRR (annual lines at 1,200 a license: 100 a month each):
      A 1,000 renewed flat       B 1,000 → 1,500 expanded   C 2,000 → 1,500 contracted
      D   500 churned            E   800 no renewal         F   300 churned on the last day
      G 1,000 → 1,500 and 1,000 → 500 on two lines (nets to nothing)
      H new customer in the month (not in opening MRR)
    """
    ps, pe = month
    long_ago = ps - dt.timedelta(days=200)

    def line(name, licenses, renews_on, product="Platform", **fields):
        account = fields.pop("account", None) or AccountFactory(name=name)
        return annual_line(
            account,
            product=product,
            quantity=licenses,
            start_date=fields.pop("start_date", long_ago),
            renews_on=renews_on,
            **fields,
        )

    lines = {
        "A": line("A", 10, ps + dt.timedelta(days=4)),
        "B": line("B", 10, ps + dt.timedelta(days=9)),
        "C": line("C", 20, ps + dt.timedelta(days=14)),
        "D": line("D", 5, ps + dt.timedelta(days=19)),
        "E": line("E", 8, ps + dt.timedelta(days=400)),
        "F": line("F", 3, pe),
        "G1": line("G", 10, ps + dt.timedelta(days=6)),
    }
    lines["G2"] = line(
        "", 10, ps + dt.timedelta(days=6), product="Add-on", account=lines["G1"].account
    )
    lines["H"] = line("H", 4, ps + dt.timedelta(days=380), start_date=ps + dt.timedelta(days=10))
    renewals_sync(today=ps)

    def close(key, outcome, **params):
        renewal = renewal_of(lines[key])
        renewal_close(renewal=renewal, outcome=outcome, today=renewal.renewal_date, **params)

    close("A", Outcome.RENEWED)
    close("B", Outcome.EXPANDED, quantity=15)
    close("C", Outcome.CONTRACTED, quantity=15, reason="downsizing")
    close("D", Outcome.CHURNED, reason="price")
    close("F", Outcome.CHURNED, reason="budget")
    close("G1", Outcome.EXPANDED, quantity=15)
    close("G2", Outcome.CONTRACTED, quantity=5, reason="budget")
    return lines


def test_grr_and_nrr_of_a_month_from_its_closed_renewals(month, book):
    (row,) = realised_retention(by=Period.MONTH, spans=[month])

    assert row.opening == Decimal("7600")  # A+B+C+D+E+F+G, not H
    assert row.expansion == Decimal("500")  # B; G's two lines net to nothing
    assert row.lost == Decimal("1000")  # C's contraction and D's churn; F churns next month
    assert row.grr == Decimal("86.8421")  # (7,600 − 1,000) ÷ 7,600
    assert row.nrr == Decimal("93.4211")  # (7,600 + 500 − 1,000) ÷ 7,600
    assert (row.renewals, row.won, row.churned) == (6, 5, 1)
    assert row.renewal_rate == Decimal("83.3")


def test_they_equal_the_metric_engines_figures_for_the_same_month(month, book):
    ps, pe = month
    metrics_recalculate(start=ps, end=pe)

    (row,) = realised_retention(by=Period.MONTH, spans=[month])

    engine = dict(
        MetricSnapshot.objects.filter(
            period=Period.MONTH, date=pe, segment="", metric__in=["grr", "nrr"]
        ).values_list("metric", "value")
    )
    assert engine == {"grr": Decimal("86.8421"), "nrr": Decimal("93.4211")}
    assert (row.grr, row.nrr) == (engine["grr"], engine["nrr"])
    assert (row.engine_grr, row.engine_nrr) == (engine["grr"], engine["nrr"]) and row.agrees


def test_they_equal_the_engines_figures_for_the_quarter_and_a_segment(month, book):
    ps, _pe = month
    quarter = period_bounds(Period.QUARTER, ps)
    metrics_recalculate(start=quarter[0], end=quarter[1])

    for segment in ("", "tier:mid_market"):
        (row,) = realised_retention(by=Period.QUARTER, spans=[quarter], segment=segment)
        engine = dict(
            MetricSnapshot.objects.filter(
                period=Period.QUARTER, date=quarter[1], segment=segment, metric__in=["grr", "nrr"]
            ).values_list("metric", "value")
        )
        assert row.grr == engine["grr"] and row.nrr == engine["nrr"], segment
        assert row.agrees


def test_a_mid_term_change_outside_renewals_shows_as_a_difference(month, book):
    from accounts.services import subscription_save

    ps, pe = month
    e = book["E"]
    # A downgrade half-way through the month, to the same end date: no renewal closes.
    end = e.end_date
    e.status = "expired"
    e.end_date = ps + dt.timedelta(days=15)
    subscription_save(subscription=e)
    annual_line(e.account, quantity=4, start_date=ps + dt.timedelta(days=16), renews_on=end)
    metrics_recalculate(start=ps, end=pe)

    (row,) = realised_retention(by=Period.MONTH, spans=[month])

    assert row.agrees is False
    assert row.grr == Decimal("86.8421") and row.engine_grr != row.grr


def test_closed_periods_are_the_whole_periods_before_the_current_one():
    today = dt.date(2025, 5, 14)

    assert closed_periods(by=Period.MONTH, count=2, today=today) == [
        (dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
        (dt.date(2025, 4, 1), dt.date(2025, 4, 30)),
    ]
    assert closed_periods(by=Period.QUARTER, count=1, today=today) == [
        (dt.date(2025, 1, 1), dt.date(2025, 3, 31))
    ]
