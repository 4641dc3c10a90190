"""The events CSV import on the shared import lifecycle: its own refusals, and a file that
fails its re-check at commit is marked invalid like the other imports' files."""

from __future__ import annotations

import pytest

from accounts.choices import ImportStatus
from accounts.csv_import import ImportRejected
from metrics.models import Event
from metrics.services import ingestion as services

pytestmark = pytest.mark.django_db

FILE = (
    b"user_id,event,timestamp\n"
    b"ann,Exported,2026-03-02T10:00:00Z\n"
    b"ben,Exported,2026-03-02T11:00:00Z\n"
)


def test_a_file_that_fails_its_recheck_is_marked_invalid_and_ingests_nothing(lead, settings):
    job = services.event_import_create(filename="e.csv", raw=FILE, actor=lead)
    assert job.status == ImportStatus.PREVIEWED
    settings.CSV_IMPORT_MAX_ROWS = 1  # the rules changed between preview and commit

    with pytest.raises(ImportRejected) as refused:
        services.event_import_commit(job=job)

    assert str(refused.value) == "The file has errors; nothing was imported."
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert "More than 1 rows" in job.report["errors"][0]["message"]
    assert not Event.objects.exists()


def test_a_committed_file_is_refused_with_the_events_wording(lead):
    job = services.event_import_create(filename="e.csv", raw=FILE, actor=lead)
    result = services.event_import_commit(job=job)
    assert result.inserted == 2

    with pytest.raises(ImportRejected) as refused:
        services.event_import_commit(job=job)

    assert str(refused.value) == "This file has errors or was imported already."
    job.refresh_from_db()
    assert job.report["inserted"] == 2 and job.report["error_count"] == 0
    assert Event.objects.count() == 2
