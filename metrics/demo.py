"""Demo signals for the demo book: features, end users, months of usage, tickets, surveys and a
year of contract changes, so that health scores and metrics have something true to read.

Connected to `accounts.demo.demo_seeded` in `MetricsConfig.ready()`, so it runs inside
`seed_demo`'s transaction for exactly the accounts that run created.

Every account gets a usage pattern, stored in `Account.custom_fields["demo_usage_pattern"]`
so that a score can be checked against the truth:

- healthy: steady or slowly growing use;
- declining: from 45–75 days ago activity falls to about a third and a third to a half of
  the users stop; more and higher-priority tickets, worse NPS;
- churning: a sharp drop in the month before the account churned, then near zero; these are
  the accounts churned by the accounts demo and the ones whose contract is cancelled here;
- new: onboarding, users arrive and ramp up from the trial or contract start;
- reactivated: churned, then won back with a new contract a few weeks ago; ramps up like new.

Usage history is written as the daily rollups themselves, not as raw events: user-level rows
(EndUserDailyActivity, EndUserFeatureDaily) are generated in Python and streamed in (COPY on
PostgreSQL, executemany elsewhere); account-level rows (AccountDailyUsage,
AccountFeatureDailyUsage) are then computed from them with INSERT ... SELECT ... GROUP BY, so
sums and distinct users agree exactly. Raw Event rows exist only for the last two days of
the first RAW_EVENT_ACCOUNTS accounts: one row for every event counted in their rollups on
those days (the rest of the history behaves as if raw events had been rolled up and purged,
so `metrics_rollups_rebuild` over demo data would recount only what those rows hold). Every
event of a user's day counts as activity (ACTIVE_EVENTS unset); core_events are the events
of core features.

Size: the user-level rows cost about 40 µs each on PostgreSQL, most of it the foreign-key
checks at commit, so the history is sized to ROW_BUDGET rows. A book that fits gets
FULL_DAYS days with every end user (about ROWS_PER_ACCOUNT rows an account: up to ~480
accounts, which covers `make run`'s 200); a bigger one gets SHORT_DAYS days (still enough
for "last 30 days against 60–90 days ago") and a share of the end users (at least two per
account), so 2,000 accounts write about 0.9 million user-level rows and 20,000 accounts about
1.6 million (there the two-user floor, not the budget, sets the size).
`demo_signals_create(days=..., user_factor=...)` overrides both.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from accounts import services as account_services
from accounts.choices import (
    AccountStatus,
    ActivityKind,
    LifecycleStage,
    SubscriptionStatus,
    TaskStatus,
    Tier,
)
from accounts.demo import add_months
from accounts.models import Account, Activity, Contact, Subscription, Task
from metrics.choices import (
    ResponseSource,
    SurveyKind,
    TicketChannel,
    TicketPriority,
    TicketStatus,
)
from metrics.models import (
    AccountDailyUsage,
    AccountFeatureDailyUsage,
    EndUser,
    EndUserDailyActivity,
    EndUserFeatureDaily,
    Event,
    Feature,
    FeatureEvent,
    SurveyResponse,
    SurveySchedule,
    Ticket,
)

logger = logging.getLogger(__name__)

PATTERN_FIELD = "demo_usage_pattern"
HEALTHY, DECLINING, CHURNING, NEW, REACTIVATED = (
    "healthy",
    "declining",
    "churning",
    "new",
    "reactivated",
)

ROW_BUDGET = 1_000_000
# Measured: user-day plus user-feature-day rows of one account over FULL_DAYS, all users.
ROWS_PER_ACCOUNT = 2_070
FULL_DAYS = 180
SHORT_DAYS = 90
# Accounts simulated and written per round: keeps memory flat at 20,000 accounts.
CHUNK = 400
# Rows per INSERT where COPY is not available (SQLite).
BATCH = 2000
RAW_EVENT_ACCOUNTS = 25
LOGIN_EVENT = "signed_in"

# Features -----------------------------------------------------------------------------

# key, name, event names, core, key, released days before today (None: long ago), plans
FEATURES: tuple[tuple[str, str, tuple[str, ...], bool, bool, int | None, tuple[str, ...]], ...] = (
    ("dashboards", "Dashboards", ("dashboard_viewed", "dashboard_created", "dashboard_shared"), True, True, None, ()),
    ("reports", "Reports", ("report_viewed", "report_created", "report_scheduled"), True, False, None, ()),
    ("workflows", "Workflows", ("workflow_created", "workflow_run"), True, True, None, ("Growth", "Business", "Enterprise")),
    ("exports", "Exports", ("export_csv", "export_pdf"), False, False, None, ()),
    ("integrations", "Integrations", ("integration_connected", "integration_synced"), False, True, None, ()),
    ("alerts", "Alerts", ("alert_created", "alert_acknowledged"), False, False, None, ()),
    ("api", "API", ("api_key_created", "api_request"), False, False, None, ("Business", "Enterprise")),
    ("sso", "Single sign-on", ("sso_login", "sso_configured"), False, False, None, ("Enterprise",)),
    ("mobile", "Mobile app", ("mobile_session_started", "mobile_push_opened"), False, False, 45, ()),
    ("ai_assist", "AI assistant", ("ai_prompt_sent", "ai_suggestion_accepted"), False, True, 20, ("Business", "Enterprise")),
)  # fmt: skip
# Features released long ago carry this date, so adoption "since release" covers everything.
LONG_AGO = dt.date(2022, 1, 3)


@dataclass
class _Feature:
    id: int
    key: str
    is_core: bool
    release_date: dt.date | None
    plans: list[str]
    event_names: list[str]


def features_ensure(*, today: dt.date) -> list[_Feature]:
    """The demo feature catalogue, created where missing (by key); existing ones are kept."""
    for key, name, events, core, is_key, released_ago, plans in FEATURES:
        release = today - dt.timedelta(days=released_ago) if released_ago else LONG_AGO
        feature, _created = Feature.objects.get_or_create(
            key=key,
            defaults={
                "name": name,
                "is_core": core,
                "is_key": is_key,
                "release_date": release,
                "plans": list(plans),
            },
        )
        FeatureEvent.objects.bulk_create(
            [FeatureEvent(event_name=e, feature=feature) for e in events], ignore_conflicts=True
        )
    keys = [f[0] for f in FEATURES]
    names: dict[int, list[str]] = defaultdict(list)
    for feature_id, event_name in FeatureEvent.objects.filter(feature__key__in=keys).values_list(
        "feature_id", "event_name"
    ):
        names[feature_id].append(event_name)
    out = []
    for f in Feature.objects.filter(key__in=keys).order_by("pk"):
        if names[f.pk]:
            out.append(
                _Feature(f.pk, f.key, f.is_core, f.release_date, list(f.plans), sorted(names[f.pk]))
            )
    return out


def survey_schedule_ensure() -> None:
    if not SurveySchedule.objects.exists():
        SurveySchedule.objects.create(
            name="NPS after 90 days, then twice a year",
            kind=SurveyKind.NPS,
            first_after_days=90,
            repeat_every_days=182,
            quiet_period_days=60,
        )


# Accounts in memory -----------------------------------------------------------------


@dataclass
class _Acc:
    obj: Account
    index: int
    subs: list[Subscription] = field(default_factory=list)
    contacts: list[tuple[int, str]] = field(default_factory=list)
    pattern: str = HEALTHY
    growing: bool = False
    ramp_start: dt.date | None = None
    decline_ago: int = 60
    plan: str = ""
    seats: int = 1
    stage_then: str = LifecycleStage.ADOPTION


@dataclass
class DemoSignalsResult:
    end_users: int = 0
    user_days: int = 0
    user_feature_days: int = 0
    events: int = 0
    tickets: int = 0
    survey_responses: int = 0
    subscription_changes: dict[str, int] = field(default_factory=dict)


def demo_scale(accounts: int) -> tuple[int, float]:
    """Days of usage history and share of end users for a book of this many accounts."""
    full_rows = max(1, accounts) * ROWS_PER_ACCOUNT
    if full_rows <= ROW_BUDGET:
        return FULL_DAYS, 1.0
    short_rows = full_rows * SHORT_DAYS / FULL_DAYS
    return SHORT_DAYS, max(0.02, min(1.0, ROW_BUDGET / short_rows))


def demo_seeded_receiver(
    sender: Any, *, account_ids: list[int], seed: int, today: dt.date, **kwargs: Any
) -> None:
    demo_signals_create(account_ids=account_ids, seed=seed, today=today)
    if not settings.CELERY_TASK_ALWAYS_EAGER and settings.DEMO_METRICS_BACKFILL_DAYS:
        # The worker fills the dashboards in the background once `make run` is up, rather
        # than holding up seed_demo (a 20,000-account demo takes a minute).
        from metrics.tasks.engine import metrics_backfill

        days = settings.DEMO_METRICS_BACKFILL_DAYS
        transaction.on_commit(lambda: _enqueue_quietly(metrics_backfill, days=days))


def _enqueue_quietly(task: Any, **kwargs: Any) -> None:
    try:
        task.delay(**kwargs)
    except Exception:  # no broker: the nightly job and `metrics_backfill` still work
        logger.warning("could not enqueue %s; run manage.py metrics_backfill", task.name)


def demo_signals_create(
    *,
    account_ids: Sequence[int],
    seed: int,
    today: dt.date,
    days: int | None = None,
    user_factor: float | None = None,
) -> DemoSignalsResult:
    """Write features, end users, usage rollups, tickets, surveys and contract changes."""
    result = DemoSignalsResult()
    ids = sorted(account_ids)
    if not ids:
        return result
    auto_days, auto_factor = demo_scale(len(ids))
    days = days or auto_days
    user_factor = user_factor or auto_factor
    features = features_ensure(today=today)
    survey_schedule_ensure()
    # End users of demo accounts deleted since an earlier seed: their ids would be reused.
    EndUser.objects.filter(account__isnull=True, external_id__startswith="demo-").delete()
    accs = _accounts_load(ids)
    now = timezone.now()
    affected = _contract_changes(accs, seed=seed, today=today, now=now, result=result)
    _usage_write(
        accs,
        features,
        seed=seed,
        today=today,
        now=now,
        days=days,
        factor=user_factor,
        result=result,
    )
    _feedback_write(accs, seed=seed, today=today, now=now, days=days, result=result)
    account_services.account_financials_refresh(account_ids=sorted(affected), today=today)
    return result


def _accounts_load(ids: list[int]) -> list[_Acc]:
    wanted = set(ids)
    # A pk range rather than IN (...): 20,000 ids would pass SQLite's variable limit.
    lo, hi = ids[0], ids[-1]
    accs = {
        a.pk: _Acc(obj=a, index=int("".join(c for c in (a.external_id or "0") if c.isdigit()) or 0))
        for a in Account.objects.filter(pk__range=(lo, hi))
        if a.pk in wanted
    }
    for sub in Subscription.objects.filter(account_id__gte=lo, account_id__lte=hi).order_by(
        "start_date", "pk"
    ):
        if sub.account_id in accs:
            accs[sub.account_id].subs.append(sub)
    for account_id, contact_id, email in (
        Contact.objects.filter(account_id__gte=lo, account_id__lte=hi)
        .order_by("pk")
        .values_list("account_id", "id", "email")
    ):
        if account_id in accs:
            accs[account_id].contacts.append((contact_id, email))
    out = sorted(accs.values(), key=lambda a: (a.obj.external_id or "", a.obj.pk))
    for acc in out:
        platform = [s for s in acc.subs if s.product == "Platform"] or acc.subs
        if platform:
            current = platform[-1]
            acc.plan, acc.seats = current.plan_name, current.quantity
    return out


# Contract changes ---------------------------------------------------------------------


def _active_platform(acc: _Acc, today: dt.date) -> Subscription | None:
    for sub in reversed(acc.subs):
        if (
            sub.product == "Platform"
            and sub.status == SubscriptionStatus.ACTIVE
            and sub.start_date <= today
            and (sub.end_date is None or sub.end_date >= today)
        ):
            return sub
    return None


_COPIED_FIELDS = (
    "account_id", "plan_name", "product", "quantity", "unit_price", "discount_type",
    "discount_value", "billing_period", "billing_period_months", "currency",
    "notice_period_days", "auto_renew",
)  # fmt: skip


def _copy_line(sub: Subscription, **changes: Any) -> Subscription:
    new = Subscription(**{f: getattr(sub, f) for f in _COPIED_FIELDS})
    new.one_time_fees = Decimal("0")
    for name, value in changes.items():
        setattr(new, name, value)
    return new


def _contract_changes(
    accs: list[_Acc], *, seed: int, today: dt.date, now: dt.datetime, result: DemoSignalsResult
) -> set[int]:
    """Choose each account's pattern; upgrade, downgrade, cancel and win back some contracts."""
    first = accs[0].index if accs else 0
    rng = random.Random(seed * 1_000_003 + first * 7 + 101)
    changed_subs: list[Subscription] = []
    new_subs: list[Subscription] = []
    activities: list[Activity] = []
    cancelled_ids: list[int] = []
    counts = {"upgrade": 0, "downgrade": 0, "cancellation": 0, "reactivation": 0}
    picks: dict[str, list[_Acc]] = defaultdict(list)
    spare: dict[str, list[_Acc]] = defaultdict(list)

    for acc in accs:
        a = acc.obj
        roll, roll2 = rng.random(), rng.random()
        acc.growing = rng.random() < 0.4
        acc.decline_ago = rng.randint(45, 75)
        tenure = (today - a.customer_since).days if a.customer_since else 0
        if a.status == AccountStatus.TRIAL:
            acc.pattern = NEW
            acc.ramp_start = min((s.start_date for s in acc.subs), default=today)
        elif a.status == AccountStatus.CHURNED:
            acc.pattern = CHURNING
            if a.churned_at and (today - a.churned_at).days >= 90 and acc.subs:
                (picks if roll < 0.15 else spare)["reactivation"].append(acc)
        elif tenure < 60:
            acc.pattern = NEW
            acc.ramp_start = a.customer_since
        elif tenure >= 120 and roll < 0.07 and _active_platform(acc, today):
            acc.pattern = CHURNING
            picks["cancellation"].append(acc)
        elif tenure >= 120 and roll < 0.30:
            acc.pattern = DECLINING
        else:
            acc.pattern = HEALTHY
            if tenure >= 120 and _active_platform(acc, today):
                spare["cancellation"].append(acc)
        sub = _active_platform(acc, today)
        movable = sub is not None and sub.start_date <= today - dt.timedelta(days=45)
        if movable and acc.pattern == HEALTHY:
            (picks if roll2 < 0.12 else spare)["upgrade"].append(acc)
        elif movable and acc.pattern == DECLINING:
            (picks if roll2 < 0.3 else spare)["downgrade"].append(acc)

    # Even a small demo shows every kind of change once.
    for kind in ("reactivation", "cancellation", "upgrade", "downgrade"):
        if not picks[kind]:
            taken = {id(a) for k in picks.values() for a in k}
            free = [a for a in spare[kind] if id(a) not in taken]
            if free:
                picks[kind].append(free[0])
    if not any(a.pattern == DECLINING for a in accs):
        taken = {id(a) for k in picks.values() for a in k}
        for acc in accs:
            since = acc.obj.customer_since
            old_enough = since is not None and (today - since).days >= 120
            if acc.pattern == HEALTHY and id(acc) not in taken and old_enough:
                acc.pattern = DECLINING
                break

    def note(acc: _Acc, day: dt.date, subject: str, **metadata: Any) -> None:
        occurred = dt.datetime.combine(day, dt.time(rng.randint(8, 17), 0), tzinfo=dt.UTC)
        activities.append(
            Activity(
                account_id=acc.obj.pk,
                kind=ActivityKind.SYSTEM,
                occurred_at=min(occurred, now),
                subject=subject,
                source="accounts",
                metadata=metadata,
            )
        )

    for kind, factor_range, pattern in (
        ("upgrade", (1.2, 1.6), HEALTHY),
        ("downgrade", (0.5, 0.8), DECLINING),
    ):
        for acc in picks[kind]:
            sub = _active_platform(acc, today)
            if sub is None:
                continue
            acc.pattern = pattern
            earliest = max(sub.start_date + dt.timedelta(days=30), today - dt.timedelta(days=330))
            span = (today - dt.timedelta(days=7) - earliest).days
            day = earliest + dt.timedelta(days=rng.randint(0, max(0, span)))
            seats = max(1, round(sub.quantity * rng.uniform(*factor_range)))
            if seats == sub.quantity:
                seats += 1 if kind == "upgrade" else -1 if seats > 1 else 0
            if seats == sub.quantity:
                continue
            new = _copy_line(
                sub,
                quantity=seats,
                start_date=day,
                end_date=sub.end_date,
                signed_on=day - dt.timedelta(days=rng.randint(2, 14)),
                status=SubscriptionStatus.ACTIVE,
            )
            sub.end_date = day - dt.timedelta(days=1)
            sub.status = SubscriptionStatus.EXPIRED
            changed_subs.append(sub)
            new_subs.append(new)
            acc.seats = seats
            word = "upgraded" if kind == "upgrade" else "downgraded"
            note(
                acc,
                day,
                f"Subscription {word}: {sub.plan_name} {sub.quantity} → {seats} seats",
                change=kind,
            )
            counts[kind] += 1

    for acc in picks["cancellation"]:
        a = acc.obj
        churned = today - dt.timedelta(days=rng.randint(30, 75))
        for sub in acc.subs:
            if sub.status == SubscriptionStatus.ACTIVE and (
                sub.end_date is None or sub.end_date >= churned
            ):
                sub.status = SubscriptionStatus.CANCELLED
                sub.end_date = max(churned, sub.start_date)
                sub.auto_renew = False
                changed_subs.append(sub)
        acc.stage_then = a.lifecycle_stage
        a.status, a.churned_at, a.lifecycle_stage = (
            AccountStatus.CHURNED,
            churned,
            LifecycleStage.CHURNED,
        )
        cancelled_ids.append(a.pk)
        acc.pattern = CHURNING
        note(acc, churned, "Subscription cancelled", change="cancellation")
        note(acc, churned, "Account churned", change="cancellation")
        counts["cancellation"] += 1

    for acc in picks["reactivation"]:
        a = acc.obj
        template = max(acc.subs, key=lambda s: (s.end_date or today, s.pk))
        start = today - dt.timedelta(days=rng.randint(14, 75))
        seats = max(1, round(template.quantity * rng.uniform(0.6, 1.0)))
        new_subs.append(
            _copy_line(
                template,
                quantity=seats,
                start_date=start,
                end_date=add_months(start, 12),
                signed_on=start - dt.timedelta(days=rng.randint(3, 20)),
                status=SubscriptionStatus.ACTIVE,
                auto_renew=True,
            )
        )
        acc.pattern, acc.ramp_start, acc.seats = REACTIVATED, start, seats
        a.status, a.churned_at = AccountStatus.ACTIVE, None
        a.lifecycle_stage = (
            LifecycleStage.ONBOARDING if (today - start).days < 60 else LifecycleStage.ADOPTION
        )
        note(acc, start, f"Account reactivated: new {template.plan_name} contract, {seats} seats",
             change="reactivation")  # fmt: skip
        counts["reactivation"] += 1

    Subscription.objects.bulk_update(
        changed_subs, ["status", "end_date", "auto_renew", "updated_at"], batch_size=100
    )
    account_services.subscriptions_bulk_create(subscriptions=new_subs, batch_size=500)
    moved = [a.obj for a in picks["cancellation"] + picks["reactivation"]]
    # Small batches: bulk_update's CASE has a branch per row, so each batch costs its size squared.
    Account.objects.bulk_update(moved, ["status", "churned_at", "lifecycle_stage"], batch_size=100)
    _patterns_save(accs)
    Activity.objects.bulk_create(activities, batch_size=BATCH)
    for i in range(0, len(cancelled_ids), 500):
        Task.objects.filter(
            account_id__in=cancelled_ids[i : i + 500], status=TaskStatus.OPEN
        ).update(status=TaskStatus.CANCELLED, updated_at=now)
    result.subscription_changes = counts
    return {s.account_id for s in changed_subs} | {s.account_id for s in new_subs}


