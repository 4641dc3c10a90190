"""/api/v1/renewals/: the role matrix, consistent errors, and writes through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Subscription
from accounts.tests.factories import AccountFactory
from csplatform.services import api_key_create
from renewals.models import CounterOffer, ExitInterview, Renewal
from renewals.services.closing import renewal_close
from renewals.tests.factories import annual_line, renewal_of

pytestmark = pytest.mark.django_db

RENEWALS = "/api/v1/renewals/"
OFFERS = "/api/v1/renewals/counter-offers/"
INTERVIEWS = "/api/v1/renewals/exit-interviews/"
TODAY = timezone.localdate


def api_client(user) -> APIClient:
    client = APIClient()
    _key, raw = api_key_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def setup(alice, bob, lead, vic):
    account = AccountFactory(name="Acme Rockets", owner=alice)
    renewal = renewal_of(annual_line(account, renews_on=TODAY()))
    gone = AccountFactory(name="Gone Ltd", owner=alice)
    churned = renewal_close(
        renewal=renewal_of(annual_line(gone, renews_on=TODAY() - dt.timedelta(days=2))),
        outcome="churned",
        reason="price",
    )
    return {
        "renewal": renewal,
        "churned": churned,
        "users": {"alice": alice, "bob": bob, "lead": lead, "vic": vic},
    }


MATRIX = [("alice", True), ("bob", False), ("lead", True), ("vic", False)]


@pytest.mark.parametrize("persona", ["alice", "bob", "lead", "vic"])
def test_everyone_reads_renewals_with_their_forecast_and_outcome(setup, persona):
    client = api_client(setup["users"][persona])

    listed = client.get(RENEWALS + "?state=all").json()
    detail = client.get(f"{RENEWALS}{setup['renewal'].pk}/").json()

    assert listed["count"] == 2
    assert detail["account_name"] == "Acme Rockets" and detail["arr"] == "12000.00"
    assert detail["weighted_arr"] == "8400.00" and detail["forecast_category"] == "probable"
    churned = client.get(f"{RENEWALS}{setup['churned'].pk}/").json()
    assert (churned["outcome"], churned["outcome_arr"], churned["reason"]) == (
        "churned",
        "0.00",
        "price",
    )


def test_the_list_filters_like_the_page(setup):
    client = api_client(setup["users"]["vic"])

    assert client.get(RENEWALS).json()["count"] == 2  # the API lists open and closed ones
    opened = client.get(RENEWALS + "?state=open").json()["results"]
    assert [r["account_name"] for r in opened] == ["Acme Rockets"]
    closed = client.get(RENEWALS + "?state=closed&outcome=churned").json()["results"]
    assert [r["account_name"] for r in closed] == ["Gone Ltd"]


@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_changing_the_forecast_follows_ownership(setup, persona, allowed):
    response = api_client(setup["users"][persona]).patch(
        f"{RENEWALS}{setup['renewal'].pk}/", {"forecast_category": "commit", "notes": "Signed"}
    )

    assert response.status_code == (200 if allowed else 403), response.content
    stored = Renewal.objects.get(pk=setup["renewal"].pk)
    assert (stored.forecast_category == "commit") is allowed
    if allowed:
        assert response.json()["probability"] == 90


@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_closing_follows_ownership_and_writes_the_next_term(setup, persona, allowed):
    lines = Subscription.objects.count()

    response = api_client(setup["users"][persona]).post(
        f"{RENEWALS}{setup['renewal'].pk}/close/", {"outcome": "expanded", "quantity": 12}
    )

    assert response.status_code == (200 if allowed else 403), response.content
    stored = Renewal.objects.get(pk=setup["renewal"].pk)
    assert (stored.outcome == "expanded") is allowed
    assert Subscription.objects.count() == lines + (1 if allowed else 0)
    if allowed:
        assert response.json()["outcome_arr"] == "14400.00"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outcome": "contracted", "quantity": 8}, "reason"),
        ({"outcome": "expanded", "quantity": 2}, "quantity"),
        ({"outcome": "expanded", "quantity": 0}, "quantity"),
        ({"outcome": "gone"}, "outcome"),
        ({"outcome": "churned", "reason": "competitor"}, "competitor"),
        ({"outcome": "renewed", "term_end": "2001-01-01"}, "term_end"),
    ],
)
def test_bad_closes_answer_400_with_the_field_and_change_nothing(setup, data, field):
    lines = Subscription.objects.count()

    response = api_client(setup["users"]["alice"]).post(
        f"{RENEWALS}{setup['renewal'].pk}/close/", data
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["errors"], body
    assert Renewal.objects.get(pk=setup["renewal"].pk).is_open
    assert Subscription.objects.count() == lines


def test_closing_a_closed_renewal_is_a_400(setup):
    response = api_client(setup["users"]["lead"]).post(
        f"{RENEWALS}{setup['churned'].pk}/close/", {"outcome": "renewed"}
    )
    assert response.status_code == 400
    assert "already closed" in str(response.json()["errors"])


def test_the_viewer_reads_the_forecast_and_the_realised_retention(setup):
    client = api_client(setup["users"]["vic"])

    pipeline = client.get(RENEWALS + "pipeline/?by=quarter&state=all")
    retention = client.get(RENEWALS + "retention/?by=month")

    assert pipeline.status_code == 200 and retention.status_code == 200
    rows = pipeline.json()
    assert {r["currency"] for r in rows} == {"USD"}
    assert sum(Decimal(r["arr"]) for r in rows) == Decimal("24000")
    assert len(retention.json()) == 12
    assert client.get(RENEWALS + "pipeline/?by=week").status_code == 400
    assert client.get(RENEWALS + "retention/?segment=tier:gold").status_code == 400


@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_counter_offers_follow_ownership(setup, persona, allowed):
    response = api_client(setup["users"][persona]).post(
        OFFERS,
        {"renewal": setup["renewal"].pk, "kind": "free_months", "value": "2000.00"},
    )

    assert response.status_code == (201 if allowed else 403), response.content
    assert CounterOffer.objects.exists() is allowed


def test_an_exit_interview_missing_its_answers_is_a_400(setup):
    client = api_client(setup["users"]["alice"])

    bad = client.post(INTERVIEWS, {"renewal": setup["churned"].pk, "communication": "well"})
    good = client.post(
        INTERVIEWS,
        {
            "renewal": setup["churned"].pk,
            "why_cancel": "Budget",
            "used_for": "Reports",
            "how_to_improve": "Price",
            "communication": "partly",
        },
    )
    again = client.post(
        INTERVIEWS,
        {
            "renewal": setup["churned"].pk,
            "why_cancel": "x",
            "used_for": "x",
            "how_to_improve": "x",
            "communication": "well",
        },
    )

    assert bad.status_code == 400
    assert {"why_cancel", "used_for", "how_to_improve"} <= set(bad.json()["errors"])
    assert good.status_code == 201 and good.json()["conducted_by"] == setup["users"]["alice"].pk
    assert again.status_code == 400 and "renewal" in again.json()["errors"]
    assert ExitInterview.objects.count() == 1


def test_an_exit_interview_of_a_renewal_still_forecast_to_renew_is_a_400(setup):
    response = api_client(setup["users"]["lead"]).post(
        INTERVIEWS,
        {
            "renewal": setup["renewal"].pk,
            "why_cancel": "x",
            "used_for": "x",
            "how_to_improve": "x",
            "communication": "well",
        },
    )
    assert response.status_code == 400
    assert not ExitInterview.objects.exists()


def test_renewals_appear_in_the_openapi_schema(client, setup):
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/renewals/{id}/close/" in schema["paths"]
    assert "/api/v1/renewals/pipeline/" in schema["paths"]
