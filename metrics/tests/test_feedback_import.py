"""CSV import of tickets and survey responses: good files, bad files (nothing written, line
numbers), re-imports that update instead of duplicating, the pages and the command."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from accounts.choices import ImportStatus, LifecycleStage
from accounts.tests.factories import AccountFactory, ContactFactory
from metrics.choices import ResponseSource
from metrics.models import SurveyResponse, Ticket
from metrics.models.feedback import FeedbackImport

GOOD_TICKETS = """account_external_id,external_id,subject,priority,channel,opened_at,first_response_at,resolved_at
CRM-1,ZD-1,Cannot export,p1,email,2026-03-01 09:00,2026-03-01 09:30,2026-03-02
CRM-1,ZD-2,Slow dashboard,P2 – high,chat,2026-03-03T10:00:00+02:00,,
"""

BAD_TICKETS = """account_external_id,external_id,subject,priority,opened_at,first_response_at,resolved_at
CRM-1,ZD-1,Fine row,p1,2026-03-01 09:00,,
CRM-1,ZD-2,Resolved too early,p2,2026-03-05 09:00,,2026-03-01
CRM-1,ZD-3,Bad priority,p9,2026-03-05 09:00,,
CRM-404,ZD-4,Unknown account,p3,2026-03-05 09:00,,
CRM-1,ZD-1,Same id again,p3,2026-03-05 09:00,,
CRM-1,ZD-6,No date,p3,,,
"""

GOOD_RESPONSES = """account_external_id,external_id,contact_email,kind,score,comment,responded_at
CRM-1,TF-1,ADA@northwind.example,nps,9,Great support,2026-03-05 14:00
CRM-1,TF-2,,csat,4,,2026-03-06
CRM-1,TF-3,,ces,6,,2026-03-07
"""

BAD_RESPONSES = """account_external_id,external_id,contact_email,kind,score,responded_at
CRM-1,TF-1,,nps,10,2026-03-05
CRM-1,TF-2,,csat,6,2026-03-05
CRM-1,TF-3,,ces,0,2026-03-05
CRM-1,TF-4,nobody@northwind.example,nps,5,2026-03-05
CRM-1,TF-5,,happiness,5,2026-03-05
"""


@pytest.fixture
def account(alice):
    account = AccountFactory(
        owner=alice, external_id="CRM-1", lifecycle_stage=LifecycleStage.GROWTH
    )
    ContactFactory(account=account, email="ada@northwind.example")
    return account


def _upload(client, kind: str, content: str, name: str = "file.csv"):
    return client.post(
        reverse("metrics:feedback_import"),
        {"kind": kind, "file": SimpleUploadedFile(name, content.encode(), "text/csv")},
    )


def _job() -> FeedbackImport:
    return FeedbackImport.objects.latest("pk")


def test_good_ticket_file_previews_then_commits(client_for, alice, account):
    client = client_for(alice)

    uploaded = _upload(client, "tickets", GOOD_TICKETS)
    job = _job()
    preview = client.get(uploaded["Location"])

    assert job.status == ImportStatus.PREVIEWED and job.report["counts"]["create"] == 2
    assert preview.status_code == 200 and b"import-commit" in preview.content
    assert not Ticket.objects.exists()  # nothing before the commit

    client.post(reverse("metrics:feedback_import_commit", args=[job.pk]))

    tickets = {t.external_id: t for t in Ticket.objects.all()}
    assert set(tickets) == {"ZD-1", "ZD-2"}
    assert tickets["ZD-2"].priority == "p2" and tickets["ZD-2"].channel == "chat"
    assert tickets["ZD-2"].opened_at.isoformat() == "2026-03-03T08:00:00+00:00"
    assert tickets["ZD-1"].resolved_at.isoformat() == "2026-03-02T00:00:00+00:00"
    job.refresh_from_db()
    assert job.status == ImportStatus.COMMITTED


def test_reimporting_tickets_updates_instead_of_duplicating(client_for, alice, account):
    client = client_for(alice)
    _upload(client, "tickets", GOOD_TICKETS)
    client.post(reverse("metrics:feedback_import_commit", args=[_job().pk]))

    changed = GOOD_TICKETS.replace("Slow dashboard,P2 – high", "Slow dashboard,p4")
    _upload(client, "tickets", changed)
    assert _job().report["counts"]["update"] == 2
    client.post(reverse("metrics:feedback_import_commit", args=[_job().pk]))

    assert Ticket.objects.count() == 2
    assert Ticket.objects.get(external_id="ZD-2").priority == "p4"


def test_bad_ticket_file_reports_every_line_and_changes_nothing(client_for, alice, account):
    client = client_for(alice)

    _upload(client, "tickets", BAD_TICKETS)
    job = _job()
    preview = client.get(reverse("metrics:feedback_import_preview", args=[job.pk]))
    committed = client.post(reverse("metrics:feedback_import_commit", args=[job.pk]))

    assert job.status == ImportStatus.INVALID
    lines = {e["line"] for e in job.report["errors"]}
    assert lines == {3, 4, 5, 6, 7}  # line 1 is the header; line 2 is fine
    messages = " ".join(e["message"] for e in job.report["errors"])
    assert "resolved_at" in messages and "CRM-404" in messages and "line 2" in messages
    assert preview.status_code == 200 and b"import-errors" in preview.content
    assert b"import-commit" not in preview.content
    assert committed.status_code == 302
    assert not Ticket.objects.exists()


def test_good_response_file_records_contacts_stage_and_source(client_for, alice, account):
    client = client_for(alice)
    _upload(client, "survey_responses", GOOD_RESPONSES)
    client.post(reverse("metrics:feedback_import_commit", args=[_job().pk]))

    responses = {r.external_id: r for r in SurveyResponse.objects.all()}
    assert {k: (r.kind, r.score) for k, r in responses.items()} == {
        "TF-1": ("nps", 9),
        "TF-2": ("csat", 4),
        "TF-3": ("ces", 6),
    }
    assert responses["TF-1"].contact.email == "ada@northwind.example"
    assert responses["TF-1"].comment == "Great support"
    assert {r.lifecycle_stage for r in responses.values()} == {LifecycleStage.GROWTH}
    assert {r.source for r in responses.values()} == {ResponseSource.CSV}


def test_reimporting_responses_creates_no_duplicates(client_for, alice, account):
    client = client_for(alice)
    for _ in range(2):
        _upload(client, "survey_responses", GOOD_RESPONSES)
        client.post(reverse("metrics:feedback_import_commit", args=[_job().pk]))
    assert SurveyResponse.objects.count() == 3


def test_bad_response_file_reports_ranges_and_changes_nothing(client_for, alice, account):
    _upload(client_for(alice), "survey_responses", BAD_RESPONSES)
    job = _job()

    assert job.status == ImportStatus.INVALID
    by_line = {e["line"]: e["message"] for e in job.report["errors"]}
    assert set(by_line) == {3, 4, 5, 6}
    assert "1 to 5" in by_line[3] and "1 to 7" in by_line[4]
    assert "nobody@northwind.example" in by_line[5]
    assert not SurveyResponse.objects.exists()


def test_a_csm_imports_only_for_her_own_accounts(client_for, bob, account):
    _upload(client_for(bob), "tickets", GOOD_TICKETS)
    job = _job()
    assert job.status == ImportStatus.INVALID
    assert {e["line"] for e in job.report["errors"]} == {2, 3}


def test_unknown_and_missing_columns_are_file_errors(client_for, alice, account):
    _upload(client_for(alice), "tickets", "account_external_id,colour\nCRM-1,red\n")
    messages = " ".join(e["message"] for e in _job().report["errors"])
    assert "colour" in messages and "subject" in messages and "opened_at" in messages


def test_a_file_that_is_not_utf8_is_rejected(client_for, alice, account):
    client = client_for(alice)
    client.post(
        reverse("metrics:feedback_import"),
        {"kind": "tickets", "file": SimpleUploadedFile("x.csv", b"subject\n\xff\xfe", "text/csv")},
    )
    assert _job().status == ImportStatus.INVALID


def test_a_changed_world_between_preview_and_commit_writes_nothing(client_for, alice, account):
    client = client_for(alice)
    _upload(client, "tickets", GOOD_TICKETS)
    account.delete()

    client.post(reverse("metrics:feedback_import_commit", args=[_job().pk]))

    assert not Ticket.objects.exists()
    assert _job().status == ImportStatus.INVALID


def test_jobs_are_private_to_their_uploader(client_for, alice, lead, account):
    _upload(client_for(alice), "tickets", GOOD_TICKETS)
    job = _job()
    lead_client = client_for(lead)
    assert (
        lead_client.get(reverse("metrics:feedback_import_preview", args=[job.pk])).status_code
        == 404
    )
    lead_client.post(reverse("metrics:feedback_import_commit", args=[job.pk]))
    assert not Ticket.objects.exists()


def test_viewers_cannot_import(client_for, vic):
    client = client_for(vic)
    assert client.get(reverse("metrics:feedback_import")).status_code == 403
    assert _upload(client, "tickets", GOOD_TICKETS).status_code == 403
    assert not FeedbackImport.objects.exists()


def test_upload_page_and_template_download(client_for, lead):
    client = client_for(lead)
    assert client.get(reverse("metrics:feedback_import")).status_code == 200
    template = client.get(reverse("metrics:feedback_import"), {"template": "survey_responses"})
    assert template.content.decode().startswith("account_external_id,account_name,external_id")


# Management command ----------------------------------------------------------------------


def test_command_checks_then_commits(tmp_path, account, capsys):
    path = tmp_path / "tickets.csv"
    path.write_text(GOOD_TICKETS)

    call_command("import_feedback", "tickets", str(path), "--no-progress")
    assert not Ticket.objects.exists()

    call_command("import_feedback", "tickets", str(path), "--commit", "--no-progress")
    assert Ticket.objects.count() == 2
    assert "2 created" in capsys.readouterr().out


def test_command_with_a_bad_file_exits_1_and_writes_nothing(tmp_path, account, capsys):
    path = tmp_path / "responses.csv"
    path.write_text(BAD_RESPONSES)

    with pytest.raises(SystemExit) as exc:
        call_command("import_feedback", "survey_responses", str(path), "--commit", "--no-progress")

    assert exc.value.code == 1
    assert "line 3: ERROR" in capsys.readouterr().out
    assert not SurveyResponse.objects.exists()