def _patterns_save(accs: list[_Acc]) -> None:
    """Add the pattern to each account's custom fields, one UPDATE per pattern.

    bulk_update would send a CASE with a branch per account: quadratic at 20,000 accounts.
    """
    by_pattern: dict[str, list[int]] = defaultdict(list)
    for acc in accs:
        by_pattern[acc.pattern].append(acc.obj.pk)
        acc.obj.custom_fields = {**(acc.obj.custom_fields or {}), PATTERN_FIELD: acc.pattern}
    table = connection.ops.quote_name(Account._meta.db_table)
    with connection.cursor() as cursor:
        for pattern, ids in by_pattern.items():
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                marks = ", ".join(["%s"] * len(part))
                if connection.vendor == "postgresql":
                    sql = (
                        f"UPDATE {table} SET custom_fields = COALESCE(custom_fields, '{{}}'::jsonb)"
                        f" || jsonb_build_object('{PATTERN_FIELD}', %s::text) WHERE id IN ({marks})"
                    )
                elif connection.vendor == "sqlite":
                    sql = (
                        f"UPDATE {table} SET custom_fields = json_set(COALESCE(custom_fields, "
                        f"'{{}}'), '$.{PATTERN_FIELD}', %s) WHERE id IN ({marks})"
                    )
                else:
                    Account.objects.bulk_update(
                        [a.obj for a in accs if a.obj.pk in set(part)], ["custom_fields"]
                    )
                    continue
                cursor.execute(sql, [pattern, *part])


