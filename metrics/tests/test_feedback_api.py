"""REST API of tickets and survey responses: role matrix, validation, upsert, filters, queries."""

from __future__ import annotations

import datetime as dt
from datetime import UTC

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.choices import LifecycleStage
from accounts.models import Account, Contact
from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.services import api_key_create
from metrics.choices import ResponseSource
from metrics.models import SurveyResponse, Ticket

OPENED = dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _private_cache(settings):
    # Throttle counters live in the cache; keep them away from other test runs.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "metrics-test-feedback-api",
        }
    }
    cache.clear()


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def personas(alice, bob, lead, vic):
    return {"alice": alice, "bob": bob, "lead": lead, "vic": vic}


@pytest.fixture
def alice_account(alice):
    return AccountFactory(owner=alice, lifecycle_stage=LifecycleStage.ADOPTION)


@pytest.fixture
def ticket(alice_account):
    return Ticket.objects.create(account=alice_account, subject="Export fails", opened_at=OPENED)


@pytest.fixture
def response(alice_account):
    return SurveyResponse.objects.create(account=alice_account, kind="nps", score=8)


def _ticket_body(account, **extra):
    return {
        "account": account.pk,
        "subject": "Cannot log in",
        "priority": "p1",
        "opened_at": "2026-03-01T09:00:00Z",
        **extra,
    }


def _response_body(account, **extra):
    return {"account": account.pk, "kind": "nps", "score": 9, **extra}


# Role matrix -----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/tickets/", "/api/v1/survey-responses/"])
@pytest.mark.parametrize("persona", ["alice", "bob", "lead", "vic"])
def test_every_role_reads_and_anonymous_gets_401(url, persona, personas, ticket, response):
    assert api(personas[persona]).get(url).json()["count"] == 1
    assert api().get(url).status_code == 401


@pytest.mark.parametrize(
    ("persona", "expected"), [("alice", 201), ("lead", 201), ("bob", 403), ("vic", 403)]
)
@pytest.mark.parametrize(
    ("url", "body", "model"),
    [
        ("/api/v1/tickets/", _ticket_body, Ticket),
        ("/api/v1/survey-responses/", _response_body, SurveyResponse),
    ],
)
def test_create_on_alices_account_is_for_alice_and_the_lead(
    url, body, model, persona, expected, personas, alice_account
):
    result = api(personas[persona]).post(url, body(alice_account), format="json")
    assert result.status_code == expected, result.content
    assert model.objects.count() == (1 if expected == 201 else 0)


@pytest.mark.parametrize(
    ("persona", "expected"), [("alice", 200), ("lead", 200), ("bob", 403), ("vic", 403)]
)
def test_update_and_delete_follow_the_role_matrix(persona, expected, personas, ticket, response):
    client = api(personas[persona])
    assert client.patch(f"/api/v1/tickets/{ticket.pk}/", {"status": "pending"}).status_code == (
        expected
    )
    assert (
        client.patch(f"/api/v1/survey-responses/{response.pk}/", {"comment": "ok"}).status_code
        == expected
    )
    deleted = client.delete(f"/api/v1/tickets/{ticket.pk}/")
    assert deleted.status_code == (204 if expected == 200 else 403)
    assert Ticket.objects.filter(pk=ticket.pk).exists() == (expected != 200)


def test_a_csm_cannot_move_a_ticket_to_a_colleagues_account(alice, bob, ticket):
    bobs = AccountFactory(owner=bob)
    result = api(alice).patch(f"/api/v1/tickets/{ticket.pk}/", {"account": bobs.pk})
    assert result.status_code == 403
    ticket.refresh_from_db()
    assert ticket.account_id != bobs.pk


def test_an_upsert_cannot_take_over_a_colleagues_ticket(alice, bob, alice_account):
    Ticket.objects.create(
        account=AccountFactory(owner=bob), subject="Bob's", external_id="ZD-1", opened_at=OPENED
    )
    result = api(alice).post(
        "/api/v1/tickets/", _ticket_body(alice_account, external_id="ZD-1"), format="json"
    )
    assert result.status_code == 403
    assert Ticket.objects.get(external_id="ZD-1").subject == "Bob's"


