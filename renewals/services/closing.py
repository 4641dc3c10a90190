"""Closing a renewal: the outcome decides the subscription's next term, the account follows.

- renewed flat / expanded / contracted: a successor line for the next term, starting on the
  renewal date (the metric engine counts the hand-over day once: the old line stops the day
  before), with the new quantity and price; the old line expires once its date has come.
- churned: the line is cancelled with its end date on the renewal date (it pays until then)
  and the account churns once no line pays any more.

Then the account's figures are refreshed and queued for the metric engine's refresh of
changed accounts, the close lands on the timeline, the renewal's open tasks close, and
renewal_closed is announced. The same bookkeeping runs when the platform closes a renewal
itself (an auto-renewal, or a subscription renewed or cancelled by hand: services.sync).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import (
    AccountStatus,
    ActivityKind,
    LifecycleStage,
    SubscriptionStatus,
    TaskKind,
    TaskPriority,
    TaskStatus,
)
from accounts.models import Account, Subscription, Task
from accounts.services import (
    account_update,
    activity_record,
    subscription_mrr,
    subscription_save,
    task_create,
)
from csplatform.models import User
from csplatform.signals import announce_on_commit
from metrics.services.engine import account_changes_queue
from renewals import signals
from renewals.choices import Outcome, ReasonCode, RenewalStage
from renewals.models import Renewal

SOURCE = "renewals"
# The one open check-in task per account (services.reminders' contact cadence).
CADENCE_KEY = f"{SOURCE}:cadence"
DAYS_PER_MONTH = 30.4375
ZERO = Decimal("0")

# Subscription fields a successor line copies from the line it renews.
_COPIED = (
    "account_id",
    "plan_name",
    "product",
    "quantity",
    "unit_price",
    "discount_type",
    "discount_value",
    "billing_period",
    "billing_period_months",
    "currency",
    "notice_period_days",
    "auto_renew",
)


def notice_deadline(*, end_date: dt.date, notice_period_days: int) -> dt.date:
    """The last day to cancel: the end date minus the notice period, in calendar days."""
    return end_date - dt.timedelta(days=notice_period_days)


def term_months(*, start: dt.date, end: dt.date) -> int:
    """Whole months of a term, whichever convention its end date follows (the anniversary
    itself or the day before it)."""
    return max(1, round((end - start).days / DAYS_PER_MONTH))


def next_term_end(line: Subscription, *, start: dt.date) -> dt.date:
    """The end of a term as long as `line`'s, starting on `start` (a 31st becomes the last
    day of a shorter month)."""
    months = 12 if line.end_date is None else term_months(start=line.start_date, end=line.end_date)
    return start + relativedelta(months=months)


def renewal_task_key(renewal_id: int, reason: str) -> str:
    """The dedupe key of a task about one renewal (one open task per renewal and reason)."""
    return f"{SOURCE}:{renewal_id}:{reason}"


# Closing -------------------------------------------------------------------------------


def _successor(
    line: Subscription,
    *,
    start: dt.date,
    end: dt.date,
    quantity: int,
    unit_price: Decimal,
    signed_on: dt.date,
) -> Subscription:
    new = Subscription(**{f: getattr(line, f) for f in _COPIED})
    new.quantity = quantity
    new.unit_price = unit_price
    new.start_date = start
    new.end_date = end
    new.signed_on = signed_on
    new.status = SubscriptionStatus.ACTIVE
    return new


def _mrr_of(line: Subscription, *, quantity: int, unit_price: Decimal) -> Decimal:
    return subscription_mrr(
        unit_price=unit_price,
        quantity=quantity,
        discount_type=line.discount_type,
        discount_value=line.discount_value,
        billing_period=line.billing_period,
        billing_period_months=line.billing_period_months,
    )


def _close_errors(
    renewal: Renewal,
    *,
    outcome: str,
    new_mrr: Decimal,
    quantity: int,
    unit_price: Decimal,
    term_end: dt.date,
    reason: str,
    competitor: str,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    line = renewal.subscription
    if outcome not in Outcome.values:
        return {"outcome": [_("Choose an outcome.")]}
    if reason and reason not in ReasonCode.values:
        errors["reason"] = [_("Choose a reason from the list.")]
    if outcome in (Outcome.CHURNED, Outcome.CONTRACTED) and not reason:
        errors["reason"] = [
            _("Say why the customer churned.")
            if outcome == Outcome.CHURNED
            else _("Say why the customer renewed for less.")
        ]
    if reason == ReasonCode.COMPETITOR and not competitor.strip():
        errors["competitor"] = [_("Name the competitor the customer moved to.")]
    if outcome == Outcome.CHURNED:
        return errors
    if quantity < 1:
        errors["quantity"] = [_("A renewed line has at least one license.")]
    if unit_price < 0:
        errors["unit_price"] = [_("The price cannot be negative.")]
    if term_end <= renewal.renewal_date:
        errors["term_end"] = [_("The next term must end after the renewal date.")]
    current = renewal.mrr
    if new_mrr <= 0 and line.discount_type != "none" and "quantity" not in errors:
        return {
            **errors,
            "quantity": [
                _(
                    "With the line's discount this renews at nothing: keep more licenses, or "
                    "change the discount on the subscription first."
                )
            ],
        }
    if outcome == Outcome.RENEWED and (quantity != line.quantity or unit_price != line.unit_price):
        errors["quantity"] = [
            _("A flat renewal keeps the licenses and price; choose expanded or contracted.")
        ]
    elif outcome == Outcome.EXPANDED and new_mrr <= current:
        errors["quantity"] = [
            _("An expansion renews at more than today's %(arr)s ARR.")
            % {"arr": f"{current * 12:,.2f}"}
        ]
    elif outcome == Outcome.CONTRACTED and not ZERO < new_mrr < current:
        errors["quantity"] = [
            _("A contraction renews at less than today's %(arr)s ARR (and more than nothing).")
            % {"arr": f"{current * 12:,.2f}"}
        ]
    return errors


def renewal_close(
    *,
    renewal: Renewal,
    outcome: str,
    actor: User | None = None,
    quantity: int | None = None,
    unit_price: Decimal | None = None,
    term_end: dt.date | None = None,
    reason: str = "",
    reason_note: str = "",
    competitor: str = "",
    today: dt.date | None = None,
    automatic: bool = False,
) -> Renewal:
    """Close an open renewal with its outcome; ValidationError (by field) says what is wrong.

    For a renewal the next term has `quantity` licenses at `unit_price` per billing period
    (the line's discount and billing period carry over) until `term_end` (default: a term as
    long as the current one). Nothing is written unless everything is valid.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        # The row lock keeps two people (or a person and the auto-renewal) from both closing.
        locked = (
            Renewal.objects.select_for_update(of=("self",))
            .select_related("subscription", "account")
            .filter(pk=renewal.pk)
            .first()
        )
        if locked is None:
            raise ValidationError(_("This renewal no longer exists."))
        renewal = locked
        if not renewal.is_open:
            raise ValidationError(_("This renewal is already closed."))
        line = renewal.subscription
        quantity = line.quantity if quantity is None else quantity
        unit_price = line.unit_price if unit_price is None else Decimal(unit_price)
        term_end = term_end or next_term_end(line, start=renewal.renewal_date)
        new_mrr = (
            ZERO
            if outcome == Outcome.CHURNED
            else _mrr_of(line, quantity=quantity, unit_price=unit_price)
        )
        errors = _close_errors(
            renewal,
            outcome=outcome,
            new_mrr=new_mrr,
            quantity=quantity,
            unit_price=unit_price,
            term_end=term_end,
            reason=reason,
            competitor=competitor,
        )
        if errors:
            raise ValidationError(errors)

        won = outcome != Outcome.CHURNED
        renewal.outcome = outcome
        renewal.outcome_mrr = new_mrr
        renewal.stage = RenewalStage.CLOSED
        renewal.closed_on = today
        renewal.closed_by = actor
        renewal.effective_on = (
            renewal.renewal_date if won else renewal.renewal_date + dt.timedelta(days=1)
        )
        renewal.reason = reason
        renewal.churn_type = ReasonCode(reason).churn_type if reason and not won else ""
        renewal.reason_note = reason_note
        renewal.competitor = competitor.strip()
        # Closed first: the subscription saves below re-run the roll-forward for the
        # account, which must find this renewal decided.
        renewal.save()
        if won:
            successor = _successor(
                line,
                start=renewal.renewal_date,
                end=term_end,
                quantity=quantity,
                unit_price=unit_price,
                signed_on=min(today, renewal.renewal_date),
            )
            subscription_save(subscription=successor, actor=actor)
            renewal.successor = successor
            renewal.save(update_fields=["successor", "updated_at"])
            if renewal.renewal_date <= today and line.status == SubscriptionStatus.ACTIVE:
                line.status = SubscriptionStatus.EXPIRED
                subscription_save(subscription=line, actor=actor)
        else:
            line.status = SubscriptionStatus.CANCELLED
            line.auto_renew = False
            line.end_date = renewal.renewal_date
            subscription_save(subscription=line, actor=actor)
        renewal_closed_record(renewal=renewal, actor=actor, automatic=automatic, today=today)
    return renewal


