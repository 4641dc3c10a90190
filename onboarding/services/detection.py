"""Set-based detection over the usage rollups: criteria, activation, value, plan health.

Everything here is a fixed number of SQL statements for any number of plans, and runs on
PostgreSQL and on the SQLite database of `make run` (the date arithmetic comes from the
shared `csplatform.sql.Dialect`).

Criteria count what the metric engine rolls up at ingestion, since the day the plan
started: events of a feature (AccountFeatureDailyUsage), distinct end users of a feature
(EndUserFeatureDaily), distinct active end users (EndUserDailyActivity), core events and
days with activity (AccountDailyUsage), or a milestone of the plan. Raw events are never
rescanned, so an event name counts through the feature it is mapped to in the catalogue.
A criterion's `met_on` is the day its count first reached the threshold (a running sum,
or the first day of the N-th distinct user), so time to value is exact to the day even
when detection runs later. A met criterion stays met.

A plan is activated on the day its activation criteria are met (the last of them; the
first with "any"), and reaches value on the day its value criteria are met. Both are
claimed with a conditional UPDATE … RETURNING, so two runs at once record it once.

Health (active plans): Stuck when a task is overdue and the plan's work has not moved (a
task done, a milestone reached, or the start) for `stuck_after_days`; Behind when a task is
overdue by more than `behind_after_days`; else On track. Usage does not count as progress:
an account can be active in the product while its onboarding project stalls.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import ActivityKind
from accounts.models import Activity
from csplatform.signals import announce_on_commit
from csplatform.sql import Dialect
from metrics.models import (
    AccountDailyUsage,
    AccountFeatureDailyUsage,
    EndUserDailyActivity,
    EndUserFeatureDaily,
)
from onboarding import signals
from onboarding.choices import CriterionKind, CriterionRole, PlanHealth
from onboarding.models import OnboardingPlan, PlanCriterion, PlanMilestone, PlanTask

SOURCE = "onboarding"

# (rollup, value summed per day, whether it is per feature)
_RUNNING_SUMS: dict[str, tuple[Any, str, bool]] = {
    CriterionKind.FEATURE_EVENTS: (AccountFeatureDailyUsage, "u.events", True),
    CriterionKind.CORE_EVENTS: (AccountDailyUsage, "u.core_events", False),
    CriterionKind.ACTIVE_DAYS: (
        AccountDailyUsage,
        "CASE WHEN u.active_users > 0 THEN 1 ELSE 0 END",
        False,
    ),
}
# (rollup of one end user on one day, whether it is per feature)
_DISTINCT_USERS: dict[str, tuple[Any, bool]] = {
    CriterionKind.FEATURE_USERS: (EndUserFeatureDaily, True),
    CriterionKind.ACTIVE_USERS: (EndUserDailyActivity, False),
}


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _dialect() -> Dialect:
    return Dialect(connection.vendor)


def _scope(plan_ids: Sequence[int] | None, params: dict[str, Any], alias: str = "p") -> str:
    """SQL restricting plans to `plan_ids` (all when None), adding its parameters."""
    if plan_ids is None:
        return ""
    ids = list(plan_ids) or [0]
    names = []
    for i, pk in enumerate(ids):
        params[f"plan{i}"] = pk
        names.append(f"%(plan{i})s")
    return f" AND {alias}.id IN ({', '.join(names)})"


def _open_criteria_cte(scope: str) -> str:
    """Unmet criteria of one kind, of plans still worth watching."""
    return f"""
    crit AS (
        SELECT c.id, c.threshold, c.feature_id, p.account_id, p.started_on
        FROM {_table(PlanCriterion)} c JOIN {_table(OnboardingPlan)} p ON p.id = c.plan_id
        WHERE c.kind = %(kind)s AND c.met_on IS NULL
          AND (p.status = 'active'
               OR (p.status = 'completed' AND (p.activated_on IS NULL OR p.value_on IS NULL)))
          {scope}
    )"""


def _update_from_result() -> str:
    crit = _table(PlanCriterion)
    return f"""
    UPDATE {crit} SET current = result.current, met_on = result.met_on
    FROM result
    WHERE {crit}.id = result.id
      AND ({crit}.current <> result.current OR result.met_on IS NOT NULL)
    """


def running_sum_sql(kind: str, scope: str) -> str:
    model, value, per_feature = _RUNNING_SUMS[kind]
    feature = " AND u.feature_id = crit.feature_id" if per_feature else ""
    return f"""
    WITH {_open_criteria_cte(scope)},
    daily AS (
        SELECT crit.id, u.date,
            SUM({value}) OVER (PARTITION BY crit.id ORDER BY u.date) AS running
        FROM crit JOIN {_table(model)} u
          ON u.account_id = crit.account_id AND u.date >= crit.started_on{feature}
    ),
    result AS (
        SELECT crit.id, COALESCE(MAX(daily.running), 0) AS current,
            MIN(CASE WHEN daily.running >= crit.threshold THEN daily.date END) AS met_on
        FROM crit LEFT JOIN daily ON daily.id = crit.id
        GROUP BY crit.id, crit.threshold
    )
    {_update_from_result()}"""


def distinct_users_sql(kind: str, scope: str) -> str:
    model, per_feature = _DISTINCT_USERS[kind]
    feature = " AND u.feature_id = crit.feature_id" if per_feature else ""
    return f"""
    WITH {_open_criteria_cte(scope)},
    firsts AS (
        SELECT crit.id, u.end_user_id, MIN(u.date) AS first_day
        FROM crit JOIN {_table(model)} u
          ON u.account_id = crit.account_id AND u.date >= crit.started_on{feature}
        GROUP BY crit.id, u.end_user_id
    ),
    ranked AS (
        SELECT id, first_day, ROW_NUMBER() OVER (PARTITION BY id ORDER BY first_day) AS n
        FROM firsts
    ),
    result AS (
        SELECT crit.id, COUNT(ranked.n) AS current,
            MIN(CASE WHEN ranked.n >= crit.threshold THEN ranked.first_day END) AS met_on
        FROM crit LEFT JOIN ranked ON ranked.id = crit.id
        GROUP BY crit.id, crit.threshold
    )
    {_update_from_result()}"""


def milestone_criteria_sql(scope: str) -> str:
    crit = _table(PlanCriterion)
    return f"""
    UPDATE {crit} SET met_on = m.completed_on, current = 1
    FROM {_table(PlanMilestone)} m, {_table(OnboardingPlan)} p
    WHERE {crit}.milestone_id = m.id AND {crit}.plan_id = p.id
      AND {crit}.kind = 'milestone' AND {crit}.met_on IS NULL AND m.completed_on IS NOT NULL
      AND p.status IN ('active', 'completed'){scope}
    """


def plan_stamp_sql(role: str, column: str, scope: str) -> str:
    """Stamp `column` (activated_on / value_on) on plans whose `role` criteria are met."""
    plan = _table(OnboardingPlan)
    if role == CriterionRole.ACTIVATION:
        met = (
            "CASE WHEN p.activation_match = 'any' THEN MIN(c.met_on) "
            "WHEN COUNT(*) = COUNT(c.met_on) THEN MAX(c.met_on) END"
        )
    else:
        met = "CASE WHEN COUNT(*) = COUNT(c.met_on) THEN MAX(c.met_on) END"
    return f"""
    UPDATE {plan} SET {column} = agg.met_on, updated_at = %(now)s
    FROM (
        SELECT c.plan_id, {met} AS met_on
        FROM {_table(PlanCriterion)} c JOIN {plan} p ON p.id = c.plan_id
        WHERE c.role = %(role)s AND p.{column} IS NULL AND p.status IN ('active', 'completed')
          {scope}
        GROUP BY c.plan_id, p.activation_match
    ) agg
    WHERE {plan}.id = agg.plan_id AND agg.met_on IS NOT NULL AND {plan}.{column} IS NULL
    RETURNING {plan}.id, {plan}.account_id, {plan}.started_on, {plan}.{column}
    """


@dataclass
class Detected:
    """Plans a detection run activated or saw reach value: (plan, account, start, day)."""

    activated: list[tuple[int, int, dt.date, dt.date]] = field(default_factory=list)
    valued: list[tuple[int, int, dt.date, dt.date]] = field(default_factory=list)


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def plans_detect(
    *, plan_ids: Sequence[int] | None = None, today: dt.date | None = None, record: bool = True
) -> Detected:
    """Update every unmet criterion from the rollups, then stamp activation and value.

    With `record`, each newly activated plan or plan that reached its value point gets a
    timeline entry and plan_activated is announced (demo data passes False).
    """
    now = timezone.now()
    detected = Detected()
    with transaction.atomic(), connection.cursor() as cursor:
        for kind in _RUNNING_SUMS:
            params: dict[str, Any] = {"kind": kind}
            cursor.execute(running_sum_sql(kind, _scope(plan_ids, params)), params)
        for kind in _DISTINCT_USERS:
            params = {"kind": kind}
            cursor.execute(distinct_users_sql(kind, _scope(plan_ids, params)), params)
        params = {}
        cursor.execute(milestone_criteria_sql(_scope(plan_ids, params)), params)
        for role, column, out in (
            (CriterionRole.ACTIVATION, "activated_on", detected.activated),
            (CriterionRole.VALUE, "value_on", detected.valued),
        ):
            params = {"role": role, "now": now}
            cursor.execute(plan_stamp_sql(role, column, _scope(plan_ids, params)), params)
            out.extend(
                (pk, account_id, _as_date(start), _as_date(day))
                for pk, account_id, start, day in cursor.fetchall()
            )
        if record:
            _detected_record(detected, now=now)
    return detected


def _detected_record(detected: Detected, *, now: dt.datetime) -> None:
    entries = [
        Activity(
            account_id=account_id,
            kind=ActivityKind.SYSTEM,
            occurred_at=now,
            subject=_("Account activated on %(date)s, day %(days)s of onboarding")
            % {"date": day.isoformat(), "days": (day - start).days},
            source=SOURCE,
            metadata={"plan_id": pk, "activated_on": day.isoformat()},
        )
        for pk, account_id, start, day in detected.activated
    ] + [
        Activity(
            account_id=account_id,
            kind=ActivityKind.SYSTEM,
            occurred_at=now,
            subject=_("Time-to-value point reached on %(date)s: %(days)s days")
            % {"date": day.isoformat(), "days": (day - start).days},
            source=SOURCE,
            metadata={"plan_id": pk, "value_on": day.isoformat()},
        )
        for pk, account_id, start, day in detected.valued
    ]
    Activity.objects.bulk_create(entries)
    if detected.activated:
        announce_on_commit(
            signals.plan_activated,
            plan_ids=[row[0] for row in detected.activated],
            account_ids=[row[1] for row in detected.activated],
        )


def health_refresh_sql(d: Dialect, scope: str) -> str:
    plan = _table(OnboardingPlan)
    task, milestone = _table(PlanTask), _table(PlanMilestone)
    last = "p.started_on"
    for expr in (
        f"(SELECT {d.day_of('MAX(t.completed_at)')} FROM {task} t WHERE t.plan_id = p.id)",
        f"(SELECT MAX(m.completed_on) FROM {milestone} m WHERE m.plan_id = p.id)",
    ):
        last = d.greatest(last, f"COALESCE({expr}, p.started_on)")
    today = d.date("today")
    return f"""
    WITH facts AS (
        SELECT p.id, p.behind_after_days, p.stuck_after_days, {last} AS last_progress,
            (SELECT MIN(t.due_on) FROM {task} t
             WHERE t.plan_id = p.id AND t.completed_at IS NULL) AS first_open_due
        FROM {plan} p
        WHERE p.status = 'active'{scope}
    ),
    rated AS (
        SELECT id, CASE
            WHEN first_open_due < {today}
                 AND {d.days_between(today, "last_progress")} >= stuck_after_days THEN 'stuck'
            WHEN first_open_due < {today}
                 AND {d.days_between(today, "first_open_due")} > behind_after_days THEN 'behind'
            ELSE 'on_track' END AS health
        FROM facts
    )
    UPDATE {plan} SET health = rated.health, health_changed_at = %(now)s
    FROM rated
    WHERE {plan}.id = rated.id AND {plan}.health <> rated.health
    RETURNING {plan}.id, {plan}.account_id, {plan}.health
    """


def plans_health_refresh(
    *, plan_ids: Sequence[int] | None = None, today: dt.date | None = None, record: bool = True
) -> list[tuple[int, int, str]]:
    """Re-rate active plans (all, or `plan_ids`); returns (plan, account, health) changes.

    With `record`, each change is put on the account's timeline and announced with
    plan_health_changed.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    params: dict[str, Any] = {"today": today, "now": now}
    sql = health_refresh_sql(_dialect(), _scope(plan_ids, params))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        changes = [(pk, account_id, health) for pk, account_id, health in cursor.fetchall()]
        if record and changes:
            subjects = {
                PlanHealth.ON_TRACK: _("Onboarding is back on track"),
                PlanHealth.BEHIND: _("Onboarding is behind: tasks are overdue"),
                PlanHealth.STUCK: _("Onboarding is stuck: overdue work and no progress"),
            }
            Activity.objects.bulk_create(
                Activity(
                    account_id=account_id,
                    kind=ActivityKind.SYSTEM,
                    occurred_at=now,
                    subject=subjects[PlanHealth(health)],
                    source=SOURCE,
                    metadata={"plan_id": pk, "health": health},
                )
                for pk, account_id, health in changes
            )
            announce_on_commit(signals.plan_health_changed, changes=changes)
    return changes


__all__ = ["Detected", "plans_detect", "plans_health_refresh"]