# Usage ----------------------------------------------------------------------------------

_FIRST = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery",
          "Quinn", "Robin", "Charlie", "Dana", "Elliot", "Frankie", "Harper", "Kai", "Lee",
          "Max", "Noor", "Parker", "Rowan", "Sasha", "Toni", "Yara", "Zoe", "Ines", "Jonas")  # fmt: skip
_LAST = ("Smith", "Jones", "Garcia", "Chen", "Patel", "Müller", "Rossi", "Dubois", "Kim",
         "Nguyen", "Okafor", "Silva", "Novak", "Berg", "Costa", "Haddad", "Ito", "Kowalski",
         "Larsen", "Moreau", "Murphy", "Schmidt", "Tanaka", "Walsh", "Young", "Ahmed")  # fmt: skip
_USERS_PER_TIER = {Tier.SMB: (3, 15), Tier.MID_MARKET: (10, 60), Tier.ENTERPRISE: (40, 160)}


@dataclass
class _User:
    external_id: str
    email: str
    name: str
    p: float
    join_ago: int
    leave_ago: int  # active only on days strictly more recent than... see _simulate
    bag: list[int]
    last_active_ago: int | None = None


def _multipliers(acc: _Acc, days: int, today: dt.date) -> list[float]:
    """Account-wide intensity per day index (0 = oldest day, days-1 = today)."""
    out = []
    churn_ago = (today - acc.obj.churned_at).days if acc.obj.churned_at else None
    ramp_ago = (today - acc.ramp_start).days if acc.ramp_start else None
    for i in range(days):
        ago = days - 1 - i
        if acc.pattern == DECLINING:
            s = acc.decline_ago
            m = 1.0 if ago > s else 0.3 + 0.7 * ago / s
        elif acc.pattern == CHURNING and churn_ago is not None:
            drop = churn_ago + 30
            m = (
                1.0
                if ago > drop
                else 0.15 + 0.85 * (ago - churn_ago) / 30
                if ago > churn_ago
                else 1.0
            )
        elif acc.pattern in (NEW, REACTIVATED) and ramp_ago is not None:
            since = ramp_ago - ago
            m = 0.0 if since < 0 else 0.35 + 0.65 * min(1.0, since / 45)
        elif acc.growing:
            m = 0.75 + 0.3 * (1 - ago / days)
        else:
            m = 1.0
        out.append(m)
    return out


