"""MRR normalisation (SPEC §1, §3): Decimal arithmetic, every billing period, discounts, fees."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services
from accounts.choices import BillingPeriod, DiscountType, SubscriptionStatus
from accounts.tests.factories import AccountFactory, SubscriptionFactory


@pytest.mark.parametrize(
    ("period", "months", "amount", "expected"),
    [
        (BillingPeriod.MONTHLY, None, "100", "100.0000"),
        (BillingPeriod.QUARTERLY, None, "300", "100.0000"),
        (BillingPeriod.SEMI_ANNUAL, None, "600", "100.0000"),
        (BillingPeriod.ANNUAL, None, "1200", "100.0000"),
        (BillingPeriod.CUSTOM, 18, "1800", "100.0000"),
        (BillingPeriod.ANNUAL, None, "1000", "83.3333"),
    ],
)
def test_mrr_divides_the_billing_period_amount_by_its_months(period, months, amount, expected):
    mrr = services.subscription_mrr(
        unit_price=Decimal(amount),
        quantity=1,
        discount_type=DiscountType.NONE,
        discount_value=Decimal(0),
        billing_period=period,
        billing_period_months=months,
    )
    assert mrr == Decimal(expected)
    assert isinstance(mrr, Decimal)


def test_percent_and_amount_discounts_come_off_before_dividing():
    pct = services.subscription_mrr(
        unit_price=Decimal("100"),
        quantity=12,
        discount_type=DiscountType.PERCENT,
        discount_value=Decimal("25"),
        billing_period=BillingPeriod.ANNUAL,
    )
    amount = services.subscription_mrr(
        unit_price=Decimal("100"),
        quantity=12,
        discount_type=DiscountType.AMOUNT,
        discount_value=Decimal("120"),
        billing_period=BillingPeriod.QUARTERLY,
    )
    assert pct == Decimal("75.0000")  # 1,200 − 25 % = 900 a year → 75 a month
    assert amount == Decimal("360.0000")  # 1,200 − 120 = 1,080 a quarter → 360 a month


def test_a_discount_larger_than_the_price_gives_zero_not_negative_mrr():
    assert services.subscription_mrr(
        unit_price=Decimal("10"),
        quantity=1,
        discount_type=DiscountType.AMOUNT,
        discount_value=Decimal("50"),
        billing_period=BillingPeriod.MONTHLY,
    ) == Decimal("0.0000")


def test_custom_period_needs_a_number_of_months():
    with pytest.raises(ValueError):
        services.months_in_billing_period(billing_period=BillingPeriod.CUSTOM, custom_months=None)


@pytest.mark.django_db
def test_account_mrr_sums_active_subscriptions_and_ignores_one_time_fees():
    account = AccountFactory()
    SubscriptionFactory(
        account=account,
        unit_price=Decimal("1200"),
        quantity=1,
        billing_period=BillingPeriod.ANNUAL,
        one_time_fees=Decimal("5000"),
    )
    SubscriptionFactory(
        account=account,
        unit_price=Decimal("300"),
        quantity=1,
        billing_period=BillingPeriod.QUARTERLY,
    )
    # Cancelled with effect ten days ago: it paid until then.
    SubscriptionFactory(
        account=account,
        unit_price=Decimal("999"),
        quantity=1,
        status=SubscriptionStatus.CANCELLED,
        end_date=timezone.localdate() - dt.timedelta(days=10),
    )
    account.refresh_from_db()
    assert account.mrr == Decimal("200.0000")
    assert account.arr == Decimal("2400.0000")


@pytest.mark.django_db
def test_account_mrr_follows_the_engine_rule_for_notice_given_and_hand_over_days():
    today = timezone.localdate()
    account = AccountFactory()
    # Notice given, effective in a month: the customer pays until then.
    SubscriptionFactory(
        account=account,
        unit_price=Decimal("100"),
        quantity=1,
        status=SubscriptionStatus.CANCELLED,
        end_date=today + dt.timedelta(days=30),
    )
    # Renewed today, written with the old end = the new start: today counts once.
    SubscriptionFactory(
        account=account,
        product="Add-on",
        unit_price=Decimal("40"),
        quantity=1,
        status=SubscriptionStatus.EXPIRED,
        start_date=today - dt.timedelta(days=365),
        end_date=today,
    )
    SubscriptionFactory(
        account=account,
        product="Add-on",
        unit_price=Decimal("50"),
        quantity=1,
        start_date=today,
        end_date=today + dt.timedelta(days=365),
    )
    SubscriptionFactory(account=account, unit_price=Decimal("999"), status=SubscriptionStatus.TRIAL)
    account.refresh_from_db()
    assert account.mrr == Decimal("150.0000")
    assert account.renewal_date == today + dt.timedelta(days=365)


@pytest.mark.django_db
def test_renewal_date_is_the_earliest_end_of_an_active_subscription():
    account = AccountFactory()
    a = SubscriptionFactory(account=account)
    b = SubscriptionFactory(account=account, end_date=a.end_date.replace(day=1))
    account.refresh_from_db()
    assert account.renewal_date == min(a.end_date, b.end_date)
    services.subscription_delete(subscription=b)
    account.refresh_from_db()
    assert account.renewal_date == a.end_date
