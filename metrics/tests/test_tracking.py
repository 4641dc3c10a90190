"""The Segment HTTP Tracking API wire format, as Segment documents it.

Auth is HTTP Basic with the write key as username and an empty password, or writeKey in
the body; every call answers 200 {"success": true}; a batch is {"batch": [...], "sentAt",
"context"}; 32 KB per call, 500 KB per batch.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from django.test import Client

from accounts.tests.factories import AccountFactory
from metrics.models import AccountDailyUsage, EndUser, EndUserDailyActivity, Event
from metrics.services import ingestion as services
from metrics.tests.ingestion_helpers import basic, make_source, post

pytestmark = pytest.mark.django_db

TS = "2026-03-02T10:00:00.000Z"


@pytest.fixture
def key():
    return make_source()[1]


def test_track_with_basic_auth_answers_success_true(client, key):
    body = {
        "userId": "u1",
        "event": "Report Built",
        "properties": {"rows": 3},
        "context": {"ip": "24.5.68.47"},
        "integrations": {"All": True},
        "timestamp": TS,
        "messageId": "m-1",
    }
    response = post(client, "/v1/track", body, key)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    event = Event.objects.get()
    assert (event.type, event.name, event.user_id, event.message_id) == (
        "track",
        "Report Built",
        "u1",
        "m-1",
    )
    assert event.properties == {"rows": 3}
    assert event.context == {"ip": "24.5.68.47"}
    assert event.timestamp == dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)


def test_write_key_in_the_body_authenticates(client, key):
    body = {"userId": "u1", "event": "Signed In", "writeKey": key, "messageId": "m-2"}
    response = post(client, "/v1/track", body)
    assert response.status_code == 200
    assert Event.objects.filter(message_id="m-2").exists()


def test_identify_records_traits_email_and_name(client, key):
    body = {
        "userId": "u1",
        "traits": {"email": "ada@customer.example", "name": "Ada L", "plan": "pro"},
        "timestamp": TS,
    }
    assert post(client, "/v1/identify", body, key).json() == {"success": True}
    user = EndUser.objects.get(external_id="u1")
    assert (user.email, user.name, user.traits["plan"]) == ("ada@customer.example", "Ada L", "pro")
    assert Event.objects.get().type == "identify"


def test_group_links_the_user_to_the_account_with_that_external_id(client, key):
    account = AccountFactory(external_id="CRM-1")
    body = {"userId": "u1", "groupId": "CRM-1", "traits": {"name": "Northwind"}}
    assert post(client, "/v1/group", body, key).status_code == 200
    assert EndUser.objects.get(external_id="u1").account == account
    post(client, "/v1/track", {"userId": "u1", "event": "Clicked"}, key)
    assert Event.objects.get(type="track").account == account


def test_page_and_screen_keep_their_name(client, key):
    post(client, "/v1/page", {"anonymousId": "a1", "name": "Pricing", "category": "Docs"}, key)
    post(client, "/v1/screen", {"userId": "u1", "name": "Home"}, key)
    page = Event.objects.get(type="page")
    assert (page.name, page.anonymous_id, page.properties["category"]) == ("Pricing", "a1", "Docs")
    assert Event.objects.get(type="screen").name == "Home"


def test_batch_takes_sent_at_and_context_and_corrects_clock_skew(client, key):
    body = {
        "batch": [
            {"type": "identify", "userId": "u1", "traits": {"email": "a@x.example"}},
            {
                "type": "track",
                "userId": "u1",
                "event": "Exported",
                "timestamp": "2026-03-02T10:00:00Z",
                "messageId": "b-1",
            },
            {"type": "page", "userId": "u1", "name": "Home", "messageId": "b-2"},
        ],
        "sentAt": "2026-03-02T10:05:00Z",
        "context": {"library": {"name": "analytics-python"}},
    }
    response = post(client, "/v1/batch", body, key)
    assert response.json() == {"success": True}
    assert Event.objects.count() == 3
    track = Event.objects.get(message_id="b-1")
    # The event happened five minutes before the client sent the batch.
    assert abs((track.received_at - track.timestamp).total_seconds() - 300) < 1
    assert track.context["library"] == {"name": "analytics-python"}


def test_alias_is_accepted_and_ignored(client, key):
    response = post(client, "/v1/alias", {"previousId": "anon-1", "userId": "u1"}, key)
    assert response.json() == {"success": True}
    assert not Event.objects.exists()


def test_a_message_without_message_id_is_still_counted_once_when_retried(client, key):
    body = {"userId": "u1", "event": "Clicked", "timestamp": TS}
    post(client, "/v1/track", body, key)
    post(client, "/v1/track", body, key)
    assert Event.objects.count() == 1


def test_gzip_bodies_are_accepted(client, key):
    raw = gzip.compress(
        json.dumps({"batch": [{"type": "track", "userId": "u", "event": "E"}]}).encode()
    )
    response = client.post(
        "/v1/batch",
        data=raw,
        content_type="application/json",
        HTTP_CONTENT_ENCODING="gzip",
        HTTP_AUTHORIZATION=basic(key),
    )
    assert response.status_code == 200
    assert Event.objects.count() == 1


# Errors ----------------------------------------------------------------------------------


def test_missing_write_key_is_401_with_a_json_error(client):
    response = post(client, "/v1/track", {"userId": "u1", "event": "E"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not Event.objects.exists()


def test_unknown_write_key_is_401(client, key):
    assert post(client, "/v1/track", {"userId": "u1", "event": "E"}, "wk_nope").status_code == 401


def test_revoked_write_key_is_401(client):
    source, key = make_source()
    services.source_revoke(source=source)
    assert post(client, "/v1/track", {"userId": "u1", "event": "E"}, key).status_code == 401


def test_a_batch_under_a_revoked_key_writes_nothing_at_all(client):
    AccountFactory(external_id="CRM-1")
    source, key = make_source()
    services.source_revoke(source=source)
    batch = [
        {"type": "group", "userId": "u1", "groupId": "CRM-1", "messageId": "g-1"},
        {"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"}},
        {"type": "track", "userId": "u1", "event": "E", "messageId": "t-1"},
    ]
    assert post(client, "/v1/batch", {"batch": batch}, key).status_code == 401
    assert not Event.objects.exists()
    assert not EndUser.objects.exists()
    assert not EndUserDailyActivity.objects.exists()
    assert not AccountDailyUsage.objects.exists()


def test_a_bad_key_is_401_even_when_every_message_is_invalid(client):
    body = {"batch": [{"type": "track", "userId": "u1"}]}
    assert post(client, "/v1/batch", body, "wk_nope").status_code == 401
    assert post(client, "/v1/track", {"userId": "u1"}, "wk_nope").status_code == 401


def test_without_postgresql_the_api_says_so_with_a_503_and_stores_nothing(client, monkeypatch):
    from django.db import connection

    _, key = make_source()
    monkeypatch.setattr(connection, "vendor", "sqlite")
    response = post(client, "/v1/track", {"userId": "u1", "event": "E"}, key)
    monkeypatch.undo()
    assert response.status_code == 503
    assert "PostgreSQL" in response.json()["message"]
    assert not Event.objects.exists()


def test_storing_a_batch_marks_when_its_source_was_last_seen(client):
    source, key = make_source()
    assert source.last_seen_at is None
    post(client, "/v1/track", {"userId": "u1", "event": "E"}, key)
    source.refresh_from_db()
    assert source.last_seen_at is not None


def test_invalid_json_is_400(client, key):
    response = post(client, "/v1/track", "{not json", key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_track_without_event_is_400_naming_the_field(client, key):
    response = post(client, "/v1/track", {"userId": "u1"}, key)
    assert response.status_code == 400
    assert "event" in response.json()["errors"]


def test_a_message_without_user_or_anonymous_id_is_400(client, key):
    response = post(client, "/v1/track", {"event": "E"}, key)
    assert response.status_code == 400
    assert "userId" in response.json()["errors"]


def test_a_batch_stores_the_valid_messages_and_reports_the_invalid_ones_by_index(client, key):
    body = {
        "batch": [
            {"type": "track", "userId": "u1", "event": "Good", "messageId": "ok-1"},
            {"type": "track", "userId": "u1", "messageId": "bad-1"},
            {"type": "launch", "userId": "u1"},
        ]
    }
    response = post(client, "/v1/batch", body, key)
    assert response.status_code == 200
    rejected = response.json()["rejected"]
    assert [r["index"] for r in rejected] == [1, 2]
    assert rejected[0]["messageId"] == "bad-1"
    assert "event" in rejected[0]["errors"]
    assert list(Event.objects.values_list("message_id", flat=True)) == ["ok-1"]


def test_a_batch_with_no_valid_message_is_400(client, key):
    response = post(client, "/v1/batch", {"batch": [{"type": "track"}]}, key)
    assert response.status_code == 400
    assert response.json()["rejected"][0]["index"] == 0


def test_a_call_over_32kb_is_413_with_a_clear_message(client, key):
    body = {"userId": "u1", "event": "E", "properties": {"blob": "x" * 33 * 1024}}
    response = post(client, "/v1/track", body, key)
    assert response.status_code == 413
    assert "32 KB per call" in response.json()["message"]
    assert not Event.objects.exists()


def test_a_batch_over_500kb_is_413(client, key):
    one = {"type": "track", "userId": "u1", "event": "E", "properties": {"blob": "x" * 20_000}}
    response = post(client, "/v1/batch", {"batch": [one] * 27}, key)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_a_message_over_32kb_inside_a_batch_is_rejected_alone(client, key):
    big = {"type": "track", "userId": "u1", "event": "E", "properties": {"b": "x" * 40_000}}
    small = {"type": "track", "userId": "u1", "event": "E", "messageId": "small"}
    response = post(client, "/v1/batch", {"batch": [big, small]}, key)
    assert response.status_code == 200
    assert response.json()["rejected"][0]["index"] == 0
    assert Event.objects.get().message_id == "small"


def test_get_is_405(client):
    assert client.get("/v1/track").status_code == 405


# Hot path ------------------------------------------------------------------------------


def test_tracking_needs_no_csrf_token(key):
    client = Client(enforce_csrf_checks=True)
    assert post(client, "/v1/track", {"userId": "u1", "event": "E"}, key).status_code == 200


def test_a_batch_costs_a_fixed_number_of_queries_and_none_for_sessions(
    client, key, django_assert_max_num_queries
):
    AccountFactory(external_id="CRM-1")
    post(client, "/v1/group", {"userId": "u0", "groupId": "CRM-1"}, key)
    batch = [
        {"type": "track", "userId": f"u{i % 7}", "event": f"E{i % 5}", "messageId": f"q-{i}"}
        for i in range(100)
    ]
    # One statement checks the write key and stores the batch (the test's own transaction
    # wraps it in a savepoint, whose two statements do not exist in use).
    with django_assert_max_num_queries(3) as ctx:
        assert post(client, "/v1/batch", {"batch": batch}, key).status_code == 200
    real = [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(real) == 1
    assert "metrics_source" in real[0]
    assert not any("django_session" in sql or "csplatform_user" in sql for sql in real)
    assert Event.objects.filter(type="track").count() == 100


def test_rudderstack_original_timestamp_is_the_event_time(client, key):
    body = {
        "userId": "u1",
        "event": "Exported",
        "originalTimestamp": "2026-03-02T10:00:00Z",
        "channel": "server",
        "messageId": "rs-1",
    }
    assert post(client, "/v1/track", body, key).json() == {"success": True}
    assert Event.objects.get().timestamp == dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