def _users(
    acc: _Acc, rng: random.Random, days: int, today: dt.date, factor: float, bags: list[list[int]]
) -> list[_User]:
    a = acc.obj
    lo, hi = _USERS_PER_TIER.get(a.tier, (3, 15))
    n = min(rng.randint(lo, hi), max(2, acc.seats))
    n = max(2, round(n * factor))
    tenure = (today - a.customer_since).days if a.customer_since else 0
    churn_ago = (today - a.churned_at).days if a.churned_at else None
    ramp_ago = (today - acc.ramp_start).days if acc.ramp_start else None
    domain = (a.domain or "example.com").split("/")[0]
    leavers: set[int] = set()
    if acc.pattern == DECLINING:
        leavers = set(rng.sample(range(n), k=max(1, round(n * rng.uniform(0.3, 0.55)))))
    out = []
    for k in range(n):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        roll = rng.random()
        p = 0.7 if roll < 0.2 else 0.4 if roll < 0.7 else 0.15
        leave = -1
        if acc.pattern in (NEW, REACTIVATED) and ramp_ago is not None:
            join = ramp_ago - int(rng.random() ** 2 * min(ramp_ago, 45))
        elif acc.pattern == HEALTHY and rng.random() < (0.12 if acc.growing else 0.05):
            join = rng.randint(0, max(0, min(days - 1, tenure)))
        else:
            join = rng.randint(min(days, tenure), max(days, tenure))
            if acc.pattern == DECLINING:
                join = max(join, min(tenure, 91))
        if acc.pattern == DECLINING and k in leavers:
            leave = rng.randint(31, acc.decline_ago)
        elif acc.pattern == HEALTHY and rng.random() < 0.04:
            leave = rng.randint(0, days - 1)
        elif acc.pattern == CHURNING and churn_ago is not None:
            join = rng.randint(min(tenure, churn_ago + 40), max(tenure, churn_ago + 40))
            leave = churn_ago + rng.randint(0, 25)
            if k == 0 and churn_ago < days:
                # One user lingers after the churn date, at a trickle; everyone else is gone.
                leave, p = -1, 0.02
        out.append(
            _User(
                external_id=f"{(a.external_id or str(a.pk)).lower()}-u{k + 1:03d}",
                email=f"{first}.{last}{k + 1}@{domain}".lower().replace("ü", "u"),
                name=f"{first} {last}",
                p=p,
                join_ago=join,
                leave_ago=leave,
                bag=bags[rng.randrange(len(bags))],
            )
        )
    return out


