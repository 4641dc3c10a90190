"""Parsing and validation of Segment-spec messages (identify, track, page, screen, group).

The wire format is Segment's HTTP Tracking API: a JSON object per call, or
``{"batch": [...], "sentAt": ..., "context": ...}`` at /v1/batch. Fields read: ``type``,
``userId``, ``anonymousId``, ``event`` (track), ``name``/``category`` (page, screen),
``properties``, ``traits``, ``groupId`` (group), ``context``, ``timestamp``, ``sentAt``,
``messageId`` (and ``originalTimestamp``, which RudderStack's libraries send instead of
``timestamp``); ``integrations`` is accepted and ignored.

Choices made where Segment leaves room:
- ``alias`` is accepted and ignored: the platform keys end users by userId only, so an
  alias has nothing to change. It is validated (previousId and userId) and reported as
  ignored, never as an error, so client libraries that send it do not log failures.
- A message without ``messageId`` gets a deterministic one (a hash of its content), so a
  retried call that lacks an id is still counted once.
- Clock skew is corrected as Segment does: when both ``timestamp`` and ``sentAt`` are
  given, the event time is ``received_at − (sentAt − timestamp)``.
- The 32 KB per-message limit is applied to what is stored of a message (properties,
  traits and context serialised), since the body of a single call is already capped.

This module is pure Python (no database); it turns parsed JSON into ``Message`` objects or
per-message error dicts, cheaply, because it runs on the ingestion hot path.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from metrics.jsonwire import dumps as _dumps

USAGE_TYPES = frozenset({"track", "page", "screen"})
STORED_TYPES = frozenset({"track", "page", "screen", "identify", "group"})
KNOWN_TYPES = STORED_TYPES | {"alias"}
MAX_ID = 255
MAX_NAME = 200
MAX_GROUP_ID = 100
# Events stamped further ahead than this are clamped to the time they arrived.
FUTURE_TOLERANCE = timedelta(days=1)


class Invalid(Exception):
    """One message cannot be accepted; `errors` maps a field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass(slots=True)
class Message:
    """One validated message, ready for the set-based insert."""

    message_id: str
    type: str
    name: str
    user_id: str
    anonymous_id: str
    timestamp: datetime
    properties: dict[str, Any]
    context: dict[str, Any]
    traits: dict[str, Any] | None = None  # identify: the user's traits
    group_id: str | None = None  # group (or a native row naming its account)


