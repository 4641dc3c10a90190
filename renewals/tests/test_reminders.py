"""Reminders at lead times before the renewal date and the notice deadline, and the cadence."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from accounts.choices import ActivityKind, TaskStatus
from accounts.models import Activity, Task
from accounts.services import task_complete
from accounts.tests.factories import AccountFactory
from csplatform.choices import EmailStatus
from csplatform.models import OutboundEmail
from renewals.models import RenewalReminder
from renewals.services.closing import renewal_close
from renewals.services.reminders import renewal_cadence_tasks, renewal_reminders_send
from renewals.tests.factories import annual_line, renewal_of

TODAY = timezone.localdate
D = dt.date(2031, 6, 30)  # the renewal date; the notice deadline is 30 days before


def _renewal(owner, *, renews_on=D, notice=30, name="Acme"):
    account = AccountFactory(owner=owner, name=name)
    return renewal_of(annual_line(account, renews_on=renews_on, notice_period_days=notice))


def _leads(renewal) -> set[tuple[str, int]]:
    return set(RenewalReminder.objects.filter(renewal=renewal).values_list("kind", "lead_days"))


@pytest.mark.django_db
def test_a_reminder_is_made_once_per_lead_time_even_when_the_job_runs_twice(alice):
    renewal = _renewal(alice)
    today = D - dt.timedelta(days=100)

    first = renewal_reminders_send(today=today)
    second = renewal_reminders_send(today=today)

    assert len(first) == 1 and second == []
    assert _leads(renewal) == {("renewal", 120)}
    task = Task.objects.get(account=renewal.account, source="renewals")
    assert task.title == "Renewal in 100 days: Acme, 12,000 USD ARR"
    assert (task.assignee, task.due_date, task.status) == (alice, today, TaskStatus.OPEN)
    email = OutboundEmail.objects.get()
    assert email.to == ["alice@example.com"] and email.subject == "Acme renews in 100 days"
    assert "12,000.00 USD" in email.body_text
    assert email.idempotency_key == f"renewals:reminder:{RenewalReminder.objects.get().pk}"


@pytest.mark.django_db
def test_each_lead_time_reminds_once_as_the_dates_come_closer(alice):
    renewal = _renewal(alice)

    for days_before in (100, 99, 85, 45, 35, 29, 29, 3):
        renewal_reminders_send(today=D - dt.timedelta(days=days_before))

    assert _leads(renewal) == {
        ("renewal", 120),
        ("renewal", 90),
        ("renewal", 60),
        ("renewal", 30),
        ("notice", 30),  # 45 days before: the deadline is 15 days away
        ("notice", 7),  # 35 days before: 5 days away
    }
    assert OutboundEmail.objects.count() == 6
    # One open task per renewal and kind: each reminder updates it.
    open_tasks = Task.objects.filter(account=renewal.account, status=TaskStatus.OPEN)
    assert sorted(open_tasks.values_list("title", flat=True)) == [
        "Cancellation deadline in 5 days: Acme (2031-05-31)",
        "Renewal in 29 days: Acme, 12,000 USD ARR",
    ]


@pytest.mark.django_db
def test_a_renewal_that_arrives_late_gets_only_the_reminder_of_its_window(alice):
    renewal = _renewal(alice)

    renewal_reminders_send(today=D - dt.timedelta(days=45))

    assert _leads(renewal) == {("renewal", 60), ("notice", 30)}


@pytest.mark.django_db
def test_lead_times_are_settings(alice, settings):
    settings.RENEWALS_REMINDER_DAYS = [14]
    settings.RENEWALS_NOTICE_REMINDER_DAYS = [3]
    renewal = _renewal(alice)

    renewal_reminders_send(today=D - dt.timedelta(days=45))
    renewal_reminders_send(today=D - dt.timedelta(days=32))
    renewal_reminders_send(today=D - dt.timedelta(days=10))

    assert _leads(renewal) == {("notice", 3), ("renewal", 14)}


@pytest.mark.django_db
def test_an_owner_who_switched_reminders_off_gets_the_task_but_no_email(alice):
    alice.notification_preferences = {"reminders": False}
    alice.save()
    _renewal(alice)

    renewal_reminders_send(today=D - dt.timedelta(days=100))

    assert Task.objects.filter(assignee=alice, source="renewals").count() == 1
    assert OutboundEmail.objects.get().status == EmailStatus.SUPPRESSED


@pytest.mark.django_db
def test_a_closed_renewal_is_not_reminded(alice):
    renewal = _renewal(alice)
    renewal_close(renewal=renewal, outcome="renewed", today=D - dt.timedelta(days=200))

    renewal_reminders_send(today=D - dt.timedelta(days=100))

    assert not RenewalReminder.objects.filter(renewal=renewal).exists()


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_remind_once(alice):
    renewals = [_renewal(alice, name=f"Acme {i}") for i in range(20)]
    today = D - dt.timedelta(days=100)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            renewal_reminders_send(today=today)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert RenewalReminder.objects.count() == 20
    assert RenewalReminder.objects.filter(processed_at__isnull=False).count() == 20
    assert Task.objects.filter(source="renewals").count() == 20
    assert OutboundEmail.objects.count() == 20
    assert {r.pk for r in renewals} == set(
        RenewalReminder.objects.values_list("renewal", flat=True)
    )


# Contact cadence -------------------------------------------------------------------------


@pytest.mark.django_db
def test_cadence_is_monthly_then_weekly_in_the_last_30_days(alice):
    monthly = _renewal(alice, renews_on=TODAY() + dt.timedelta(days=90), name="Later")
    weekly = _renewal(alice, renews_on=TODAY() + dt.timedelta(days=20), name="Soon")
    far = _renewal(alice, renews_on=TODAY() + dt.timedelta(days=200), name="Far")
    for renewal, days_ago in ((monthly, 20), (weekly, 10)):
        Activity.objects.create(
            account=renewal.account,
            kind=ActivityKind.CALL,
            subject="Check-in",
            occurred_at=timezone.now() - dt.timedelta(days=days_ago),
        )

    created = renewal_cadence_tasks()

    # Called 20 days ago is fine for a monthly cadence; 10 days ago is too long for weekly.
    assert created == 1
    task = Task.objects.get(dedupe_key="renewals:cadence")
    assert task.account == weekly.account and task.assignee == alice
    assert task.title.startswith("Renewal check-in with Soon")
    assert not Task.objects.filter(account__in=[monthly.account, far.account]).exists()


@pytest.mark.django_db
def test_cadence_keeps_one_open_check_in_and_a_completed_one_counts_as_contact(alice):
    renewal = _renewal(alice, renews_on=TODAY() + dt.timedelta(days=60))

    assert renewal_cadence_tasks() == 1
    assert renewal_cadence_tasks() == 0
    task = Task.objects.get(dedupe_key="renewals:cadence")
    task_complete(task=task, actor=alice, outcome="Called the sponsor")

    assert renewal_cadence_tasks() == 0
    assert Task.objects.filter(account=renewal.account, dedupe_key="renewals:cadence").count() == 1
