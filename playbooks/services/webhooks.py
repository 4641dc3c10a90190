"""Outgoing webhooks: JSON signed with HMAC-SHA256, or Slack-compatible messages.

Deliveries are rows, like emails in the outbox: written in the transaction that decided to
call (a rule's evaluation), posted after commit by a Celery task that holds the row lock
for the whole HTTP exchange, retried with exponential backoff on failure, never posted
again once delivered. An endpoint that fails WEBHOOK_DISABLE_AFTER times in a row is
disabled (its pending deliveries are skipped) until an Admin enables it again.

The signature scheme (JSON endpoints), for receivers:

    X-CSP-Event:      the event, e.g. "rule.fired"
    X-CSP-Delivery:   the delivery's id; the same id is sent on every retry (dedupe on it)
    X-CSP-Timestamp:  Unix time of this attempt, in seconds
    X-CSP-Signature:  "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + raw body))

A receiver recomputes the HMAC over the timestamp, a dot and the raw request body with the
endpoint's secret, compares in constant time, and refuses timestamps more than five minutes
away from its clock (replays).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from playbooks.choices import DeliveryStatus, EndpointFormat
from playbooks.models import Rule, WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from playbooks.services.evaluate import Match

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-CSP-Signature"
TIMESTAMP_HEADER = "X-CSP-Timestamp"
REPLAY_WINDOW_SECONDS = 300


def secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def endpoint_save(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Save an endpoint; a JSON endpoint gets a signing secret if it has none."""
    if endpoint.format == EndpointFormat.JSON and not endpoint.secret:
        endpoint.secret = secret_new()
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Enable an endpoint again (after fixing the receiver); the failure count restarts."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=True, consecutive_failures=0, disabled_at=None, disabled_reason=""
    )
    endpoint.refresh_from_db()
    return endpoint


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Give a JSON endpoint a new signing secret; the old one stops verifying at once."""
    if endpoint.format != EndpointFormat.JSON:
        raise ValidationError(_("Only JSON endpoints are signed."))
    endpoint.secret = secret_new()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=endpoint.secret)
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint no rule calls, with its delivery log."""
    used = list(
        Rule.objects.filter(actions__endpoint=endpoint).distinct().values_list("name", flat=True)
    )
    if used:
        raise ValidationError(
            _("“%(name)s” is called by %(rules)s: remove it from those rules first.")
            % {"name": endpoint.name, "rules": ", ".join(f"“{n}”" for n in used)}
        )
    try:
        endpoint.delete()
    except ProtectedError:  # a rule took it up meanwhile
        raise ValidationError(
            _("“%(name)s” is called by a rule: remove it from that rule first.")
            % {"name": endpoint.name}
        ) from None


def endpoint_send_test(
    *, endpoint: WebhookEndpoint, now: dt.datetime | None = None
) -> WebhookDelivery:
    """Queue a test delivery (event "test") through the ordinary outbox and retries."""
    if not endpoint.is_active:
        raise ValidationError(_("The endpoint is disabled: enable it before testing it."))
    now = now or timezone.now()
    if endpoint.format == EndpointFormat.SLACK:
        payload: dict[str, Any] = {
            "text": _("Test message from csplatform to “%(name)s”.") % {"name": endpoint.name}
        }
    else:
        payload = {
            "event": "test",
            "endpoint": {"id": endpoint.pk, "name": endpoint.name},
            "sent_at": now.isoformat(),
        }
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        idempotency_key=f"test:{endpoint.pk}:{secrets.token_hex(8)}",
        event="test",
        payload=payload,
    )
    deliveries_enqueue(keys=[delivery.idempotency_key])
    return delivery


def sign(*, secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_valid(
    *, secret: str, timestamp: str, body: bytes, signature: str, now: float | None = None
) -> bool:
    """What a receiver does (kept here for the tests and as the reference)."""
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now or time.time()) - stamp) > REPLAY_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(sign(secret=secret, timestamp=stamp, body=body), signature)


def payload_for(
    *, endpoint: WebhookEndpoint, rule: Rule, match: Match, fired_at: dt.datetime
) -> dict[str, Any]:
    link = settings.SITE_URL.rstrip("/") + reverse("accounts:detail", args=[match.account_id])
    if endpoint.format == EndpointFormat.SLACK:
        return {
            "text": f"*{match.name}*: {match.reason} ({rule.name}) <{link}|{_('Open')}>",
        }
    return {
        "event": "rule.fired",
        "rule": {"id": rule.pk, "name": rule.name, "trigger": rule.trigger},
        "account": {"id": match.account_id, "name": match.name, "url": link},
        "reason": match.reason,
        "reason_key": match.reason_key,
        "fired_at": fired_at.isoformat(),
    }


