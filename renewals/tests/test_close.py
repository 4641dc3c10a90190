"""Closing a renewal writes the next term or the cancellation, and the account follows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import AccountStatus, LifecycleStage, SubscriptionStatus, TaskStatus
from accounts.models import Account, Activity, Subscription, Task
from accounts.selectors import subscriptions_paying_on
from accounts.tests.factories import AccountFactory
from metrics.models import AccountChange
from renewals.choices import ChurnType, ForecastCategory, Outcome, RenewalStage
from renewals.models import Renewal
from renewals.services.closing import renewal_close, renewals_auto_renew_due
from renewals.tests.factories import annual_line, renewal_of

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _mrr_on(account: Account, day: dt.date) -> Decimal:
    return sum((s.mrr for s in subscriptions_paying_on(day).filter(account=account)), Decimal(0))


@pytest.fixture
def due_today(alice):
    """Alice's account with 10 licenses at 1,200 a year each (12,000 ARR) renewing today."""
    account = AccountFactory(owner=alice, name="Acme", lifecycle_stage=LifecycleStage.RENEWAL)
    line = annual_line(
        account, renews_on=TODAY(), start_date=TODAY().replace(year=TODAY().year - 1)
    )
    return renewal_of(line)


def test_renewed_flat_copies_the_line_into_the_next_term_and_counts_the_hand_over_once(
    due_today, alice
):
    line = due_today.subscription

    renewal = renewal_close(renewal=due_today, outcome=Outcome.RENEWED, actor=alice)

    successor = renewal.successor
    assert successor.start_date == TODAY() and successor.end_date == line.end_date.replace(
        year=line.end_date.year + 1
    )
    assert (successor.quantity, successor.unit_price, successor.mrr) == (
        10,
        Decimal("1200.00"),
        Decimal("1000.0000"),
    )
    assert Subscription.objects.get(pk=line.pk).status == SubscriptionStatus.EXPIRED
    # The renewal date is paid once: by the new line (the old one stops the day before).
    assert list(subscriptions_paying_on(TODAY()).filter(account=line.account)) == [successor]
    assert _mrr_on(line.account, TODAY() - dt.timedelta(days=1)) == Decimal("1000")
    assert renewal.outcome_mrr == Decimal("1000.0000") and renewal.effective_on == TODAY()
    assert renewal.stage == RenewalStage.CLOSED and renewal.closed_by == alice
    assert renewal_of(successor).renewal_date == successor.end_date
    account = Account.objects.get(pk=line.account_id)
    assert account.lifecycle_stage == LifecycleStage.ADOPTION
    assert account.renewal_date == successor.end_date


def test_contracted_writes_the_smaller_term_moves_mrr_and_lands_on_the_timeline(due_today, alice):
    renewal = renewal_close(
        renewal=due_today,
        outcome=Outcome.CONTRACTED,
        quantity=8,
        reason="budget",
        reason_note="Two teams left",
        actor=alice,
    )

    account = Account.objects.get(pk=due_today.account_id)
    assert account.mrr == Decimal("800.0000")  # 8 × 1,200 ÷ 12
    assert renewal.outcome_arr == Decimal("9600.0000") and renewal.reason == "budget"
    assert renewal.churn_type == ""  # a contraction is not a churn
    entry = Activity.objects.get(account=account, metadata__renewal_id=renewal.pk)
    assert entry.subject == "Renewal closed: Contracted (12,000.00 USD → 9,600.00 USD ARR)"
    assert "Budget cuts" in entry.summary and "Two teams left" in entry.summary
    assert entry.author == alice
    # The metric engine refreshes the account's figures within a minute.
    assert AccountChange.objects.filter(account=account).exists()


def test_expanded_with_a_new_price_and_a_longer_term(due_today):
    end = TODAY().replace(year=TODAY().year + 2)

    renewal = renewal_close(
        renewal=due_today,
        outcome=Outcome.EXPANDED,
        quantity=12,
        unit_price=Decimal("1500"),
        term_end=end,
    )

    assert renewal.outcome_mrr == Decimal("1500.0000")  # 12 × 1,500 ÷ 12
    assert renewal.successor.end_date == end
    account = Account.objects.get(pk=due_today.account_id)
    assert account.mrr == Decimal("1500.0000")
    assert account.lifecycle_stage == LifecycleStage.GROWTH


def test_churned_cancels_the_line_on_the_renewal_date_and_churns_the_account(alice):
    overdue = TODAY() - dt.timedelta(days=3)
    line = annual_line(AccountFactory(owner=alice), renews_on=overdue)

    renewal = renewal_close(
        renewal=renewal_of(line), outcome=Outcome.CHURNED, reason="failed_payment", actor=alice
    )

    line.refresh_from_db()
    assert line.status == SubscriptionStatus.CANCELLED and line.end_date == overdue
    assert not line.auto_renew
    assert renewal.effective_on == overdue + dt.timedelta(days=1)
    assert renewal.churn_type == ChurnType.INVOLUNTARY
    # It paid until the renewal date, its last day; nothing after.
    assert _mrr_on(line.account, overdue) == Decimal("1000")
    assert _mrr_on(line.account, overdue + dt.timedelta(days=1)) == 0
    account = Account.objects.get(pk=line.account_id)
    assert (account.status, account.churned_at, account.lifecycle_stage) == (
        AccountStatus.CHURNED,
        overdue,
        LifecycleStage.CHURNED,
    )
    assert Task.objects.get(dedupe_key=f"renewals:{renewal.pk}:exit").status == TaskStatus.OPEN
    assert not Renewal.objects.filter(account=account, outcome="").exists()


