"""Outgoing webhooks against a real local HTTP server that verifies signatures as the
documented scheme says, fails on purpose, and counts what it receives."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from csplatform.models import OutboundEmail
from playbooks.choices import DeliveryStatus
from playbooks.models import Notification, WebhookDelivery, WebhookEndpoint
from playbooks.services import webhooks
from playbooks.services.evaluate import rule_evaluate
from playbooks.tests.helpers import NOW, health, rule_with

pytestmark = pytest.mark.django_db

SECRET = "whsec_test"


class Receiver:
    """A webhook receiver written from the documentation in services/webhooks.py."""

    def __init__(self) -> None:
        self.fail_next = 0  # answer 500 to this many requests
        self.always_fail = False
        self.received: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                stamp = self.headers.get("X-CSP-Timestamp", "")
                expected = (
                    "sha256="
                    + hmac.new(
                        SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256
                    ).hexdigest()
                )
                signed = hmac.compare_digest(expected, self.headers.get("X-CSP-Signature", ""))
                fresh = stamp.isdigit() and abs(time.time() - int(stamp)) <= 300
                receiver.received.append(
                    {
                        "path": self.path,
                        "body": json.loads(body),
                        "valid": signed and fresh,
                        "event": self.headers.get("X-CSP-Event"),
                        "delivery": self.headers.get("X-CSP-Delivery"),
                        "signature": self.headers.get("X-CSP-Signature"),
                    }
                )
                if receiver.always_fail or receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    status = 500
                elif self.path.startswith("/json") and not (signed and fresh):
                    status = 401
                else:
                    status = 204
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.WEBHOOK_RETRY_BACKOFF = 30
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    settings.WEBHOOK_DISABLE_AFTER = 3
    settings.WEBHOOK_TIMEOUT = 5


def queue(endpoint, n=1):
    """Fire a webhook rule for n red accounts; returns their deliveries."""
    for _ in range(n):
        health(AccountFactory(), 20, "red")
    rule_evaluate(rule=rule_with("health_below", ("webhook", {}), endpoint=endpoint), now=NOW)
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk"))


def due_now(delivery):
    """Let the clock reach the delivery's next attempt."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )


def test_a_json_delivery_is_signed_as_documented_and_sent_once(receiver):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url=receiver.url + "/json", secret=SECRET)
    (delivery,) = queue(endpoint)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) is None
    (got,) = receiver.received
    assert got["valid"] and got["event"] == "rule.fired"
    assert got["delivery"] == str(delivery.pk)
    assert got["body"]["account"]["id"] == delivery.account_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 204)
    # A duplicated task finds nothing left to send.
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) is None
    assert len(receiver.received) == 1


def test_a_receiver_refuses_a_wrong_secret_or_a_replayed_timestamp(receiver):
    body = b'{"event":"rule.fired"}'
    stamp = int(time.time())
    good = webhooks.sign(secret=SECRET, timestamp=stamp, body=body)
    assert webhooks.signature_valid(secret=SECRET, timestamp=str(stamp), body=body, signature=good)
    assert not webhooks.signature_valid(
        secret="other", timestamp=str(stamp), body=body, signature=good
    )
    assert not webhooks.signature_valid(
        secret=SECRET, timestamp=str(stamp), body=body + b" ", signature=good
    )
    old = stamp - 301
    assert not webhooks.signature_valid(
        secret=SECRET,
        timestamp=str(old),
        body=body,
        signature=webhooks.sign(secret=SECRET, timestamp=old, body=body),
    )
    # The real receiver, given a delivery signed with another secret, answers 401: a retry.
    endpoint = WebhookEndpoint.objects.create(name="CRM", url=receiver.url + "/json", secret="x")
    (delivery,) = queue(endpoint)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == 30
    assert receiver.received[0]["valid"] is False
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("retrying", 401)


def test_failures_are_retried_with_exponential_backoff_until_delivered(receiver):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url=receiver.url + "/json", secret=SECRET)
    (delivery,) = queue(endpoint)
    receiver.fail_next = 2
    waits = []
    for _ in range(3):
        waits.append(webhooks.webhook_deliver(delivery_id=delivery.pk))
        delivery.refresh_from_db()
        if delivery.status == DeliveryStatus.RETRYING:
            # Not before its time: a sweep or duplicate now does nothing.
            assert webhooks.webhook_deliver(delivery_id=delivery.pk) is None
            assert delivery.pk in webhooks.deliveries_due(now=delivery.next_attempt_at)
            due_now(delivery)
    assert waits == [30, 60, None]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 3)
    assert len(receiver.received) == 3
    # The same delivery id on every attempt, so the receiver can dedupe.
    assert {r["delivery"] for r in receiver.received} == {str(delivery.pk)}
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0 and endpoint.is_active


def test_an_endpoint_that_keeps_failing_is_disabled_and_the_admins_told(receiver, admin_user):
    receiver.always_fail = True
    endpoint = WebhookEndpoint.objects.create(
        name="Broken CRM", url=receiver.url + "/json", secret=SECRET
    )
    deliveries = queue(endpoint, n=4)
    for delivery in deliveries[:3]:
        webhooks.webhook_deliver(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_reason.startswith("Disabled after 3 failures in a row")
    statuses = list(WebhookDelivery.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == ["skipped", "skipped", "failed", "skipped"]
    # Nothing more is posted.
    assert webhooks.webhook_deliver(delivery_id=deliveries[3].pk) is None
    assert len(receiver.received) == 3
    assert Notification.objects.filter(user=admin_user, title__contains="Broken CRM").exists()
    assert OutboundEmail.objects.filter(to=["root@example.com"]).count() == 1
    # Enabled again by an Admin, it starts afresh.
    webhooks.endpoint_enable(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 0


def test_a_delivery_gives_up_after_the_maximum_attempts(receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER = 100
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.always_fail = True
    endpoint = WebhookEndpoint.objects.create(name="CRM", url=receiver.url + "/json", secret="s")
    (delivery,) = queue(endpoint)
    webhooks.webhook_deliver(delivery_id=delivery.pk)
    due_now(delivery)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 2, "HTTP 500")


def test_an_unreachable_endpoint_records_the_error():
    endpoint = WebhookEndpoint.objects.create(name="Gone", url="http://127.0.0.1:9/", secret="s")
    (delivery,) = queue(endpoint)
    assert webhooks.webhook_deliver(delivery_id=delivery.pk) == 30
    delivery.refresh_from_db()
    assert delivery.last_status_code is None
    assert "Connection refused" in delivery.last_error or "URLError" in delivery.last_error


def test_a_slack_message_is_plain_json_without_a_signature(receiver):
    endpoint = WebhookEndpoint.objects.create(
        name="Slack", url=receiver.url + "/slack", format="slack"
    )
    (delivery,) = queue(endpoint)
    webhooks.webhook_deliver(delivery_id=delivery.pk)
    (got,) = receiver.received
    assert got["signature"] is None
    assert set(got["body"]) == {"text"} and "Health score 20, below 50" in got["body"]["text"]


def test_a_new_json_endpoint_gets_a_secret():
    endpoint = webhooks.endpoint_save(
        endpoint=WebhookEndpoint(name="CRM", url="https://crm.example.com/hook")
    )
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
