"""The roll-forward: renewals follow their subscriptions, whoever changes them.

Runs for one account when one of its subscriptions is saved (a post_save receiver in
RenewalsConfig.ready(), inside the saving transaction) and for every account every 15
minutes (imports and bulk writes send no signals). Each step is a set-based statement except
closing, which happens to a few renewals at a time and writes their timeline entries:

1. Open renewals whose line moved on are decided:
   - a successor line of the same account and product starts on (or the day after) the
     line's end: a mid-term change when it ends on the renewal's date (the renewal moves to
     the new line and keeps its history), else a renewal (renewed flat, expanded or
     contracted by MRR, effective on the successor's start);
   - the line was cancelled: churned (effective the day after its end date);
   - the line was extended after its renewal date had passed: renewed by extension.
2. Open renewals of lines that no longer have a paid term (a trial, no end date, no MRR)
   are removed.
3. Open renewals follow their active line: date, notice deadline, MRR, currency, and the
   account's owner.
4. Every active paid line with an end date gets its open renewal (ON CONFLICT DO NOTHING:
   two runs at once create one).
5. Lines superseded by a successor expire once their end date has passed.

Idempotent: a second run finds nothing to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.choices import SubscriptionStatus
from accounts.models import Account, Subscription
from csplatform.sql import DaysBefore
from renewals.choices import ForecastCategory, Outcome, RenewalStage
from renewals.models import Renewal
from renewals.services.closing import notice_deadline, renewal_closed_record

# A line that ended longer ago than this gets no new renewal: old imported data is history,
# not work.
HISTORY_DAYS = 90
BATCH = 2000


@dataclass
class SyncResult:
    created: int = 0
    refreshed: int = 0
    removed: int = 0
    expired: int = 0
    transferred: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)


def _scoped(qs: QuerySet, account_ids: Sequence[int] | None, name: str = "account_id") -> QuerySet:
    if account_ids is None:
        return qs
    return qs.filter(**{f"{name}__in": list(account_ids)})


def outcome_by_mrr(new: Decimal, old: Decimal) -> Outcome:
    if new > old:
        return Outcome.EXPANDED
    if new < old:
        return Outcome.CONTRACTED
    return Outcome.RENEWED


def _successor_of_line() -> Subquery:
    """The first paid line of the same account and product that takes over from the
    renewal's line: starting on its end date or the day after (either convention)."""
    return Subquery(
        Subscription.objects.filter(
            account_id=OuterRef("account_id"),
            product=OuterRef("subscription__product"),
            start_date__gte=OuterRef("subscription__end_date"),
            start_date__lte=OuterRef("subscription__end_date") + dt.timedelta(days=1),
            start_date__gt=OuterRef("subscription__start_date"),
        )
        .exclude(status=SubscriptionStatus.TRIAL)
        .exclude(pk=OuterRef("subscription_id"))
        .order_by("start_date", "pk")
        .values("pk")[:1]
    )


def _close_from_line(
    renewal: Renewal,
    *,
    outcome: str,
    new_mrr: Decimal,
    effective_on: dt.date,
    successor: Subscription | None,
    today: dt.date,
) -> None:
    renewal.outcome = outcome
    renewal.outcome_mrr = new_mrr
    renewal.effective_on = effective_on
    renewal.successor = successor
    renewal.stage = RenewalStage.CLOSED
    renewal.closed_on = today
    renewal.closed_by = None
    renewal.save()
    renewal_closed_record(renewal=renewal, actor=None, automatic=True, today=today)


