"""A QBR from planning to follow-up: the first QBR after onboarding, holding it (timeline,
tasks, cadence), follow-up (one task per next step, the email with or without notes),
invitations, and what the services refuse."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import ActivityKind, TaskStatus
from accounts.models import Activity, Task
from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.models import OutboundEmail
from onboarding.services.plans import plan_complete, plan_start
from onboarding.tests.factories import standard_template
from qbr.choices import QbrStatus, StepSide
from qbr.models import Qbr
from qbr.selectors import account_cadence
from qbr.services import qbrs
from qbr.services.qbrs import StepInput
from qbr.tests.factories import QbrFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(alice):
    return AccountFactory(name="Acme", owner=alice)


@pytest.fixture
def contacts(account):
    return [
        ContactFactory(account=account, first_name="Pat", email="pat@acme.example"),
        ContactFactory(account=account, first_name="Sam", email="sam@acme.example"),
    ]


def held_qbr(account, alice, contacts):
    q = qbrs.qbr_create(account=account, actor=alice, contact_ids=[c.pk for c in contacts])
    return qbrs.qbr_hold(qbr=q, actor=alice, held_on=timezone.localdate(), notes="Went well.")


def test_onboarding_completion_plans_the_first_qbr_linked_to_its_task(
    account, alice, django_capture_on_commit_callbacks
):
    plan = plan_start(account=account, template=standard_template(), actor=alice)
    with django_capture_on_commit_callbacks(execute=True):
        plan_complete(plan=plan, actor=alice)
    first_task = Task.objects.get(account=account, dedupe_key="qbr:first")
    qbr = Qbr.objects.get(account=account)
    assert (qbr.status, qbr.is_first, qbr.first_qbr_task) == (QbrStatus.PLANNED, True, first_task)
    plan.refresh_from_db()
    assert qbr.period_end == plan.completed_on
    # Holding it completes onboarding's task, and the cadence counts from it.
    qbrs.qbr_hold(qbr=qbr, actor=alice, held_on=timezone.localdate())
    first_task.refresh_from_db()
    assert first_task.status == TaskStatus.DONE
    cadence = account_cadence(account=account)
    assert cadence.last_held_on == timezone.localdate()
    assert cadence.due_on == timezone.localdate() + dt.timedelta(days=91)


def test_holding_puts_the_qbr_on_the_timeline_with_its_attendees(account, alice, contacts):
    q = held_qbr(account, alice, contacts)
    entry = Activity.objects.get(account=account, kind=ActivityKind.QBR)
    assert entry.subject == "QBR held" and entry.summary == "Went well."
    assert set(entry.contacts.all()) == set(contacts)
    assert entry.metadata["qbr_id"] == q.pk
    contacts[0].refresh_from_db()
    assert contacts[0].last_contacted_at is not None


def test_follow_up_makes_one_task_per_next_step_and_sends_numbered_steps(
    account, alice, bob, contacts, django_capture_on_commit_callbacks
):
    q = held_qbr(account, alice, contacts)
    steps = [
        StepInput(
            "Send the usage report",
            StepSide.OURS,
            timezone.localdate() + dt.timedelta(days=7),
            bob.pk,
        ),
        StepInput("Confirm the seat count", StepSide.CUSTOMER),
        StepInput("Book the training", StepSide.OURS),
        StepInput("   "),  # an empty line is not a step
    ]
    with django_capture_on_commit_callbacks(execute=True):
        qbrs.qbr_follow_up(qbr=q, actor=alice, steps=steps)
    tasks = Task.objects.filter(account=account, source="qbr").order_by("dedupe_key")
    assert [t.title for t in tasks] == [
        "QBR next step: Send the usage report",
        "Follow up with the customer: Confirm the seat count",
        "QBR next step: Book the training",
    ]
    assert [t.assignee for t in tasks] == [bob, alice, alice]
    assert [s.task_id for s in q.next_steps.all()] == [t.pk for t in tasks]
    q.refresh_from_db()
    assert q.status == QbrStatus.FOLLOWED_UP
    emails = OutboundEmail.objects.filter(idempotency_key__contains=":follow-up:").order_by("to")
    assert [e.to for e in emails] == [["pat@acme.example"], ["sam@acme.example"]]
    body = emails[0].body_text
    assert "1. Send the usage report" in body and "2. Confirm the seat count" in body
    assert "Went well." in body  # the notes
    assert "/qbr/deck/" in body  # the deck is linked
    # Running it again (a changed step) updates the same tasks instead of adding new ones.
    qbrs.qbr_follow_up(
        qbr=q,
        actor=alice,
        steps=[StepInput("Send the usage report by team"), *steps[1:3]],
        send_email=False,
    )
    assert Task.objects.filter(account=account, source="qbr", status=TaskStatus.OPEN).count() == 3
    assert Task.objects.filter(title="QBR next step: Send the usage report by team").exists()


def test_follow_up_without_notes(account, alice, contacts):
    q = held_qbr(account, alice, contacts)
    qbrs.qbr_follow_up(
        qbr=q, actor=alice, steps=[StepInput("Share the roadmap")], include_notes=False, deck="none"
    )
    email = OutboundEmail.objects.filter(idempotency_key__contains=":follow-up:").first()
    assert "Share the roadmap" in email.body_text
    assert "Went well." not in email.body_text and "/qbr/deck/" not in email.body_text


def test_what_the_services_refuse(account, alice, contacts):
    planned = qbrs.qbr_create(account=account, actor=alice)
    with pytest.raises(ValidationError):
        qbrs.qbr_follow_up(qbr=planned, actor=alice, steps=[StepInput("x")])
    with pytest.raises(ValidationError):
        qbrs.qbr_hold(qbr=planned, actor=alice, held_on=timezone.localdate() + dt.timedelta(days=1))
    with pytest.raises(ValidationError) as unknown:
        qbrs.qbr_narrative_save(qbr=planned, actor=alice, narrative={"bogus": "x"})
    assert "narrative" in unknown.value.message_dict
    with pytest.raises(ValidationError) as long:
        qbrs.qbr_narrative_save(qbr=planned, actor=alice, narrative={"summary": "x" * 10_001})
    assert "summary" in long.value.message_dict
    with pytest.raises(ValidationError):
        qbrs.qbr_narrative_save(
            qbr=planned, actor=alice, narrative={}, optional_sections=["summary"]
        )
    q = held_qbr(account, alice, contacts)
    with pytest.raises(ValidationError):
        qbrs.qbr_follow_up(qbr=q, actor=alice, steps=[StepInput("")])
    with pytest.raises(ValidationError):
        qbrs.qbr_follow_up(qbr=q, actor=alice, steps=[StepInput("x")], contact_ids=[])
    assert not Task.objects.filter(source="qbr").exists()
    planned.refresh_from_db()
    assert planned.narrative == {}


def test_an_invitation_goes_once_per_contact(account, alice, contacts):
    q = qbrs.qbr_create(
        account=account, actor=alice, scheduled_at=timezone.now() + dt.timedelta(days=7)
    )
    assert qbrs.qbr_invite(qbr=q, actor=alice, contact_ids=[contacts[0].pk]) == 1
    assert (
        qbrs.qbr_invite(qbr=q, actor=alice, contact_ids=[c.pk for c in contacts], kind="new") == 1
    )
    emails = OutboundEmail.objects.filter(idempotency_key__contains=":invite:")
    assert emails.count() == 2
    new = emails.get(to=["sam@acme.example"])
    assert "first business review" in new.subject
    assert set(q.attendee_contacts.all()) == set(contacts)
    assert (
        Activity.objects.filter(
            account=account, kind=ActivityKind.EMAIL, subject="QBR invitation sent"
        ).count()
        == 2
    )


def test_deck_links_are_signed_and_expire(account, alice, settings):
    q = QbrFactory(account=account)
    token = qbrs.deck_link_token(qbr=q, fmt="pdf")
    assert qbrs.deck_link_load(token) == (q.pk, "pdf")
    assert qbrs.deck_link_load(token[:-2] + "xx") is None
    settings.QBR_DECK_LINK_DAYS = 0
    assert qbrs.deck_link_load(token) is None


def test_a_cadence_set_by_hand_and_back_to_the_rules(account, alice):
    qbrs.cadence_override_set(
        account=account, actor=alice, cadence="monthly", reason="Go-live in June"
    )
    assert account_cadence(account=account).cadence == "monthly"
    with pytest.raises(ValidationError):
        qbrs.cadence_override_set(
            account=account,
            actor=alice,
            cadence="monthly",
            until=timezone.localdate() - dt.timedelta(days=1),
        )
    qbrs.cadence_override_set(account=account, actor=alice, cadence=None)
    assert account_cadence(account=account).cadence == "quarterly"
    assert Activity.objects.filter(
        account=account, subject="QBR cadence back to the rules"
    ).exists()
