"""The health panel, explain, overrides and sentiment, and the portfolio page, by role."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from health.models import CsmSentiment, HealthOverride, HealthScore
from health.services.scores import health_recalculate
from health.tests.factories import bands, build_scorecard
from metrics.models import AccountDailyMetrics

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(alice):
    """Alice's account, scored 77 (green: above 75) today: stickiness 75 · 60 % + NPS 80 · 40 %."""
    build_scorecard(
        [
            ("Usage", 60, [("stickiness", 100, bands((0, 0), (40, 75), (60, 100)))]),
            ("Sentiment", 40, [("nps", 100, bands((-100, 0), (20, 80)))]),
        ]
    )
    account = AccountFactory(owner=alice, name="Acme")
    AccountDailyMetrics.objects.create(
        account=account,
        date=timezone.now().date(),
        mrr=Decimal(0),
        mau=100,
        wau=50,
        nps_365d=Decimal(30),
    )
    health_recalculate()
    return account


def in_days(n: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=n)).isoformat()


def test_the_360_page_shows_score_colour_and_trend(client_for, alice, scored):
    page = client_for(alice).get(reverse("accounts:detail", args=[scored.pk])).content.decode()
    assert 'data-testid="health-panel"' in page
    assert 'data-testid="health-score">77<' in page
    assert ">Green<" in page
    assert 'data-testid="override-form"' in page  # hers to change


def test_viewers_see_the_panel_without_the_forms(client_for, vic, scored):
    page = client_for(vic).get(reverse("accounts:detail", args=[scored.pk])).content.decode()
    assert 'data-testid="health-score">77<' in page
    assert 'data-testid="override-form"' not in page


def test_explain_lists_each_measure_and_adds_up_to_the_score(client_for, vic, scored):
    url = reverse("health:explain", args=[scored.pk])
    response = client_for(vic).get(url, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Weekly stickiness" in body and "NPS of the account" in body
    assert 'data-testid="explain-total">77.0<' in body
    # Without htmx the same explanation is a page of its own.
    assert "<html" in client_for(vic).get(url).content.decode()


def test_the_owner_overrides_the_score_with_a_reason_and_an_expiry(client_for, alice, scored):
    url = reverse("health:override_set", args=[scored.pk])
    data = {"score": "35", "expires_on": in_days(14), "reason": "Champion left."}
    response = client_for(alice).post(url, data)
    assert response.status_code == 302
    h = HealthScore.objects.get(account=scored)
    assert (h.score, h.color, h.computed_score) == (Decimal("35.00"), "red", Decimal("77.00"))
    page = client_for(alice).get(reverse("accounts:detail", args=[scored.pk])).content.decode()
    assert "Overridden to 35" in page and "Champion left." in page


@pytest.mark.parametrize("who", ["bob", "vic"])
def test_others_cannot_override_and_nothing_changes(request, client_for, scored, who):
    user = request.getfixturevalue(who)
    url = reverse("health:override_set", args=[scored.pk])
    data = {"score": "35", "expires_on": in_days(14), "reason": "No."}
    assert client_for(user).post(url, data).status_code == 403
    assert not HealthOverride.objects.exists()
    assert HealthScore.objects.get(account=scored).score == Decimal("77.00")


def test_an_override_without_a_reason_or_past_its_limit_is_refused(client_for, alice, scored):
    url = reverse("health:override_set", args=[scored.pk])
    no_reason = client_for(alice).post(url, {"score": "35", "expires_on": in_days(5)})
    assert no_reason.status_code == 400
    too_far = client_for(alice).post(
        url, {"score": "35", "expires_on": in_days(400), "reason": "Long story."}
    )
    assert too_far.status_code == 400
    assert "At most 180 days ahead." in too_far.content.decode()
    assert not HealthOverride.objects.exists()


def test_removing_an_override_brings_the_computed_score_back(client_for, alice, scored):
    client_for(alice).post(
        reverse("health:override_set", args=[scored.pk]),
        {"score": "35", "expires_on": in_days(14), "reason": "Champion left."},
    )
    override = HealthOverride.objects.get()
    assert (
        client_for(alice).post(reverse("health:override_remove", args=[override.pk])).status_code
        == 302
    )
    override.refresh_from_db()
    assert override.end_reason == "removed"
    assert HealthScore.objects.get(account=scored).score == Decimal("77.00")


def test_the_owner_records_sentiment_and_a_lead_may_too(client_for, alice, lead, scored):
    url = reverse("health:sentiment_set", args=[scored.pk])
    data = {"sentiment": "at_risk", "expires_on": in_days(30), "reason": "Budget cuts."}
    assert client_for(alice).post(url, data).status_code == 302
    assert client_for(lead).post(url, {**data, "sentiment": "neutral"}).status_code == 302
    # The newer replaces the older: one sentiment in force.
    assert CsmSentiment.objects.filter(ended_at__isnull=True).get().sentiment == "neutral"
    assert CsmSentiment.objects.get(sentiment="at_risk").end_reason == "replaced"


def test_the_portfolio_page_counts_colours_and_exports_csv(client_for, vic, scored, alice):
    red = AccountFactory(owner=alice, name="Globex")
    # Stickiness 10 % scores 0, NPS 40 scores 80: 0.4 · 80 = 32, red.
    AccountDailyMetrics.objects.create(
        account=red, date=timezone.now().date(), mrr=0, mau=100, wau=10, nps_365d=40
    )
    health_recalculate()
    client = client_for(vic)
    page = client.get(reverse("health:portfolio")).content.decode()
    assert "2 customers" in page
    reds = client.get(reverse("health:portfolio"), {"color": "red"}).content.decode()
    assert "Globex" in reds and "Acme" not in reds
    csv = b"".join(client.get(reverse("health:portfolio"), {"format": "csv"}).streaming_content)
    lines = csv.decode().splitlines()
    assert lines[0].startswith("account id,account,owner")
    assert any("Acme" in line and ",77.00,green," in line for line in lines[1:])


def test_the_portfolio_page_costs_the_same_queries_for_5_and_50_accounts(
    client_for, vic, alice, scored, django_assert_max_num_queries
):
    client = client_for(vic)
    url = reverse("health:portfolio")

    def add(n):
        for i in range(n):
            account = AccountFactory(owner=alice)
            AccountDailyMetrics.objects.create(
                account=account, date=timezone.now().date(), mrr=0, mau=100, wau=10 + i
            )
        health_recalculate()

    add(5)
    client.get(url)
    with django_assert_max_num_queries(12) as small:
        client.get(url)
    add(45)
    with django_assert_max_num_queries(12) as large:
        client.get(url)
    assert len(small.captured_queries) == len(large.captured_queries)
