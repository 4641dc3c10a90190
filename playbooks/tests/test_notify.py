"""The daily digest at each user's local morning, and in-app notifications."""

from __future__ import annotations

import datetime as dt

import pytest

from accounts.tests.factories import AccountFactory, SubscriptionFactory, TaskFactory
from csplatform.choices import EmailStatus
from csplatform.models import OutboundEmail
from csplatform.services import email_deliver
from onboarding.models import OnboardingPlan
from playbooks.models import Notification
from playbooks.services import notify
from playbooks.tests.helpers import health
from renewals.models import Renewal
from tests.integration.support import SmtpServer, free_port

pytestmark = pytest.mark.django_db

# 06:15 UTC on a Friday in March: 07:15 in Berlin (CET), 15:15 in Tokyo.
NOW = dt.datetime(2026, 3, 20, 6, 15, tzinfo=dt.UTC)
DAY = NOW.date()


@pytest.fixture(autouse=True)
def _morning(settings):
    settings.DIGEST_HOUR = 7
    settings.SITE_URL = "https://cs.example.com"


@pytest.fixture
def alices_day(alice, bob):
    """Alice's book: an overdue task, one due today, a red account, a renewal, a stuck plan."""
    acme = AccountFactory(name="Acme", owner=alice)
    line = SubscriptionFactory(
        account=acme, start_date=DAY - dt.timedelta(days=345), end_date=DAY + dt.timedelta(20)
    )
    Renewal.objects.update_or_create(
        subscription=line,
        defaults={
            "account": acme,
            "owner": alice,
            "renewal_date": DAY + dt.timedelta(days=20),
            "notice_deadline": DAY - dt.timedelta(days=10),
            "mrr": 500,
            "outcome": "",
            "stage": "not_started",
            "closed_on": None,
        },
    )
    TaskFactory(account=acme, title="Send the deck", due_date=DAY - dt.timedelta(days=2))
    TaskFactory(account=acme, title="Call Ann", due_date=DAY)
    TaskFactory(account=acme, title="Later", due_date=DAY + dt.timedelta(days=9))
    TaskFactory(account=acme, title="Snoozed", due_date=DAY, snoozed_until=DAY + dt.timedelta(1))
    health(acme, 38, "red", previous=61, previous_color="yellow", as_of=DAY)
    OnboardingPlan.objects.create(
        account=AccountFactory(name="Newco", owner=alice),
        name="Enterprise onboarding",
        health="stuck",
        started_on=DAY - dt.timedelta(days=40),
        target_on=DAY + dt.timedelta(days=20),
    )
    bobs = AccountFactory(name="Bob's", owner=bob)
    TaskFactory(account=bobs, title="Bob's task", due_date=DAY - dt.timedelta(days=1))
    return acme


def test_a_csm_digest_covers_their_own_book(alices_day, alice):
    d = notify.digest_for(user=alice, day=DAY, now=NOW)
    assert [t.title for t in d.overdue] == ["Send the deck"]
    assert [t.title for t in d.due_today] == ["Call Ann"]
    assert d.open_count == 3
    assert [h.account.name for h in d.turned_red] == ["Acme"]
    assert [r.account.name for r in d.renewals] == ["Acme"]
    assert [p.name for p in d.stuck] == ["Enterprise onboarding"]


def test_a_leads_digest_covers_the_team(alices_day, lead):
    d = notify.digest_for(user=lead, day=DAY, now=NOW)
    assert [t.title for t in d.overdue] == ["Send the deck", "Bob's task"]


def test_digests_go_out_at_each_users_local_morning_once(alices_day, alice, bob, lead):
    alice.time_zone = "Europe/Berlin"
    alice.save()
    bob.time_zone = "Asia/Tokyo"
    bob.save()
    lead.time_zone = "Not/AZone"  # falls back to UTC: 06:15, not yet
    lead.save()
    assert notify.digests_send_due(now=NOW) == [alice.pk]
    assert notify.digests_send_due(now=NOW + dt.timedelta(minutes=15)) == [alice.pk]
    email = OutboundEmail.objects.get()
    assert email.idempotency_key == f"digest:{alice.pk}:{DAY}"
    assert email.subject == "Your day, March 20, 2026"
    # Lead's hour comes 45 minutes later; Bob's Tokyo morning was hours ago.
    assert notify.digests_send_due(now=NOW + dt.timedelta(minutes=50)) == [lead.pk]
    assert OutboundEmail.objects.count() == 2