def _feature_bags(acc: _Acc, features: list[_Feature], rng: random.Random) -> list[list[int]]:
    """A few feature preference lists per account; users share them, as teams do."""
    allowed = [i for i, f in enumerate(features) if not f.plans or acc.plan in f.plans]
    bags = []
    for _b in range(4):
        bag: list[int] = []
        for i in allowed:
            if features[i].is_core:
                bag += [i] * 4
            elif rng.random() < 0.5:
                bag += [i] * rng.randint(1, 2)
        bags.append(bag or allowed[:1])
    return bags


def _simulate(
    acc: _Acc,
    users: list[_User],
    features: list[_Feature],
    mult: list[float],
    weekend: list[bool],
    released_from: list[int],
    rng: random.Random,
    keep_detail_from: int | None,
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """User-day and user-feature-day rows, by user index and day index.

    Returns (activity rows (u, i, events, core_events), feature rows (u, f, i, events),
    detail for raw events (u, i, logins, [(f, events), ...]) from day keep_detail_from).
    """
    days = len(mult)
    rnd = rng.random
    core = [f.is_core for f in features]
    act: list[tuple] = []
    feat: list[tuple] = []
    detail: list[tuple] = []
    for u, user in enumerate(users):
        first_i = max(0, days - 1 - user.join_ago)
        last_i = days - 1 if user.leave_ago < 0 else days - 2 - user.leave_ago
        bag, nbag, p = user.bag, len(user.bag), user.p
        for i in range(first_i, last_i + 1):
            m = mult[i]
            if rnd() >= p * m * (0.2 if weekend[i] else 1.0):
                continue
            logins = 2 if rnd() < 0.25 else 1
            r = rnd()
            k = 0 if r < 0.3 else 1 if r < 0.8 else 2 if r < 0.95 else 3
            used: dict[int, int] = {}
            for _j in range(k):
                f = bag[int(rnd() * nbag)]
                if f in used or released_from[f] > i:
                    continue
                used[f] = 1 + int(rnd() * 6 * (0.4 + 0.6 * m))
            events = logins + sum(used.values())
            core_events = sum(e for f, e in used.items() if core[f])
            act.append((u, i, events, core_events))
            for f, e in used.items():
                feat.append((u, f, i, e))
            if keep_detail_from is not None and i >= keep_detail_from:
                detail.append((u, i, logins, list(used.items())))
            user.last_active_ago = days - 1 - i
    return act, feat, detail


def _usage_write(
    accs: list[_Acc],
    features: list[_Feature],
    *,
    seed: int,
    today: dt.date,
    now: dt.datetime,
    days: int,
    factor: float,
    result: DemoSignalsResult,
) -> None:
    ops = connection.ops
    day_list = [today - dt.timedelta(days=days - 1 - i) for i in range(days)]
    weekend = [d.weekday() >= 5 for d in day_list]
    dvals = [ops.adapt_datefield_value(d) for d in day_list]
    released_from = [
        max(0, (f.release_date - day_list[0]).days) if f.release_date else 0 for f in features
    ]
    released_from = [r if r < days else days for r in released_from]
    raw_budget = RAW_EVENT_ACCOUNTS
    for start in range(0, len(accs), CHUNK):
        chunk = accs[start : start + CHUNK]
        user_rows: list[tuple] = []
        sims = []
        for acc in chunk:
            rng = random.Random(seed * 1_000_003 + acc.index * 7919 + 211)
            bags = _feature_bags(acc, features, rng)
            users = _users(acc, rng, days, today, factor, bags)
            mult = _multipliers(acc, days, today)
            detail_from = days - 2 if raw_budget > 0 else None
            act, feat, detail = _simulate(
                acc, users, features, mult, weekend, released_from, rng, detail_from
            )
            if detail_from is not None:
                raw_budget -= 1
            for user in users:
                first_seen = _at(today - dt.timedelta(days=user.join_ago), rng, now)
                if user.last_active_ago is not None:
                    last_seen = _at(today - dt.timedelta(days=user.last_active_ago), rng, now)
                else:
                    gone = max(user.leave_ago + 1, days, 0)
                    gone = min(gone, user.join_ago)
                    last_seen = _at(today - dt.timedelta(days=gone), rng, now)
                last_seen = max(last_seen, first_seen)
                user_rows.append(
                    (
                        user.external_id,
                        acc.obj.pk,
                        acc.obj.external_id or "",
                        user.email,
                        user.name,
                        json.dumps({"plan": acc.plan}),
                        ops.adapt_datetimefield_value(first_seen),
                        ops.adapt_datetimefield_value(last_seen),
                        ops.adapt_datetimefield_value(now),
                    )
                )
            sims.append((acc, users, act, feat, detail, rng))
        _insert(
            EndUser,
            ["external_id", "account_id", "group_external_id", "email", "name", "traits",
             "first_seen_at", "last_seen_at", "created_at"],
            user_rows,
        )  # fmt: skip
        result.end_users += len(user_rows)
        chunk_ids = [acc.obj.pk for acc in chunk]
        ids = dict(
            EndUser.objects.filter(account_id__in=chunk_ids).values_list("external_id", "id")
        )
        act_rows: list[tuple] = []
        feat_rows: list[tuple] = []
        events: list[Event] = []
        for acc, users, act, feat, detail, rng in sims:
            pk = acc.obj.pk
            uid = [ids[u.external_id] for u in users]
            act_rows += [(uid[u], pk, dvals[i], e, c) for u, i, e, c in act]
            feat_rows += [(uid[u], pk, features[f].id, dvals[i], e) for u, f, i, e in feat]
            events += _raw_events(acc, users, uid, features, detail, day_list, rng, now)
        _insert(
            EndUserDailyActivity,
            ["end_user_id", "account_id", "date", "events", "core_events"],
            act_rows,
        )
        _insert(
            EndUserFeatureDaily,
            ["end_user_id", "account_id", "feature_id", "date", "events"],
            feat_rows,
        )
        Event.objects.bulk_create(events, batch_size=BATCH)
        result.user_days += len(act_rows)
        result.user_feature_days += len(feat_rows)
        result.events += len(events)
    _account_rollups(accs, since=day_list[0])


def _at(day: dt.date, rng: random.Random, now: dt.datetime) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC) + dt.timedelta(
        seconds=rng.randint(7 * 3600, 19 * 3600)
    )
    return min(moment, now)


