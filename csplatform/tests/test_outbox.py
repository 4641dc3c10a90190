"""The email outbox: one row per idempotency key, sent once, retried, swept up when lost."""

from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from csplatform import services, tasks
from csplatform.choices import EmailStatus, NotificationCategory
from csplatform.models import OutboundEmail
from csplatform.tests.email_backends import FlakyBackend

pytestmark = pytest.mark.django_db

SITE = "https://cs.example.com"


@pytest.fixture(autouse=True)
def _outbox_settings(settings):
    settings.SITE_URL = SITE
    settings.COMPANY_NAME = "Acme CS"
    settings.OUTBOX_MAX_ATTEMPTS = 3
    settings.EMAIL_BACKEND = "csplatform.tests.email_backends.FlakyBackend"
    FlakyBackend.reset()
    yield
    FlakyBackend.reset()


def _enqueue(key: str = "k1", *, user=None, category=NotificationCategory.ALERTS, **context):
    ctx = {
        "subject": "Acme turned red",
        "message": "Health fell to 38.",
        "link_path": "/accounts/1/",
        **context,
    }
    return services.email_enqueue(
        idempotency_key=key,
        template="notice",
        context=ctx,
        to=["alice@example.com"],
        category=category,
        user=user,
    )


# Enqueue ------------------------------------------------------------------------------


def test_same_key_twice_gives_one_row_and_one_send(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = _enqueue("alert:acme:red")
        second = _enqueue("alert:acme:red", message="a different text")

    assert first.pk == second.pk
    assert OutboundEmail.objects.count() == 1
    assert second.body_text == first.body_text  # the first call's content wins
    assert len(callbacks) == 1
    assert len(mail.outbox) == 1


def test_suppressed_when_the_user_switched_the_category_off(
    alice, django_capture_on_commit_callbacks
):
    services.user_update_notification_preferences(user=alice, enabled=["alerts"])

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        digest = _enqueue("digest:1", user=alice, category=NotificationCategory.DIGEST)
        alert = _enqueue("alert:1", user=alice, category=NotificationCategory.ALERTS)

    assert digest.status == EmailStatus.SUPPRESSED
    assert alert.status == EmailStatus.PENDING
    assert len(callbacks) == 1  # nothing is queued for the suppressed one
    assert [m.subject for m in mail.outbox] == ["Acme turned red"]
    # The key stays used: asking again does not resurrect the suppressed email.
    assert _enqueue("digest:1", user=alice, category=NotificationCategory.DIGEST).pk == digest.pk


def test_security_emails_ignore_preferences(alice, django_capture_on_commit_callbacks):
    alice.notification_preferences = {c.value: False for c in NotificationCategory}
    alice.save()

    with django_capture_on_commit_callbacks(execute=True):
        row = _enqueue("reset:1", user=alice, category=NotificationCategory.SECURITY)

    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert len(mail.outbox) == 1


def test_html_and_text_parts_come_from_the_templates_with_a_link_back(alice):
    row = _enqueue(recipient=alice)

    assert row.subject == "Acme turned red"
    assert row.from_email
    assert "Hello Alice," in row.body_text
    assert "Health fell to 38." in row.body_text
    assert f"{SITE}/accounts/1/" in row.body_text
    assert f"{SITE}/settings/notifications/" in row.body_text
    assert row.body_html.startswith("<!doctype html>")
    assert f'href="{SITE}/accounts/1/"' in row.body_html
    assert f'href="{SITE}/settings/notifications/"' in row.body_html
    assert "Acme CS" in row.body_html


def test_user_text_is_escaped_in_html_and_left_alone_in_text():
    row = _enqueue(
        subject="Q&A with <Bob>",
        message='<script>alert("x")</script> & "Sons"',
    )

    assert "<script>" not in row.body_html
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;Sons&quot;" in row.body_html
    )
    # The text part and the subject are not HTML: no entities there.
    assert '<script>alert("x")</script> & "Sons"' in row.body_text
    assert row.subject == "Q&A with <Bob>"


def test_a_multi_line_subject_becomes_one_header_line():
    row = _enqueue(subject="Renewal\n  in 30 days")
    assert row.subject == "Renewal in 30 days"


