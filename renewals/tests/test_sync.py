"""The roll-forward: renewals follow their subscriptions whoever changes them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import AccountStatus, SubscriptionStatus, TaskStatus
from accounts.models import Account, Activity, Subscription, Task
from accounts.services import subscription_save, subscriptions_bulk_create
from accounts.tests.factories import AccountFactory
from renewals.choices import Outcome
from renewals.models import Renewal
from renewals.services.closing import accounts_churn_due
from renewals.services.sync import renewals_sync
from renewals.tests.factories import annual_line, renewal_of

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def test_a_new_line_gets_its_renewal_with_date_deadline_arr_and_owner(alice):
    account = AccountFactory(owner=alice)
    renews_on = TODAY() + dt.timedelta(days=100)
    line = annual_line(account, renews_on=renews_on, notice_period_days=60)

    renewal = renewal_of(line)

    assert renewal.renewal_date == renews_on
    assert renewal.notice_deadline == renews_on - dt.timedelta(days=60)
    assert renewal.arr == Decimal("12000.0000")  # 10 × 1,200 a year
    assert renewal.owner == alice and renewal.account == account
    assert renewal.currency == "USD" and renewal.stage == "not_started"


def test_lines_without_a_paid_term_get_no_renewal():
    account = AccountFactory()
    annual_line(account, status=SubscriptionStatus.TRIAL)
    annual_line(account, end_date=None, renews_on=TODAY() + dt.timedelta(days=10))
    annual_line(account, unit_price=Decimal("0"))

    assert not Renewal.objects.filter(account=account).exists()


def test_an_amended_line_moves_its_open_renewal_and_keeps_its_history(alice):
    line = annual_line(AccountFactory(owner=alice))
    renewal = renewal_of(line)
    Renewal.objects.filter(pk=renewal.pk).update(notes="Champion is keen")
    new_end = line.end_date + dt.timedelta(days=31)

    line.end_date = new_end
    line.quantity = 12
    line.notice_period_days = 90
    subscription_save(subscription=line)

    moved = Renewal.objects.get(pk=renewal.pk)
    assert moved.renewal_date == new_end
    assert moved.notice_deadline == new_end - dt.timedelta(days=90)
    assert moved.arr == Decimal("14400.0000")
    assert moved.notes == "Champion is keen" and moved.is_open
    assert Renewal.objects.filter(subscription=line).count() == 1


@pytest.mark.parametrize(
    ("quantity", "outcome"),
    [(10, Outcome.RENEWED), (15, Outcome.EXPANDED), (6, Outcome.CONTRACTED)],
)
@pytest.mark.parametrize("gap_days", [0, 1])
def test_a_successor_line_added_by_hand_closes_the_renewal_and_opens_the_next(
    quantity, outcome, gap_days
):
    renews_on = TODAY() - dt.timedelta(days=5)
    line = annual_line(renews_on=renews_on)
    renewal = renewal_of(line)

    # Either convention: the next term starts on the end date, or the day after it.
    successor = annual_line(
        line.account,
        start_date=renews_on + dt.timedelta(days=gap_days),
        renews_on=renews_on.replace(year=renews_on.year + 1),
        quantity=quantity,
    )

    renewal.refresh_from_db()
    assert renewal.outcome == outcome
    assert renewal.outcome_mrr == Decimal(quantity * 100)
    assert renewal.successor == successor
    assert renewal.effective_on == successor.start_date
    assert renewal.closed_by is None and renewal.closed_on == TODAY()
    assert renewal_of(successor).renewal_date == successor.end_date
    assert Activity.objects.filter(
        account=line.account, metadata__renewal_id=renewal.pk, metadata__automatic=True
    ).exists()


def test_a_mid_term_change_moves_the_renewal_to_the_new_line(alice):
    renews_on = TODAY() + dt.timedelta(days=200)
    line = annual_line(AccountFactory(owner=alice), renews_on=renews_on)
    renewal = renewal_of(line)
    change = TODAY() - dt.timedelta(days=3)

    # An upgrade half-way: the old line ends, a bigger one runs to the same end date.
    line.status = SubscriptionStatus.EXPIRED
    line.end_date = change - dt.timedelta(days=1)
    subscription_save(subscription=line)
    bigger = annual_line(line.account, start_date=change, renews_on=renews_on, quantity=20)

    renewal.refresh_from_db()
    assert renewal.is_open and renewal.subscription == bigger
    assert renewal.renewal_date == renews_on and renewal.arr == Decimal("24000.0000")
    assert Renewal.objects.filter(account=line.account).count() == 1


def test_a_cancelled_line_closes_its_renewal_as_churned_and_asks_for_the_reason(alice):
    account = AccountFactory(owner=alice)
    ended = TODAY() - dt.timedelta(days=2)
    line = annual_line(account, renews_on=TODAY() + dt.timedelta(days=40))
    renewal = renewal_of(line)

    line.status = SubscriptionStatus.CANCELLED
    line.end_date = ended
    subscription_save(subscription=line)

    renewal.refresh_from_db()
    assert renewal.outcome == Outcome.CHURNED and renewal.outcome_mrr == 0
    assert renewal.renewal_date == ended
    assert renewal.effective_on == ended + dt.timedelta(days=1)
    assert renewal.reason == ""
    task = Task.objects.get(account=account, dedupe_key=f"renewals:{renewal.pk}:exit")
    assert task.assignee == alice and task.status == TaskStatus.OPEN
    account.refresh_from_db()
    assert account.status == AccountStatus.CHURNED and account.churned_at == ended


def test_a_cancellation_that_takes_effect_later_churns_the_account_on_the_day(alice):
    account = AccountFactory(owner=alice)
    last_day = TODAY() + dt.timedelta(days=20)
    line = annual_line(account, renews_on=last_day)

    line.status = SubscriptionStatus.CANCELLED
    subscription_save(subscription=line)

    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE  # still paying until its last day
    assert accounts_churn_due(today=last_day) == []
    assert accounts_churn_due(today=last_day + dt.timedelta(days=1)) == [account.pk]
    account.refresh_from_db()
    assert account.status == AccountStatus.CHURNED and account.churned_at == last_day


def test_a_churned_line_does_not_churn_an_account_that_still_pays():
    account = AccountFactory()
    addon = annual_line(account, product="Reports add-on", renews_on=TODAY() - dt.timedelta(days=3))
    annual_line(account, renews_on=TODAY() + dt.timedelta(days=200))

    addon.status = SubscriptionStatus.CANCELLED
    subscription_save(subscription=addon)

    assert Renewal.objects.get(subscription=addon).outcome == Outcome.CHURNED
    assert accounts_churn_due(today=TODAY()) == []
    assert Account.objects.get(pk=account.pk).status == AccountStatus.ACTIVE


def test_a_line_extended_after_its_renewal_date_was_renewed_by_extension():
    renews_on = TODAY() - dt.timedelta(days=10)
    line = annual_line(renews_on=renews_on)
    renewal = renewal_of(line)

    line.end_date = renews_on.replace(year=renews_on.year + 1)
    subscription_save(subscription=line)

    renewal.refresh_from_db()
    assert renewal.outcome == Outcome.RENEWED and renewal.successor == line
    assert renewal.effective_on == renews_on + dt.timedelta(days=1)
    assert renewal_of(line).renewal_date == line.end_date


def test_a_line_turned_into_a_trial_loses_its_open_renewal():
    line = annual_line()
    assert Renewal.objects.filter(subscription=line).exists()

    line.status = SubscriptionStatus.TRIAL
    subscription_save(subscription=line)

    assert not Renewal.objects.filter(subscription=line).exists()


def test_lines_written_in_bulk_get_their_renewals_from_the_sweep_and_a_second_run_does_nothing():
    account = AccountFactory()
    subscriptions_bulk_create(
        subscriptions=[
            Subscription(
                account=account,
                plan_name="Pro",
                product=f"P{i}",
                unit_price=Decimal("100"),
                start_date=TODAY() - dt.timedelta(days=30),
                end_date=TODAY() + dt.timedelta(days=30 * i),
            )
            for i in range(1, 4)
        ]
    )
    assert not Renewal.objects.filter(account=account).exists()

    first = renewals_sync()
    second = renewals_sync()

    assert first.created == 3
    assert Renewal.objects.filter(account=account, outcome="").count() == 3
    assert (second.created, second.refreshed, second.closed, second.removed) == (0, 0, [], 0)


def test_open_renewals_follow_a_new_account_owner_and_closed_ones_keep_theirs(alice, bob):
    account = AccountFactory(owner=alice)
    old = annual_line(account, product="Old", renews_on=TODAY() - dt.timedelta(days=2))
    open_line = annual_line(account)
    old.status = SubscriptionStatus.CANCELLED
    subscription_save(subscription=old)

    account.owner = bob
    account.save()

    assert renewal_of(open_line).owner == bob
    assert Renewal.objects.get(subscription=old).owner == alice


def test_a_superseded_line_expires_once_its_date_has_passed():
    renews_on = TODAY() + dt.timedelta(days=5)
    line = annual_line(renews_on=renews_on)
    annual_line(
        line.account, start_date=renews_on, renews_on=renews_on.replace(year=renews_on.year + 1)
    )
    assert Subscription.objects.get(pk=line.pk).status == SubscriptionStatus.ACTIVE

    renewals_sync(today=renews_on + dt.timedelta(days=1))

    assert Subscription.objects.get(pk=line.pk).status == SubscriptionStatus.EXPIRED
