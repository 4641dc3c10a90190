"""Factories and small builders for the qbr tests."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

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