def _arr(mrr: Decimal | None, currency: str) -> str:
    return f"{(mrr or ZERO) * 12:,.2f} {currency}"


def renewal_closed_record(
    *, renewal: Renewal, actor: User | None, automatic: bool, today: dt.date
) -> None:
    """What follows every close: timeline, tasks, the account's status, the engine's queue."""
    outcome = Outcome(renewal.outcome)
    summary = []
    if renewal.reason:
        summary.append(_("Reason: %(reason)s") % {"reason": ReasonCode(renewal.reason).label})
    if renewal.competitor:
        summary.append(_("Moved to: %(name)s") % {"name": renewal.competitor})
    if renewal.reason_note:
        summary.append(renewal.reason_note)
    if automatic:
        summary.append(_("Recorded by the platform from the subscription."))
    activity_record(
        account_id=renewal.account_id,
        subject=_("Renewal closed: %(outcome)s (%(before)s → %(after)s ARR)")
        % {
            "outcome": outcome.label,
            "before": _arr(renewal.mrr, renewal.currency),
            "after": _arr(renewal.outcome_mrr, renewal.currency),
        },
        summary="\n".join(summary),
        kind=ActivityKind.SYSTEM,
        author=actor,
        source=SOURCE,
        metadata={
            "renewal_id": renewal.pk,
            "outcome": renewal.outcome,
            "arr_before": str(renewal.arr),
            "arr_after": str(renewal.outcome_arr),
            "reason": renewal.reason,
            "automatic": automatic,
        },
    )
    finished = Q(dedupe_key__startswith=renewal_task_key(renewal.pk, ""))
    horizon = today + dt.timedelta(days=settings.RENEWALS_CADENCE_START_DAYS)
    if not Renewal.objects.filter(
        account_id=renewal.account_id, outcome="", renewal_date__lte=horizon
    ).exists():
        finished |= Q(dedupe_key=CADENCE_KEY)
    Task.objects.filter(account_id=renewal.account_id, status=TaskStatus.OPEN).filter(
        finished
    ).update(status=TaskStatus.CANCELLED, updated_at=timezone.now())
    account = Account.objects.select_related("owner").get(pk=renewal.account_id)
    if outcome == Outcome.CHURNED:
        task_create(
            account=account,
            title=_("Record why %(account)s churned and hold the exit interview")
            % {"account": account.name},
            assignee=renewal.owner or account.owner,
            source=SOURCE,
            dedupe_key=renewal_task_key(renewal.pk, "exit"),
            kind=TaskKind.RENEWAL,
            priority=TaskPriority.HIGH,
            due_date=today + dt.timedelta(days=7),
        )
        accounts_churn_due(account_ids=[account.pk], today=today, actor=actor)
    else:
        _account_renewed(account, outcome=outcome, actor=actor)
    account_changes_queue(account_ids=[account.pk])
    announce_on_commit(
        signals.renewal_closed,
        renewal_id=renewal.pk,
        account_id=renewal.account_id,
        outcome=renewal.outcome,
        automatic=automatic,
    )


