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