def _raw_events(
    acc: _Acc,
    users: list[_User],
    uid: list[int],
    features: list[_Feature],
    detail: list[tuple],
    day_list: list[dt.date],
    rng: random.Random,
    now: dt.datetime,
) -> list[Event]:
    """One Event per event counted in the rollups of the detailed days: they agree exactly."""
    out = []
    for u, i, logins, used in detail:
        names = [LOGIN_EVENT] * logins
        for f, count in used:
            names += [rng.choice(features[f].event_names) for _e in range(count)]
        moment = _at(day_list[i], rng, now)
        for n, name in enumerate(names):
            ts = min(moment + dt.timedelta(seconds=n * rng.randint(20, 600)), now)
            ts = max(ts, dt.datetime.combine(day_list[i], dt.time(0), tzinfo=dt.UTC))
            out.append(
                Event(
                    message_id=f"demo-{users[u].external_id}-{day_list[i]:%Y%m%d}-{n:03d}",
                    name=name,
                    account_id=acc.obj.pk,
                    end_user_id=uid[u],
                    user_id=users[u].external_id,
                    timestamp=ts,
                    received_at=min(ts + dt.timedelta(seconds=rng.randint(1, 30)), now),
                    properties={"demo": True},
                    context={"library": {"name": "csplatform-demo", "version": "1"}},
                )
            )
    return out


def _account_rollups(accs: list[_Acc], *, since: dt.date) -> None:
    """Account-level rollups from the user-level rows, in SQL, so both always agree."""
    if not accs:
        return
    ids = sorted(a.obj.pk for a in accs)
    qn = connection.ops.quote_name
    since_value = connection.ops.adapt_datefield_value(since)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(AccountDailyUsage._meta.db_table)} "
            "(account_id, date, events, core_events, active_users) "
            "SELECT account_id, date, SUM(events), SUM(core_events), COUNT(DISTINCT end_user_id) "
            f"FROM {qn(EndUserDailyActivity._meta.db_table)} "
            "WHERE account_id BETWEEN %s AND %s AND date >= %s "
            "GROUP BY account_id, date",
            [ids[0], ids[-1], since_value],
        )
        cursor.execute(
            f"INSERT INTO {qn(AccountFeatureDailyUsage._meta.db_table)} "
            "(account_id, feature_id, date, events, users) "
            "SELECT account_id, feature_id, date, SUM(events), COUNT(DISTINCT end_user_id) "
            f"FROM {qn(EndUserFeatureDaily._meta.db_table)} "
            "WHERE account_id BETWEEN %s AND %s AND date >= %s "
            "GROUP BY account_id, feature_id, date",
            [ids[0], ids[-1], since_value],
        )


