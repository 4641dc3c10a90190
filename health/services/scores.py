"""Writing scores: the current score per account, the daily history, and what changed.

`health_recalculate` scores a set of accounts on one day with one statement per published
scorecard version into a temporary table, then writes from it with two set-based upserts:
the day's history row and, unless a later day was scored already, the current score (the
previous day's details kept for "what changed since yesterday"). An active override (one
that existed that day and had not expired) replaces the computed score; the computed one is
kept beside it. Colour changes go on the accounts' timelines and, with every score that
moved, to `health.signals.health_changed` after commit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import ActivityKind
from accounts.models import Activity
from csplatform.signals import announce_on_commit
from csplatform.sql import dialect, jit_off
from health.choices import Color
from health.models import ScorecardVersion
from health.services.scoring import (
    scores_select,
    selection,
    targets_for_day,
    targets_for_pairs,
    version_spec,
)
from health.signals import health_backfilled, health_changed

SOURCE = "health"
CALC_TABLE = "health_calc"


@dataclass(frozen=True)
class HealthChange:
    """One account whose effective score or colour moved (old values None: first score)."""

    account_id: int
    old_score: Decimal | None
    new_score: Decimal | None
    old_color: str
    new_color: str

    @property
    def color_changed(self) -> bool:
        return bool(self.old_color) and self.old_color != self.new_color


@dataclass
class HealthRun:
    as_of: date
    scored: int = 0
    changes: list[HealthChange] = field(default_factory=list)
    seconds: float = 0.0


def _calc_table_create() -> None:
    jit_off()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {CALC_TABLE} (account_id bigint, as_of date,"
                " version_id bigint, score numeric(5, 2), color varchar(6), details jsonb,"
                " groups jsonb) ON COMMIT DROP"
            )
        else:
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {CALC_TABLE} (account_id integer, as_of date,"
                " version_id integer, score decimal, color text, details text, groups text)"
            )
        cursor.execute(f"DELETE FROM {CALC_TABLE}")


def _calc_table_drop() -> None:
    if connection.vendor != "postgresql":  # PostgreSQL drops it at commit
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {CALC_TABLE}")


def _calc_fill(
    *,
    as_of: date | None = None,
    account_ids: Sequence[int] | None = None,
    pairs: Sequence[tuple[int, date]] | None = None,
    version: ScorecardVersion | None = None,
    historical_only: bool = False,
) -> int:
    """Score into the temporary table; returns the rows written.

    Either the accounts each published version selects on `as_of` (optionally only some),
    or explicit (account, day) `pairs` scored by one given `version`.
    """
    d = dialect()
    jobs: list[tuple[ScorecardVersion, Any]] = []
    if pairs is not None:
        assert version is not None
        jobs.append((version, lambda params: targets_for_pairs(pairs, params)))
    else:
        assert as_of is not None
        sel = selection()
        for scorecard_id, published in sel.versions.items():
            jobs.append(
                (
                    published,
                    lambda params, sc=scorecard_id: targets_for_day(
                        sel, sc, as_of=as_of, account_ids=account_ids, params=params
                    ),
                )
            )
    written = 0
    for scoring_version, targets_of in jobs:
        spec = version_spec(scoring_version)
        params: dict[str, Any] = {"version_id": scoring_version.pk}
        select = scores_select(d, spec, targets_of(params), params, historical_only=historical_only)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {CALC_TABLE} (account_id, as_of, version_id, score, color,"
                f" details, groups) SELECT s.account_id, s.as_of, %(version_id)s, s.score,"
                f" s.color, s.details, s.groups FROM ({select}) s",
                params,
            )
            written += max(cursor.rowcount, 0)
    return written


# The override in force for a calc row: it existed that day and had not ended or expired.
_OVERRIDE_JOIN = """
    LEFT JOIN health_healthoverride o ON o.account_id = c.account_id
      AND o.expires_on >= c.as_of AND o.created_at < {next_day}
      AND (o.ended_at IS NULL OR o.ended_at >= {next_day})
    """
_EFFECTIVE = """
    COALESCE(o.score, c.score) AS eff_score,
    CASE WHEN o.score IS NULL THEN c.color
         WHEN o.score <= v.red_max THEN 'red'
         WHEN o.score <= v.yellow_max THEN 'yellow' ELSE 'green' END AS eff_color,
    CASE WHEN o.score IS NULL THEN 0 ELSE 1 END AS eff_overridden
"""


def _effective_from() -> str:
    d = dialect()
    next_day = d.day_start(d.add("c.as_of", 1))
    return (
        f" FROM {CALC_TABLE} c JOIN health_scorecardversion v ON v.id = c.version_id"
        + _OVERRIDE_JOIN.format(next_day=next_day)
    )


def _changes(*, live: bool) -> list[HealthChange]:
    """Accounts whose current score this run will replace with a different one."""
    if not live:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT e.account_id, h.score, COALESCE(h.color, ''), e.eff_score, e.eff_color
            FROM (SELECT c.account_id, c.as_of, {_EFFECTIVE} {_effective_from()}) e
            LEFT JOIN health_healthscore h ON h.account_id = e.account_id
            WHERE h.account_id IS NULL OR (e.as_of >= h.as_of AND (
                COALESCE(h.color, '') <> e.eff_color
                OR COALESCE(h.score, -1) <> COALESCE(e.eff_score, -1)))
            """
        )
        return [
            HealthChange(
                account_id=int(a),
                old_score=_dec(old),
                new_score=_dec(new),
                old_color=old_color or "",
                new_color=new_color or "",
            )
            for a, old, old_color, new, new_color in cursor.fetchall()
        ]


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(Decimal("0.01"))


