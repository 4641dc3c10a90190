"""Apps further right hear about new tickets and survey answers after they are committed."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.models import OutboundEmail
from metrics.models import SurveyResponse, Ticket
from metrics.services import feedback as services


@pytest.fixture
def heard():
    calls: list[tuple[type, list[int], list[int]]] = []

    def receiver(sender, ids, account_ids, **kwargs):
        calls.append((sender, ids, account_ids))

    services.tickets_recorded.connect(receiver, dispatch_uid="test-tickets")
    services.survey_responses_recorded.connect(receiver, dispatch_uid="test-responses")
    yield calls
    services.tickets_recorded.disconnect(dispatch_uid="test-tickets")
    services.survey_responses_recorded.disconnect(dispatch_uid="test-responses")


def test_an_emailed_answer_is_announced_after_commit(heard, django_capture_on_commit_callbacks, db):
    contact = ContactFactory(account=AccountFactory(), email="ada@x.example")
    send = services.survey_send(contact=contact)
    body = OutboundEmail.objects.get(idempotency_key=f"survey:{send.pk}").body_text
    token = re.search(r"/metrics/survey/([A-Za-z0-9_-]+)/", body)[1]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        answer = services.survey_answer(token=token, score=2)
    assert heard == []  # nothing before the commit
    for callback in callbacks:
        callback()

    assert heard == [(SurveyResponse, [answer.response.pk], [contact.account_id])]


def test_a_failing_receiver_does_not_fail_the_write(django_capture_on_commit_callbacks, db):
    def broken(**kwargs):
        raise RuntimeError("receiver bug")

    services.tickets_recorded.connect(broken, dispatch_uid="test-broken")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            ticket, created = services.ticket_upsert(
                data={"account": AccountFactory(), "subject": "x", "external_id": "Z-1"}
            )
    finally:
        services.tickets_recorded.disconnect(dispatch_uid="test-broken")
    assert created and Ticket.objects.filter(pk=ticket.pk).exists()


def test_a_csv_import_is_announced_once_with_every_row(
    heard, django_capture_on_commit_callbacks, tmp_path, db
):
    account = AccountFactory(external_id="CRM-1")
    path = tmp_path / "t.csv"
    path.write_text(
        "account_external_id,subject,opened_at\nCRM-1,a,2026-01-01\nCRM-1,b,2026-01-02\n"
    )

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_feedback", "tickets", str(path), "--commit", "--no-progress")

    assert len(heard) == 1
    sender, ids, account_ids = heard[0]
    assert sender is Ticket and sorted(ids) == sorted(Ticket.objects.values_list("pk", flat=True))
    assert account_ids == [account.pk]