def _insert(model: type[Model], fields: list[str], rows: Iterable[tuple]) -> None:
    """Stream rows into a table: COPY on PostgreSQL, batched executemany elsewhere.

    Values must already be adapted for the database (connection.ops.adapt_*), as
    bulk_create would; this skips model instances, which are most of the cost at millions of
    rows.
    """
    meta = model._meta
    qn = connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(f).column) for f in fields)
    table = qn(meta.db_table)
    rows = list(rows)
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
            for i in range(0, len(rows), BATCH):
                cursor.executemany(sql, rows[i : i + BATCH])


# Tickets and surveys ----------------------------------------------------------------------

_TICKET_SUBJECTS = {
    TicketPriority.P1: ("Production outage: dashboards not loading", "Cannot log in: SSO broken for all users",
                        "Data sync stopped overnight", "API returning 500 errors"),
    TicketPriority.P2: ("Reports show wrong totals", "Integration sync keeps failing", "Exports time out",
                        "Alerts not firing since the update", "Workflow runs stuck in queue"),
    TicketPriority.P3: ("How do I schedule a report?", "Question about user permissions",
                        "Dashboard filter behaves oddly", "Request: add a column to the CSV export",
                        "Invoice address change", "Help connecting our CRM"),
    TicketPriority.P4: ("Feature request: dark mode", "Typo in the settings page", "Logo looks blurry",
                        "Suggestion for the mobile app"),
}  # fmt: skip
_RESPONSE_HOURS = {
    TicketPriority.P1: (0.1, 2),
    TicketPriority.P2: (0.5, 8),
    TicketPriority.P3: (1, 24),
    TicketPriority.P4: (2, 48),
}
_PRIORITY_WEIGHTS = {
    "calm": (3, 15, 55, 27),
    "trouble": (14, 34, 42, 10),
}
_CHANNELS = (
    (TicketChannel.EMAIL, 45),
    (TicketChannel.CHAT, 30),
    (TicketChannel.WEB, 12),
    (TicketChannel.PHONE, 10),
    (TicketChannel.SOCIAL, 3),
)
_NPS_WEIGHTS = {
    # scores 0..10
    "good": (0, 0, 1, 2, 2, 3, 5, 10, 18, 28, 31),
    "new": (0, 0, 1, 1, 2, 3, 6, 12, 20, 27, 28),
    "bad": (4, 5, 9, 12, 14, 16, 15, 12, 7, 4, 2),
    "worst": (12, 12, 14, 15, 14, 12, 9, 6, 3, 2, 1),
}
_NPS_COMMENTS = {
    "promoter": ("Dashboards save my team hours every week.", "Great product and a very responsive team.",
                 "The workflows changed how we run our operations.", "Easy to roll out to new teams.", ""),
    "passive": ("Good overall, reporting could be faster.", "Does the job; the UI takes getting used to.",
                "Solid, but we miss a few integrations.", ""),
    "detractor": ("Too many outages lately.", "Support takes days to answer.",
                  "We are not getting the value we expected for the price.",
                  "Reports are wrong too often; we went back to spreadsheets.",
                  "Our champion left and nobody uses it now.", ""),
}  # fmt: skip
_CSAT_COMMENTS = {
    True: ("Quick and helpful, thanks!", "Solved on the first reply.", ""),
    False: ("Took far too long.", "The answer did not fix the problem.", "Had to explain it three times."),
}  # fmt: skip


def _trouble_window(acc: _Acc, today: dt.date) -> tuple[dt.date, dt.date] | None:
    a = acc.obj
    if acc.pattern == DECLINING:
        return today - dt.timedelta(days=acc.decline_ago), today
    if acc.pattern == CHURNING and a.churned_at:
        return a.churned_at - dt.timedelta(days=75), a.churned_at
    return None


def _feedback_write(
    accs: list[_Acc],
    *,
    seed: int,
    today: dt.date,
    now: dt.datetime,
    days: int,
    result: DemoSignalsResult,
) -> None:
    tickets: list[Ticket] = []
    responses: list[SurveyResponse] = []
    for n, acc in enumerate(accs, 1):
        rng = random.Random(seed * 1_000_003 + acc.index * 7919 + 307)
        new_tickets = _tickets(acc, rng, today, now, days)
        tickets += new_tickets
        responses += _surveys(acc, rng, today, now, new_tickets)
        if n % CHUNK == 0 or n == len(accs):
            _insert_objects(Ticket, tickets)
            _insert_objects(SurveyResponse, responses)
            result.tickets += len(tickets)
            result.survey_responses += len(responses)
            tickets, responses = [], []


def _insert_objects(model: type[Model], objs: list[Model]) -> None:
    """Write unsaved instances through _insert: what bulk_create sends, without its SQL building.

    Every concrete column is written from the instance, so model defaults still apply.
    """
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = [
        tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields) for obj in objs
    ]
    _insert(model, [f.attname for f in fields], rows)


def _customer_span(acc: _Acc, today: dt.date, back: int) -> tuple[dt.date, dt.date] | None:
    a = acc.obj
    start = acc.ramp_start or a.customer_since or today
    if acc.pattern == REACTIVATED:
        start = acc.ramp_start or today
    start = max(start, today - dt.timedelta(days=back))
    end = a.churned_at if a.status == AccountStatus.CHURNED and a.churned_at else today
    if end < start:
        return None
    return start, end


