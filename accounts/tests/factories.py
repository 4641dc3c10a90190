"""factory_boy factories for the accounts app; other apps' tests reuse them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import factory
from django.dispatch import Signal
from django.utils import timezone

from accounts import services
from accounts.choices import BillingPeriod, PowerRole, SubscriptionStatus, Tier, TouchModel
from accounts.models import Account, Activity, Contact, Goal, Subscription, Task


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n:05d}")
    domain = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "") + ".example")
    industry = "Software"
    country = "US"
    tier = Tier.MID_MARKET
    touch_model = TouchModel.LOW
    customer_since = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=400))


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")
    title = "Head of Operations"
    power_role = PowerRole.CHAMPION


class SubscriptionFactory(factory.django.DjangoModelFactory):
    """Saved through subscription_save so MRR and the account's figures are right."""

    class Meta:
        model = Subscription

    account = factory.SubFactory(AccountFactory)
    plan_name = "Pro"
    product = "Platform"
    quantity = 10
    unit_price = Decimal("50.00")
    billing_period = BillingPeriod.MONTHLY
    start_date = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=100))
    end_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=265))
    status = SubscriptionStatus.ACTIVE

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.subscription_save(subscription=model_class(*args, **kwargs))


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    account = factory.SubFactory(AccountFactory)
    subject = factory.Sequence(lambda n: f"Call {n}")
    summary = "Discussed adoption."


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    account = factory.SubFactory(AccountFactory)
    title = factory.Sequence(lambda n: f"Follow up {n}")
    due_date = factory.LazyFunction(timezone.localdate)
    assignee = factory.LazyAttribute(lambda o: o.account.owner)


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Goal

    account = factory.SubFactory(AccountFactory)
    title = "Cut onboarding time in half"
    kpi = "Days to first report"
    target = "14 days"


@contextmanager
def receivers_kept(signal: Signal) -> Iterator[None]:
    """Disconnect and reconnect receivers freely inside; on exit the signal's receivers are
    back exactly as they were, order included (the demo's apps run in INSTALLED_APPS order,
    and each reads what the ones before it wrote)."""
    with signal.lock:
        saved = list(signal.receivers)
    try:
        yield
    finally:
        with signal.lock:
            signal.receivers[:] = saved
            signal.sender_receivers_cache.clear()