def _account_renewed(account: Account, *, outcome: Outcome, actor: User | None) -> None:
    """A renewed account leaves the renewal stage (to growth after an expansion)."""
    if account.lifecycle_stage != LifecycleStage.RENEWAL and account.status != (
        AccountStatus.CHURNED
    ):
        return
    stage = LifecycleStage.GROWTH if outcome == Outcome.EXPANDED else LifecycleStage.ADOPTION
    fields: dict[str, Any] = {"lifecycle_stage": stage}
    if account.status == AccountStatus.CHURNED:
        fields.update(status=AccountStatus.ACTIVE, churned_at=None)
    account_update(account=account, actor=actor, **fields)


def accounts_churn_due(
    *,
    account_ids: list[int] | None = None,
    today: dt.date | None = None,
    actor: User | None = None,
) -> list[int]:
    """Accounts whose churned renewal has taken effect and that nothing pays for any more
    become churned (churned at: the last day paid). Idempotent; returns the accounts moved.
    """
    today = today or timezone.localdate()
    churned = Renewal.objects.filter(
        account=OuterRef("pk"), outcome=Outcome.CHURNED, effective_on__lte=today
    )
    still_paying = (
        Subscription.objects.filter(account=OuterRef("pk"))
        .exclude(status=SubscriptionStatus.TRIAL)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    )
    qs = Account.objects.exclude(status=AccountStatus.CHURNED).filter(
        Exists(churned), ~Exists(still_paying)
    )
    if account_ids is not None:
        qs = qs.filter(pk__in=account_ids)
    moved = []
    for account in qs.annotate(
        last_paid=Max("renewals__renewal_date", filter=Q(renewals__outcome=Outcome.CHURNED))
    ):
        account_update(
            account=account,
            actor=actor,
            status=AccountStatus.CHURNED,
            churned_at=account.last_paid,
            lifecycle_stage=LifecycleStage.CHURNED,
        )
        activity_record(
            account_id=account.pk,
            subject=_("Account churned"),
            kind=ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
        )
        moved.append(account.pk)
    return moved


