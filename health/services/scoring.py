"""Scoring every account with one statement per scorecard version (SPEC §4).

A published version becomes SQL: one raw value per measure (the kind's expression, see
health.measures), its 0–100 score (bands or linear), each group's score and the overall
score, where a measure without data (NULL) hands its weight to the others of its group and
a group without any data hands its weight to the other groups:

    group  = Σ w_i · s_i / Σ w_i      over the group's measures that have a score
    score  = Σ W_g · g   / Σ W_g      over the groups that have a score

so the score is exactly the sum of the contributions

    contribution_i = (W_g / Σ W_g) · (w_i / Σ w_i) · s_i

that the explanation lists. Which accounts a version scores is decided in SQL too: the
first active scorecard (lowest priority number) whose criteria match the account's current
fields, else the default one.

The same statement scores any set of (account, day) pairs: every account today, the few
whose signals just changed, past days for the history, or the days before past churns and
renewals for the backtest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection

from csplatform.sql import Dialect, dialect
from health.choices import ScoringMethod, VersionStatus
from health.measures import MeasureKind, measure_kind
from health.models import Measure, MeasureGroup, Scorecard, ScorecardVersion

CRITERIA_FIELDS = ("tiers", "touch_models", "business_models", "lifecycle_stages")
ACCOUNT_FIELD = {
    "tiers": "tier",
    "touch_models": "touch_model",
    "business_models": "business_model",
    "lifecycle_stages": "lifecycle_stage",
}


@dataclass(frozen=True)
class MeasureSpec:
    id: int
    label: str
    kind_key: str
    kind: MeasureKind | None  # None: a kind no longer registered (always NA)
    weight: Decimal
    method: str
    bands: tuple[tuple[Decimal, Decimal], ...]  # (from, score), ascending by from
    low: Decimal | None
    high: Decimal | None
    options: dict[str, Any]


@dataclass(frozen=True)
class GroupSpec:
    id: int
    name: str
    weight: Decimal
    measures: tuple[int, ...]  # indexes into VersionSpec.measures


@dataclass(frozen=True)
class VersionSpec:
    id: int
    scorecard_id: int
    red_max: Decimal
    yellow_max: Decimal
    groups: tuple[GroupSpec, ...]
    measures: tuple[MeasureSpec, ...]


def _bands_of(measure: Measure) -> tuple[tuple[Decimal, Decimal], ...]:
    pairs = [
        (Decimal(str(b["from"])), Decimal(str(b["score"])))
        for b in measure.bands or []
        if isinstance(b, dict) and b.get("from") is not None and b.get("score") is not None
    ]
    return tuple(sorted(pairs))


def version_spec(version: ScorecardVersion) -> VersionSpec:
    """The tree of a version, read in two queries."""
    groups = list(MeasureGroup.objects.filter(version=version).order_by("position", "pk"))
    measures = list(
        Measure.objects.filter(group__version=version).order_by(
            "group__position", "group_id", "position", "pk"
        )
    )
    specs: list[MeasureSpec] = []
    by_group: dict[int, list[int]] = {}
    for m in measures:
        kind = measure_kind(m.kind)
        by_group.setdefault(m.group_id, []).append(len(specs))
        specs.append(
            MeasureSpec(
                id=m.pk,
                label=m.label or (str(kind.label) if kind else m.kind),
                kind_key=m.kind,
                kind=kind,
                weight=m.weight,
                method=m.method,
                bands=_bands_of(m),
                low=m.low,
                high=m.high,
                options=dict(m.options or {}),
            )
        )
    return VersionSpec(
        id=version.pk,
        scorecard_id=version.scorecard_id,
        red_max=version.red_max,
        yellow_max=version.yellow_max,
        groups=tuple(
            GroupSpec(g.pk, g.name, g.weight, tuple(by_group.get(g.pk, ()))) for g in groups
        ),
        measures=tuple(specs),
    )


# Which version scores which account ------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The published versions in force and the SQL that picks one per account."""

    versions: dict[int, ScorecardVersion]  # by scorecard id
    case_sql: str  # yields the scorecard id for the account aliased `a` (NULL: none)
    params: dict[str, Any] = field(default_factory=dict)


def criteria_sql(scorecard: Scorecard, params: dict[str, Any]) -> str:
    """SQL true for the accounts (aliased `a`) matching the scorecard's segment criteria."""
    conditions = []
    for name in CRITERIA_FIELDS:
        values = [str(v) for v in getattr(scorecard, name) or []]
        if not values:
            continue
        holders = []
        for j, value in enumerate(values):
            key = f"sel{scorecard.pk}_{name}_{j}"
            params[key] = value
            holders.append(f"%({key})s")
        conditions.append(f"a.{ACCOUNT_FIELD[name]} IN ({', '.join(holders)})")
    return " AND ".join(conditions) or "1 = 1"


