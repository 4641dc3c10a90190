"""factory_boy factories for the renewals app (lines come from accounts' factories)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.choices import BillingPeriod, SubscriptionStatus
from accounts.models import Subscription
from accounts.tests.factories import AccountFactory, SubscriptionFactory
from renewals.choices import Communication, CounterOfferKind
from renewals.models import CounterOffer, ExitInterview, Renewal


def annual_line(
    account=None,
    *,
    renews_on: dt.date | None = None,
    quantity: int = 10,
    unit_price: Decimal = Decimal("1200.00"),
    **fields,
) -> Subscription:
    """An annual line (12,000 a year at the defaults: 1,000 MRR) renewing on `renews_on`."""
    renews_on = renews_on or timezone.localdate() + dt.timedelta(days=100)
    fields.setdefault("start_date", renews_on - dt.timedelta(days=365))
    fields.setdefault("end_date", renews_on)
    return SubscriptionFactory(
        account=account or AccountFactory(),
        quantity=quantity,
        unit_price=unit_price,
        billing_period=BillingPeriod.ANNUAL,
        status=fields.pop("status", SubscriptionStatus.ACTIVE),
        **fields,
    )


def renewal_of(line: Subscription) -> Renewal:
    """The open renewal the roll-forward made for the line."""
    return Renewal.objects.get(subscription=line, outcome="")


class CounterOfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CounterOffer

    kind = CounterOfferKind.FREE_MONTHS
    description = "Two months free on a 12-month renewal"
    value = Decimal("2000.00")


class ExitInterviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExitInterview

    why_cancel = "The budget moved to another department."
    used_for = "Weekly reporting to the board."
    biggest_benefit = "Saved a day a week of spreadsheet work."
    how_to_improve = "Cheaper plans for small teams."
    communication = Communication.WELL
    moving_to = ""
