"""Logged-in pages for feedback: the 360 panel, the ticket list, the send-survey page."""

from __future__ import annotations

import datetime as dt
from datetime import UTC

import pytest
from django.urls import reverse

from accounts.tests.factories import AccountFactory, ContactFactory
from metrics.models import Ticket
from metrics.services import feedback as services

OPENED = dt.datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def account(alice):
    return AccountFactory(owner=alice)


@pytest.mark.parametrize(("persona", "shown"), [("alice", True), ("lead", True), ("bob", False)])
def test_the_360_page_offers_send_survey_to_owner_and_lead(
    request, client_for, account, persona, shown
):
    page = client_for(request.getfixturevalue(persona)).get(account.get_absolute_url())
    assert page.status_code == 200
    assert b"feedback-actions" in page.content
    assert (b"send-survey" in page.content) is shown


def _tickets(account, n: int) -> None:
    Ticket.objects.bulk_create(
        Ticket(account=account, subject=f"T{i}", opened_at=OPENED, priority="p1" if i % 2 else "p3")
        for i in range(n)
    )


def test_ticket_list_filters_and_pages(client_for, vic, account):
    _tickets(account, 60)
    _tickets(AccountFactory(), 3)
    client = client_for(vic)
    url = reverse("metrics:account_tickets", args=[account.pk])

    everything = client.get(url)
    p1 = client.get(url, {"priority": "p1"})

    assert everything.context["page"].paginator.count == 60
    assert len(everything.context["page"].object_list) == 50
    assert p1.context["page"].paginator.count == 30


def test_ticket_list_with_a_bad_filter_is_not_a_500(client_for, vic, account):
    response = client_for(vic).get(
        reverse("metrics:account_tickets", args=[account.pk]), {"opened_after": "soon"}
    )
    assert response.status_code == 200
    assert response.context["filterset"].errors


def test_ticket_list_query_count_does_not_grow(
    client_for, vic, account, django_assert_max_num_queries
):
    client = client_for(vic)
    url = reverse("metrics:account_tickets", args=[account.pk])
    _tickets(account, 5)
    client.get(url)
    with django_assert_max_num_queries(8) as small:
        client.get(url)
    _tickets(account, 200)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url)


def test_send_page_and_schedule_list_query_counts(
    client_for, lead, account, django_assert_max_num_queries
):
    client = client_for(lead)
    url = reverse("metrics:survey_send", args=[account.pk])
    contacts = ContactFactory.create_batch(3, account=account)
    for c in contacts:
        services.survey_send(contact=c)
    client.get(url)
    with django_assert_max_num_queries(12) as small:
        assert client.get(url).status_code == 200
    for c in ContactFactory.create_batch(15, account=account):
        services.survey_send(contact=c)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("metrics:survey_schedules")).status_code == 200


def test_ticket_csv_export_can_be_reimported_without_duplicates(client_for, alice, account):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from metrics.models.feedback import FeedbackImport

    account.external_id = "CRM-9"
    account.save()
    Ticket.objects.create(
        account=account, subject="=cmd()", external_id="ZD-7", opened_at=OPENED, is_escalation=True
    )
    client = client_for(alice)

    export = client.get(reverse("metrics:account_tickets", args=[account.pk]), {"format": "csv"})
    content = b"".join(export.streaming_content)
    assert b"'=cmd()" in content  # a formula is neutralised
    client.post(
        reverse("metrics:feedback_import"),
        {"kind": "tickets", "file": SimpleUploadedFile("t.csv", content, "text/csv")},
    )
    job = FeedbackImport.objects.latest("pk")
    assert job.report["counts"]["update"] == 1, job.report
    client.post(reverse("metrics:feedback_import_commit", args=[job.pk]))

    ticket = Ticket.objects.get()
    assert ticket.opened_at == OPENED and ticket.is_escalation


def _responses(account, n: int) -> None:
    from metrics.models import SurveyResponse

    contact = ContactFactory(account=account)
    SurveyResponse.objects.bulk_create(
        SurveyResponse(account=account, contact=contact, kind="nps", score=i % 11, comment="ok")
        for i in range(n)
    )


def test_response_list_filters_by_account_kind_and_score(client_for, vic, account):
    _responses(account, 22)
    _responses(AccountFactory(), 5)
    client = client_for(vic)
    url = reverse("metrics:survey_responses")

    everything = client.get(url)
    detractors = client.get(url, {"account": account.pk, "kind": "nps", "score_max": 6})

    assert everything.context["page"].paginator.count == 27
    assert detractors.context["page"].paginator.count == 14
    assert detractors.context["account"] == account


def test_response_list_bad_filter_is_not_a_500(client_for, vic):
    response = client_for(vic).get(reverse("metrics:survey_responses"), {"score_min": "high"})
    assert response.status_code == 200 and response.context["filterset"].errors


def test_response_list_query_count_does_not_grow(
    client_for, vic, account, django_assert_max_num_queries
):
    client = client_for(vic)
    url = reverse("metrics:survey_responses")
    _responses(account, 5)
    client.get(url)
    with django_assert_max_num_queries(8) as small:
        client.get(url)
    _responses(AccountFactory(), 200)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url)


def test_response_csv_export_reimports_as_updates(client_for, lead, account):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from metrics.models import SurveyResponse
    from metrics.models.feedback import FeedbackImport

    account.external_id = "CRM-5"
    account.save()
    contact = ContactFactory(account=account, email="ada@x.example")
    SurveyResponse.objects.create(
        account=account, contact=contact, kind="csat", score=4, external_id="TF-1", comment="Nice"
    )
    client = client_for(lead)

    export = client.get(reverse("metrics:survey_responses"), {"format": "csv"})
    content = b"".join(export.streaming_content)
    client.post(
        reverse("metrics:feedback_import"),
        {"kind": "survey_responses", "file": SimpleUploadedFile("r.csv", content, "text/csv")},
    )
    job = FeedbackImport.objects.latest("pk")

    assert job.report["counts"] == {"rows": 1, "create": 0, "update": 1, "error": 0}, job.report
