"""Factories and small builders for the qbr tests."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from accounts.models import Account
from accounts.tests.factories import AccountFactory
from qbr.choices import QbrKind, QbrStatus
from qbr.models import Qbr


class QbrFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Qbr

    account = factory.SubFactory(AccountFactory)
    kind = QbrKind.QBR
    period_start = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=91))
    period_end = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=1))
    status = QbrStatus.PLANNED
    owner = factory.LazyAttribute(lambda o: o.account.owner)


def held(account, on: dt.date, **fields) -> Qbr:
    """A QBR of `account` held on the given day."""
    return QbrFactory(
        account=account,
        status=QbrStatus.HELD,
        held_on=on,
        period_start=on - dt.timedelta(days=91),
        period_end=on - dt.timedelta(days=1),
        **fields,
    )


def grow_with_qbrs(owner):
    """grow(n): n more accounts of `owner`, each with a QBR held 95 days ago (due now), for
    the query-count tests of the lists."""

    def grow(n: int) -> None:
        today = timezone.localdate()
        start = Account.objects.count()
        accounts = Account.objects.bulk_create(
            Account(
                name=f"Q {start + i:05d}",
                owner=owner,
                customer_since=today - dt.timedelta(days=400),
            )
            for i in range(n)
        )
        on = today - dt.timedelta(days=95)
        Qbr.objects.bulk_create(
            Qbr(
                account=a,
                status=QbrStatus.HELD,
                held_on=on,
                period_start=on - dt.timedelta(days=91),
                period_end=on - dt.timedelta(days=1),
                owner=owner,
            )
            for a in accounts
        )

    return grow
