"""The Segment-compatible tracking API: /v1/identify, /v1/track, /v1/page, /v1/screen,
/v1/group, /v1/alias and /v1/batch (also /v1/import, Segment's older name for it).

Plain Django views rather than DRF: this is the hot path, and Segment clients need none
of DRF's negotiation. No session, no CSRF, no user: the caller is a Source, authenticated
by its write key, as HTTP Basic username with an empty password or as ``writeKey`` in the
JSON body. Answers follow Segment: 200 ``{"success": true}``; errors are JSON with
``code`` and ``message`` (what Segment's client libraries read) and ``errors``.

Order of checks: body size (413, from Content-Length, before anything is read or parsed),
JSON syntax (400), write key (401), then the messages (400). The key of a request that
has something to store is checked by the statement that stores it (one round trip).

A batch is accepted in part: valid messages are stored, invalid ones are reported by
index under ``rejected`` with a 200, because every Segment client treats a 4xx as "the
whole batch failed" and would either drop or log the messages that were in fact stored.
A batch in which no message is valid is a 400. A single call with an invalid message is a
400. Gzip bodies (``Content-Encoding: gzip``) are accepted; the limits apply to the
uncompressed JSON.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from metrics import jsonwire
from metrics.services import ingestion as services
from metrics.tracking import Invalid, Message, batch_parse, parse_time

SINGLE_TYPES = ("identify", "track", "page", "screen", "group", "alias")


def _error(status: int, code: str, message: str, **extra: Any) -> JsonResponse:
    response = JsonResponse(
        {"success": False, "code": code, "message": message, **extra}, status=status
    )
    if status == 401:
        response["WWW-Authenticate"] = 'Basic realm="tracking"'
    return response


def _too_large(limit: int) -> JsonResponse:
    return _error(
        413,
        "payload_too_large",
        _(
            "The request body is larger than the %(limit)d bytes this endpoint accepts "
            "(32 KB per call, 500 KB per batch); send fewer or smaller messages per request."
        )
        % {"limit": limit},
        limit=limit,
    )


def _unauthorized() -> JsonResponse:
    return _error(
        401,
        "unauthorized",
        _(
            "Missing, unknown or revoked write key: send it as the HTTP Basic username "
            "with an empty password, or as writeKey in the body."
        ),
    )


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The uncompressed body, or None when it is larger than `limit`."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return None
    body = request.read(limit + 1)
    if len(body) > limit:
        return None
    if request.META.get("HTTP_CONTENT_ENCODING", "").lower() == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        body = inflater.decompress(body, limit + 1)
        if len(body) > limit or inflater.unconsumed_tail:
            return None
    return body


def _write_key(request: HttpRequest, payload: dict[str, Any]) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[0]
    key = payload.get("writeKey")
    return key if isinstance(key, str) else ""


def _handle(request: HttpRequest, kind: str) -> JsonResponse:
    if request.method != "POST":
        response = _error(405, "method_not_allowed", _("Use POST."))
        response["Allow"] = "POST"
        return response
    limit = (
        settings.TRACKING_MAX_BATCH_BYTES if kind == "batch" else settings.TRACKING_MAX_CALL_BYTES
    )
    try:
        body = _read_body(request, limit)
    except zlib.error:
        return _error(400, "invalid_encoding", _("The body is not valid gzip."))
    if body is None:
        return _too_large(limit)
    try:
        payload = jsonwire.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "invalid_json", _("The body is not valid JSON."))
    if not isinstance(payload, dict):
        return _error(400, "invalid_json", _("The body must be a JSON object."))

    write_key = _write_key(request, payload)
    if not write_key:
        return _unauthorized()
    received_at = timezone.now()
    messages: list[Message] = []
    rejected: list[dict[str, Any]] = []
    try:
        if kind == "batch":
            raw_messages = payload.get("batch")
            if not isinstance(raw_messages, list):
                raise Invalid({"batch": [_("Expected a list of messages under “batch”.")]})
            sent_at = parse_time(payload.get("sentAt"), "sentAt")
            context = payload.get("context")
            batch_context = context if isinstance(context, dict) else None
            default_type = None
        else:
            raw_messages = [payload]
            sent_at = None
            batch_context = None
            default_type = kind
        messages, rejected, _ignored = batch_parse(
            raw_messages,
            received_at=received_at,
            max_bytes=settings.TRACKING_MAX_CALL_BYTES,
            sent_at=sent_at,
            batch_context=batch_context,
            default_type=default_type,
            check_size=len(body) > settings.TRACKING_MAX_CALL_BYTES,
        )
    except Invalid as exc:
        invalid: JsonResponse | None = _error(
            400, "invalid", _("The request is not valid."), errors=exc.errors
        )
    else:
        invalid = None
        if rejected and kind != "batch":
            invalid = _error(
                400, "invalid", _("The message is not valid."), errors=rejected[0]["errors"]
            )
        elif rejected and len(rejected) == len(raw_messages):
            invalid = _error(
                400, "invalid", _("No message in the batch is valid."), rejected=rejected
            )
    if invalid is not None or not messages:
        # Nothing to write: the key is checked on its own, so that a caller with a bad key
        # learns that first, as when there is something to write.
        if services.source_authenticate(write_key=write_key) is None:
            return _unauthorized()
        return invalid or JsonResponse({"success": True})
    # The insert checks the key itself: one round trip for the whole request.
    try:
        result = services.events_ingest(
            messages=messages, write_key=write_key, received_at=received_at, defer_rollups=True
        )
    except services.IngestionUnavailable as exc:
        # 503: clients keep the messages and retry, as for any outage.
        return _error(503, "unavailable", str(exc))
    if not result.authenticated:
        return _unauthorized()
    if rejected:
        return JsonResponse({"success": True, "rejected": rejected})
    return JsonResponse({"success": True})


def _view(kind: str) -> Any:
    @csrf_exempt
    def view(request: HttpRequest) -> JsonResponse:
        return _handle(request, kind)

    view.__name__ = f"tracking_{kind}"
    view.__doc__ = f"Segment-compatible /v1/{kind}."
    return view


identify = _view("identify")
track = _view("track")
page = _view("page")
screen = _view("screen")
group = _view("group")
alias = _view("alias")
batch = _view("batch")
