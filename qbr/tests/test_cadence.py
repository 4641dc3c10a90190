"""The QBR cadence of SPEC §8 with a fixed clock: every rule, the "QBRs due" list in one
query whatever the number of accounts, the tasks it makes and the temperature checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.choices import AccountStatus, SubscriptionStatus, TaskStatus, TouchModel
from accounts.models import Account, Subscription, Task
from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.models import OutboundEmail
from onboarding.choices import PlanStatus
from onboarding.models import OnboardingPlan
from onboarding.tests.factories import standard_template
from qbr.choices import Cadence, CadenceReason, QbrStatus
from qbr.models import CadenceOverride, TemperatureCheck
from qbr.selectors import accounts_with_cadence, qbrs_due
from qbr.services.cadence import qbr_due_tasks, quarter_of, temperature_checks_send
from qbr.tests.factories import QbrFactory, held

TODAY = dt.date(2026, 5, 15)
LONG_AGO = TODAY - dt.timedelta(days=800)


def cadence_of(account, today=TODAY):
    return accounts_with_cadence(today=today).get(pk=account.pk)


def customer(owner=None, **fields):
    fields.setdefault("customer_since", LONG_AGO)
    return AccountFactory(owner=owner, **fields)


def plan(account, status, *, started, completed=None, first_qbr_due_on=None):
    """An onboarding plan row as the onboarding app leaves it (the cadence reads only these)."""
    return OnboardingPlan.objects.create(
        account=account,
        template=standard_template(),
        name="Onboarding",
        status=status,
        started_on=started,
        target_on=started + dt.timedelta(days=30),
        completed_on=completed,
        first_qbr_due_on=first_qbr_due_on,
    )


@pytest.mark.django_db
class TestRules:
    def test_quarterly_by_default_counted_from_the_last_qbr_held(self, alice):
        account = customer(alice)
        held(account, TODAY - dt.timedelta(days=80))
        held(account, TODAY - dt.timedelta(days=170))
        a = cadence_of(account)
        assert (a.cadence, a.cadence_reason) == (Cadence.QUARTERLY, CadenceReason.DEFAULT)
        assert a.last_held_on == TODAY - dt.timedelta(days=80)
        assert a.due_on == TODAY + dt.timedelta(days=11)

    def test_never_held_counts_from_the_start_as_a_customer(self):
        account = customer(customer_since=TODAY - dt.timedelta(days=50))
        assert cadence_of(account).due_on == TODAY + dt.timedelta(days=41)

    def test_a_cancelled_or_planned_qbr_does_not_reset_the_cadence(self):
        account = customer()
        held(account, TODAY - dt.timedelta(days=100))
        QbrFactory(account=account, status=QbrStatus.CANCELLED)
        planned = QbrFactory(account=account, status=QbrStatus.PLANNED)
        a = cadence_of(account)
        assert a.due_on == TODAY - dt.timedelta(days=9)
        assert a.next_qbr_id == planned.pk

    def test_quiet_accounts_meet_twice_a_year(self):
        account = customer(touch_model=TouchModel.TECH)
        held(account, TODAY - dt.timedelta(days=100))
        a = cadence_of(account)
        assert (a.cadence, a.cadence_reason) == (Cadence.SEMIANNUAL, CadenceReason.QUIET)
        assert a.due_on == TODAY + dt.timedelta(days=82)

    def test_monthly_during_an_implementation_then_back_to_quarterly(self):
        account = customer(touch_model=TouchModel.HIGH)
        held(account, TODAY - dt.timedelta(days=20))
        rollout = plan(account, PlanStatus.ACTIVE, started=TODAY - dt.timedelta(days=25))
        a = cadence_of(account)
        assert (a.cadence, a.cadence_reason) == (Cadence.MONTHLY, CadenceReason.IMPLEMENTATION)
        assert a.due_on == TODAY + dt.timedelta(days=10)
        OnboardingPlan.objects.filter(pk=rollout.pk).update(
            status=PlanStatus.COMPLETED, completed_on=TODAY
        )
        a = cadence_of(account)
        assert a.cadence == Cadence.QUARTERLY
        assert a.due_on == TODAY + dt.timedelta(days=71)

    def test_a_new_customer_in_onboarding_has_none_until_it_completes(self):
        account = customer(customer_since=TODAY - dt.timedelta(days=10))
        plan(account, PlanStatus.ACTIVE, started=TODAY - dt.timedelta(days=10))
        a = cadence_of(account)
        assert (a.cadence, a.cadence_reason, a.due_on) == (
            Cadence.NONE,
            CadenceReason.ONBOARDING,
            None,
        )

    def test_the_first_qbr_follows_onboarding_completion(self):
        account = customer(customer_since=TODAY - dt.timedelta(days=60))
        due = TODAY + dt.timedelta(days=20)
        plan(
            account,
            PlanStatus.COMPLETED,
            started=TODAY - dt.timedelta(days=60),
            completed=TODAY - dt.timedelta(days=10),
            first_qbr_due_on=due,
        )
        a = cadence_of(account)
        assert (a.cadence_reason, a.due_on) == (CadenceReason.FIRST, due)

    def test_no_qbr_right_after_a_new_contract(self):
        account = customer()
        held(account, TODAY - dt.timedelta(days=80))  # due in 11 days by the quarter
        Subscription.objects.create(
            account=account,
            plan_name="Pro",
            unit_price=Decimal("10"),
            start_date=TODAY - dt.timedelta(days=5),
            signed_on=TODAY - dt.timedelta(days=10),
            status=SubscriptionStatus.ACTIVE,
        )
        a = cadence_of(account)
        assert a.cadence_reason == CadenceReason.NEW_CONTRACT
        assert a.due_on == TODAY + dt.timedelta(days=50)  # signed + 60 days

    def test_an_old_contract_changes_nothing(self):
        account = customer()
        held(account, TODAY - dt.timedelta(days=80))
        Subscription.objects.create(
            account=account,
            plan_name="Pro",
            unit_price=Decimal("10"),
            start_date=TODAY - dt.timedelta(days=300),
            status=SubscriptionStatus.ACTIVE,
        )
        a = cadence_of(account)
        assert (a.cadence_reason, a.due_on) == (
            CadenceReason.DEFAULT,
            TODAY + dt.timedelta(days=11),
        )

    def test_a_cadence_set_by_hand_lasts_until_its_end_date(self, alice):
        account = customer(alice)
        held(account, TODAY - dt.timedelta(days=20))
        CadenceOverride.objects.create(
            account=account, cadence=Cadence.MONTHLY, until=TODAY + dt.timedelta(days=30)
        )
        a = cadence_of(account)
        assert (a.cadence, a.cadence_reason, a.due_on) == (
            Cadence.MONTHLY,
            CadenceReason.OVERRIDE,
            TODAY + dt.timedelta(days=10),
        )
        later = cadence_of(account, today=TODAY + dt.timedelta(days=31))
        assert (later.cadence, later.cadence_reason) == (Cadence.QUARTERLY, CadenceReason.DEFAULT)

    def test_none_set_by_hand_and_churned_accounts_have_no_due_date(self):
        paused = customer()
        CadenceOverride.objects.create(account=paused, cadence=Cadence.NONE)
        gone = customer(status=AccountStatus.CHURNED, churned_at=TODAY - dt.timedelta(days=3))
        assert cadence_of(paused).due_on is None
        assert (cadence_of(gone).cadence, cadence_of(gone).due_on) == (Cadence.NONE, None)


@pytest.mark.django_db
def test_the_due_list_is_one_query_for_any_number_of_accounts():
    def grow(n):
        start = Account.objects.count()
        Account.objects.bulk_create(
            Account(name=f"Due {start + i}", customer_since=LONG_AGO) for i in range(n)
        )

    def count():
        with CaptureQueriesContext(connection) as ctx:
            rows = list(qbrs_due(today=TODAY))
        return len(ctx.captured_queries), len(rows)

    grow(5)
    assert count() == (1, 5)
    grow(45)
    assert count() == (1, 50)


@pytest.mark.django_db
def test_the_due_list_keeps_the_window_and_puts_overdue_first():
    late = customer(name="Late")
    held(late, TODAY - dt.timedelta(days=120))
    soon = customer(name="Soon")
    held(soon, TODAY - dt.timedelta(days=70))
    later = customer(name="Later")
    held(later, TODAY - dt.timedelta(days=10))
    assert [a.name for a in qbrs_due(today=TODAY, window_days=30)] == ["Late", "Soon"]


@pytest.mark.django_db
def test_due_qbrs_become_one_task_each_and_a_second_run_adds_none(alice, settings):
    settings.QBR_DUE_TASK_DAYS = 14
    due = customer(alice, name="Due")
    held(due, TODAY - dt.timedelta(days=85))
    planned = customer(alice, name="Planned")
    held(planned, TODAY - dt.timedelta(days=85))
    QbrFactory(account=planned, status=QbrStatus.PLANNED)
    far = customer(alice, name="Far")
    held(far, TODAY - dt.timedelta(days=10))
    assert qbr_due_tasks(today=TODAY) == 1
    qbr_due_tasks(today=TODAY)
    task = Task.objects.get(dedupe_key="qbr:due", status=TaskStatus.OPEN)
    assert (task.account, task.assignee, task.due_date) == (
        due,
        alice,
        TODAY + dt.timedelta(days=6),
    )
    assert Task.objects.filter(dedupe_key="qbr:due").count() == 1


@pytest.mark.django_db
def test_quiet_accounts_get_one_temperature_check_a_quarter(
    alice, django_capture_on_commit_callbacks
):
    quiet = customer(alice, touch_model=TouchModel.TECH, name="Quiet & Co")
    held(quiet, TODAY - dt.timedelta(days=100))
    contact = ContactFactory(account=quiet, is_primary=True, email="pat@quiet.example")
    busy = customer(alice, name="Busy")  # quarterly: no temperature check
    held(busy, TODAY - dt.timedelta(days=100))
    ContactFactory(account=busy, is_primary=True)
    recent = customer(alice, touch_model=TouchModel.TECH)  # a QBR a month ago: not yet
    held(recent, TODAY - dt.timedelta(days=30))
    ContactFactory(account=recent, is_primary=True)

    with django_capture_on_commit_callbacks(execute=False):
        assert temperature_checks_send(today=TODAY) == 1
        assert temperature_checks_send(today=TODAY) == 0
    email = OutboundEmail.objects.get(idempotency_key__startswith="qbr:temperature:")
    assert email.to == [contact.email]
    assert "Quiet & Co" in email.subject
    check = TemperatureCheck.objects.get()
    assert (check.account, check.quarter) == (quiet, quarter_of(TODAY)) == (quiet, "2026-Q2")
    # Next quarter, again once.
    with django_capture_on_commit_callbacks(execute=False):
        assert temperature_checks_send(today=TODAY + dt.timedelta(days=50)) == 1
