"""Demo renewals: a year of closed renewals with outcomes, and open ones over the next year.

Connected to `accounts.demo.demo_seeded` in `RenewalsConfig.ready()` (after metrics and
onboarding, so the contract changes of the metrics demo are there) and run inside
`seed_demo`'s transaction for exactly the accounts it created:

- history: a customer of more than a term renewed at its last anniversary. Where the demo
  book has no line for that previous term, one is written (most renewed flat, some
  contracted, some expanded), so that the metric engine's MRR history, GRR and NRR and the
  health backtest have renewals to read; every past term that was renewed gets its closed
  renewal (renewed flat, expanded or contracted by MRR, effective on the next term's start);
- churn: every cancelled or expired line without a successor is a churned renewal with a
  reason (voluntary or involuntary), a competitor for some, counter-offers that did not
  work, an exit interview for most and a win-back plan for some; customers the metrics demo
  won back are detected as won back;
- the open renewals over the next twelve months come from the roll-forward itself, then get
  a forecast from each account's usage pattern (healthy ones commit near their date,
  declining ones are at risk or forecast to churn), some an expected expansion, a pending
  counter-offer or a mitigation plan; the reminders already due are recorded (the urgent
  ones as tasks in the owners' books) so the first scheduled run does not send a year's
  worth of emails.

Deterministic: one `random.Random` per account from the seed and the account's demo index.
Everything is written with bulk_create / bulk_update and the set-based services, so 20,000
accounts take seconds.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, Q, Value
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import (
    AccountStatus,
    ActivityKind,
    SubscriptionStatus,
    TaskKind,
    TaskPriority,
)
from accounts.demo import _weighted, add_months
from accounts.models import Account, Activity, Contact, Subscription, Task
from accounts.services import subscriptions_bulk_create
from metrics.demo import _copy_line
from onboarding.demo import _index
from renewals.choices import (
    Communication,
    CounterOfferKind,
    CounterOfferStatus,
    ForecastCategory,
    Outcome,
    ReasonCode,
    ReminderKind,
    RenewalStage,
    WinBackStatus,
    WouldReturn,
)
from renewals.models import CounterOffer, ExitInterview, Renewal, RenewalReminder
from renewals.services.closing import SOURCE, notice_deadline, renewal_task_key, term_months
from renewals.services.forecast import MITIGATION_PLAN, mitigation_task_key
from renewals.services.offboarding import win_backs_detect
from renewals.services.reminders import renewal_reminders_claim
from renewals.services.risk import renewals_risk_refresh
from renewals.services.sync import outcome_by_mrr, renewals_sync

BATCH = 1000
# A line shorter than this was cut short by a mid-term change, not renewed at its end.
FULL_TERM_DAYS = 330

_CHURN_REASONS = (
    (ReasonCode.PRICE, 15),
    (ReasonCode.BUDGET, 15),
    (ReasonCode.LOW_ADOPTION, 15),
    (ReasonCode.COMPETITOR, 12),
    (ReasonCode.PRODUCT_FIT, 10),
    (ReasonCode.CHAMPION_LEFT, 8),
    (ReasonCode.FAILED_PAYMENT, 8),
    (ReasonCode.SERVICE, 5),
    (ReasonCode.MERGER, 4),
    (ReasonCode.NO_LONGER_NEEDED, 4),
    (ReasonCode.OUT_OF_BUSINESS, 2),
    (ReasonCode.TECHNICAL, 2),
)
_CONTRACTION_REASONS = (
    (ReasonCode.DOWNSIZING, 30),
    (ReasonCode.BUDGET, 30),
    (ReasonCode.LOW_ADOPTION, 25),
    (ReasonCode.PRICE, 15),
)
_COMPETITORS = ("Retainly", "Pulse360", "ClientBeam", "Northwind CS", "an in-house tool")
_WHY = {
    ReasonCode.PRICE: "The renewal price was above what we could justify for our team size.",
    ReasonCode.BUDGET: "Our budget for tools was cut this year.",
    ReasonCode.LOW_ADOPTION: "Only a few people used it after the first months.",
    ReasonCode.COMPETITOR: "We consolidated onto another platform the wider company uses.",
    ReasonCode.PRODUCT_FIT: "We needed deeper reporting on custom objects.",
    ReasonCode.CHAMPION_LEFT: "The person who championed it left and nobody picked it up.",
    ReasonCode.FAILED_PAYMENT: "The card on file expired and the invoice was not paid.",
    ReasonCode.SERVICE: "Support answers took too long during our busy season.",
    ReasonCode.MERGER: "We were acquired and moved to the parent company's tools.",
    ReasonCode.NO_LONGER_NEEDED: "The project it supported has ended.",
    ReasonCode.OUT_OF_BUSINESS: "The company is closing down.",
    ReasonCode.TECHNICAL: "Reports were too slow with our data volumes.",
}


def _pick(rng: random.Random, items: tuple[tuple[Any, int], ...]) -> Any:
    """One value of (value, weight) pairs."""
    return _weighted(rng, items)[0]


@dataclass
class DemoRenewalsResult:
    history_lines: int = 0
    closed: int = 0
    churned: int = 0
    open: int = 0
    interviews: int = 0
    offers: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def demo_seeded_receiver(
    sender: Any, *, account_ids: list[int], seed: int, today: dt.date, **kwargs: Any
) -> None:
    demo_renewals_create(account_ids=account_ids, seed=seed, today=today)


def _load(ids: list[int]) -> list[Account]:
    wanted = set(ids)
    accounts = {
        a.pk: a
        for a in Account.objects.filter(pk__range=(ids[0], ids[-1])).select_related("owner")
        if a.pk in wanted
    }
    for account in accounts.values():
        account.demo_lines = []  # type: ignore[attr-defined]
    for line in (
        Subscription.objects.filter(account_id__gte=ids[0], account_id__lte=ids[-1])
        .exclude(status=SubscriptionStatus.TRIAL)
        .order_by("start_date", "pk")
    ):
        if line.account_id in accounts:
            accounts[line.account_id].demo_lines.append(line)  # type: ignore[attr-defined]
    return sorted(accounts.values(), key=lambda a: (a.external_id or "", a.pk))


def _rng(seed: int, account: Account, salt: int) -> random.Random:
    return random.Random(seed * 1_000_003 + _index(account) * 7919 + salt)


def _successor(line: Subscription, lines: list[Subscription]) -> Subscription | None:
    if line.end_date is None:
        return None
    for other in lines:
        if (
            other.pk != line.pk
            and other.product == line.product
            and other.start_date > line.start_date
            and line.end_date <= other.start_date <= line.end_date + dt.timedelta(days=1)
        ):
            return other
    return None


def _history_lines(accounts: list[Account], seed: int, today: dt.date) -> list[Subscription]:
    """The previous term of customers whose book starts at their last anniversary."""
    new = []
    for account in accounts:
        if account.status != AccountStatus.ACTIVE or account.customer_since is None:
            continue
        lines = account.demo_lines  # type: ignore[attr-defined]
        platform = [s for s in lines if s.product == "Platform"]
        if not platform:
            continue
        first = platform[0]
        if first.end_date is None or first.start_date <= account.customer_since:
            continue
        if any(
            s.end_date and first.start_date - dt.timedelta(days=1) <= s.end_date <= first.start_date
            for s in platform
        ):
            continue
        rng = _rng(seed, account, 17)
        months = term_months(start=first.start_date, end=first.end_date)
        start = max(account.customer_since, add_months(first.start_date, -months))
        roll = rng.random()
        if roll < 0.62:
            quantity = first.quantity
        elif roll < 0.8:  # they had more seats and renewed for fewer
            quantity = max(first.quantity + 1, round(first.quantity * rng.uniform(1.1, 1.5)))
        else:  # they grew into more seats at the renewal
            quantity = max(
                1, min(first.quantity - 1, round(first.quantity * rng.uniform(0.6, 0.9)))
            )
        if quantity < 1:
            continue
        line = _copy_line(
            first,
            quantity=quantity,
            start_date=start,
            end_date=first.start_date - dt.timedelta(days=1),
            signed_on=start - dt.timedelta(days=rng.randint(3, 30)),
            status=SubscriptionStatus.EXPIRED,
        )
        new.append(line)
        lines.append(line)
        lines.sort(key=lambda s: (s.start_date, s.pk or 0))
    return new


def _closed_renewal(
    account: Account, line: Subscription, rng: random.Random, **fields: Any
) -> Renewal:
    assert line.end_date is not None
    closed_on = line.end_date - dt.timedelta(days=rng.randint(0, 25))
    return Renewal(
        account_id=account.pk,
        subscription_id=line.pk,
        owner_id=account.owner_id,
        renewal_date=line.end_date,
        notice_deadline=notice_deadline(
            end_date=line.end_date, notice_period_days=line.notice_period_days
        ),
        mrr=line.mrr,
        currency=line.currency,
        stage=RenewalStage.CLOSED,
        closed_on=closed_on,
        closed_by_id=account.owner_id,
        **fields,
    )


def _history(
    accounts: list[Account], seed: int, today: dt.date, result: DemoRenewalsResult
) -> list[Renewal]:
    """Closed renewals for every past term: renewed ones and churned ones."""
    renewals: list[Renewal] = []
    prob = settings.RENEWALS_PROBABILITY
    for account in accounts:
        rng = _rng(seed, account, 29)
        lines = account.demo_lines  # type: ignore[attr-defined]
        for line in lines:
            if line.end_date is None or line.end_date >= today:
                continue
            successor = _successor(line, lines)
            if successor is not None:
                if (line.end_date - line.start_date).days < FULL_TERM_DAYS:
                    continue  # a mid-term upgrade or downgrade, not a renewal
                outcome = outcome_by_mrr(successor.mrr, line.mrr)
                category = rng.choice(
                    (ForecastCategory.COMMIT, ForecastCategory.COMMIT, ForecastCategory.PROBABLE)
                )
                renewal = _closed_renewal(
                    account,
                    line,
                    rng,
                    outcome=outcome,
                    outcome_mrr=successor.mrr,
                    effective_on=successor.start_date,
                    successor_id=successor.pk,
                    forecast_category=category,
                    probability=prob[category],
                    reason=_pick(rng, _CONTRACTION_REASONS)
                    if outcome == Outcome.CONTRACTED
                    else "",
                )
            elif line.status in (SubscriptionStatus.CANCELLED, SubscriptionStatus.EXPIRED):
                reason = _pick(rng, _CHURN_REASONS)
                category = rng.choice((ForecastCategory.AT_RISK, ForecastCategory.CHURN))
                renewal = _closed_renewal(
                    account,
                    line,
                    rng,
                    outcome=Outcome.CHURNED,
                    outcome_mrr=Decimal(0),
                    effective_on=line.end_date + dt.timedelta(days=1),
                    forecast_category=category,
                    probability=prob[category],
                    reason=reason,
                    churn_type=ReasonCode(reason).churn_type,
                    competitor=rng.choice(_COMPETITORS) if reason == ReasonCode.COMPETITOR else "",
                )
                result.churned += 1
            else:
                continue
            renewals.append(renewal)
            result.outcomes[renewal.outcome] += 1
    return renewals


def _offboarding(
    renewals: list[Renewal],
    contacts: dict[int, int],
    index_of: dict[int, int],
    seed: int,
    today: dt.date,
    result: DemoRenewalsResult,
) -> None:
    """Exit interviews, counter-offers that did not keep them, win-back plans."""
    interviews, offers, win_backs = [], [], []
    for renewal in renewals:
        if renewal.outcome != Outcome.CHURNED:
            continue
        rng = random.Random(
            seed * 31 + index_of[renewal.account_id] * 7919 + renewal.renewal_date.toordinal()
        )
        assert renewal.closed_on is not None and renewal.reason
        if rng.random() < 0.4:
            offered = renewal.closed_on - dt.timedelta(days=rng.randint(10, 40))
            offers.append(
                CounterOffer(
                    renewal_id=renewal.pk,
                    kind=rng.choice(
                        (
                            CounterOfferKind.FREE_MONTHS,
                            CounterOfferKind.PAYMENT_EXTENSION,
                            CounterOfferKind.CONSULTING,
                            CounterOfferKind.DISCOUNT,
                        )
                    ),
                    description="Offered to keep the account",
                    value=(renewal.mrr * rng.choice((1, 2, 3))).quantize(Decimal("0.01")),
                    offered_on=offered,
                    status=CounterOfferStatus.DECLINED,
                    decided_on=offered + dt.timedelta(days=rng.randint(2, 14)),
                    created_by_id=renewal.owner_id,
                )
            )
        if rng.random() < 0.65:
            interviews.append(
                ExitInterview(
                    renewal_id=renewal.pk,
                    contact_id=contacts.get(renewal.account_id),
                    interviewed_on=min(
                        today, renewal.closed_on + dt.timedelta(days=rng.randint(1, 20))
                    ),
                    conducted_by_id=renewal.owner_id,
                    why_cancel=_WHY[ReasonCode(renewal.reason)],
                    used_for=rng.choice(
                        (
                            "Weekly usage reports to the leadership team.",
                            "Tracking onboarding of our own customers.",
                            "Dashboards for the sales and support teams.",
                        )
                    ),
                    biggest_benefit=rng.choice(
                        (
                            "One place for every customer's health.",
                            "Automated renewal reminders.",
                            "",
                        )
                    ),
                    how_to_improve=rng.choice(
                        (
                            "Cheaper plans for small teams.",
                            "Faster reports on large accounts.",
                            "More integrations with our billing system.",
                        )
                    ),
                    communication=rng.choice(
                        (
                            Communication.WELL,
                            Communication.WELL,
                            Communication.PARTLY,
                            Communication.POORLY,
                        )
                    ),
                    moving_to=renewal.competitor,
                    would_return=rng.choice((WouldReturn.YES, WouldReturn.MAYBE, WouldReturn.NO)),
                )
            )
        roll = rng.random()
        if roll < 0.3:
            renewal.win_back_status = WinBackStatus.PLANNED
            renewal.win_back_next_on = today + dt.timedelta(days=rng.randint(-10, 120))
            win_backs.append(renewal)
        elif roll < 0.45:
            renewal.win_back_status = WinBackStatus.LOST
            win_backs.append(renewal)
    ExitInterview.objects.bulk_create(interviews, batch_size=BATCH)
    CounterOffer.objects.bulk_create(offers, batch_size=BATCH)
    Renewal.objects.bulk_update(win_backs, ["win_back_status", "win_back_next_on"], batch_size=100)
    result.interviews += len(interviews)
    result.offers += len(offers)


def _timeline(renewals: list[Renewal]) -> None:
    Activity.objects.bulk_create(
        [
            Activity(
                account_id=r.account_id,
                kind=ActivityKind.SYSTEM,
                author_id=r.closed_by_id,
                occurred_at=dt.datetime.combine(r.closed_on, dt.time(15, 0), dt.UTC),  # type: ignore[arg-type]
                subject=(
                    _("Renewal closed: %(outcome)s (%(before)s → %(after)s ARR)")
                    % {
                        "outcome": Outcome(r.outcome).label,
                        "before": f"{r.mrr * 12:,.2f} {r.currency}",
                        "after": f"{(r.outcome_mrr or 0) * 12:,.2f} {r.currency}",
                    }
                )[:255],
                summary=_("Reason: %(reason)s") % {"reason": ReasonCode(r.reason).label}
                if r.reason
                else "",
                source=SOURCE,
                metadata={"renewal_id": r.pk, "outcome": r.outcome},
            )
            for r in renewals
        ],
        batch_size=BATCH,
    )


def _forecasts(
    accounts: list[Account], seed: int, today: dt.date, result: DemoRenewalsResult
) -> None:
    """Forecast, stage and expectation of the open renewals from each account's pattern.

    Renewals that get the same changes are written by one UPDATE (a few hundred in all,
    whatever the size of the book), not row by row.
    """
    by_account = {a.pk: a for a in accounts}
    lo, hi = min(by_account), max(by_account)
    prob = settings.RENEWALS_PROBABILITY
    updates: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    offers: list[CounterOffer] = []
    mitigated: list[tuple[Renewal, dt.date]] = []
    rngs: dict[int, random.Random] = {}
    for renewal in Renewal.objects.filter(
        outcome="", account_id__gte=lo, account_id__lte=hi
    ).order_by("account_id", "renewal_date", "subscription__product", "subscription__start_date"):
        account = by_account.get(renewal.account_id)
        if account is None:
            continue
        result.open += 1
        # One stream per account, drawn in a fixed order: the same seed, the same forecasts.
        rng = rngs.setdefault(account.pk, _rng(seed, account, 43))
        pattern = (account.custom_fields or {}).get("demo_usage_pattern", "healthy")
        days = (renewal.renewal_date - today).days
        changes: dict[str, Any] = {}
        category: str | None = None
        if pattern == "declining":
            category = ForecastCategory.CHURN if rng.random() < 0.2 else ForecastCategory.AT_RISK
        elif days <= 45 and rng.random() < 0.6:
            category = ForecastCategory.COMMIT
        elif rng.random() < 0.25:
            category = ForecastCategory.PROBABLE
        if days <= 90:
            changes["stage"] = (
                RenewalStage.COMMITTED
                if category == ForecastCategory.COMMIT
                else RenewalStage.IN_PROGRESS
            )
        if category is not None:
            changes.update(
                forecast_category=category, probability=prob[category], forecast_manual=True
            )
        if pattern == "healthy" and rng.random() < 0.15:
            changes["expected_outcome"] = Outcome.EXPANDED
            changes["expected_factor"] = rng.choice(("1.1", "1.2", "1.3"))
        elif category == ForecastCategory.CHURN:
            changes.update(expected_outcome=Outcome.CHURNED, expected_arr=Decimal(0))
        if category in (ForecastCategory.AT_RISK, ForecastCategory.CHURN):
            changes["notes"] = rng.choice(
                (
                    "Usage is down since the champion moved teams; exec call booked.",
                    "Asked for a discount; waiting on their budget review.",
                    "Open escalation about report speed; support is on it.",
                )
            )
            if rng.random() < 0.35:
                offers.append(
                    CounterOffer(
                        renewal_id=renewal.pk,
                        kind=rng.choice(
                            (CounterOfferKind.FREE_MONTHS, CounterOfferKind.CONSULTING)
                        ),
                        description="Two free months or a consulting package to relaunch adoption",
                        value=(renewal.mrr * 2).quantize(Decimal("0.01")),
                        offered_on=today - dt.timedelta(days=rng.randint(1, 20)),
                        status=CounterOfferStatus.OFFERED,
                        created_by_id=renewal.owner_id,
                    )
                )
            if 0 < days <= 120 and rng.random() < 0.4 and renewal.owner_id:
                since = today - dt.timedelta(days=rng.randint(1, 14))
                changes["mitigation_started_on"] = since
                mitigated.append((renewal, since))
        if changes:
            updates[tuple(sorted(changes.items()))].append(renewal.pk)
    for key, pks in updates.items():
        fields = dict(key)
        factor = fields.pop("expected_factor", None)
        if factor is not None:
            fields["expected_arr"] = Round(F("mrr") * 12 * Value(Decimal(factor)), 2)
        for i in range(0, len(pks), BATCH):
            Renewal.objects.filter(pk__in=pks[i : i + BATCH]).update(**fields)
    CounterOffer.objects.bulk_create(offers, batch_size=BATCH)
    result.offers += len(offers)
    tasks = []
    for renewal, since in mitigated:
        last_day = max(today, renewal.renewal_date - dt.timedelta(days=1))
        for i, step in enumerate(MITIGATION_PLAN):
            due = min(since + dt.timedelta(days=step.due_days), last_day)
            tasks.append(
                Task(
                    account_id=renewal.account_id,
                    title=str(step.title),
                    kind=step.kind,
                    priority=TaskPriority.HIGH,
                    due_date=due,
                    assignee_id=renewal.owner_id,
                    source=SOURCE,
                    dedupe_key=mitigation_task_key(renewal.pk, step.key),
                    status="done" if i == 0 else "open",
                    completed_at=timezone.now() if i == 0 else None,
                )
            )
    Task.objects.bulk_create(tasks, batch_size=BATCH)


def _reminders(today: dt.date, lo: int, hi: int) -> None:
    """Record the reminders already due; the last-30-day and notice ones become tasks."""
    renewal_reminders_claim(today=today)
    pending = RenewalReminder.objects.filter(
        processed_at__isnull=True, renewal__account_id__gte=lo, renewal__account_id__lte=hi
    )
    urgent = pending.filter(Q(kind=ReminderKind.NOTICE) | Q(lead_days__lte=30)).filter(
        renewal__owner__isnull=False
    )
    tasks = []
    for reminder in urgent.select_related("renewal__account"):
        renewal = reminder.renewal
        days = (reminder.target_date - today).days
        title = (
            _("Cancellation deadline in %(n)s days: %(account)s (%(date)s)")
            if reminder.kind == ReminderKind.NOTICE
            else _("Renewal in %(n)s days: %(account)s, %(arr)s %(currency)s ARR")
        ) % {
            "n": days,
            "account": renewal.account.name,
            "date": reminder.target_date.isoformat(),
            "arr": f"{renewal.arr:,.0f}",
            "currency": renewal.currency,
        }
        tasks.append(
            Task(
                account_id=renewal.account_id,
                title=title,
                kind=TaskKind.RENEWAL,
                due_date=today,
                assignee_id=renewal.owner_id,
                source=SOURCE,
                dedupe_key=renewal_task_key(renewal.pk, f"reminder:{reminder.kind}"),
            )
        )
    Task.objects.bulk_create(tasks, batch_size=BATCH, ignore_conflicts=True)
    # Sent, as far as the scheduled job is concerned: it will not email them again.
    pending.update(processed_at=timezone.now())


def demo_renewals_create(
    *, account_ids: list[int], seed: int, today: dt.date | None = None
) -> DemoRenewalsResult:
    """Write the demo renewals of these accounts; see the module docstring."""
    today = today or timezone.localdate()
    result = DemoRenewalsResult()
    ids = sorted(account_ids)
    if not ids:
        return result
    accounts = _load(ids)
    history = _history_lines(accounts, seed, today)
    subscriptions_bulk_create(subscriptions=history, batch_size=BATCH)
    result.history_lines = len(history)
    closed = _history(accounts, seed, today, result)
    closed = Renewal.objects.bulk_create(closed, batch_size=BATCH)
    result.closed = len(closed)
    contacts = dict(
        Contact.objects.filter(
            account_id__gte=ids[0], account_id__lte=ids[-1], is_primary=True
        ).values_list("account_id", "pk")
    )
    _offboarding(closed, contacts, {a.pk: _index(a) for a in accounts}, seed, today, result)
    _timeline(closed)
    # Open renewals for every active line, the same way the platform keeps them.
    renewals_sync(today=today)
    _forecasts(accounts, seed, today, result)
    win_backs_detect(today=today)
    renewals_risk_refresh(account_ids=None, today=today)
    _reminders(today, ids[0], ids[-1])
    return result