def _tickets(
    acc: _Acc, rng: random.Random, today: dt.date, now: dt.datetime, days: int
) -> list[Ticket]:
    span = _customer_span(acc, today, days)
    if span is None:
        return []
    start, end = span
    trouble = _trouble_window(acc, today)
    per_month = {Tier.ENTERPRISE: 2.5, Tier.MID_MARKET: 1.0, Tier.SMB: 0.4}.get(acc.obj.tier, 0.5)
    if acc.pattern in (NEW, REACTIVATED):
        per_month *= 1.8
    emails = [e for _i, e in acc.contacts] or [f"support@{acc.obj.domain or 'example.com'}"]
    out = []
    day = start
    while day <= end:
        bad = trouble is not None and trouble[0] <= day <= trouble[1]
        rate = per_month * (3.0 if bad else 1.0) / 30
        if rng.random() < rate:
            weights = _PRIORITY_WEIGHTS["trouble" if bad else "calm"]
            priority = rng.choices(list(TicketPriority), weights=weights)[0]
            opened = _at(day, rng, now)
            lo, hi = _RESPONSE_HOURS[priority]
            slow = 1.8 if bad else 1.0
            first = opened + dt.timedelta(hours=rng.uniform(lo, hi) * slow)
            resolved = first + dt.timedelta(hours=rng.uniform(1, 120) * slow)
            age = (now - opened).days
            still_open = age < 21 and rng.random() < (0.65 if bad else 0.4)
            if resolved > now or still_open:
                status = rng.choice((TicketStatus.OPEN, TicketStatus.PENDING))
                resolved = None
                if first > now or rng.random() < 0.25:
                    first = None
            else:
                status = (
                    TicketStatus.CLOSED
                    if age > 30 and rng.random() < 0.6
                    else TicketStatus.RESOLVED
                )
            out.append(
                Ticket(
                    account_id=acc.obj.pk,
                    requester_email=rng.choice(emails),
                    subject=rng.choice(_TICKET_SUBJECTS[priority]),
                    channel=rng.choices([c for c, _w in _CHANNELS], weights=[w for _c, w in _CHANNELS])[0],
                    priority=priority,
                    status=status,
                    is_escalation=bad and priority in (TicketPriority.P1, TicketPriority.P2)
                    and rng.random() < 0.4,
                    opened_at=opened,
                    first_response_at=first,
                    resolved_at=resolved,
                )
            )  # fmt: skip
        day += dt.timedelta(days=1)
    return out


def _stage_on(acc: _Acc, day: dt.date, today: dt.date) -> str:
    a = acc.obj
    start = acc.ramp_start or a.customer_since
    if start and (day - start).days < 60:
        return LifecycleStage.ONBOARDING
    if a.lifecycle_stage == LifecycleStage.CHURNED:
        return (
            acc.stage_then if acc.stage_then != LifecycleStage.CHURNED else LifecycleStage.ADOPTION
        )
    return a.lifecycle_stage


def _surveys(
    acc: _Acc, rng: random.Random, today: dt.date, now: dt.datetime, tickets: list[Ticket]
) -> list[SurveyResponse]:
    span = _customer_span(acc, today, 365)
    out: list[SurveyResponse] = []
    if span is None or not acc.contacts:
        return out
    start, end = span
    trouble = _trouble_window(acc, today)
    lo, hi = {Tier.ENTERPRISE: (2, 7), Tier.MID_MARKET: (1, 4), Tier.SMB: (0, 2)}.get(
        acc.obj.tier, (0, 2)
    )
    count = rng.randint(lo, hi)
    dates = [start + dt.timedelta(days=rng.randint(0, (end - start).days)) for _n in range(count)]
    if trouble and trouble[0] <= end:
        # Troubled accounts always have a say while it is going wrong.
        t0, t1 = max(trouble[0], start), min(trouble[1], end)
        if t0 <= t1:
            dates.append(t0 + dt.timedelta(days=rng.randint(0, (t1 - t0).days)))
    for day in dates:
        bad = trouble is not None and trouble[0] <= day <= trouble[1]
        mood = (
            "worst" if bad and acc.pattern == CHURNING
            else "bad" if bad
            else "new" if acc.pattern in (NEW, REACTIVATED)
            else "good"
        )  # fmt: skip
        score = rng.choices(range(11), weights=_NPS_WEIGHTS[mood])[0]
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        contact_id, _email = rng.choice(acc.contacts)
        out.append(
            SurveyResponse(
                account_id=acc.obj.pk,
                contact_id=contact_id,
                kind=SurveyKind.NPS,
                score=score,
                comment=rng.choice(_NPS_COMMENTS[group]),
                lifecycle_stage=_stage_on(acc, day, today),
                responded_at=_at(day, rng, now),
                source=rng.choice((ResponseSource.EMAIL, ResponseSource.EMAIL, ResponseSource.API)),
            )
        )
    for ticket in tickets:
        if ticket.resolved_at is None or rng.random() > 0.35:
            continue
        day = ticket.resolved_at.date()
        bad = trouble is not None and trouble[0] <= day <= trouble[1]
        at = min(ticket.resolved_at + dt.timedelta(hours=rng.randint(1, 30)), now)
        contact_id, _email = rng.choice(acc.contacts)
        if rng.random() < 0.7:
            score = rng.choices(
                (1, 2, 3, 4, 5), weights=(15, 25, 30, 20, 10) if bad else (2, 4, 10, 34, 50)
            )[0]
            out.append(
                SurveyResponse(account_id=acc.obj.pk, contact_id=contact_id, kind=SurveyKind.CSAT,
                               score=score, comment=rng.choice(_CSAT_COMMENTS[score >= 4]),
                               lifecycle_stage=_stage_on(acc, day, today), responded_at=at,
                               source=ResponseSource.API)
            )  # fmt: skip
        else:
            score = rng.choices(
                range(1, 8),
                weights=(12, 18, 22, 20, 14, 9, 5) if bad else (1, 2, 5, 12, 25, 30, 25),
            )[0]
            out.append(
                SurveyResponse(account_id=acc.obj.pk, contact_id=contact_id, kind=SurveyKind.CES,
                               score=score, comment="", lifecycle_stage=_stage_on(acc, day, today),
                               responded_at=at, source=ResponseSource.API)
            )  # fmt: skip
    return out