def _write(*, now: Any, current: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO health_healthscorehistory
                (account_id, date, score, computed_score, color, version_id, groups)
            SELECT c.account_id, c.as_of, e.eff_score, c.score, e.eff_color, c.version_id,
                c.groups
            FROM {CALC_TABLE} c JOIN (
                SELECT c.account_id, {_EFFECTIVE} {_effective_from()}
            ) e ON e.account_id = c.account_id
            WHERE 1 = 1
            ON CONFLICT (account_id, date) DO UPDATE SET
                score = excluded.score, computed_score = excluded.computed_score,
                color = excluded.color, version_id = excluded.version_id,
                groups = excluded.groups
            """
        )
        if not current:
            return
        empty = "'{}'" if connection.vendor != "postgresql" else "CAST('{}' AS jsonb)"
        cursor.execute(
            f"""
            INSERT INTO health_healthscore
                (account_id, version_id, as_of, computed_score, computed_color, score, color,
                 overridden, details, previous_as_of, previous_details, previous_score,
                 previous_color, computed_at)
            SELECT c.account_id, c.version_id, c.as_of, c.score, c.color, e.eff_score,
                e.eff_color, e.eff_overridden = 1, c.details, NULL, {empty}, NULL, '', %(now)s
            FROM {CALC_TABLE} c JOIN (
                SELECT c.account_id, {_EFFECTIVE} {_effective_from()}
            ) e ON e.account_id = c.account_id
            WHERE 1 = 1
            ON CONFLICT (account_id) DO UPDATE SET
                previous_as_of = CASE WHEN health_healthscore.as_of < excluded.as_of
                    THEN health_healthscore.as_of ELSE health_healthscore.previous_as_of END,
                previous_details = CASE WHEN health_healthscore.as_of < excluded.as_of
                    THEN health_healthscore.details ELSE health_healthscore.previous_details END,
                previous_score = CASE WHEN health_healthscore.as_of < excluded.as_of
                    THEN health_healthscore.score ELSE health_healthscore.previous_score END,
                previous_color = CASE WHEN health_healthscore.as_of < excluded.as_of
                    THEN health_healthscore.color ELSE health_healthscore.previous_color END,
                version_id = excluded.version_id, as_of = excluded.as_of,
                computed_score = excluded.computed_score,
                computed_color = excluded.computed_color, score = excluded.score,
                color = excluded.color, overridden = excluded.overridden,
                details = excluded.details, computed_at = excluded.computed_at
            WHERE excluded.as_of >= health_healthscore.as_of
            """,
            {"now": now},
        )


def _timeline(changes: list[HealthChange], *, now: Any) -> None:
    """A timeline entry per account whose colour changed."""
    rows = []
    for c in changes:
        if not c.color_changed:
            continue
        rows.append(
            Activity(
                account_id=c.account_id,
                kind=ActivityKind.SYSTEM,
                occurred_at=now,
                source=SOURCE,
                subject=_("Health turned %(color)s (%(old)s → %(new)s)")
                % {
                    "color": Color(c.new_color).label.lower(),
                    "old": _fmt(c.old_score),
                    "new": _fmt(c.new_score),
                },
                metadata={
                    "old_color": c.old_color,
                    "new_color": c.new_color,
                    "old_score": _fmt(c.old_score),
                    "new_score": _fmt(c.new_score),
                },
            )
        )
    Activity.objects.bulk_create(rows, batch_size=1000)


def _fmt(score: Decimal | None) -> str:
    return "—" if score is None else f"{score:.0f}"


def health_recalculate(
    *, as_of: date | None = None, account_ids: Sequence[int] | None = None
) -> HealthRun:
    """Score accounts (all customers, or only `account_ids`) on `as_of` (default today).

    Writes that day's history and, unless a later day was scored already, the current
    score. A run for today announces what changed and puts colour changes on timelines;
    a run for a past day (backfill) only writes history, and the current score if it has
    none yet.
    """
    started = time.perf_counter()
    today = timezone.now().date()
    as_of = as_of or today
    run = HealthRun(as_of=as_of)
    if account_ids is not None and not account_ids:
        return run
    live = as_of >= today - timedelta(days=1)
    now = timezone.now()
    with transaction.atomic():
        _calc_table_create()
        try:
            run.scored = _calc_fill(as_of=as_of, account_ids=account_ids)
            run.changes = _changes(live=live)
            _write(now=now, current=True)
            if live:
                _timeline(run.changes, now=now)
        finally:
            _calc_table_drop()
        if run.changes:
            announce_on_commit(health_changed, sender=HealthRun, as_of=as_of, changes=run.changes)
    run.seconds = time.perf_counter() - started
    return run


def health_backfill(*, start: date, end: date) -> int:
    """Score every customer on each day of [start, end] (history; figures must exist)."""
    days = 0
    day = start
    while day <= end:
        health_recalculate(as_of=day)
        days += 1
        day += timedelta(days=1)
    if days:
        announce_on_commit(health_backfilled, start=start, end=end)
    return days


def health_scores_for(
    *,
    version: ScorecardVersion,
    pairs: Sequence[tuple[int, date]],
    historical_only: bool = False,
) -> dict[tuple[int, date], Decimal | None]:
    """What `version` computes for (account, day) pairs, written nowhere (the preview; the
    backtest, with `historical_only`: measures that can't be evaluated for past days NA)."""
    if not pairs:
        return {}
    out: dict[tuple[int, date], Decimal | None] = {}
    with transaction.atomic():
        _calc_table_create()
        try:
            _calc_fill(pairs=pairs, version=version, historical_only=historical_only)
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT account_id, as_of, score FROM {CALC_TABLE}")
                for a, day, score in cursor.fetchall():
                    key = (int(a), day if isinstance(day, date) else date.fromisoformat(str(day)))
                    out[key] = _dec(score)
        finally:
            _calc_table_drop()
    return out