def _roll_forward(account_ids: Sequence[int] | None, today: dt.date, result: SyncResult) -> None:
    moved_on = (
        _scoped(Renewal.objects.filter(outcome=""), account_ids)
        .annotate(successor_id_found=_successor_of_line())
        .filter(
            Q(successor_id_found__isnull=False)
            | Q(
                subscription__status=SubscriptionStatus.CANCELLED,
                subscription__end_date__isnull=False,
            )
            | Q(
                subscription__status=SubscriptionStatus.ACTIVE,
                subscription__end_date__gt=F("renewal_date"),
                renewal_date__lt=today,
            )
        )
        .values_list("pk", "successor_id_found")
    )
    for pk, successor_id in list(moved_on):
        renewal = (
            Renewal.objects.select_for_update(of=("self",))
            .select_related("subscription")
            .filter(pk=pk, outcome="")
            .first()
        )
        if renewal is None:  # decided by someone else meanwhile
            continue
        line = renewal.subscription
        if successor_id is not None:
            successor = Subscription.objects.get(pk=successor_id)
            if successor.end_date == renewal.renewal_date:
                # The same term, changed half-way: the renewal follows the new line.
                Renewal.objects.filter(subscription=successor, outcome="").delete()
                renewal.subscription = successor
                renewal.mrr = successor.mrr
                renewal.currency = successor.currency
                renewal.save(update_fields=["subscription", "mrr", "currency", "updated_at"])
                result.transferred.append(renewal.pk)
                continue
            _close_from_line(
                renewal,
                outcome=outcome_by_mrr(successor.mrr, renewal.mrr),
                new_mrr=successor.mrr,
                effective_on=successor.start_date,
                successor=successor,
                today=today,
            )
        elif line.status == SubscriptionStatus.CANCELLED:
            assert line.end_date is not None
            renewal.renewal_date = line.end_date
            renewal.notice_deadline = notice_deadline(
                end_date=line.end_date, notice_period_days=line.notice_period_days
            )
            _close_from_line(
                renewal,
                outcome=Outcome.CHURNED,
                new_mrr=Decimal(0),
                effective_on=line.end_date + dt.timedelta(days=1),
                successor=None,
                today=today,
            )
        else:
            _close_from_line(
                renewal,
                outcome=outcome_by_mrr(line.mrr, renewal.mrr),
                new_mrr=line.mrr,
                effective_on=renewal.renewal_date + dt.timedelta(days=1),
                successor=line,
                today=today,
            )
        result.closed.append(renewal.pk)


def _remove_orphans(account_ids: Sequence[int] | None) -> int:
    gone = _scoped(Renewal.objects.filter(outcome=""), account_ids).filter(
        Q(subscription__status=SubscriptionStatus.TRIAL)
        | Q(subscription__end_date__isnull=True)
        | Q(subscription__mrr__lte=0)
    )
    count, _per_model = Renewal.objects.filter(
        pk__in=list(gone.values_list("pk", flat=True))
    ).delete()
    return count


def _refresh_open(account_ids: Sequence[int] | None) -> int:
    """Open renewals of active lines take the line's date, deadline, MRR and currency and the
    account's owner; only rows that differ are written."""
    line = Subscription.objects.filter(pk=OuterRef("subscription_id"))
    deadline = DaysBefore(F("subscription__end_date"), F("subscription__notice_period_days"))
    taken = Renewal.objects.filter(
        subscription_id=OuterRef("subscription_id"), renewal_date=OuterRef("line_end")
    ).exclude(pk=OuterRef("pk"))
    stale = (
        _scoped(Renewal.objects.filter(outcome=""), account_ids)
        .filter(subscription__status=SubscriptionStatus.ACTIVE)
        .annotate(
            line_end=F("subscription__end_date"),
            line_deadline=deadline,
            line_mrr=F("subscription__mrr"),
            line_currency=F("subscription__currency"),
            # 0 for nobody: NULL never equals NULL.
            owner_or_0=Coalesce("owner_id", 0),
            account_owner_or_0=Coalesce("account__owner_id", 0),
        )
        .filter(
            ~Q(renewal_date=F("line_end"))
            | ~Q(notice_deadline=F("line_deadline"))
            | ~Q(mrr=F("line_mrr"))
            | ~Q(currency=F("line_currency"))
            | ~Q(owner_or_0=F("account_owner_or_0"))
        )
        # Moving onto a date another renewal of the line already has would break the one
        # renewal per term rule; such a line waits for a person.
        .exclude(Exists(taken))
    )
    ids = list(stale.values_list("pk", flat=True))
    if not ids:
        return 0
    return Renewal.objects.filter(pk__in=ids).update(
        renewal_date=Subquery(line.values("end_date")),
        notice_deadline=Subquery(
            line.annotate(d=DaysBefore(F("end_date"), F("notice_period_days"))).values("d")
        ),
        mrr=Subquery(line.values("mrr")),
        currency=Subquery(line.values("currency")),
        owner_id=Subquery(Account.objects.filter(pk=OuterRef("account_id")).values("owner_id")),
        updated_at=timezone.now(),
    )


