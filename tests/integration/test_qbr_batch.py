"""Decks in batch with a real Celery worker on Redis: the task started on commit renders
every account, the batch page says done, the zip holds one PDF and one deck per account; and a QBR's follow-up reaches a real SMTP server with its
numbered next steps."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.utils import timezone

from accounts.tests.factories import AccountFactory, ContactFactory
from qbr.choices import BatchStatus
from qbr.models import BatchJob
from qbr.services import qbrs
from qbr.services.batch import batch_create
from tests.integration.support import wait_for

pytestmark = pytest.mark.integration


def test_a_batch_runs_in_the_worker_and_the_follow_up_is_delivered(
    start_worker, smtp, alice, settings, tmp_path, client_for
):
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    settings.SITE_URL = "https://cs.example.com"  # emails are rendered when enqueued, here
    accounts = [AccountFactory(name=f"Worker {i}", owner=alice) for i in range(4)]
    smtp.start()
    start_worker(MEDIA_ROOT=str(media))

    batch = batch_create(actor=alice, account_ids=[a.pk for a in accounts], fmt="both")
    page = client_for(alice)

    def finished() -> BatchJob | None:
        b = BatchJob.objects.get(pk=batch.pk)
        return b if b.status == BatchStatus.DONE else None

    done = wait_for(finished, "the batch", timeout=120)
    assert done.done == 4 and done.errors == {}
    assert (
        b'data-status="done"' in page.get(done.get_absolute_url(), HTTP_HX_REQUEST="true").content
    )
    download = page.get(f"/qbr/batches/{done.pk}/download/")
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as z:
        assert len(z.namelist()) == 8  # a PDF and a deck per account

    contact = ContactFactory(account=accounts[0], email="pat@worker.example")
    q = qbrs.qbr_create(account=accounts[0], actor=alice, contact_ids=[contact.pk])
    qbrs.qbr_hold(qbr=q, actor=alice, held_on=timezone.localdate(), notes="Good meeting")
    qbrs.qbr_follow_up(
        qbr=q,
        actor=alice,
        steps=[qbrs.StepInput("Send the report"), qbrs.StepInput("Book training")],
    )
    wait_for(lambda: smtp.mailbox.messages, "the follow-up email", timeout=60)
    message = smtp.mailbox.messages[0]
    parts = {part.get_content_type(): part for part in message.walk()}
    body = parts["text/plain"].get_payload(decode=True).decode()
    assert "1. Send the report" in body and "2. Book training" in body
    assert "https://cs.example.com/qbr/deck/" in body