def deliveries_enqueue(*, keys: Sequence[str]) -> None:
    """Post the pending deliveries with these keys once the transaction commits."""
    from playbooks.tasks import webhook_deliver

    def enqueue() -> None:
        ids = WebhookDelivery.objects.filter(
            idempotency_key__in=list(keys), status=DeliveryStatus.PENDING
        ).values_list("pk", flat=True)
        for pk in ids:
            try:
                webhook_deliver.delay(pk)
            except Exception:  # no broker: the sweep posts them later
                logger.warning("could not enqueue webhook delivery %s", pk)

    transaction.on_commit(enqueue)


def _post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str]:
    body = json.dumps(delivery.payload, separators=(",", ":"), default=str).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "csplatform-webhooks"}
    if endpoint.format == EndpointFormat.JSON:
        stamp = int(time.time())
        headers.update(
            {
                "X-CSP-Event": delivery.event,
                "X-CSP-Delivery": str(delivery.pk),
                TIMESTAMP_HEADER: str(stamp),
                SIGNATURE_HEADER: sign(secret=endpoint.secret, timestamp=stamp, body=body),
            }
        )
    request = urllib.request.Request(endpoint.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"


def backoff_seconds(attempts: int) -> float:
    return float(settings.WEBHOOK_RETRY_BACKOFF * 2 ** max(attempts - 1, 0))


def webhook_deliver(*, delivery_id: int) -> float | None:
    """Post one delivery at most once. Returns seconds until a retry is due, or None.

    The row is claimed with SELECT … FOR UPDATE SKIP LOCKED and stays locked through the
    HTTP call, so a duplicated task finds it locked and leaves it alone.
    """
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint")
            .filter(pk=delivery_id, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING])
            .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
            .first()
        )
        if delivery is None:
            return None
        endpoint = delivery.endpoint
        if not endpoint.is_active:
            delivery.status = DeliveryStatus.SKIPPED
            delivery.last_error = _("The endpoint is disabled.")
            delivery.save(update_fields=["status", "last_error"])
            return None
        code, error = _post(endpoint, delivery)
        delivery.attempts += 1
        delivery.last_status_code = code
        if code is not None and 200 <= code < 300:
            delivery.status = DeliveryStatus.SENT
            delivery.delivered_at = timezone.now()
            delivery.last_error = ""
            delivery.next_attempt_at = None
            delivery.save()
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0)
            return None
        delivery.last_error = error or f"HTTP {code}"
        failures = endpoint.consecutive_failures + 1
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=failures)
        if failures >= settings.WEBHOOK_DISABLE_AFTER:
            _disable(endpoint, reason=delivery.last_error)
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            delivery.save()
            return None
        if delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
            delivery.save()
            return None
        wait = backoff_seconds(delivery.attempts)
        delivery.status = DeliveryStatus.RETRYING
        delivery.next_attempt_at = timezone.now() + dt.timedelta(seconds=wait)
        delivery.save()
        return wait


def _disable(endpoint: WebhookEndpoint, *, reason: str) -> None:
    """Stop calling an endpoint that keeps failing, and skip what waits for it."""
    from playbooks.services.notify import admins_notify

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False,
        disabled_at=timezone.now(),
        disabled_reason=(
            _("Disabled after %(n)s failures in a row; last: %(reason)s")
            % {"n": settings.WEBHOOK_DISABLE_AFTER, "reason": reason}
        )[:255],
    )
    WebhookDelivery.objects.filter(
        endpoint=endpoint, status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]
    ).update(status=DeliveryStatus.SKIPPED, last_error=_("The endpoint was disabled."))
    admins_notify(
        key=f"webhook-disabled:{endpoint.pk}:{timezone.now():%Y%m%d%H%M}",
        title=_("Webhook “%(name)s” disabled after repeated failures") % {"name": endpoint.name},
        body=reason,
        link=reverse("playbooks:webhooks"),
    )


def deliveries_due(*, now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Deliveries waiting for a (re)try whose time has come: the sweep re-enqueues them."""
    now = now or timezone.now()
    # Fresh pending ones have a task of their own; give it half a minute.
    lost = Q(status=DeliveryStatus.PENDING, created_at__lte=now - dt.timedelta(seconds=30))
    retry = Q(status=DeliveryStatus.RETRYING, next_attempt_at__lte=now)
    return list(
        WebhookDelivery.objects.filter(lost | retry)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
