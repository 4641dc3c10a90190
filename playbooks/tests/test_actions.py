"""Every action, for several accounts at once, with a fixed clock."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.models import Account, Activity, Task
from accounts.tests.factories import AccountFactory
from csplatform.models import OutboundEmail
from playbooks.choices import MatchOutcome
from playbooks.models import (
    Notification,
    PlaybookStep,
    PlaybookTemplate,
    RuleMatch,
    WebhookDelivery,
    WebhookEndpoint,
)
from playbooks.services.evaluate import rule_evaluate
from playbooks.tests.helpers import NOW, TODAY, health, rule_with

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://cs.example.com"


@pytest.fixture
def book(alice, bob):
    """Two red accounts of Alice's, one of Bob's, one without an owner."""
    accounts = [
        AccountFactory(name="Acme", owner=alice),
        AccountFactory(name="Globex", owner=alice),
        AccountFactory(name="Initech", owner=bob),
        AccountFactory(name="Nobody's", owner=None),
    ]
    for account in accounts:
        health(account, 30, "red")
    return accounts


def fire(*actions, **fields):
    rule = rule_with("health_below", *actions, params={"score": 50}, **fields)
    rule_evaluate(rule=rule, now=NOW)
    return rule


def test_create_task_assigns_by_role_with_the_due_date_and_reason(book, alice, bob, lead):
    fire(
        ("create_task", {"title": "Owner's", "due_days": 3, "kind": "call", "priority": "urgent"}),
        ("create_task", {"title": "Lead's", "assignee_role": "cs_lead"}),
        ("create_task", {"title": "Bob's", "assignee_role": "user", "assignee": bob.pk}),
    )
    owners = dict(Task.objects.filter(title="Owner's").values_list("account__name", "assignee"))
    assert owners == {"Acme": alice.pk, "Globex": alice.pk, "Initech": bob.pk, "Nobody's": None}
    task = Task.objects.get(title="Owner's", account=book[0])
    assert (task.kind, task.priority, task.due_date) == ("call", "urgent", TODAY + dt.timedelta(3))
    assert task.description == "Health score 30, below 50"
    assert task.dedupe_key.startswith("rule:")
    assert set(Task.objects.filter(title="Lead's").values_list("assignee", flat=True)) == {lead.pk}
    assert set(Task.objects.filter(title="Bob's").values_list("assignee", flat=True)) == {bob.pk}


def test_start_playbook_creates_its_steps_with_relative_due_dates(book, alice, lead):
    playbook = PlaybookTemplate.objects.create(name="Save play")
    PlaybookStep.objects.create(playbook=playbook, title="Call", due_days=1, position=0)
    PlaybookStep.objects.create(
        playbook=playbook, title="Review", due_days=14, position=1, assignee_role="cs_lead"
    )
    fire(("start_playbook", {}), playbook=playbook)
    acme = Task.objects.filter(account=book[0]).order_by("due_date")
    assert [(t.title, t.due_date, t.assignee_id) for t in acme] == [
        ("Call", TODAY + dt.timedelta(1), alice.pk),
        ("Review", TODAY + dt.timedelta(14), lead.pk),
    ]
    assert Task.objects.count() == 8


def test_email_owner_sends_one_email_and_one_notification_per_owner(book, alice, bob):
    fire(("email_owner", {"note": "Call them today."}))
    emails = {tuple(e.to): e for e in OutboundEmail.objects.all()}
    assert set(emails) == {("alice@example.com",), ("bob@example.com",)}
    alices = emails[("alice@example.com",)]
    assert alices.subject == "Rule 1: 2 accounts"
    assert "Call them today." in alices.body_text
    assert "1. Acme: Health score 30, below 50" in alices.body_text
    assert f"https://cs.example.com/accounts/{book[0].pk}/" in alices.body_text
    assert f'href="https://cs.example.com/accounts/{book[1].pk}/"' in alices.body_html
    assert emails[("bob@example.com",)].subject == "Initech: Health score 30, below 50"
    run = RuleMatch.objects.first().run
    alices_note = Notification.objects.get(user=alice)
    assert alices_note.title == "“Rule 1” fired for 2 accounts"
    assert alices_note.link == f"/playbooks/runs/{run.pk}/"
    assert f"https://cs.example.com/playbooks/runs/{run.pk}/" in alices.body_text
    bobs_note = Notification.objects.get(user=bob)
    assert (bobs_note.title, bobs_note.link) == (
        "Initech: Health score 30, below 50",
        f"/accounts/{book[2].pk}/",
    )
    # The account without an owner is recorded as a failure, the others fired.
    outcomes = dict(RuleMatch.objects.values_list("account__name", "outcome"))
    assert outcomes["Nobody's"] == MatchOutcome.FAILED
    assert outcomes["Acme"] == MatchOutcome.FIRED


def test_notify_lead_emails_every_lead_once_with_a_link_to_the_run(book, lead):
    fire(("notify_lead", {}))
    email = OutboundEmail.objects.get()
    assert email.to == ["lead@example.com"]
    run = RuleMatch.objects.first().run
    assert f"https://cs.example.com/playbooks/runs/{run.pk}/" in email.body_text
    assert "4. Nobody's" in email.body_text
    note = Notification.objects.get(user=lead)
    assert note.title == "“Rule 1” fired for 4 accounts"


def test_change_stage_and_reassign(book, bob):
    fire(("change_stage", {"stage": "renewal"}), ("reassign", {"user": bob.pk}))
    assert set(Account.objects.values_list("lifecycle_stage", flat=True)) == {"renewal"}
    assert set(Account.objects.values_list("owner", flat=True)) == {bob.pk}
    email = OutboundEmail.objects.get()
    assert email.to == ["bob@example.com"] and "These accounts are yours now." in email.body_text


def test_webhook_and_slack_actions_queue_one_delivery_per_account(book):
    hook = WebhookEndpoint.objects.create(name="CRM", url="http://127.0.0.1:9/hook", secret="s")
    rule = fire(("webhook", {}), endpoint=hook)
    slack = WebhookEndpoint.objects.create(
        name="Slack", url="http://127.0.0.1:9/slack", format="slack"
    )
    fire(("slack", {}), endpoint=slack)
    delivery = WebhookDelivery.objects.get(endpoint=hook, account=book[0])
    assert delivery.payload == {
        "event": "rule.fired",
        "rule": {"id": rule.pk, "name": rule.name, "trigger": "health_below"},
        "account": {
            "id": book[0].pk,
            "name": "Acme",
            "url": f"https://cs.example.com/accounts/{book[0].pk}/",
        },
        "reason": "Health score 30, below 50",
        "reason_key": "below-50",
        "fired_at": NOW.isoformat(),
    }
    assert WebhookDelivery.objects.filter(endpoint=hook).count() == 4
    text = WebhookDelivery.objects.get(endpoint=slack, account=book[2]).payload["text"]
    assert text.startswith("*Initech*: Health score 30, below 50 (Rule 2) <https://cs.example.com/")


def test_a_disabled_endpoint_is_a_failed_action(book):
    hook = WebhookEndpoint.objects.create(name="Off", url="http://127.0.0.1:9/", is_active=False)
    fire(("webhook", {}), endpoint=hook)
    assert not WebhookDelivery.objects.exists()
    assert set(RuleMatch.objects.values_list("outcome", flat=True)) == {MatchOutcome.FAILED}


def test_each_fired_account_gets_one_timeline_entry_saying_what_was_done(book):
    rule = fire(("create_task", {"title": "Call"}), ("change_stage", {"stage": "renewal"}))
    entry = Activity.objects.get(account=book[0], source="playbooks")
    assert entry.subject == "Rule “Rule 1”: Health score 30, below 50"
    assert entry.summary == "task “Call”; stage set to Renewal"
    assert entry.metadata["rule"] == rule.pk
    assert Activity.objects.filter(source="playbooks").count() == 4


def test_an_owner_of_many_matching_accounts_gets_a_short_email(alice):
    for i in range(30):
        health(AccountFactory(name=f"Account {i:02d}", owner=alice), 20, "red")
    fire(("email_owner", {}))
    email = OutboundEmail.objects.get()
    assert email.subject == "Rule 1: 30 accounts"
    assert "25. Account 24" in email.body_text and "Account 25" not in email.body_text
    assert "… and 5 more accounts." in email.body_text
    assert "… and 5 more accounts." in email.body_html
    assert Notification.objects.get().title == "“Rule 1” fired for 30 accounts"
