"""Risk: health colour, falling usage, open escalations and detractor NPS, with reasons."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from health.models import HealthScore
from metrics.models import AccountDailyMetrics, SurveyResponse, Ticket
from renewals import signals
from renewals.choices import ForecastCategory
from renewals.services.forecast import renewal_update
from renewals.services.risk import renewals_risk_refresh
from renewals.tests.factories import annual_line, renewal_of

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _health(account, color):
    HealthScore.objects.create(account=account, as_of=TODAY(), score=Decimal(40), color=color)


def _usage(account, before: int, now: int):
    AccountDailyMetrics.objects.create(
        account=account, date=TODAY() - dt.timedelta(days=30), mau=before
    )
    AccountDailyMetrics.objects.create(account=account, date=TODAY(), mau=now)


@pytest.fixture
def renewals():
    """Five accounts renewing: one quiet and one for each risk signal."""
    out = {}
    for name in ("quiet", "red", "usage", "escalation", "detractor"):
        account = AccountFactory(name=name)
        out[name] = renewal_of(annual_line(account))
    _health(out["quiet"].account, "green")
    _usage(out["quiet"].account, 10, 9)  # −10 %
    _health(out["red"].account, "red")
    _usage(out["usage"].account, 20, 12)  # −40 %
    Ticket.objects.create(account=out["escalation"].account, subject="Outage", is_escalation=True)
    Ticket.objects.create(
        account=out["quiet"].account, subject="Old", is_escalation=True, status="resolved"
    )
    SurveyResponse.objects.create(account=out["detractor"].account, kind="nps", score=4)
    SurveyResponse.objects.create(account=out["quiet"].account, kind="nps", score=9)
    SurveyResponse.objects.create(
        account=out["quiet"].account,
        kind="nps",
        score=2,
        responded_at=timezone.now() - dt.timedelta(days=400),  # too old to count
    )
    return out


def test_each_signal_flags_its_renewal_with_the_reason_and_the_facts(renewals):
    change = renewals_risk_refresh()

    for r in renewals.values():
        r.refresh_from_db()
    assert not renewals["quiet"].at_risk and renewals["quiet"].risk_reasons == []
    assert renewals["quiet"].usage_change == Decimal("-10.00")
    assert renewals["quiet"].nps_last == 9 and renewals["quiet"].escalations_open == 0
    assert renewals["red"].risk_reasons == ["health"] and renewals["red"].health_color == "red"
    assert renewals["usage"].risk_reasons == ["usage"]
    assert renewals["usage"].usage_change == Decimal("-40.00")
    assert renewals["escalation"].risk_reasons == ["escalations"]
    assert renewals["detractor"].risk_reasons == ["nps"] and renewals["detractor"].nps_last == 4
    assert sorted(change.at_risk) == sorted(r.pk for k, r in renewals.items() if k != "quiet")


def test_the_forecast_of_an_untouched_renewal_follows_the_risk_but_a_chosen_one_stays(renewals):
    renewal_update(renewal=renewals["usage"], forecast_category=ForecastCategory.COMMIT)

    renewals_risk_refresh()

    red = renewals["red"]
    red.refresh_from_db()
    assert (red.forecast_category, red.probability) == ("at_risk", 30)
    usage = renewals["usage"]
    usage.refresh_from_db()
    assert usage.at_risk and (usage.forecast_category, usage.probability) == ("commit", 90)


def test_the_signals_and_thresholds_are_settings(renewals, settings):
    settings.RENEWALS_RISK_FLAGS = ["health", "usage"]
    settings.RENEWALS_RISK_HEALTH_COLORS = ["red", "yellow"]
    settings.RENEWALS_RISK_USAGE_DROP_PERCENT = 50
    _health(renewals["escalation"].account, "yellow")

    renewals_risk_refresh()

    flagged = {k for k, r in renewals.items() if type(r).objects.get(pk=r.pk).at_risk}
    assert flagged == {"red", "escalation"}  # yellow counts now; −40 % and NPS do not


def test_recovery_is_announced_and_the_forecast_returns_to_probable(
    renewals, django_capture_on_commit_callbacks
):
    renewals_risk_refresh()
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    signals.renewals_risk_changed.connect(receiver)
    try:
        HealthScore.objects.filter(account=renewals["red"].account).update(color="green")
        with django_capture_on_commit_callbacks(execute=True):
            change = renewals_risk_refresh()
    finally:
        signals.renewals_risk_changed.disconnect(receiver)

    assert change.recovered == [renewals["red"].pk] and change.at_risk == []
    assert seen and seen[0]["recovered"] == [renewals["red"].pk]
    red = type(renewals["red"]).objects.get(pk=renewals["red"].pk)
    assert not red.at_risk and red.forecast_category == "probable"


def test_closed_renewals_are_left_alone(renewals):
    from renewals.services.closing import renewal_close

    closed = renewal_close(renewal=renewals["red"], outcome="renewed")

    renewals_risk_refresh()

    closed.refresh_from_db()
    assert not closed.at_risk and closed.risk_checked_at is None
