"""Email delivery end to end: a real Celery worker on real Redis talks to a real SMTP server.

Each test starts `celery -A csplatform worker` against the test database, on its own Redis
database and queue (derived from the pytest-xdist worker id, so parallel runs do not
steal each other's tasks), and an aiosmtpd server on a free port.
"""

from __future__ import annotations

import os
import signal

import pytest
from django.db import transaction

from csplatform import services, tasks
from csplatform.choices import EmailStatus, NotificationCategory
from csplatform.models import OutboundEmail
from tests.integration.support import DEADLINE, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _site(settings) -> None:
    # Emails are rendered when they are enqueued, in this process.
    settings.SITE_URL = "https://cs.example.com"
    settings.DEFAULT_FROM_EMAIL = "Acme CS <cs@example.com>"


def enqueue(key: str, **context: str) -> OutboundEmail:
    """Enqueue an alert in a committed transaction, as a service would."""
    with transaction.atomic():
        return services.email_enqueue(
            idempotency_key=key,
            template="notice",
            context={
                "subject": "Acme turned red",
                "message": "Health fell to 38 & <falling>.",
                "link_path": "/accounts/7/",
                **context,
            },
            to=["alice@example.com"],
            category=NotificationCategory.ALERTS,
        )


def row_status(pk: int) -> str:
    return OutboundEmail.objects.values_list("status", flat=True).get(pk=pk)


# The cases ------------------------------------------------------------------------------


def test_a_committed_email_is_delivered_once_with_both_parts(smtp, start_worker):
    smtp.start()
    start_worker()

    row = enqueue("it:delivered")

    wait_for(lambda: row_status(row.pk) == EmailStatus.SENT, "the email to be sent")
    assert len(smtp.mailbox.messages) == 1
    message = smtp.mailbox.messages[0]
    assert message["Subject"] == "Acme turned red"
    assert message["From"] == "Acme CS <cs@example.com>"
    assert message["To"] == "alice@example.com"
    assert message["X-Csplatform-Email-Id"] == "it:delivered"
    assert message["Message-ID"]
    assert smtp.mailbox.envelopes == [("cs@example.com", ["alice@example.com"])]
    assert message.is_multipart()
    parts = {part.get_content_type(): part for part in message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "Health fell to 38 & <falling>." in text
    assert "https://cs.example.com/accounts/7/" in text
    assert "Health fell to 38 &amp; &lt;falling&gt;." in html
    assert 'href="https://cs.example.com/accounts/7/"' in html
    row.refresh_from_db()
    assert row.attempts == 1


def test_the_same_email_queued_three_times_is_sent_once(smtp, start_worker):
    smtp.start()
    worker = start_worker(IT_CONCURRENCY="2")

    row = enqueue("it:duplicate")
    assert enqueue("it:duplicate").pk == row.pk  # a repeated service call queues nothing
    tasks.outbox_send.delay(row.pk)  # a duplicated task, e.g. a redelivery
    tasks.outbox_send.delay(row.pk)

    wait_for(
        lambda: (
            worker.count_in_log("csplatform.tasks.outbox_send[") >= 3
            and worker.count_in_log("succeeded in") >= 3
        ),
        "all three tasks to finish",
    )
    assert row_status(row.pk) == EmailStatus.SENT
    assert len(smtp.mailbox.messages) == 1
    row.refresh_from_db()
    assert row.attempts == 1


def test_a_down_smtp_server_is_retried_with_backoff_until_it_answers(smtp, start_worker):
    # The port is free, so connecting is refused until the server starts.
    worker = start_worker()

    row = enqueue("it:retry")

    wait_for(
        lambda: OutboundEmail.objects.get(pk=row.pk).attempts >= 1,
        "the first, failing attempt",
    )
    failed = OutboundEmail.objects.get(pk=row.pk)
    assert failed.status == EmailStatus.PENDING
    assert "Connection refused" in failed.last_error or "Errno 111" in failed.last_error
    wait_for(lambda: worker.count_in_log("retry: Retry in"), "Celery to schedule a retry")

    smtp.start()

    wait_for(lambda: row_status(row.pk) == EmailStatus.SENT, "the retried email to be sent")
    row.refresh_from_db()
    assert row.attempts >= 2
    assert row.last_error == ""
    assert len(smtp.mailbox.messages) == 1
    assert smtp.mailbox.messages[0]["X-Csplatform-Email-Id"] == "it:retry"


def test_a_pool_process_killed_mid_send_is_replaced_and_sends_once(smtp, start_worker):
    smtp.mailbox.stall = True
    smtp.start()
    worker = start_worker()

    row = enqueue("it:killed-child")
    # The worker is inside DATA, holding the row lock; the server has not accepted yet.
    assert smtp.mailbox.stalled.wait(DEADLINE)
    smtp.mailbox.stall = False
    os.kill(worker.pool_child(), signal.SIGKILL)

    # reject_on_worker_lost puts the message back; a new pool process sends it.
    wait_for(lambda: row_status(row.pk) == EmailStatus.SENT, "the email after the crash")
    smtp.mailbox.release.set()
    assert len(smtp.mailbox.messages) == 1
    assert "WorkerLostError" in worker.log_text()


def test_a_worker_killed_mid_send_and_restarted_sends_once(smtp, start_worker, settings):
    smtp.mailbox.stall = True
    smtp.start()
    worker = start_worker()

    row = enqueue("it:killed-worker")
    assert smtp.mailbox.stalled.wait(DEADLINE)
    smtp.mailbox.stall = False
    worker.kill()  # the whole worker, parent and child, with SIGKILL
    start_worker()

    # The broker keeps the unacknowledged message until its visibility timeout (an hour);
    # the sweeper does not wait that long. Retried while PostgreSQL notices the dead
    # connection and releases the row lock.
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    wait_for(tasks.outbox_sweep, "the sweeper to claim the row")

    wait_for(lambda: row_status(row.pk) == EmailStatus.SENT, "the email after the restart")
    smtp.mailbox.release.set()
    assert len(smtp.mailbox.messages) == 1
    row.refresh_from_db()
    assert row.attempts == 1  # the killed attempt rolled back with its transaction