def accounts_renewal_stage_sync(*, today: dt.date | None = None) -> int:
    """Active accounts past onboarding whose next renewal is within RENEWALS_STAGE_DAYS move
    to the renewal stage (one UPDATE)."""
    today = today or timezone.localdate()
    soon = Renewal.objects.filter(
        account=OuterRef("pk"),
        outcome="",
        renewal_date__gte=today,
        renewal_date__lte=today + dt.timedelta(days=settings.RENEWALS_STAGE_DAYS),
    )
    return Account.objects.filter(
        Exists(soon),
        status=AccountStatus.ACTIVE,
        lifecycle_stage__in=[LifecycleStage.ADOPTION, LifecycleStage.GROWTH],
    ).update(lifecycle_stage=LifecycleStage.RENEWAL, updated_at=timezone.now())


def renewals_auto_renew_due(*, today: dt.date | None = None) -> list[int]:
    """Renew flat the auto-renewing lines whose renewal date has come without a decision.

    The contract renews itself once its notice deadline passed uncancelled; a renewal the
    owner forecasts as churn, or one more than RENEWALS_AUTO_RENEW_GRACE_DAYS overdue (old
    imported data), is left to a person. Each one is closed on its own (a successor line
    each); a renewal someone else closed meanwhile is skipped.
    """
    if not settings.RENEWALS_AUTO_RENEW:
        return []
    today = today or timezone.localdate()
    due = Renewal.objects.filter(
        outcome="",
        renewal_date__lte=today,
        renewal_date__gte=today - dt.timedelta(days=settings.RENEWALS_AUTO_RENEW_GRACE_DAYS),
        subscription__auto_renew=True,
        subscription__status=SubscriptionStatus.ACTIVE,
    ).exclude(forecast_category="churn")
    closed = []
    for renewal in due.order_by("renewal_date", "pk"):
        try:
            renewal_close(renewal=renewal, outcome=Outcome.RENEWED, today=today, automatic=True)
        except ValidationError:
            continue  # closed by someone else meanwhile
        closed.append(renewal.pk)
    return closed


__all__ = [
    "accounts_churn_due",
    "accounts_renewal_stage_sync",
    "next_term_end",
    "notice_deadline",
    "renewal_close",
    "renewal_closed_record",
    "renewal_task_key",
    "renewals_auto_renew_due",
    "term_months",
]