def test_churned_on_the_renewal_date_churns_the_account_the_day_after(due_today):
    from renewals.services.closing import accounts_churn_due

    renewal_close(renewal=due_today, outcome=Outcome.CHURNED, reason="price")

    account = Account.objects.get(pk=due_today.account_id)
    assert account.status == AccountStatus.ACTIVE and account.mrr == Decimal("1000.0000")
    assert accounts_churn_due(today=TODAY() + dt.timedelta(days=1)) == [account.pk]
    assert Account.objects.get(pk=account.pk).churned_at == TODAY()


def test_closing_early_leaves_todays_mrr_and_the_line_until_the_renewal_date(alice):
    renews_on = TODAY() + dt.timedelta(days=40)
    line = annual_line(AccountFactory(owner=alice), renews_on=renews_on)

    renewal_close(renewal=renewal_of(line), outcome=Outcome.EXPANDED, quantity=20)

    assert Account.objects.get(pk=line.account_id).mrr == Decimal("1000.0000")
    assert Subscription.objects.get(pk=line.pk).status == SubscriptionStatus.ACTIVE
    assert _mrr_on(line.account, renews_on) == Decimal("2000")


def test_closing_cancels_the_open_tasks_of_the_renewal(due_today, alice):
    task = Task.objects.create(
        account=due_today.account,
        title="Renewal in 30 days",
        assignee=alice,
        dedupe_key=f"renewals:{due_today.pk}:reminder:renewal",
    )

    renewal_close(renewal=due_today, outcome=Outcome.RENEWED)

    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED


def _world_counts(renewal: Renewal) -> tuple:
    return (
        Subscription.objects.count(),
        Activity.objects.count(),
        Task.objects.count(),
        Renewal.objects.filter(pk=renewal.pk, outcome="").count(),
        Account.objects.get(pk=renewal.account_id).status,
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"outcome": "churned"}, "reason"),
        ({"outcome": "contracted", "quantity": 8}, "reason"),
        ({"outcome": "contracted", "quantity": 12, "reason": "budget"}, "quantity"),
        ({"outcome": "expanded", "quantity": 9}, "quantity"),
        ({"outcome": "expanded", "quantity": 12, "term_end": dt.date(2000, 1, 1)}, "term_end"),
        ({"outcome": "renewed", "quantity": 12}, "quantity"),
        ({"outcome": "churned", "reason": "competitor"}, "competitor"),
        ({"outcome": "churned", "reason": "no-such-reason"}, "reason"),
        ({"outcome": "lost"}, "outcome"),
        (
            {"outcome": "contracted", "quantity": 8, "unit_price": Decimal(0), "reason": "budget"},
            "quantity",
        ),
    ],
)
def test_bad_input_says_which_field_and_writes_nothing(due_today, params, field):
    before = _world_counts(due_today)

    with pytest.raises(ValidationError) as raised:
        renewal_close(renewal=due_today, **params)

    assert field in raised.value.message_dict
    assert _world_counts(due_today) == before


def test_a_discount_that_eats_the_smaller_term_is_explained(alice):
    line = annual_line(
        AccountFactory(owner=alice), discount_type="amount", discount_value=Decimal("3000")
    )
    renewal = renewal_of(line)

    with pytest.raises(ValidationError) as raised:
        renewal_close(renewal=renewal, outcome=Outcome.CONTRACTED, quantity=2, reason="budget")

    assert "discount" in raised.value.message_dict["quantity"][0]
    assert Renewal.objects.get(pk=renewal.pk).is_open


def test_a_closed_renewal_cannot_close_again(due_today):
    renewal_close(renewal=due_today, outcome=Outcome.RENEWED)
    before = _world_counts(due_today)

    with pytest.raises(ValidationError, match="already closed"):
        renewal_close(renewal=due_today, outcome=Outcome.CHURNED, reason="price")

    assert _world_counts(due_today) == before


def test_auto_renewal_renews_flat_what_nobody_decided(alice):
    account = AccountFactory(owner=alice)
    due = annual_line(account, product="A", renews_on=TODAY())
    manual = annual_line(account, product="B", renews_on=TODAY(), auto_renew=False)
    doomed = annual_line(account, product="C", renews_on=TODAY())
    long_gone = annual_line(account, product="D", renews_on=TODAY() - dt.timedelta(days=45))
    later = annual_line(account, product="E", renews_on=TODAY() + dt.timedelta(days=1))
    Renewal.objects.filter(subscription=doomed).update(forecast_category=ForecastCategory.CHURN)
    from renewals.services.sync import renewals_sync

    renewals_sync(account_ids=[account.pk], today=TODAY() - dt.timedelta(days=50))

    closed = renewals_auto_renew_due()

    assert closed == [Renewal.objects.get(subscription=due).pk]
    renewed = Renewal.objects.get(subscription=due)
    assert renewed.outcome == Outcome.RENEWED and renewed.closed_by is None
    for line in (manual, doomed, long_gone, later):
        assert Renewal.objects.get(subscription=line).is_open
    assert renewals_auto_renew_due() == []