def selection(*, also: Scorecard | None = None) -> Selection:
    """The first active scorecard whose criteria match, else the default one.

    Only scorecards with a published version take part, and `also` (a scorecard being
    previewed before its first publication) as if it had one.
    """
    scorecards = list(Scorecard.objects.filter(is_active=True))
    versions = {
        v.scorecard_id: v
        for v in ScorecardVersion.objects.filter(
            status=VersionStatus.PUBLISHED, scorecard__in=scorecards
        )
    }
    taking_part = [sc for sc in scorecards if sc.pk in versions or (also and sc.pk == also.pk)]
    params: dict[str, Any] = {}
    whens = [
        f"WHEN {criteria_sql(sc, params)} THEN {sc.pk}"
        for sc in sorted(taking_part, key=lambda s: (s.priority, s.pk))
        if not sc.is_default
    ]
    default = next((sc for sc in taking_part if sc.is_default), None)
    fallback = str(default.pk) if default else "NULL"
    case_sql = f"CASE {' '.join(whens)} ELSE {fallback} END" if whens else fallback
    return Selection(versions=versions, case_sql=case_sql, params=params)


# The statement -------------------------------------------------------------------------


def _placeholder_factory(
    prefix: str, values: dict[str, Any], params: dict[str, Any]
) -> Callable[[str], str]:
    """p(name) for a measure: its own placeholder; a list expands to one per element."""

    def p(name: str) -> str:
        value = values.get(name)
        key = f"{prefix}_{name}"
        if isinstance(value, list | tuple):
            if not value:
                return "NULL"
            holders = []
            for j, item in enumerate(value):
                params[f"{key}_{j}"] = item
                holders.append(f"%({key}_{j})s")
            return ", ".join(holders)
        params[key] = value
        return f"%({key})s"

    return p


# A typed NULL: PostgreSQL types a bare NULL as text, and `numeric * text` does not exist.
NA = "CAST(NULL AS numeric)"


def _score_sql(d: Dialect, i: int, m: MeasureSpec, params: dict[str, Any]) -> str:
    r = f"r{i}"
    if m.kind is None:
        return NA
    if (
        m.method == ScoringMethod.LINEAR
        and m.low is not None
        and m.high is not None
        and m.low != m.high
    ):
        params[f"m{i}_low"] = m.low
        params[f"m{i}_span"] = m.high - m.low
        linear = f"({r} - %(m{i}_low)s) * 100.0 / %(m{i}_span)s"
        return f"CASE WHEN {r} IS NULL THEN NULL ELSE {d.least('100', d.greatest('0', linear))} END"
    if not m.bands:
        return NA
    whens = []
    for j, (start, score) in enumerate(reversed(m.bands)):
        params[f"m{i}_b{j}_from"] = start
        params[f"m{i}_b{j}_score"] = score
        whens.append(f"WHEN {r} >= %(m{i}_b{j}_from)s THEN %(m{i}_b{j}_score)s")
    # Below the lowest band's start: that band's score.
    params[f"m{i}_floor"] = m.bands[0][1]
    return f"CASE WHEN {r} IS NULL THEN NULL {' '.join(whens)} ELSE %(m{i}_floor)s END"


def _weighted(d: Dialect, parts: list[tuple[str, str]]) -> str:
    """Σ w·s / Σ w over the parts whose score is not NULL; NULL when none has one."""
    if not parts:
        return NA
    num = " + ".join(f"COALESCE({w} * {s}, 0)" for w, s in parts)
    den = " + ".join(f"CASE WHEN {s} IS NULL THEN 0 ELSE {w} END" for w, s in parts)
    return f"CASE WHEN ({den}) > 0 THEN ({num}) / ({den}) END"


