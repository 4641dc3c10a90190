"""The metric engine (SPEC §3): per-account daily figures, MRR movements and snapshots.

Everything is computed set-based in the database and stored, so history and trends
survive: `AccountDailyMetrics` (one wide row per account per day), `MrrMovement` (one row
per account per month that moved) and `MetricSnapshot` (portfolio, segment and feature
figures for day/week/month/quarter/year periods, keyed as in `metrics.definitions`).

Definitions settled here (the tests pin each one with hand-computed figures):

- MRR of an account on day d = Σ Subscription.mrr over its lines that are not trials and
  run on d: start_date ≤ d ≤ end_date (end_date NULL = open-ended). A cancelled or expired
  line counts until its end date, since cancelling sets the end date to the effective day.
  A renewal written as a new line starting the day after the old one ends neither gaps nor
  double counts; one written to start *on* the old end date takes over that day (the old
  line of the same product stops the day before). Money is summed as stored, whatever the
  account's currency (multi-currency portfolios are not converted).
- A period runs from ps to pe; opening MRR is the MRR on the day before ps (the last day of
  the previous period), closing MRR is the MRR on pe. Per account: new = opening 0, closing
  > 0, never paid before ps; reactivation = opening 0, closing > 0, paid before; churned =
  opening > 0, closing 0; expansion / contraction = the difference when both are > 0. So
  opening + new + expansion + reactivation − contraction − churned = closing, exactly.
- Customers = accounts with MRR > 0. S = customers at opening, E = at closing, N = accounts
  that were not customers at opening and are at closing; lost = S accounts with closing 0.
  Customer churn rate = lost ÷ S; CRR = (E − N) ÷ S, so churn + CRR = 100 %.
- NRR, GRR, gross and net MRR churn divide by opening MRR (existing customers only: new and
  reactivated MRR never enter NRR or GRR); GRR is capped at 100.
- ARPA = closing MRR ÷ E; ARPU = closing MRR ÷ MAU on pe. LTV = ARPA × average lifetime in
  months of the accounts that churned by pe (customer_since → churned_at, 30.4375-day
  months); with no churned account yet, ARPA ÷ monthly customer churn rate (the period's
  rate scaled linearly to 30.4375 days); neither known → empty.
- NPS = % promoters (9–10) − % detractors (0–6); CSAT = % of 4–5; CES = mean (1–7), over
  the responses given in the period. Tickets: opened in the period; first response hours
  over tickets opened in the period that got one; resolution hours over tickets resolved
  in the period.
- DAU = mean daily active users over the period (user-days ÷ days); WAU and MAU = distinct
  users in the 7 / 30 days ending pe; stickiness = DAU ÷ MAU. Logins without action =
  users active in the period with no core event. Feature adoption = users of a core
  feature ÷ active users in the period (per feature under segment "feature:<key>",
  measured from the release date when it falls in the period). Product adoption = end
  users first seen in the period who made a core event by pe ÷ those users.
- Trial conversion: cohort = trial lines ending in the period; converted = the account has
  a paid line starting between the trial's start and pe. Win-back rate = accounts that
  were former customers at opening (MRR 0, paid before) and pay at closing ÷ such accounts.

Segments: "" (portfolio), "tier:<v>", "touch_model:<v>", "business_model:<v>" from the
accounts' current fields (a tier change re-labels the account's history on recalculation).
The current period of each kind is stored "to date" under its last day and refreshed by
every recalculation that touches it.

How it runs: the accounts are cut into slices of consecutive ids. Each slice writes its
own daily rows and movements and returns its partial sums per period and segment; every
stored figure is a row of one account or a sum over accounts (end users belong to one
account, so even distinct users add up), so the coordinator adds the slices' sums and
writes the snapshots. On PostgreSQL, METRICS_ENGINE_WORKERS slices run side by side on
their own connections; one slice's working set stays small enough to be sorted and hashed
in memory. A run holds a session-level advisory lock for its whole length, so runs never
interleave; inside a caller's open transaction (tests, an import) it runs in that
transaction, one slice after the other, since other connections could not see its rows.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account
from csplatform.signals import announce_on_commit
from csplatform.sql import Dialect, jit_off
from metrics.choices import Period
from metrics.models import (
    AccountChange,
    AccountDailyMetrics,
    Feature,
    MetricSnapshot,
    MrrMovement,
)
from metrics.registry import snapshot_sources
from metrics.services.engine_sql import (
    FACT_COLUMNS,
    SCOPE,
    SCOPE_IDS,
    account_daily_sql,
    feature_adoption_sql,
    movements_insert_sql,
    period_facts_sql,
)
from metrics.services.ingestion import rollups_fold
from metrics.signals import account_figures_refreshed, metrics_recalculated

# One key for every recalculation: two runs over overlapping ranges serialize instead of
# interleaving their deletes and inserts.
LOCK_KEY = zlib.crc32(b"metrics.engine.recalculate")
# Days per daily-rows statement: bounds the working set of one statement in long backfills;
# each chunk also reads the 29 days before it (MAU), so short chunks repeat that work.
CHUNK_DAYS = 92
# Accounts per slice: the unit of work of one connection. Every sort and hash of a
# statement grows with it, and so does the memory of each connection: at 1,250 accounts ×
# 92 days a backend peaks near 100 MB.
SLICE_ACCOUNTS = 1250
# Periods per facts statement; longer backfills are cut by calendar year.
SNAPSHOT_BATCH = 500
# Per sort or hash node of one statement (PostgreSQL), for the engine's transactions only.
WORK_MEM = "32MB"
SEGMENT_FIELDS = ("tier", "touch_model", "business_model")
DAYS_PER_MONTH = Decimal("30.4375")
HUNDRED = Decimal(100)
FOUR = Decimal("0.0001")

Progress = Callable[[int, int], None]
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class RecalcResult:
    start: dt.date
    end: dt.date
    days: int = 0
    account_rows: int = 0
    snapshot_rows: int = 0
    movement_rows: int = 0
    skipped: bool = False
    slices: int = 0
    workers: int = 1
    chunks: list[tuple[dt.date, dt.date]] = field(default_factory=list)
    # Seconds per phase, summed over the slices (so over workers when they run side by
    # side), and the wall time of writing the snapshots; for benchmarks and logs.
    seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, phase: str, started: float) -> None:
        self.add_time(phase, time.perf_counter() - started)

    def add_time(self, phase: str, seconds: float) -> None:
        self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds


@dataclass(frozen=True)
class PeriodSpan:
    kind: str
    date: dt.date  # last day of the period: the snapshot's date
    start: dt.date
    end: dt.date  # last day computed (≤ date; earlier for the current period, "to date")


@dataclass(frozen=True)
class Slice:
    """Accounts with ids lo…hi (inclusive)."""

    lo: int
    hi: int
    sql = SCOPE

    @property
    def params(self) -> dict[str, Any]:
        return {"lo": self.lo, "hi": self.hi}

    def q(self, field: str = "account_id") -> Q:
        return Q(**{f"{field}__gte": self.lo, f"{field}__lte": self.hi})


@dataclass(frozen=True)
class AccountSet:
    """Any accounts, by id (PostgreSQL): those whose signals just changed."""

    ids: tuple[int, ...]
    sql = SCOPE_IDS

    @property
    def params(self) -> dict[str, Any]:
        return {"ids": list(self.ids)}

    def q(self, field: str = "account_id") -> Q:
        return Q(**{f"{field}__in": self.ids})


Scope = Slice | AccountSet


def _dialect() -> Dialect:
    return Dialect(connection.vendor)


def period_bounds(kind: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of the period of `kind` that contains `day` (ISO weeks)."""
    if kind == Period.DAY:
        return day, day
    if kind == Period.WEEK:
        first = day - dt.timedelta(days=day.weekday())
        return first, first + dt.timedelta(days=6)
    if kind == Period.MONTH:
        first = day.replace(day=1)
    elif kind == Period.QUARTER:
        first = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    else:
        first = day.replace(month=1, day=1)
    months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[Period(kind)]
    y, m = divmod(first.month - 1 + months, 12)
    return first, dt.date(first.year + y, m + 1, 1) - dt.timedelta(days=1)


