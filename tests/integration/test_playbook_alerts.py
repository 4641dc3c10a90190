"""A detractor answer reaches its owner within a minute, once: the survey response arrives
through the REST API, the playbooks' receiver queues the evaluation on commit, a real
Celery worker on Redis evaluates the starter library's detractor rule, creates the task
and sends the owner's email through the outbox to a real SMTP server."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient

from accounts.models import Task
from accounts.tests.factories import AccountFactory
from csplatform.services import api_key_create
from playbooks.library import library_load
from playbooks.models import RuleRun
from tests.integration.support import wait_for

pytestmark = pytest.mark.integration


def test_a_detractor_through_the_api_gives_the_owner_one_task_and_one_email(
    start_worker, smtp, alice, lead
):
    library_load(actor=lead)
    account = AccountFactory(name="Acme", owner=alice)
    smtp.start()
    # The worker evaluates the rule, so it renders the email: links use its SITE_URL.
    start_worker(SITE_URL="https://cs.example.com")
    _key, raw = api_key_create(user=lead, name="survey tool")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    body = {
        "account": account.pk,
        "kind": "nps",
        "score": 3,
        "comment": "Too slow",
        "external_id": "typeform-1",
    }
    sent = time.monotonic()
    assert client.post("/api/v1/survey-responses/", body, format="json").status_code == 201
    # The survey tool retries the same answer: an upsert, and no second alert.
    assert client.post("/api/v1/survey-responses/", body, format="json").status_code in (200, 201)

    task = wait_for(
        lambda: Task.objects.filter(account=account, source="playbooks").first(),
        "the detractor task",
        timeout=60,
    )
    wait_for(lambda: smtp.mailbox.messages, "the owner's email", timeout=60)
    print(f"answer to task and email: {time.monotonic() - sent:.1f} s")
    assert task.assignee == alice and task.title == "Call the detractor and close the loop"
    # Every evaluation the two posts queued has finished; nothing more arrives.
    wait_for(
        lambda: RuleRun.objects.filter(finished_at__isnull=False).count() >= 1,
        "the evaluations",
    )
    time.sleep(3)
    assert Task.objects.filter(account=account, source="playbooks").count() == 1
    (message,) = smtp.mailbox.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Acme: NPS answer 3 (a detractor)"
    body_text = next(
        p.get_payload(decode=True).decode()
        for p in message.walk()
        if p.get_content_type() == "text/plain"
    )
    assert f"https://cs.example.com/accounts/{account.pk}/" in body_text