def _create_missing(account_ids: Sequence[int] | None, today: dt.date) -> int:
    open_one = Renewal.objects.filter(subscription_id=OuterRef("pk"), outcome="")
    this_term = Renewal.objects.filter(
        subscription_id=OuterRef("pk"), renewal_date=OuterRef("end_date")
    )
    lines = (
        _scoped(Subscription.objects.all(), account_ids)
        .filter(
            status=SubscriptionStatus.ACTIVE,
            end_date__isnull=False,
            end_date__gte=today - dt.timedelta(days=HISTORY_DAYS),
            mrr__gt=0,
        )
        .filter(~Exists(open_one), ~Exists(this_term))
        .values_list(
            "pk",
            "account_id",
            "account__owner_id",
            "end_date",
            "notice_period_days",
            "mrr",
            "currency",
        )
    )
    probability = settings.RENEWALS_PROBABILITY[ForecastCategory.PROBABLE]
    rows = [
        Renewal(
            subscription_id=pk,
            account_id=account_id,
            owner_id=owner_id,
            renewal_date=end,
            notice_deadline=notice_deadline(end_date=end, notice_period_days=notice),
            mrr=mrr,
            currency=currency,
            forecast_category=ForecastCategory.PROBABLE,
            probability=probability,
        )
        for pk, account_id, owner_id, end, notice, mrr, currency in lines.iterator(chunk_size=BATCH)
    ]
    Renewal.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    return len(rows)


def _expire_superseded(account_ids: Sequence[int] | None, today: dt.date) -> int:
    renewed = Renewal.objects.filter(
        subscription_id=OuterRef("pk"),
        outcome__in=[Outcome.RENEWED, Outcome.EXPANDED, Outcome.CONTRACTED],
        successor__isnull=False,
    )
    return (
        _scoped(Subscription.objects.all(), account_ids)
        .filter(status=SubscriptionStatus.ACTIVE, end_date__lt=today)
        .filter(Exists(renewed))
        .update(status=SubscriptionStatus.EXPIRED, updated_at=timezone.now())
    )


def renewals_sync(
    *, account_ids: Sequence[int] | None = None, today: dt.date | None = None
) -> SyncResult:
    """Bring the renewals of these accounts (default: all) in line with their subscriptions."""
    today = today or timezone.localdate()
    result = SyncResult()
    if account_ids is not None and not account_ids:
        return result
    with transaction.atomic():
        _roll_forward(account_ids, today, result)
        result.removed = _remove_orphans(account_ids)
        result.refreshed = _refresh_open(account_ids)
        result.created = _create_missing(account_ids, today)
        result.expired = _expire_superseded(account_ids, today)
    return result


def renewals_owner_follow(*, account_id: int, owner_id: int | None) -> int:
    """Open renewals take the account's new owner (closed ones keep who owned them)."""
    qs = Renewal.objects.filter(account_id=account_id, outcome="")
    if owner_id is None:
        return qs.filter(owner__isnull=False).update(owner=None, updated_at=timezone.now())
    return qs.filter(Q(owner__isnull=True) | ~Q(owner_id=owner_id)).update(
        owner_id=owner_id, updated_at=timezone.now()
    )
