"""The outbox in the Django admin: operators see every email and retry the failed ones."""

import pytest
from django.core import mail
from django.urls import reverse

from csplatform import services
from csplatform.choices import EmailStatus, NotificationCategory
from csplatform.models import OutboundEmail

pytestmark = pytest.mark.django_db


def _failed_email() -> OutboundEmail:
    row = services.email_enqueue(
        idempotency_key="admin:1",
        template="notice",
        context={"subject": "Renewal in 30 days", "message": "m"},
        to=["alice@example.com"],
        category=NotificationCategory.REMINDERS,
    )
    OutboundEmail.objects.filter(pk=row.pk).update(status=EmailStatus.FAILED, attempts=8)
    return row


def test_operators_list_emails_and_retry_failed_ones(
    client_for, admin_user, django_capture_on_commit_callbacks
):
    row = _failed_email()
    client = client_for(admin_user)

    listing = client.get(reverse("admin:csplatform_outboundemail_changelist"))
    assert listing.status_code == 200
    assert "Renewal in 30 days" in listing.content.decode()
    assert client.get(reverse("admin:csplatform_outboundemail_add")).status_code == 403

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:csplatform_outboundemail_changelist"),
            {"action": "retry_failed", "_selected_action": [row.pk]},
        )

    assert response.status_code == 302
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert row.attempts == 1
    assert len(mail.outbox) == 1


def test_a_csm_cannot_open_the_outbox(client_for, alice):
    response = client_for(alice).get(reverse("admin:csplatform_outboundemail_changelist"))
    assert response.status_code == 302  # to the admin log-in: not staff
