"""Decks for many accounts in the background (Celery eager here; a real worker in
tests/integration): progress, a zip with one deck per account, errors per account."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from accounts.tests.factories import AccountFactory
from qbr.choices import BatchStatus
from qbr.models import BatchJob
from qbr.services import batch as batch_services
from qbr.services import export

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(alice):
    return [AccountFactory(name=f"Batch {i}", owner=alice) for i in range(3)]


def test_a_batch_makes_one_deck_per_account_in_a_zip(
    alice, accounts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_services.batch_create(
            actor=alice, account_ids=[a.pk for a in accounts], fmt="both"
        )
    batch.refresh_from_db()
    assert (batch.status, batch.done, batch.total, batch.errors) == (BatchStatus.DONE, 3, 3, {})
    with zipfile.ZipFile(batch.zip_file.open("rb")) as z:
        names = sorted(z.namelist())
        assert len(names) == 6
        assert names[0].startswith("batch-0-qbr-") and names[0].endswith(".pdf")
        assert z.read(names[0]).startswith(b"%PDF")
        assert z.read(names[1])[:2] == b"PK"  # a .pptx is a zip too


def test_one_failing_account_is_noted_and_the_others_go_on(
    alice, accounts, monkeypatch, django_capture_on_commit_callbacks
):
    real = export.render

    def flaky(doc, fmt):
        if doc.account_name == "Batch 1":
            raise RuntimeError("font missing")
        return real(doc, fmt)

    monkeypatch.setattr(batch_services, "render", flaky)
    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_services.batch_create(actor=alice, account_ids=[a.pk for a in accounts])
    batch.refresh_from_db()
    assert (batch.status, batch.done) == (BatchStatus.DONE, 3)
    assert batch.errors == {str(accounts[1].pk): "Batch 1: RuntimeError: font missing"}
    with zipfile.ZipFile(batch.zip_file.open("rb")) as z:
        assert len(z.namelist()) == 2


def test_a_duplicated_task_does_nothing(alice, accounts):
    batch = BatchJob.objects.create(
        created_by=alice, account_ids=[accounts[0].pk], total=1, status=BatchStatus.RUNNING
    )
    batch_services.batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.done) == (BatchStatus.RUNNING, 0)


def test_what_a_batch_refuses(alice, settings):
    settings.QBR_BATCH_MAX_ACCOUNTS = 2
    ids = [AccountFactory().pk for _ in range(3)]
    with pytest.raises(Exception, match="At most 2"):
        batch_services.batch_create(actor=alice, account_ids=ids)
    with pytest.raises(Exception, match="Choose at least one"):
        batch_services.batch_create(actor=alice, account_ids=[999_999])
    assert not BatchJob.objects.exists()


def test_the_pages_progress_and_download(
    client_for, alice, bob, vic, lead, accounts, django_capture_on_commit_callbacks
):
    c = client_for(alice)
    assert client_for(vic).get(reverse("qbr:batch_create")).status_code == 403
    assert (
        c.post(
            reverse("qbr:batch_create"), {"scope": "tier", "format": "pdf", "kind": "qbr"}
        ).status_code
        == 400
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(
            reverse("qbr:batch_create"), {"scope": "mine", "format": "pdf", "kind": "qbr"}
        )
    batch = BatchJob.objects.get()
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    partial = c.get(batch.get_absolute_url(), HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and b'data-status="done"' in partial.content
    assert b"3 of 3 decks" in partial.content and b"hx-trigger" not in partial.content
    download = c.get(reverse("qbr:batch_download", args=[batch.pk]))
    assert download.status_code == 200
    assert len(zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))).namelist()) == 3
    assert client_for(bob).get(batch.get_absolute_url()).status_code == 403
    assert client_for(lead).get(batch.get_absolute_url()).status_code == 200


def test_a_running_batch_page_polls(client_for, alice, accounts):
    batch = BatchJob.objects.create(
        created_by=alice,
        account_ids=[a.pk for a in accounts],
        total=3,
        done=1,
        status=BatchStatus.RUNNING,
    )
    page = client_for(alice).get(batch.get_absolute_url())
    assert b'hx-trigger="every 1s"' in page.content and b"33 %" in page.content