def test_no_digest_when_switched_off_or_empty(alices_day, alice, bob):
    alice.notification_preferences = {"digest": False}
    alice.save()
    assert notify.digest_send(user=alice, day=DAY, now=NOW)
    assert OutboundEmail.objects.get().status == EmailStatus.SUPPRESSED
    bob.tasks.update(status="done")
    assert not notify.digest_send(user=bob, day=DAY, now=NOW)


@pytest.fixture
def smtp(settings):
    """A real SMTP server (aiosmtpd) the outbox delivers to."""
    server = SmtpServer(free_port())
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server.mailbox
    server.stop()


def parts(message):
    """The text and HTML parts of a received message, decoded."""
    found = {}
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            text = part.get_payload(decode=True).decode()
            found[part.get_content_type()] = text.replace("\r\n", "\n")
    return found["text/plain"], found["text/html"]


def test_the_digest_email_has_both_parts_and_links(alices_day, alice, smtp):
    notify.digest_send(user=alice, day=DAY, now=NOW)
    assert email_deliver(email_id=OutboundEmail.objects.get().pk)
    (message,) = smtp.messages
    assert message["To"] == "alice@example.com"
    assert message["Subject"] == "Your day, March 20, 2026"
    text, html = parts(message)
    assert "Overdue tasks\n- Send the deck · Acme" in text
    assert f"Turned red\n- Acme: 61 → 38 · https://cs.example.com/accounts/{alices_day.pk}/" in text
    assert "Onboarding stuck\n- Newco · Enterprise onboarding" in text
    renewal = Renewal.objects.get(account=alices_day)
    assert (
        f"Renewals in the next 30 days\n- Acme · 04/09/2026 · https://cs.example.com/renewals/{renewal.pk}/"
        in text
    )
    assert "3 open tasks in all: https://cs.example.com/tasks/" in text
    assert 'href="https://cs.example.com/tasks/"' in html
    assert f'href="https://cs.example.com/accounts/{alices_day.pk}/"' in html
    assert "Send the deck" in html


def test_the_owner_alert_has_the_reason_and_the_link(alice, smtp):
    from playbooks.services.evaluate import rule_evaluate
    from playbooks.tests.helpers import NOW as RULE_NOW
    from playbooks.tests.helpers import rule_with

    acme = AccountFactory(name="Acme", owner=alice)
    health(acme, 31, "red")
    rule = rule_with("health_below", ("email_owner", {"note": "Call today."}), name="Low health")
    rule_evaluate(rule=rule, now=RULE_NOW)
    assert email_deliver(email_id=OutboundEmail.objects.get().pk)
    (message,) = smtp.messages
    assert message["Subject"] == "Acme: Health score 31, below 50"
    text, html = parts(message)
    assert "The rule “Low health” fired:" in text
    assert "Call today." in text
    assert (
        f"1. Acme: Health score 31, below 50\n   https://cs.example.com/accounts/{acme.pk}/" in text
    )
    assert f'href="https://cs.example.com/accounts/{acme.pk}/"' in html
    assert "Health score 31, below 50" in html


def test_notifications_count_and_mark_read(alice, bob):
    for i in range(3):
        Notification.objects.create(user=alice, title=f"n{i}", idempotency_key=f"k{i}")
    Notification.objects.create(user=bob, title="bob", idempotency_key="kb")
    assert notify.unread_count(user=alice) == 3
    first = Notification.objects.filter(user=alice).order_by("pk").first()
    assert notify.notifications_mark_read(user=alice, ids=[first.pk]) == 1
    assert notify.unread_count(user=alice) == 2
    # Bob's are not Alice's to mark.
    assert notify.notifications_mark_read(user=alice) == 2
    assert notify.unread_count(user=bob) == 1


def test_the_digest_command_sends_one_users_digest_once(alices_day, alice, capsys):
    from django.core.management import call_command

    call_command("digests_send", user="alice", verbosity=0)
    call_command("digests_send", user="alice", verbosity=0)
    assert OutboundEmail.objects.filter(to=["alice@example.com"]).count() == 1
    call_command("digests_send", everyone=True, verbosity=0)
    assert "digests sent" in capsys.readouterr().out
