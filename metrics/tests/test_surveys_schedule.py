"""Scheduled surveys: who is due on a fixed date, the quiet period, and running twice."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, timedelta

import pytest
from django.db.models import Count, DateField, Value
from django.urls import reverse

from accounts.choices import AccountStatus
from accounts.models import Account
from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.models import OutboundEmail
from metrics.choices import SurveyKind
from metrics.models import SurveySchedule, SurveySend
from metrics.services import feedback as services
from metrics.tasks import feedback as tasks

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
def schedule(db):
    return SurveySchedule.objects.create(
        name="NPS after onboarding",
        kind=SurveyKind.NPS,
        first_after_days=90,
        repeat_every_days=182,
        quiet_period_days=60,
    )


def _contact(name: str, *, since_days: int, status=AccountStatus.ACTIVE, email: str | None = None):
    account = AccountFactory(
        name=name, customer_since=TODAY - timedelta(days=since_days), status=status
    )
    return ContactFactory(
        account=account,
        first_name=name,
        email=f"{name.lower()}@x.example" if email is None else email,
    )


def _sent(contact, *, days_ago: int, schedule=None) -> SurveySend:
    return SurveySend.objects.create(
        contact=contact,
        account=contact.account,
        kind=SurveyKind.NPS,
        schedule=schedule,
        token_hash=f"{contact.pk:064d}"[-64:] if schedule else f"m{contact.pk:063d}",
        sent_at=NOW - timedelta(days=days_ago),
        expires_at=NOW - timedelta(days=days_ago) + timedelta(days=30),
    )


@pytest.fixture
def population(schedule):
    people = {
        "due": _contact("Due", since_days=100),
        "too_new": _contact("TooNew", since_days=80),
        "exactly_90": _contact("Exactly", since_days=90),
        "churned": _contact("Churned", since_days=400, status=AccountStatus.CHURNED),
        "no_email": _contact("NoEmail", since_days=400, email=""),
        "quiet": _contact("Quiet", since_days=400),
        "repeat_due": _contact("RepeatDue", since_days=600),
        "repeat_not_yet": _contact("RepeatNotYet", since_days=600),
    }
    _sent(people["quiet"], days_ago=30)  # a survey by hand a month ago
    _sent(people["repeat_due"], days_ago=190, schedule=schedule)
    _sent(people["repeat_not_yet"], days_ago=100, schedule=schedule)
    return people


def test_who_is_due_on_a_fixed_date(population, schedule):
    due = services.survey_schedule_due_contacts(schedule=schedule, now=NOW)

    assert {c.first_name for c in due} == {"Due", "Exactly", "RepeatDue"}


def test_selection_is_one_query(population, schedule, django_assert_num_queries):
    with django_assert_num_queries(1):
        contacts = list(services.survey_schedule_due_contacts(schedule=schedule, now=NOW))
        assert [c.account.name for c in contacts]  # the account comes with the contact


def test_run_sends_one_email_each_and_running_twice_sends_nothing_more(population, schedule):
    first = services.surveys_send_scheduled(now=NOW)
    second = services.surveys_send_scheduled(now=NOW + timedelta(hours=1))

    assert [r.sent for r in first] == [3]  # Due, Exactly, RepeatDue
    assert [r.sent for r in second] == [0]
    sends = SurveySend.objects.filter(schedule=schedule, sent_at=NOW)
    assert {s.contact.first_name for s in sends} == {"Due", "Exactly", "RepeatDue"}
    emails = OutboundEmail.objects.filter(idempotency_key__startswith="survey:")
    assert {e.idempotency_key for e in emails} == {f"survey:{s.pk}" for s in sends}
    assert sorted(e.to[0] for e in emails) == [
        "due@x.example",
        "exactly@x.example",
        "repeatdue@x.example",
    ]


def test_a_second_schedule_honours_the_quiet_period_of_the_first(population, schedule):
    csat = SurveySchedule.objects.create(
        name="CSAT", kind=SurveyKind.CSAT, first_after_days=30, repeat_every_days=90
    )

    services.surveys_send_scheduled(now=NOW)

    today = SurveySend.objects.filter(sent_at=NOW)
    per_contact = today.values("contact").annotate(n=Count("pk"))
    assert {row["n"] for row in per_contact} == {1}
    # CSAT reaches only those NPS did not just survey and nobody surveyed recently.
    assert {s.contact.first_name for s in today.filter(schedule=csat)} == {
        "TooNew",
        "RepeatNotYet",
    }


def test_after_the_repeat_interval_the_contact_is_surveyed_again(population, schedule):
    services.surveys_send_scheduled(now=NOW)
    later = NOW + timedelta(days=183)

    services.surveys_send_scheduled(now=later)

    assert {s.contact.first_name for s in SurveySend.objects.filter(sent_at=later)} == {
        "Due",
        "Exactly",
        "RepeatDue",
        "TooNew",
        "Quiet",
        "RepeatNotYet",
    }


def test_disabled_schedule_sends_nothing(population, schedule):
    schedule.enabled = False
    schedule.save()
    before = SurveySend.objects.count()
    assert services.surveys_send_scheduled(now=NOW) == []
    assert SurveySend.objects.count() == before


def test_a_registered_start_date_wins_over_customer_since(population, schedule, monkeypatch):
    # An app that knows onboarding starts registers an expression; here "started yesterday".
    monkeypatch.setattr(
        services,
        "SURVEY_START_EXPRESSIONS",
        [lambda: Value(TODAY - timedelta(days=1), output_field=DateField())],
    )
    assert not services.survey_schedule_due_contacts(schedule=schedule, now=NOW).exists()


def test_an_account_without_a_start_is_never_due(schedule):
    contact = _contact("Trial", since_days=400)
    Account.objects.filter(pk=contact.account_id).update(customer_since=None)
    assert not services.survey_schedule_due_contacts(schedule=schedule, now=NOW).exists()


def test_the_beat_task_runs_the_schedules(population, schedule):
    # The task uses the real clock; every population member started long enough ago.
    sent = tasks.surveys_send_scheduled.apply().get()
    assert sent == SurveySend.objects.filter(schedule=schedule, sent_at__gt=NOW).count() > 0


# Schedule pages ---------------------------------------------------------------------------


def test_lead_creates_and_edits_a_schedule(client_for, lead):
    client = client_for(lead)
    data = {
        "name": "CSAT quarterly",
        "kind": "csat",
        "enabled": "on",
        "first_after_days": 30,
        "repeat_every_days": 91,
        "quiet_period_days": 45,
    }
    created = client.post(reverse("metrics:survey_schedule_create"), data)
    schedule = SurveySchedule.objects.get()
    edited = client.post(
        reverse("metrics:survey_schedule_edit", args=[schedule.pk]),
        {**data, "repeat_every_days": 120},
    )

    assert created.status_code == edited.status_code == 302
    schedule.refresh_from_db()
    assert (schedule.kind, schedule.repeat_every_days) == ("csat", 120)
    assert client.get(reverse("metrics:survey_schedules")).status_code == 200


def test_schedule_form_rejects_zero_repeat_and_ces(client_for, lead):
    response = client_for(lead).post(
        reverse("metrics:survey_schedule_create"),
        {
            "name": "x",
            "kind": "ces",
            "first_after_days": 1,
            "repeat_every_days": 0,
            "quiet_period_days": 1,
        },
    )
    assert response.status_code == 400
    assert not SurveySchedule.objects.exists()


@pytest.mark.parametrize("persona", ["alice", "vic"])
def test_only_leads_edit_schedules(request, client_for, schedule, persona):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("metrics:survey_schedules")).status_code == 200
    assert client.post(reverse("metrics:survey_schedule_create"), {"name": "x"}).status_code == 403
    assert (
        client.post(reverse("metrics:survey_schedule_edit", args=[schedule.pk]), {}).status_code
        == 403
    )


def test_scheduled_sends_appear_on_the_timeline(population, schedule):
    services.surveys_send_scheduled(now=NOW)
    due = population["due"]
    assert due.account.activities.filter(
        subject__contains="survey emailed to Due", metadata__survey_schedule=schedule.pk
    ).exists()


def test_a_run_sends_everyone_due_in_several_batches(population, schedule):
    run = services.survey_schedule_run(schedule=schedule, now=NOW, batch_size=2)
    assert run.sent == 3
    assert SurveySend.objects.filter(schedule=schedule, sent_at=NOW).count() == 3


def test_a_schedule_without_repeat_or_quiet_period_still_sends_once_per_run(population):
    # The form refuses 0, but the admin and the database allow it; a run must still end.
    schedule = SurveySchedule.objects.create(
        name="raw", first_after_days=0, repeat_every_days=0, quiet_period_days=0
    )
    run = services.survey_schedule_run(schedule=schedule, now=NOW, batch_size=1)
    assert run.sent == SurveySend.objects.filter(schedule=schedule).count() == 6
