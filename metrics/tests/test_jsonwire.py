"""JSON on the ingestion path: strict parsing, and encoding of what orjson refuses."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.test import Client

from metrics.jsonwire import dumps, loads
from metrics.models import Event
from metrics.tests.ingestion_helpers import make_source, post
from metrics.tracking import Message


def message(properties: dict) -> Message:
    return Message(
        message_id="m1",
        type="track",
        name="Report Built",
        user_id="ann",
        anonymous_id="",
        timestamp=datetime(2026, 3, 2, 10, 15, 30, 250000, tzinfo=UTC),
        properties=properties,
        context={},
    )


def test_messages_are_written_with_their_fields_and_iso_timestamps():
    row = json.loads(dumps([message({"plan": "pro"})]))[0]
    assert row["timestamp"] == "2026-03-02T10:15:30.250000+00:00"
    assert (row["message_id"], row["properties"], row["traits"]) == ("m1", {"plan": "pro"}, None)


def test_an_integer_beyond_64_bits_from_a_csv_is_written_exactly():
    row = json.loads(dumps([message({"big": 2**70})]))[0]
    assert row["properties"]["big"] == 2**70
    assert row["timestamp"] == "2026-03-02T10:15:30.250000+00:00"


def test_parsing_is_strict_json():
    assert loads(b'{"a": 123456789012345678901234567890}')["a"] == float(
        123456789012345678901234567890
    )
    for body in (b'{"a": NaN}', b'{"a": Infinity}', b'{"a": "\\ud800"}'):
        try:
            loads(body)
        except ValueError:
            continue
        raise AssertionError(f"{body!r} was accepted")


def test_a_body_with_nan_is_a_400_and_stores_nothing(db):
    _, key = make_source()
    body = '{"userId": "ann", "event": "Report Built", "properties": {"score": NaN}}'
    response = post(Client(), "/v1/track", body, key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert not Event.objects.exists()
