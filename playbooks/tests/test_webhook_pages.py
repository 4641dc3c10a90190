"""Webhook endpoints are the Admin's: everyone else gets a 403. The secret is made on the
server, shown to Admins, rotated on request; a disabled endpoint is enabled again by hand."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from playbooks.choices import ActionKind, DeliveryStatus, EndpointFormat
from playbooks.models import RuleAction, WebhookDelivery, WebhookEndpoint
from playbooks.services.webhooks import sign, signature_valid
from playbooks.tests.factories import EndpointFactory, RuleFactory


@pytest.fixture
def endpoint(alice, lead, vic, admin_user) -> WebhookEndpoint:
    endpoint = EndpointFactory(name="CRM", secret="whsec_old")
    WebhookDelivery.objects.create(
        endpoint=endpoint,
        idempotency_key="k1",
        event="rule.fired",
        payload={"reason": "Renews on 2026-12-01"},
        status=DeliveryStatus.RETRYING,
        attempts=2,
        last_status_code=502,
        last_error="HTTP 502",
        next_attempt_at=timezone.now(),
    )
    return endpoint


def urls(e: WebhookEndpoint) -> list[tuple[str, str]]:
    return [
        ("get", reverse("playbooks:webhooks")),
        ("get", reverse("playbooks:webhook_create")),
        ("post", reverse("playbooks:webhook_create")),
        ("get", reverse("playbooks:webhook", args=[e.pk])),
        ("get", reverse("playbooks:webhook_edit", args=[e.pk])),
        ("post", reverse("playbooks:webhook_edit", args=[e.pk])),
        ("post", reverse("playbooks:webhook_rotate", args=[e.pk])),
        ("post", reverse("playbooks:webhook_enable", args=[e.pk])),
        ("post", reverse("playbooks:webhook_test", args=[e.pk])),
        ("post", reverse("playbooks:webhook_delete", args=[e.pk])),
    ]


@pytest.mark.parametrize("persona", ["alice", "lead", "vic"])
def test_only_admins_see_or_change_webhooks(request, client_for, endpoint, persona):
    client = client_for(request.getfixturevalue(persona))
    for method, url in urls(endpoint):
        data = {"name": "x", "url": "https://evil.example", "format": "json"}
        assert getattr(client, method)(url, data).status_code == 403, (method, url)
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.secret) == ("CRM", "whsec_old")
    assert WebhookDelivery.objects.count() == 1
    assert b"Webhooks" not in client.get(reverse("playbooks:rules")).content


def test_an_admin_sees_the_endpoint_its_secret_the_scheme_and_the_log(
    client_for, endpoint, admin_user
):
    response = client_for(admin_user).get(reverse("playbooks:webhook", args=[endpoint.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "whsec_old" in html
    assert "X-CSP-Signature" in html and "X-CSP-Timestamp" in html and "X-CSP-Delivery" in html
    assert "HMAC-SHA256" in html and "5 minutes" in html
    assert "HTTP 502" in html and "Renews on 2026-12-01" in html and "Retrying" in html
    listing = client_for(admin_user).get(reverse("playbooks:webhooks"))
    (row,) = listing.context["endpoints"]
    assert (row.delivered, row.waiting, row.failed) == (0, 1, 0)


def test_the_documented_verification_accepts_what_the_platform_signs():
    body = b'{"event":"test"}'
    stamp = int(timezone.now().timestamp())
    signature = sign(secret="whsec_x", timestamp=stamp, body=body)
    assert signature_valid(secret="whsec_x", timestamp=str(stamp), body=body, signature=signature)


def test_creating_a_json_endpoint_makes_its_secret_on_the_server(client_for, admin_user):
    data = {
        "name": "Warehouse",
        "url": "https://hooks.example.com/csp",
        "format": "json",
        "is_active": "on",
        "secret": "chosen-by-the-browser",
    }
    response = client_for(admin_user).post(reverse("playbooks:webhook_create"), data)
    endpoint = WebhookEndpoint.objects.get(name="Warehouse")
    assert response.status_code == 302
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 30
    assert endpoint.secret != "chosen-by-the-browser"


def test_an_invalid_endpoint_is_a_400(client_for, admin_user):
    data = {"name": "", "url": "not a url", "format": "xml"}
    response = client_for(admin_user).post(reverse("playbooks:webhook_create"), data)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"name", "url", "format"}
    assert not WebhookEndpoint.objects.exists()


def test_rotating_the_secret_replaces_it(client_for, endpoint, admin_user):
    response = client_for(admin_user).post(
        reverse("playbooks:webhook_rotate", args=[endpoint.pk]), follow=True
    )
    endpoint.refresh_from_db()
    assert endpoint.secret.startswith("whsec_") and endpoint.secret != "whsec_old"
    assert endpoint.secret in response.content.decode()


def test_a_slack_endpoint_has_no_secret_to_rotate(client_for, admin_user):
    slack = EndpointFactory(format=EndpointFormat.SLACK, secret="")
    response = client_for(admin_user).post(
        reverse("playbooks:webhook_rotate", args=[slack.pk]), follow=True
    )
    slack.refresh_from_db()
    assert slack.secret == "" and b"Only JSON endpoints are signed." in response.content
    page = client_for(admin_user).get(reverse("playbooks:webhook", args=[slack.pk]))
    assert b"X-CSP-Signature" not in page.content


def test_enabling_again_resets_the_failure_count(client_for, endpoint, admin_user):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False,
        consecutive_failures=10,
        disabled_at=timezone.now(),
        disabled_reason="Disabled after 10 failures in a row; last: HTTP 502",
    )
    page = client_for(admin_user).get(reverse("playbooks:webhook", args=[endpoint.pk]))
    assert b'data-testid="disabled-alert"' in page.content and b"HTTP 502" in page.content
    client_for(admin_user).post(reverse("playbooks:webhook_enable", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.consecutive_failures == 0
    assert endpoint.disabled_at is None and endpoint.disabled_reason == ""


def test_send_test_queues_a_test_delivery_through_the_outbox(
    client_for, endpoint, admin_user, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("playbooks.tasks.webhook_deliver.delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin_user).post(
            reverse("playbooks:webhook_test", args=[endpoint.pk])
        )
    assert response.status_code == 302
    delivery = WebhookDelivery.objects.get(event="test")
    assert delivery.status == DeliveryStatus.PENDING and delivery.payload["event"] == "test"
    assert queued == [delivery.pk]


def test_a_disabled_endpoint_is_not_tested(client_for, endpoint, admin_user):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False)
    response = client_for(admin_user).post(
        reverse("playbooks:webhook_test", args=[endpoint.pk]), follow=True
    )
    assert not WebhookDelivery.objects.filter(event="test").exists()
    assert b"enable it before testing it" in response.content


def test_an_endpoint_a_rule_calls_cannot_be_deleted(client_for, endpoint, admin_user):
    rule = RuleFactory(name="Tell the CRM")
    RuleAction.objects.create(rule=rule, kind=ActionKind.WEBHOOK, endpoint=endpoint)
    response = client_for(admin_user).post(
        reverse("playbooks:webhook_delete", args=[endpoint.pk]), follow=True
    )
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert "is called by “Tell the CRM”" in response.content.decode()
    RuleAction.objects.all().delete()
    client_for(admin_user).post(reverse("playbooks:webhook_delete", args=[endpoint.pk]))
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