def test_no_recipient_is_refused():
    with pytest.raises(ValueError):
        services.email_enqueue(
            idempotency_key="nobody",
            template="notice",
            context={"subject": "s", "message": "m"},
            to=[],
            category=NotificationCategory.ALERTS,
        )
    assert not OutboundEmail.objects.exists()


# Transactions ---------------------------------------------------------------------------


def test_sending_waits_for_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        row = _enqueue()
        assert mail.outbox == []

    assert len(callbacks) == 1
    assert mail.outbox == []  # not sent while the transaction is open
    row.refresh_from_db()
    assert row.status == EmailStatus.PENDING

    callbacks[0]()

    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert len(mail.outbox) == 1


def test_a_rolled_back_transaction_leaves_no_email(django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _enqueue()
        raise RuntimeError("the change that caused the email failed")

    assert not OutboundEmail.objects.exists()
    assert callbacks == []
    assert mail.outbox == []


def test_a_broker_outage_does_not_fail_the_caller(monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.outbox_send, "delay", broker_down)

    with django_capture_on_commit_callbacks(execute=True):
        row = _enqueue()

    row.refresh_from_db()
    assert row.status == EmailStatus.PENDING  # left for the sweeper
    assert mail.outbox == []


# Delivery -------------------------------------------------------------------------------


def test_deliver_sends_and_marks_sent():
    row = _enqueue()

    assert services.email_deliver(email_id=row.pk) is True

    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert row.sent_at is not None
    assert row.attempts == 1
    [message] = mail.outbox
    assert message.to == ["alice@example.com"]
    assert message.extra_headers["X-Csplatform-Email-Id"] == "k1"
    assert message.alternatives[0].mimetype == "text/html"


def test_deliver_twice_sends_once():
    row = _enqueue()

    assert services.email_deliver(email_id=row.pk) is True
    assert services.email_deliver(email_id=row.pk) is False

    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.attempts == 1


def test_suppressed_and_unknown_rows_are_not_sent(alice):
    services.user_update_notification_preferences(user=alice, enabled=[])
    row = _enqueue(user=alice, category=NotificationCategory.DIGEST)

    assert services.email_deliver(email_id=row.pk) is False
    assert services.email_deliver(email_id=10**9) is False
    assert mail.outbox == []


def test_a_failure_is_recorded_and_raised_for_a_retry():
    row = _enqueue()
    FlakyBackend.fail_times = 1

    with pytest.raises(services.OutboxDeliveryError):
        services.email_deliver(email_id=row.pk)

    row.refresh_from_db()
    assert row.status == EmailStatus.PENDING
    assert row.attempts == 1
    assert row.last_error.startswith("ConnectionRefusedError")

    assert services.email_deliver(email_id=row.pk) is True
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert row.attempts == 2
    assert row.last_error == ""
    assert len(mail.outbox) == 1


def test_after_max_attempts_the_email_is_failed_and_left_alone(settings):
    row = _enqueue()
    FlakyBackend.fail_times = 99

    for _ in range(settings.OUTBOX_MAX_ATTEMPTS - 1):
        with pytest.raises(services.OutboxDeliveryError):
            services.email_deliver(email_id=row.pk)
    # The last attempt fails the row without asking for another retry.
    assert services.email_deliver(email_id=row.pk) is False

    row.refresh_from_db()
    assert row.status == EmailStatus.FAILED
    assert row.attempts == settings.OUTBOX_MAX_ATTEMPTS

    FlakyBackend.fail_times = 0
    assert services.email_deliver(email_id=row.pk) is False  # failed is final for tasks
    assert mail.outbox == []
    row.refresh_from_db()
    assert row.attempts == settings.OUTBOX_MAX_ATTEMPTS


def test_a_permanent_smtp_error_fails_at_once():
    row = _enqueue()
    FlakyBackend.fail_times = 1
    FlakyBackend.error = smtplib.SMTPRecipientsRefused(
        {"alice@example.com": (550, b"5.1.1 No such user")}
    )

    assert services.email_deliver(email_id=row.pk) is False

    row.refresh_from_db()
    assert row.status == EmailStatus.FAILED
    assert row.attempts == 1
    assert "SMTPRecipientsRefused" in row.last_error


def test_a_temporary_smtp_error_is_retried():
    row = _enqueue()
    FlakyBackend.fail_times = 1
    FlakyBackend.error = smtplib.SMTPRecipientsRefused(
        {"alice@example.com": (451, b"4.7.1 Greylisted, try again")}
    )

    with pytest.raises(services.OutboxDeliveryError):
        services.email_deliver(email_id=row.pk)

    row.refresh_from_db()
    assert row.status == EmailStatus.PENDING


def test_a_failing_quit_after_delivery_does_not_cause_a_resend():
    row = _enqueue()
    FlakyBackend.close_error = smtplib.SMTPServerDisconnected("connection lost at QUIT")

    assert services.email_deliver(email_id=row.pk) is True

    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert services.email_deliver(email_id=row.pk) is False
    assert len(mail.outbox) == 1


@pytest.fixture
def eager_retries():
    conf = tasks.outbox_send.app.conf
    old = conf.task_eager_propagates
    conf.task_eager_propagates = False
    yield
    conf.task_eager_propagates = old


def test_the_task_retries_until_the_server_answers(eager_retries):
    row = _enqueue()  # its on_commit enqueue never runs inside the test transaction
    FlakyBackend.fail_times = 2
    # apply() runs the task and its autoretries inline, without the backoff delay (eager
    # propagation, switched off by the fixture, would turn the first Retry into an error).

    result = tasks.outbox_send.apply(args=[row.pk])

    assert result.get() is True
    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert row.attempts == 3
    assert len(mail.outbox) == 1


def test_the_task_backs_off_exponentially(settings):
    assert tasks.outbox_send.autoretry_for == (services.OutboxDeliveryError,)
    assert tasks.outbox_send.retry_backoff == settings.OUTBOX_RETRY_BACKOFF > 0
    assert tasks.outbox_send.retry_backoff_max == settings.OUTBOX_RETRY_BACKOFF_MAX
    assert settings.OUTBOX_RETRY_BACKOFF_MAX < settings.OUTBOX_SWEEP_AFTER_SECONDS
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST


def test_an_operator_retry_gives_a_failed_email_fresh_attempts(
    django_capture_on_commit_callbacks,
):
    row = _enqueue()
    FlakyBackend.fail_times = 1
    FlakyBackend.error = smtplib.SMTPDataError(554, b"Message rejected")
    services.email_deliver(email_id=row.pk)
    row.refresh_from_db()
    assert row.status == EmailStatus.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        services.email_retry(email=row)

    row.refresh_from_db()
    assert row.status == EmailStatus.SENT
    assert row.attempts == 1
    assert len(mail.outbox) == 1


# Sweeper --------------------------------------------------------------------------------


def _age(row: OutboundEmail, seconds: int) -> None:
    OutboundEmail.objects.filter(pk=row.pk).update(
        updated_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_the_sweeper_sends_stale_pending_rows(settings):
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 300
    lost = _enqueue("lost")  # the on_commit enqueue never ran: its task was lost
    fresh = _enqueue("fresh")
    sent = _enqueue("sent")
    services.email_deliver(email_id=sent.pk)
    mail.outbox.clear()
    for row in (lost, sent):
        _age(row, 301)

    assert tasks.outbox_sweep() == 1

    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.status == EmailStatus.SENT
    assert fresh.status == EmailStatus.PENDING  # its task may still be on its way
    assert [m.extra_headers["X-Csplatform-Email-Id"] for m in mail.outbox] == ["lost"]


def test_a_claimed_row_is_not_claimed_again_by_the_next_sweep(settings):
    row = _enqueue()
    _age(row, 301)

    assert services.outbox_claim_stale(older_than_seconds=300) == [row.pk]
    assert services.outbox_claim_stale(older_than_seconds=300) == []
    row.refresh_from_db()
    assert row.status == EmailStatus.PENDING


@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_another_delivery_is_retried_not_dropped(monkeypatch):
    import threading

    from django.db import connections

    monkeypatch.setattr(tasks.outbox_send, "delay", lambda *args: None)  # no eager send
    row = _enqueue()
    locked, done = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                OutboundEmail.objects.select_for_update().get(pk=row.pk)
                locked.set()
                done.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        with pytest.raises(services.OutboxBusy):
            services.email_deliver(email_id=row.pk)
    finally:
        done.set()
        thread.join()

    assert services.email_deliver(email_id=row.pk) is True  # the retry, once the lock is gone
    assert len(mail.outbox) == 1
