"""Two answers to one survey at the same moment (a double click, two tabs) make one response."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection

from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.models import OutboundEmail
from metrics.models import SurveyResponse
from metrics.services import feedback as services


@pytest.mark.django_db(transaction=True)
def test_concurrent_answers_create_one_response():
    contact = ContactFactory(account=AccountFactory(), email="ada@x.example")
    send = services.survey_send(contact=contact)
    body = OutboundEmail.objects.get(idempotency_key=f"survey:{send.pk}").body_text
    token = re.search(r"/metrics/survey/([A-Za-z0-9_-]+)/", body)[1]
    barrier = threading.Barrier(4)
    results: list[services.SurveyAnswer] = []
    errors: list[BaseException] = []

    def answer(score: int) -> None:
        try:
            barrier.wait()
            results.append(services.survey_answer(token=token, score=score))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(score,)) for score in (9, 3, 7, 10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert SurveyResponse.objects.count() == 1
    winner = next(r for r in results if r.created)
    assert SurveyResponse.objects.get().score == winner.response.score
    assert {r.response.pk for r in results} == {winner.response.pk}


@pytest.mark.django_db(transaction=True)
def test_two_scheduled_runs_at_once_survey_each_contact_once():
    import datetime as dt

    from django.db.models import Count

    from metrics.models import SurveySchedule, SurveySend

    now = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    accounts = [
        AccountFactory(customer_since=now.date() - dt.timedelta(days=200)) for _ in range(3)
    ]
    for i in range(30):
        ContactFactory(account=accounts[i % 3], email=f"c{i}@x.example")
    SurveySchedule.objects.create(name="NPS", first_after_days=90, repeat_every_days=182)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            services.surveys_send_scheduled(now=now)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    per_contact = SurveySend.objects.values("contact").annotate(n=Count("pk"))
    assert len(per_contact) == 30
    assert {row["n"] for row in per_contact} == {1}
    assert OutboundEmail.objects.filter(idempotency_key__startswith="survey:").count() == 30