def periods_touching(*, start: dt.date, end: dt.date, today: dt.date) -> list[PeriodSpan]:
    """Every period of every kind that overlaps [start, end], computed up to today at most."""
    out: list[PeriodSpan] = []
    for kind in Period.values:
        day = start
        while day <= end:
            first, last = period_bounds(kind, day)
            upto = min(last, max(end, min(today, last)))
            out.append(PeriodSpan(kind, last, first, upto))
            day = last + dt.timedelta(days=1)
    return out


def chunk_ranges(start: dt.date, end: dt.date) -> Iterator[tuple[dt.date, dt.date]]:
    day = start
    while day <= end:
        last = min(end, day + dt.timedelta(days=CHUNK_DAYS - 1))
        yield day, last
        day = last + dt.timedelta(days=1)


def account_slices(size: int | None = None) -> list[Slice]:
    """Consecutive id ranges of about `size` (SLICE_ACCOUNTS) accounts each, covering all."""
    size = size or SLICE_ACCOUNTS
    ids = list(Account.objects.order_by("pk").values_list("pk", flat=True))
    return [Slice(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def _span_batches(spans: list[PeriodSpan]) -> list[list[PeriodSpan]]:
    """The periods in batches of one calendar year each when there are many of them."""
    if len(spans) <= SNAPSHOT_BATCH:
        return [spans] if spans else []
    years: dict[int, list[PeriodSpan]] = {}
    for span in spans:
        years.setdefault(span.date.year, []).append(span)
    return [years[y] for y in sorted(years)]


def _tune() -> None:
    """Settings for the engine's own transactions (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return
    jit_off()
    with connection.cursor() as cursor:
        # The sorts and hashes of one slice fit in memory instead of spilling to disk.
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")


@contextmanager
def _engine_lock(*, wait: bool) -> Iterator[bool]:
    """Hold the engine's session-level advisory lock (PostgreSQL) for a whole run.

    Session-level, not per transaction: the run is many transactions on several
    connections. Should the process die, the server drops the lock with the connection.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
            got = True
        else:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            row = cursor.fetchone()
            got = bool(row and row[0])
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _in_own_connection(fn: Callable[[T], R], item: T) -> R:
    try:
        return fn(item)
    finally:
        # Each worker thread has its own connection; it must not outlive the job.
        connection.close()


def _run_slices(fn: Callable[[T], R], items: Sequence[T], *, workers: int) -> Iterator[R]:
    """fn(item) for every item, side by side on `workers` connections where that is safe."""
    if workers <= 1 or len(items) <= 1 or _must_stay_on_this_connection():
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="metrics-engine") as pool:
        futures = [pool.submit(_in_own_connection, fn, item) for item in items]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def _must_stay_on_this_connection() -> bool:
    # Other connections cannot see the rows of an open transaction, and SQLite has a
    # single writer anyway.
    return connection.vendor != "postgresql" or connection.in_atomic_block


def _utc(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _account_daily_rebuild(scope: Scope, *, start: dt.date, end: dt.date) -> int:
    """Replace the scope's AccountDailyMetrics for [start, end] (one statement)."""
    params: dict[str, Any] = {
        **scope.params,
        "start": start,
        "end": end,
        "start_dt": _utc(start),
        "start_30_dt": _utc(start - dt.timedelta(days=29)),
        "start_365_dt": _utc(start - dt.timedelta(days=364)),
        "end_next_dt": _utc(end + dt.timedelta(days=1)),
        "now": timezone.now(),
    }
    # Replacing the range costs a third of updating it row by row (ON CONFLICT), and the
    # transaction keeps readers from ever seeing it half written.
    AccountDailyMetrics.objects.filter(scope.q(), date__gte=start, date__lte=end).delete()
    with connection.cursor() as cursor:
        cursor.execute(account_daily_sql(_dialect(), scope.sql), params)
        if cursor.rowcount >= 0:
            return cursor.rowcount
    # SQLite reports no row count for an INSERT that starts with WITH: one row per account-day.
    return Account.objects.filter(scope.q("pk")).count() * ((end - start).days + 1)


def _month_spans(start_month: dt.date, end_month: dt.date) -> list[PeriodSpan]:
    spans = []
    day = start_month.replace(day=1)
    while day <= end_month:
        first, last = period_bounds(Period.MONTH, day)
        spans.append(PeriodSpan(Period.MONTH, last, first, last))
        day = last + dt.timedelta(days=1)
    return spans


def _period_params(spans: list[PeriodSpan]) -> dict[str, Any]:
    params: dict[str, Any] = {
        "cal_start": min(p.start for p in spans),
        "cal_end": max(p.end for p in spans),
    }
    for i, p in enumerate(spans):
        params[f"p{i}_kind"] = p.kind
        params[f"p{i}_pdate"] = p.date
        params[f"p{i}_ps"] = p.start
        params[f"p{i}_pe"] = p.end
        params[f"p{i}_open_d"] = p.start - dt.timedelta(days=1)
        params[f"p{i}_pe_next"] = p.end + dt.timedelta(days=1)
        params[f"p{i}_m_start"] = p.end - dt.timedelta(days=29)
    return params


def _movements_rebuild(sl: Slice, *, months: list[PeriodSpan]) -> int:
    """Replace the slice's MrrMovement rows of the given months."""
    MrrMovement.objects.filter(
        account_id__gte=sl.lo,
        account_id__lte=sl.hi,
        month__gte=months[0].start,
        month__lte=months[-1].start,
    ).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            movements_insert_sql(_dialect(), len(months)), {**_period_params(months), **sl.params}
        )
        if cursor.rowcount >= 0:
            return cursor.rowcount
    # SQLite reports no row count for an INSERT that starts with WITH.
    return MrrMovement.objects.filter(
        account_id__gte=sl.lo,
        account_id__lte=sl.hi,
        month__gte=months[0].start,
        month__lte=months[-1].start,
    ).count()


def mrr_movements_rebuild(*, start_month: dt.date, end_month: dt.date) -> int:
    """Replace the MrrMovement rows of the months from start_month to end_month (inclusive).

    The month's opening MRR is the MRR on the last day of the previous month, its closing
    MRR the MRR on its last day; accounts whose MRR did not move get no row.
    """
    months = _month_spans(start_month, end_month)
    if not months:
        return 0

    def run(sl: Slice) -> int:
        with transaction.atomic():
            _tune()
            return _movements_rebuild(sl, months=months)

    return sum(_run_slices(run, account_slices(), workers=settings.METRICS_ENGINE_WORKERS))


def _ratio(num: Decimal, den: Decimal, scale: Decimal = HUNDRED) -> Decimal | None:
    if not den:
        return None
    return (num * scale / den).quantize(FOUR, rounding=ROUND_HALF_UP)


def _dec(value: Any) -> Decimal:
    if value is None:
        return Decimal(0)
    return value if isinstance(value, Decimal) else Decimal(str(value))


def snapshot_values(f: dict[str, Decimal], *, days: int) -> dict[str, tuple[Any, Any, Any]]:
    """metric key → (value, numerator, denominator) from one group's summed facts."""
    opening, closing = f["opening"], f["closing"]
    s, e, n = f["s_customers"], f["e_customers"], f["n_customers"]
    contraction, churned = f["contraction"], f["churned"]
    expansion, reactivation = f["expansion"], f["reactivation"]
    churn_rate = _ratio(f["lost"], s)
    arpa = _ratio(closing, e, Decimal(1))
    ltv = None
    if arpa is not None and f["lifetime_n"]:
        months = f["lifetime_days"] / f["lifetime_n"] / DAYS_PER_MONTH
        ltv = (arpa * months).quantize(FOUR, rounding=ROUND_HALF_UP)
    elif arpa is not None and churn_rate:
        monthly = churn_rate * DAYS_PER_MONTH / Decimal(days)
        ltv = (arpa * HUNDRED / monthly).quantize(FOUR, rounding=ROUND_HALF_UP)
    grr = _ratio(opening - contraction - churned, opening)
    dau = (f["user_days"] / Decimal(days)).quantize(FOUR, rounding=ROUND_HALF_UP)
    nps = None
    if f["nps_n"]:
        nps = _ratio(f["promoters"] - f["detractors"], f["nps_n"])
    ces = _ratio(f["ces_sum"], f["ces_n"], Decimal(1))
    return {
        "mrr": (closing, None, None),
        "arr": (closing * 12, None, None),
        "mrr_new": (f["new"], None, None),
        "mrr_expansion": (expansion, None, None),
        "mrr_contraction": (contraction, None, None),
        "mrr_churned": (churned, None, None),
        "mrr_reactivation": (reactivation, None, None),
        "customers": (e, None, None),
        "customer_churn_rate": (churn_rate, f["lost"], s),
        "gross_mrr_churn": (_ratio(contraction + churned, opening), contraction + churned, opening),
        "net_mrr_churn": (
            _ratio(contraction + churned - expansion - reactivation, opening),
            contraction + churned - expansion - reactivation,
            opening,
        ),
        "nrr": (
            _ratio(opening + expansion - contraction - churned, opening),
            opening + expansion - contraction - churned,
            opening,
        ),
        "grr": (
            min(grr, HUNDRED) if grr is not None else None,
            opening - contraction - churned,
            opening,
        ),
        "crr": (_ratio(e - n, s), e - n, s),
        "arpa": (arpa, closing, e),
        "arpu": (_ratio(closing, f["mau"], Decimal(1)), closing, f["mau"]),
        "ltv": (ltv, None, None),
        "nps": (nps, f["promoters"] - f["detractors"], f["nps_n"]),
        "csat": (_ratio(f["satisfied"], f["csat_n"]), f["satisfied"], f["csat_n"]),
        "ces": (ces, f["ces_sum"], f["ces_n"]),
        "dau": (dau, f["user_days"], Decimal(days)),
        "wau": (f["wau"], None, None),
        "mau": (f["mau"], None, None),
        "stickiness": (_ratio(dau, f["mau"]), dau, f["mau"]),
        "logins_without_action": (f["logins_without_action"], None, None),
        "feature_adoption": (
            _ratio(f["core_users"], f["active_users"]),
            f["core_users"],
            f["active_users"],
        ),
        "product_adoption": (
            _ratio(f["new_users_active"], f["new_users"]),
            f["new_users_active"],
            f["new_users"],
        ),
        "tickets": (f["tickets"], None, None),
        "ticket_first_response_hours": (
            _ratio(f["frt_sum"], f["frt_n"], Decimal(1)),
            f["frt_sum"],
            f["frt_n"],
        ),
        "ticket_resolution_hours": (
            _ratio(f["res_sum"], f["res_n"], Decimal(1)),
            f["res_sum"],
            f["res_n"],
        ),
        "trial_conversion": (
            _ratio(f["trials_converted"], f["trials"]),
            f["trials_converted"],
            f["trials"],
        ),
        "win_back_rate": (
            _ratio(f["won_back"], f["winback_pool"]),
            f["won_back"],
            f["winback_pool"],
        ),
    }


def _q(value: Any) -> Decimal | None:
    if value is None:
        return None
    return _dec(value).quantize(FOUR, rounding=ROUND_HALF_UP)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


# Partial sums of one slice: facts per (kind, period start, tier, touch, business), and
# feature adoption counts per (kind, period start, feature id).
FactKey = tuple[str, dt.date, str, str, str]
FeatureKey = tuple[str, dt.date, int]


@dataclass
class SliceFacts:
    facts: dict[FactKey, list[Decimal]] = field(default_factory=dict)
    feature_users: dict[FeatureKey, int] = field(default_factory=dict)
    feature_active: dict[FeatureKey, int] = field(default_factory=dict)

    def merge(self, other: SliceFacts) -> None:
        for key, values in other.facts.items():
            acc = self.facts.get(key)
            if acc is None:
                self.facts[key] = list(values)
            else:
                for i, v in enumerate(values):
                    acc[i] += v
        for mine, theirs in (
            (self.feature_users, other.feature_users),
            (self.feature_active, other.feature_active),
        ):
            for fkey, n in theirs.items():
                mine[fkey] = mine.get(fkey, 0) + n


def _slice_facts(sl: Slice, *, batch: list[PeriodSpan]) -> SliceFacts:
    """The slice's additive facts for the periods of `batch` (two statements)."""
    d = _dialect()
    wanted = {(p.kind, p.start) for p in batch}
    out = SliceFacts()
    params = {**_period_params(batch), **sl.params}
    with connection.cursor() as cursor:
        cursor.execute(period_facts_sql(d, len(batch)), params)
        for kind, _pdate, ps, tier, touch, business, *values in cursor.fetchall():
            start = _as_date(ps)
            if (kind, start) not in wanted:
                continue
            key = (kind, start, tier, touch, business)
            decimals = [_dec(v) for v in values]
            acc = out.facts.get(key)
            if acc is None:
                out.facts[key] = decimals
            else:
                for i, v in enumerate(decimals):
                    acc[i] += v
        cursor.execute(feature_adoption_sql(d, len(batch)), params)
        for what, kind, ps, fid, n in cursor.fetchall():
            fkey = (kind, _as_date(ps), int(fid))
            target = out.feature_users if what == "users" else out.feature_active
            target[fkey] = target.get(fkey, 0) + int(n)
    return out


def _snapshot_rows(
    spans: list[PeriodSpan], facts: SliceFacts, *, now: dt.datetime
) -> list[MetricSnapshot]:
    """MetricSnapshot rows of the periods from the summed facts of every slice."""
    by_start = {(p.kind, p.start): p for p in spans}
    by_date = {(p.kind, p.date): p for p in spans}
    groups: dict[tuple[str, dt.date, str], dict[str, Decimal]] = {}
    for (kind, start, tier, touch, business), values in facts.facts.items():
        found = by_start.get((kind, start))
        if found is None:  # a period of another batch
            continue
        keys = ("", f"tier:{tier}", f"touch_model:{touch}", f"business_model:{business}")
        for segment in keys:
            acc = groups.setdefault(
                (kind, found.date, segment), dict.fromkeys(FACT_COLUMNS, Decimal(0))
            )
            for name, value in zip(FACT_COLUMNS, values, strict=True):
                acc[name] += value
    out: list[MetricSnapshot] = []
    for (kind, pdate, segment), f in groups.items():
        span = by_date[(kind, pdate)]
        days = (span.end - span.start).days + 1
        for metric, (value, num, den) in snapshot_values(f, days=days).items():
            out.append(
                MetricSnapshot(
                    date=pdate,
                    period=kind,
                    metric=metric,
                    segment=segment,
                    value=_q(value),
                    numerator=_q(num),
                    denominator=_q(den),
                    computed_at=now,
                )
            )
    active = {(k, d): f["active_users"] for (k, d, seg), f in groups.items() if seg == ""}
    out.extend(_feature_snapshots(spans, facts, active=active, now=now))
    return out


def _feature_snapshots(
    spans: list[PeriodSpan],
    facts: SliceFacts,
    *,
    active: dict[tuple[str, dt.date], Decimal],
    now: dt.datetime,
) -> list[MetricSnapshot]:
    """Adoption of each feature (portfolio): its users ÷ active users, since release.

    A feature released before the period shares the period's active users, already
    counted; only periods cut short by a release have their own count of active users.
    """
    out = []
    for fid, key, released in Feature.objects.values_list("id", "key", "release_date"):
        for p in spans:
            if released and released > p.end:
                continue
            users = Decimal(facts.feature_users.get((p.kind, p.start, fid), 0))
            if released and released > p.start:
                den = Decimal(facts.feature_active.get((p.kind, p.start, fid), 0))
            else:
                den = active.get((p.kind, p.date), Decimal(0))
            out.append(
                MetricSnapshot(
                    date=p.date,
                    period=p.kind,
                    metric="feature_adoption",
                    segment=f"feature:{key}"[:64],
                    value=_ratio(users, den),
                    numerator=users,
                    denominator=den,
                    computed_at=now,
                )
            )
    return out


def _snapshots_replace(spans: list[PeriodSpan], rows: Iterable[MetricSnapshot]) -> int:
    """Replace every snapshot of the periods (all metrics, segments and features)."""
    out = list(rows)
    with transaction.atomic():
        for kind in {p.kind for p in spans}:
            MetricSnapshot.objects.filter(
                period=kind, date__in=[p.date for p in spans if p.kind == kind]
            ).delete()
        MetricSnapshot.objects.bulk_create(out, batch_size=2000)
    return len(out)


@dataclass
class _SliceResult:
    account_rows: int = 0
    movement_rows: int = 0
    facts: SliceFacts = field(default_factory=SliceFacts)
    seconds: dict[str, float] = field(default_factory=dict)


def _slice_run(
    sl: Slice,
    *,
    chunks: list[tuple[dt.date, dt.date]],
    months: list[PeriodSpan],
    batches: list[list[PeriodSpan]],
) -> _SliceResult:
    """Everything one slice of accounts contributes to a recalculation."""
    result = _SliceResult()

    def timed(phase: str, started: float) -> None:
        result.seconds[phase] = result.seconds.get(phase, 0.0) + time.perf_counter() - started

    for first, last in chunks:
        with transaction.atomic():
            _tune()
            started = time.perf_counter()
            result.account_rows += _account_daily_rebuild(sl, start=first, end=last)
            timed("accounts", started)
    with transaction.atomic():
        _tune()
        started = time.perf_counter()
        result.movement_rows += _movements_rebuild(sl, months=months)
        timed("movements", started)
    # Facts come after the slice's daily rows, which they read (WAU and MAU on the last
    # day of each period).
    for batch in batches:
        with transaction.atomic():
            _tune()
            started = time.perf_counter()
            result.facts.merge(_slice_facts(sl, batch=batch))
            timed("facts", started)
    return result


def metrics_recalculate(
    *,
    start: dt.date,
    end: dt.date,
    progress: Progress | None = None,
    wait: bool = True,
    today: dt.date | None = None,
    workers: int | None = None,
) -> RecalcResult:
    """Recalculate every stored figure for the days start…end (inclusive).

    Idempotent: each slice replaces its own rows and the snapshots of the periods are
    replaced as a whole. Runs serialize on an advisory lock; with wait=False a run that
    finds the lock taken skips and says so (`skipped`), which is what the frequent "today"
    task wants while a nightly run or a backfill is busy.
    """
    if end < start:
        raise ValueError("end before start")
    today = today or timezone.now().date()
    workers = workers or settings.METRICS_ENGINE_WORKERS
    result = RecalcResult(start=start, end=end)
    chunks = list(chunk_ranges(start, end))
    spans = periods_touching(start=start, end=end, today=today)
    months = _month_spans(start, end)
    batches = _span_batches(spans)
    # Usage the tracking API stored in the last seconds counts too.
    rollups_fold()
    with _engine_lock(wait=wait) as got:
        if not got:
            result.skipped = True
            return result
        slices = account_slices()
        result.slices = len(slices)
        result.workers = 1 if _must_stay_on_this_connection() else min(workers, len(slices))
        total = len(slices) + 1
        facts = SliceFacts()

        def run(sl: Slice) -> _SliceResult:
            return _slice_run(sl, chunks=chunks, months=months, batches=batches)

        for n, part in enumerate(_run_slices(run, slices, workers=workers), start=1):
            result.account_rows += part.account_rows
            result.movement_rows += part.movement_rows
            facts.merge(part.facts)
            for phase, seconds in part.seconds.items():
                result.add_time(phase, seconds)
            if progress:
                progress(n, total)
        started = time.perf_counter()
        now = timezone.now()
        rows: list[MetricSnapshot] = []
        for batch in batches:
            rows.extend(_snapshot_rows(batch, facts, now=now))
            for source in snapshot_sources():
                for row in source(batch):
                    row.computed_at = now
                    rows.append(row)
        result.snapshot_rows = _snapshots_replace(spans, rows)
        result.timed("snapshots", started)
        if progress:
            progress(total, total)
    result.days = (end - start).days + 1
    result.chunks = chunks
    announce_on_commit(metrics_recalculated, sender=RecalcResult, start=start, end=end)
    return result


# Between the scheduled runs --------------------------------------------------------------


def account_figures_refresh(*, account_ids: Sequence[int], day: dt.date) -> int:
    """Rebuild the daily figures of these accounts for `day` (after new signals).

    Returns the rows written, or -1 when a full recalculation holds the engine (it writes
    the same rows; the caller tries again later).
    """
    ids = tuple(sorted(set(account_ids)))
    if not ids:
        return 0
    scopes: list[Scope] = (
        [AccountSet(ids)] if connection.vendor == "postgresql" else [Slice(i, i) for i in ids]
    )
    with _engine_lock(wait=False) as got:
        if not got:
            return -1
        with transaction.atomic():
            _tune()
            return sum(_account_daily_rebuild(s, start=day, end=day) for s in scopes)


def _changes_claim(*, cutoff: dt.datetime, limit: int) -> list[tuple[int, dt.datetime]]:
    """Take queued accounts changed before `cutoff` off the queue, in their own short
    transaction: ingestion adding one of them meanwhile waits only for this commit."""
    with transaction.atomic():
        if connection.vendor != "postgresql":
            rows = list(
                AccountChange.objects.filter(since__lte=cutoff)
                .order_by("since")
                .values_list("account_id", "since")[:limit]
            )
            AccountChange.objects.filter(account_id__in=[r[0] for r in rows]).delete()
            return rows
        with connection.cursor() as cursor:
            # SKIP LOCKED: two runs at once take disjoint accounts.
            cursor.execute(
                """
                DELETE FROM metrics_accountchange WHERE account_id IN (
                    SELECT account_id FROM metrics_accountchange WHERE since <= %s
                    ORDER BY since LIMIT %s FOR UPDATE SKIP LOCKED
                ) RETURNING account_id, since
                """,
                [cutoff, limit],
            )
            return [(int(a), since) for a, since in cursor.fetchall()]


def account_changes_queue(*, account_ids: Iterable[int], now: dt.datetime | None = None) -> None:
    """Queue accounts whose signals changed outside ingestion (tickets, survey answers)."""
    since = now or timezone.now()
    _changes_requeue([(a, since) for a in sorted(set(account_ids))])


def _feedback_recorded(sender: Any, *, account_ids: list[int], **kwargs: Any) -> None:
    """Receiver of metrics.services.feedback's tickets/survey answers signals."""
    account_changes_queue(account_ids=account_ids)


def _changes_requeue(rows: list[tuple[int, dt.datetime]]) -> None:
    AccountChange.objects.bulk_create(
        [AccountChange(account_id=a, since=since) for a, since in rows], ignore_conflicts=True
    )


def account_figures_refresh_changed(
    *, now: dt.datetime | None = None, limit: int = 5000
) -> list[int]:
    """Refresh today's figures of the accounts queued in AccountChange for at least
    ACCOUNT_REFRESH_DEBOUNCE_SECONDS (a burst of events costs one refresh), then announce
    them with `account_figures_refreshed`. Returns the accounts refreshed.

    Safe to run twice at once: each run claims its own rows. An account that changes again
    after the claim is queued anew; when a full recalculation holds the engine, or the
    refresh fails, the claimed accounts go back on the queue.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.ACCOUNT_REFRESH_DEBOUNCE_SECONDS)
    claimed = _changes_claim(cutoff=cutoff, limit=limit)
    if not claimed:
        return []
    ids = [a for a, _since in claimed]
    try:
        written = account_figures_refresh(account_ids=ids, day=now.date())
    except Exception:
        _changes_requeue(claimed)
        raise
    if written < 0:
        _changes_requeue(claimed)
        return []
    announce_on_commit(
        account_figures_refreshed, sender=AccountChange, account_ids=ids, day=now.date()
    )
    return ids