# Validation ------------------------------------------------------------------------------


def _errors(result) -> dict:
    assert result.status_code == 400, result.content
    body = result.json()
    assert body["code"] == "invalid"
    return body["errors"]


def test_ticket_times_before_opening_are_field_errors(alice, alice_account):
    result = api(alice).post(
        "/api/v1/tickets/",
        _ticket_body(
            alice_account,
            first_response_at="2026-02-28T09:00:00Z",
            resolved_at="2026-02-27T00:00:00Z",
        ),
        format="json",
    )
    assert set(_errors(result)) == {"first_response_at", "resolved_at"}
    assert not Ticket.objects.exists()


def test_patching_resolved_at_is_checked_against_the_stored_opening(alice, ticket):
    result = api(alice).patch(
        f"/api/v1/tickets/{ticket.pk}/", {"resolved_at": "2026-01-01T00:00:00Z"}, format="json"
    )
    assert "resolved_at" in _errors(result)
    ticket.refresh_from_db()
    assert ticket.resolved_at is None


def test_ticket_bad_choices_and_missing_fields_are_field_errors(alice, alice_account):
    result = api(alice).post(
        "/api/v1/tickets/",
        {"account": alice_account.pk, "priority": "p9", "channel": "pigeon"},
        format="json",
    )
    assert {"subject", "priority", "channel"} <= set(_errors(result))


@pytest.mark.parametrize(
    ("kind", "score", "ok"),
    [
        ("nps", 0, True),
        ("nps", 10, True),
        ("nps", 11, False),
        ("csat", 0, False),
        ("csat", 5, True),
        ("csat", 6, False),
        ("ces", 1, True),
        ("ces", 7, True),
        ("ces", 8, False),
        ("nps", -1, False),
    ],
)
def test_score_ranges_per_kind(alice, alice_account, kind, score, ok):
    result = api(alice).post(
        "/api/v1/survey-responses/",
        _response_body(alice_account, kind=kind, score=score),
        format="json",
    )
    if ok:
        assert result.status_code == 201, result.content
    else:
        assert "score" in _errors(result)
    assert SurveyResponse.objects.count() == (1 if ok else 0)


def test_patching_the_kind_rechecks_the_stored_score(alice, response):
    result = api(alice).patch(f"/api/v1/survey-responses/{response.pk}/", {"kind": "csat"})
    assert "score" in _errors(result)
    response.refresh_from_db()
    assert response.kind == "nps"


def test_a_contact_of_another_account_is_a_field_error(alice, alice_account):
    stranger = ContactFactory()
    result = api(alice).post(
        "/api/v1/survey-responses/",
        _response_body(alice_account, contact=stranger.pk),
        format="json",
    )
    assert "contact" in _errors(result)


def test_a_malformed_body_is_400_never_500(alice):
    client = api(alice)
    result = client.post("/api/v1/survey-responses/", "{not json", content_type="application/json")
    assert result.status_code == 400
    assert client.post("/api/v1/tickets/", [1, 2], format="json").status_code == 400


def test_bad_filter_values_are_400(alice):
    client = api(alice)
    assert client.get("/api/v1/tickets/", {"opened_after": "yesterday"}).status_code == 400
    assert client.get("/api/v1/survey-responses/", {"kind": "xyz"}).status_code == 400


# Behaviour -------------------------------------------------------------------------------


def test_response_records_the_accounts_stage_and_api_source(alice, alice_account):
    result = api(alice).post(
        "/api/v1/survey-responses/", _response_body(alice_account), format="json"
    )
    assert result.status_code == 201
    assert result.json()["lifecycle_stage"] == LifecycleStage.ADOPTION
    assert result.json()["source"] == ResponseSource.API