def scores_select(
    d: Dialect,
    spec: VersionSpec,
    targets: str,
    params: dict[str, Any],
    *,
    historical_only: bool = False,
) -> str:
    """SELECT account_id, as_of, score, color, details, groups for the pairs of `targets`.

    `targets` is a query yielding (account_id, as_of); its parameters go in `params`, to
    which the statement adds its own. With `historical_only`, kinds that cannot be
    evaluated for a past day without today's facts leaking in are NA (the backtest).
    """
    raw_cols = []
    for i, m in enumerate(spec.measures):
        if m.kind is None or (historical_only and not m.kind.historical):
            raw_cols.append(f"{NA} AS r{i}")
            continue
        p = _placeholder_factory(f"m{i}", m.kind.params(m.options), params)
        raw_cols.append(f"{m.kind.sql(d, p)} AS r{i}")
    score_cols = [f"{_score_sql(d, i, m, params)} AS s{i}" for i, m in enumerate(spec.measures)]
    group_cols = []
    for g_index, g in enumerate(spec.groups):
        parts = []
        for i in g.measures:
            params[f"m{i}_w"] = spec.measures[i].weight
            parts.append((f"%(m{i}_w)s", f"s{i}"))
        group_cols.append(f"{_weighted(d, parts)} AS g{g_index}")
    overall_parts = []
    for g_index, g in enumerate(spec.groups):
        params[f"g{g_index}_w"] = g.weight
        overall_parts.append((f"%(g{g_index}_w)s", f"g{g_index}"))
    params["red_max"] = spec.red_max
    params["yellow_max"] = spec.yellow_max
    n, k = len(spec.measures), len(spec.groups)
    params["spec_version"] = spec.id
    details = d.json_object(
        {
            "version": "%(spec_version)s",
            "raw": d.json_array([d.round2(f"r{i}") for i in range(n)]),
            "scores": d.json_array([d.round2(f"s{i}") for i in range(n)]),
            "groups": d.json_array([d.round2(f"g{j}") for j in range(k)]),
        }
    )
    groups_json = d.json_array([d.round2(f"g{j}") for j in range(k)])
    if not d.pg:
        # SQLite binds a Decimal as text, and text compares above every number.
        for key, value in params.items():
            if isinstance(value, Decimal):
                params[key] = float(value)
    next_day = d.day_start(d.add("x.as_of", 1))
    empty = "NULL"
    # Each level is computed once (MATERIALIZED): inlined, every reference to a raw value
    # would copy its expression, subqueries included, into every score and group above it.
    mat = d.materialized
    return f"""
    WITH t AS {mat}(
        SELECT x.account_id, x.as_of, {next_day} AS as_of_next FROM ({targets}) x
    ),
    raw AS {mat}(
        SELECT t.account_id, t.as_of, {", ".join(raw_cols) or empty + " AS r_none"}
        FROM t
        JOIN accounts_account a ON a.id = t.account_id
        LEFT JOIN metrics_accountdailymetrics m
          ON m.account_id = t.account_id AND m.date = t.as_of
        LEFT JOIN metrics_accountdailymetrics m30
          ON m30.account_id = t.account_id AND m30.date = {d.add("t.as_of", -30)}
    ),
    scored AS {mat}(
        SELECT raw.*{"".join(", " + c for c in score_cols)} FROM raw
    ),
    grouped AS {mat}(
        SELECT scored.*{"".join(", " + c for c in group_cols)} FROM scored
    ),
    final AS {mat}(
        SELECT grouped.*, {_weighted(d, overall_parts)} AS score FROM grouped
    )
    SELECT account_id, as_of, {d.round2("score")} AS score,
        CASE WHEN score IS NULL THEN '' WHEN score <= %(red_max)s THEN 'red'
             WHEN score <= %(yellow_max)s THEN 'yellow' ELSE 'green' END AS color,
        {details} AS details, {groups_json} AS groups
    FROM final
    """


def targets_for_day(
    sel: Selection,
    scorecard_id: int,
    *,
    as_of: date,
    account_ids: Sequence[int] | None,
    params: dict[str, Any],
) -> str:
    """(account_id, as_of) of the customers a scorecard scores on `as_of`: accounts that are
    not churned, whose first matching scorecard is this one (optionally only some)."""
    params.update(sel.params)
    params["t_as_of"] = as_of
    params["t_scorecard"] = scorecard_id
    d = dialect()
    where = [f"({sel.case_sql}) = %(t_scorecard)s", "a.status <> 'churned'"]
    if account_ids is not None:
        if connection.vendor == "postgresql":
            params["t_ids"] = list(account_ids)
            where.append("a.id = ANY(%(t_ids)s)")
        else:
            holders = []
            for j, pk in enumerate(account_ids):
                params[f"t_id{j}"] = pk
                holders.append(f"%(t_id{j})s")
            where.append(f"a.id IN ({', '.join(holders) or 'NULL'})")
    return (
        f"SELECT a.id AS account_id, {d.date('t_as_of')} AS as_of FROM accounts_account a"
        f" WHERE {' AND '.join(where)}"
    )


def targets_for_pairs(pairs: Sequence[tuple[int, date]], params: dict[str, Any]) -> str:
    """(account_id, as_of) from explicit pairs (history of past days, the backtest)."""
    if connection.vendor == "postgresql":
        params["tp_ids"] = [pk for pk, _day in pairs]
        params["tp_days"] = [day for _pk, day in pairs]
        return (
            "SELECT * FROM unnest(CAST(%(tp_ids)s AS bigint[]), CAST(%(tp_days)s AS date[]))"
            " AS v(account_id, as_of)"
        )
    if not pairs:
        return "SELECT NULL AS account_id, NULL AS as_of WHERE 1 = 0"
    rows = []
    for j, (pk, day) in enumerate(pairs):
        params[f"tp{j}_a"] = pk
        params[f"tp{j}_d"] = day
        rows.append(f"(%(tp{j}_a)s, %(tp{j}_d)s)")
    return f"SELECT column1 AS account_id, column2 AS as_of FROM (VALUES {', '.join(rows)})"