def parse_time(value: Any, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid({field: [_("Expected an ISO-8601 date-time string.")]})
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(
            {field: [_("“%(value)s” is not an ISO-8601 date-time.") % {"value": value[:40]}]}
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _id(value: Any, field: str, max_length: int = MAX_ID) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Invalid({field: [_("Expected a string.")]})
    text = value if isinstance(value, str) else str(value)
    if len(text) > max_length:
        raise Invalid({field: [_("At most %(max)d characters.") % {"max": max_length}]})
    return text


def _object(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid({field: [_("Expected a JSON object.")]})
    return value


def _auto_message_id(raw: dict[str, Any]) -> str:
    canonical = json.dumps(
        {k: v for k, v in raw.items() if k not in ("sentAt", "writeKey", "receivedAt")},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return "auto-" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def message_parse(
    raw: Any,
    *,
    received_at: datetime,
    max_bytes: int,
    default_type: str | None = None,
    sent_at: datetime | None = None,
    batch_context: dict[str, Any] | None = None,
    check_size: bool = True,
) -> Message | None:
    """Validate one Segment message; None for an accepted message that is not stored (alias).

    `check_size` may be False when the whole body is within `max_bytes` already (no
    message in it can be larger), which spares serialising every message on the hot path.
    Raises Invalid with per-field messages.
    """
    if not isinstance(raw, dict):
        raise Invalid({"message": [_("Expected a JSON object.")]})
    # At /v1/track and the like the path decides the type, whatever the body says.
    kind = default_type or raw.get("type")
    if kind not in KNOWN_TYPES:
        raise Invalid(
            {
                "type": [
                    _(
                        "Unknown type “%(type)s”; expected identify, track, page, screen, group or alias."
                    )
                    % {"type": str(kind)[:20]}
                ]
            }
        )
    user_id = _id(raw.get("userId"), "userId")
    anonymous_id = _id(raw.get("anonymousId"), "anonymousId")
    if kind == "alias":
        if not user_id or not _id(raw.get("previousId"), "previousId"):
            raise Invalid({"previousId": [_("alias needs previousId and userId.")]})
        return None
    if not user_id and not anonymous_id:
        raise Invalid({"userId": [_("Either userId or anonymousId is required.")]})

    name = ""
    traits: dict[str, Any] | None = None
    group_id: str | None = None
    if kind == "track":
        event = raw.get("event")
        if not isinstance(event, str) or not event.strip():
            raise Invalid({"event": [_("A track call needs the event name.")]})
        if len(event) > MAX_NAME:
            raise Invalid({"event": [_("At most %(max)d characters.") % {"max": MAX_NAME}]})
        name = event
        properties = _object(raw.get("properties"), "properties")
    elif kind in ("page", "screen"):
        properties = _object(raw.get("properties"), "properties")
        page_name = raw.get("name") or properties.get("name") or ""
        name = page_name[:MAX_NAME] if isinstance(page_name, str) else ""
        category = raw.get("category")
        if isinstance(category, str) and category and "category" not in properties:
            properties = {**properties, "category": category}
    elif kind == "identify":
        traits = _object(raw.get("traits"), "traits")
        if not traits:
            traits = _object(_object(raw.get("context"), "context").get("traits"), "context.traits")
        properties = traits
    else:  # group
        group_id = _id(raw.get("groupId"), "groupId", MAX_GROUP_ID)
        if not group_id:
            raise Invalid(
                {"groupId": [_("A group call needs groupId (the account's external id).")]}
            )
        group_traits = _object(raw.get("traits"), "traits")
        properties = {"groupId": group_id, "traits": group_traits}

    context = _object(raw.get("context"), "context")
    if batch_context:
        context = {**batch_context, **context}

    # RudderStack's libraries send the client's clock as originalTimestamp.
    timestamp = parse_time(raw.get("timestamp"), "timestamp") or parse_time(
        raw.get("originalTimestamp"), "originalTimestamp"
    )
    own_sent_at = parse_time(raw.get("sentAt"), "sentAt") or sent_at
    if timestamp is None:
        timestamp = received_at
    elif own_sent_at is not None:
        timestamp = received_at - (own_sent_at - timestamp)
    if timestamp > received_at + FUTURE_TOLERANCE:
        # A client clock far ahead would make the user "last seen" in the future.
        timestamp = received_at

    message_id = _id(raw.get("messageId"), "messageId") or _auto_message_id(raw)
    if check_size and len(_dumps(properties)) + len(_dumps(context)) > max_bytes:
        raise Invalid(
            {"message": [_("The message is larger than %(limit)d bytes.") % {"limit": max_bytes}]}
        )
    return Message(
        message_id=message_id,
        type=kind,
        name=name,
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp=timestamp,
        properties=properties,
        context=context,
        traits=traits,
        group_id=group_id,
    )


def batch_parse(
    messages: list[Any],
    *,
    received_at: datetime,
    max_bytes: int,
    sent_at: datetime | None = None,
    batch_context: dict[str, Any] | None = None,
    default_type: str | None = None,
    check_size: bool = True,
) -> tuple[list[Message], list[dict[str, Any]], int]:
    """Validate every message: (accepted messages, per-index errors, ignored count)."""
    accepted: list[Message] = []
    errors: list[dict[str, Any]] = []
    ignored = 0
    for index, raw in enumerate(messages):
        try:
            message = message_parse(
                raw,
                received_at=received_at,
                max_bytes=max_bytes,
                default_type=default_type,
                sent_at=sent_at,
                batch_context=batch_context,
                check_size=check_size,
            )
        except Invalid as exc:
            entry: dict[str, Any] = {"index": index, "errors": exc.errors}
            if isinstance(raw, dict) and isinstance(raw.get("messageId"), str):
                entry["messageId"] = raw["messageId"]
            errors.append(entry)
            continue
        if message is None:
            ignored += 1
        else:
            accepted.append(message)
    return accepted, errors, ignored


# Native rows (bulk API and CSV import) --------------------------------------------------

NATIVE_TYPES = ("track", "page", "screen")


def native_row_parse(row: Any, *, received_at: datetime, max_bytes: int) -> Message:
    """One row of the native bulk endpoint or of a CSV import.

    Fields: user_id and event (required), timestamp (ISO-8601; default: when received),
    message_id (default: a hash of the row, so importing a file twice counts it once),
    account_external_id (links the user to that account, as a Segment group call would),
    type (track, page or screen; default track) and properties (a JSON object).
    Raises Invalid.
    """
    if not isinstance(row, dict):
        raise Invalid({"row": [_("Expected a JSON object.")]})
    raw: dict[str, Any] = {
        "type": row.get("type") or "track",
        "userId": row.get("user_id"),
        "event": row.get("event"),
        "name": row.get("event"),
        "timestamp": row.get("timestamp"),
        "properties": row.get("properties"),
        "messageId": row.get("message_id"),
        "accountExternalId": row.get("account_external_id"),
    }
    errors: dict[str, list[str]] = {}
    if raw["type"] not in NATIVE_TYPES:
        errors["type"] = [_("Expected track, page or screen.")]
    if not row.get("user_id"):
        errors["user_id"] = [_("This field is required.")]
    if not isinstance(row.get("event"), str) or not row["event"].strip():
        errors["event"] = [_("This field is required.")]
    if errors:
        raise Invalid(errors)
    try:
        message = message_parse(raw, received_at=received_at, max_bytes=max_bytes)
    except Invalid as exc:
        renamed = {"userId": "user_id", "messageId": "message_id"}
        raise Invalid({renamed.get(k, k): v for k, v in exc.errors.items()}) from None
    assert message is not None
    account = _id(row.get("account_external_id"), "account_external_id", MAX_GROUP_ID)
    if account:
        message.group_id = account
    return message