def test_a_given_stage_is_kept(alice, alice_account):
    result = api(alice).post(
        "/api/v1/survey-responses/",
        _response_body(alice_account, lifecycle_stage="onboarding"),
        format="json",
    )
    assert result.json()["lifecycle_stage"] == "onboarding"


@pytest.mark.parametrize(
    ("url", "body", "model"),
    [
        ("/api/v1/tickets/", _ticket_body, Ticket),
        ("/api/v1/survey-responses/", _response_body, SurveyResponse),
    ],
)
def test_post_with_a_known_external_id_updates(alice, alice_account, url, body, model):
    client = api(alice)
    first = client.post(url, body(alice_account, external_id="EXT-1"), format="json")
    changed = {"status": "resolved"} if model is Ticket else {"score": 3}
    again = client.post(url, body(alice_account, external_id="EXT-1", **changed), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert model.objects.count() == 1
    assert again.json()["id"] == first.json()["id"]
    assert all(again.json()[k] == v for k, v in changed.items())


def test_patching_to_a_taken_external_id_is_a_field_error(alice, alice_account, ticket):
    Ticket.objects.create(account=alice_account, subject="x", external_id="T", opened_at=OPENED)
    result = api(alice).patch(f"/api/v1/tickets/{ticket.pk}/", {"external_id": "T"})
    assert "external_id" in _errors(result)


def test_filters(alice, alice_account, ticket):
    other = AccountFactory(owner=alice)
    Ticket.objects.create(
        account=other, subject="later", priority="p1", opened_at=OPENED + dt.timedelta(days=5)
    )
    client = api(alice)
    assert client.get("/api/v1/tickets/", {"account": alice_account.pk}).json()["count"] == 1
    assert client.get("/api/v1/tickets/", {"priority": "p1"}).json()["count"] == 1
    after = client.get("/api/v1/tickets/", {"opened_after": "2026-03-03T00:00:00Z"}).json()
    assert [t["subject"] for t in after["results"]] == ["later"]
    SurveyResponse.objects.create(account=other, kind="csat", score=2)
    SurveyResponse.objects.create(account=other, kind="nps", score=10)
    responses = client.get("/api/v1/survey-responses/", {"kind": "nps", "score_min": 9}).json()
    assert [r["score"] for r in responses["results"]] == [10]


def test_pagination(alice, alice_account):
    Ticket.objects.bulk_create(
        Ticket(account=alice_account, subject=f"t{i}", opened_at=OPENED) for i in range(7)
    )
    page = api(alice).get("/api/v1/tickets/", {"page_size": 5}).json()
    assert page["count"] == 7 and len(page["results"]) == 5 and page["next"]


# Query counts ----------------------------------------------------------------------------


def _fill(n: int, owners: list) -> None:
    accounts = Account.objects.bulk_create(
        Account(name=f"Q {Account.objects.count()}-{i}", owner=owners[i % len(owners)])
        for i in range(n)
    )
    contacts = Contact.objects.bulk_create(
        Contact(account=a, first_name="C", email=f"c{a.pk}@x.example") for a in accounts
    )
    Ticket.objects.bulk_create(Ticket(account=a, subject="s", opened_at=OPENED) for a in accounts)
    SurveyResponse.objects.bulk_create(
        SurveyResponse(account=c.account, contact=c, kind="nps", score=7) for c in contacts
    )


def _count(client: APIClient, url: str, rows: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        result = client.get(url, {"page_size": 500})
    assert result.status_code == 200
    assert len(result.json()["results"]) == rows
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", ["/api/v1/tickets/", "/api/v1/survey-responses/"])
def test_list_query_count_does_not_grow_with_rows(url, alice, bob, lead):
    _key, raw = api_key_create(user=lead, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get(url).status_code == 200  # the key's first use writes last_used_at

    _fill(5, [alice, bob])
    small = _count(client, url, 5)
    _fill(495, [alice, bob])
    large = _count(client, url, 500)

    assert small == large
    assert large <= 6
