"""The kinds of measure a scorecard can hold (SPEC §4), each a small registered piece.

A kind turns "an account as of a day" into one raw number with a SQL expression, so that
a whole portfolio is scored by one statement (health.services.scoring). Inside the
expression these names are available:

    t.account_id, t.as_of     the account and the day it is scored for
    t.as_of_next              midnight UTC at the end of that day (a timestamp)
    a                         the account (accounts_account)
    m, m30                    its AccountDailyMetrics row that day and 30 days before
                              (LEFT JOINed: NULL when the engine has no figures)

and `p(name)` gives the placeholder of one of the measure's own parameters (its options),
which `params(measure)` supplies. NULL means "no data" (NA): the measure's weight is spread
over the others. Adding a kind: write a MeasureKind and register_measure_kind() it, here or
from another app's AppConfig.ready().

`historical` says whether the expression can be evaluated for a past day without leaking
today's facts into it (the backtest scores past days with historical kinds only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from csplatform.sql import Dialect
from health.choices import ScoringMethod
from metrics.definitions import Unit

Placeholder = Callable[[str], str]


@dataclass(frozen=True)
class Option:
    name: str
    label: Promise
    help: Promise | str = ""
    required: bool = True


@dataclass(frozen=True)
class MeasureKind:
    key: str
    label: Promise
    description: Promise
    unit: Unit
    sql: Callable[[Dialect, Placeholder], str]
    # {"method": "bands", "bands": [...]} or {"method": "linear", "low": x, "high": y}
    default_scoring: dict[str, Any]
    options: tuple[Option, ...] = ()
    # Extra parameters from the measure's options, by name (keys for `p(name)`).
    params: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda options: {})
    historical: bool = True
    higher_is_better: bool = True


_registry: dict[str, MeasureKind] = {}


def register_measure_kind(kind: MeasureKind) -> None:
    """Add (or replace: ready() may run more than once) a kind of measure."""
    _registry[kind.key] = kind


def measure_kinds() -> dict[str, MeasureKind]:
    return dict(sorted(_registry.items(), key=lambda item: str(item[1].label)))


def measure_kind(key: str) -> MeasureKind | None:
    return _registry.get(key)


def _bands(*pairs: tuple[float, int]) -> dict[str, Any]:
    return {
        "method": ScoringMethod.BANDS,
        "bands": [{"from": Decimal(str(f)), "score": s} for f, s in pairs],
    }


def _linear(low: float, high: float) -> dict[str, Any]:
    return {"method": ScoringMethod.LINEAR, "low": Decimal(str(low)), "high": Decimal(str(high))}


def _feature_params(key: str) -> dict[str, Any]:
    """The feature's key and the plans that include it (none listed: every plan does)."""
    from metrics.models import Feature

    plans = Feature.objects.filter(key=key).values_list("plans", flat=True).first() or []
    return {"feature": key, "plans": [str(x) for x in plans], "no_plans": 0 if plans else 1}


def _paying_on(d: Dialect, alias: str) -> str:
    """`alias` (a subscription) counts towards MRR on t.as_of (the engine's rule, roughly:
    the hand-over day of a renewal is not special-cased here)."""
    return (
        f"{alias}.account_id = t.account_id AND {alias}.status <> 'trial'"
        f" AND {alias}.start_date <= t.as_of"
        f" AND ({alias}.end_date IS NULL OR {alias}.end_date >= t.as_of)"
    )


def _pct_change(now: str, before: str) -> str:
    return f"CASE WHEN {before} > 0 THEN 100.0 * ({now} - {before}) / {before} END"


BUILTIN = [
    MeasureKind(
        "mau_trend",
        _("MAU trend"),
        _("Change of monthly active users over the last 30 days, in %."),
        Unit.PERCENT,
        lambda d, p: _pct_change("m.mau", "m30.mau"),
        _bands((-100, 0), (-30, 25), (-15, 50), (0, 80), (10, 100)),
    ),
    MeasureKind(
        "stickiness",
        _("Weekly stickiness"),
        _("Users active in the last 7 days ÷ users active in the last 30 days × 100."),
        Unit.PERCENT,
        lambda d, p: "CASE WHEN m.mau > 0 THEN 100.0 * m.wau / m.mau END",
        _bands((0, 0), (10, 25), (25, 50), (40, 75), (60, 100)),
    ),
    MeasureKind(
        "core_adoption",
        _("Core feature adoption"),
        _("Share of the core features used in the last 30 days, in %."),
        Unit.PERCENT,
        lambda d, p: "m.core_adoption_30d",
        _linear(0, 80),
    ),
    MeasureKind(
        "days_since_activity",
        _("Days since last activity"),
        _("Days since an end user of the account last did anything in the product."),
        Unit.DAYS,
        lambda d, p: "m.days_since_last_activity",
        _bands((0, 100), (2, 85), (7, 60), (14, 30), (30, 0)),
        higher_is_better=False,
    ),
    MeasureKind(
        "license_utilisation",
        _("License utilisation"),
        _("Monthly active users ÷ licensed seats of the paying subscriptions × 100."),
        Unit.PERCENT,
        lambda d, p: (
            "CASE WHEN m.mau IS NOT NULL THEN 100.0 * m.mau / NULLIF(("
            "SELECT SUM(s.quantity) FROM accounts_subscription s WHERE "
            + _paying_on(d, "s")
            + "), 0) END"
        ),
        _bands((0, 0), (20, 30), (40, 60), (60, 85), (80, 100)),
    ),
    MeasureKind(
        "feature_usage",
        _("Use of a feature"),
        _(
            "Share of monthly active users who used the feature in the last 30 days, in %; "
            "not scored (NA) for accounts whose plan does not include it, or before its release."
        ),
        Unit.PERCENT,
        lambda d, p: (
            # The catalogue's row of the feature (none: NA), then its users ÷ MAU.
            "(SELECT CASE WHEN m.mau > 0"
            " AND (f.release_date IS NULL OR f.release_date <= t.as_of)"
            f" AND ({p('no_plans')} = 1 OR EXISTS (SELECT 1 FROM accounts_subscription s"
            f" WHERE {_paying_on(d, 's')} AND s.plan_name IN ({p('plans')})))"
            " THEN 100.0 * (SELECT COUNT(DISTINCT e.end_user_id)"
            " FROM metrics_enduserfeaturedaily e WHERE e.account_id = t.account_id"
            f" AND e.feature_id = f.id AND e.date > {d.add('t.as_of', -30)}"
            " AND e.date <= t.as_of) / m.mau END"
            f" FROM metrics_feature f WHERE f.key = {p('feature')})"
        ),
        _linear(0, 60),
        options=(Option("feature", _("Feature key")),),
        params=lambda options: _feature_params(str(options.get("feature", ""))),
    ),
    MeasureKind(
        "nps",
        _("NPS of the account"),
        _("% promoters − % detractors over the last 365 days (−100…100)."),
        Unit.SCORE,
        lambda d, p: "m.nps_365d",
        _bands((-100, 0), (-30, 25), (0, 55), (20, 80), (50, 100)),
    ),
    MeasureKind(
        "csat",
        _("CSAT of the account"),
        # xgettext:no-python-format
        _("% of CSAT answers scoring 4 or 5 over the last 365 days."),
        Unit.PERCENT,
        lambda d, p: "m.csat_365d",
        _linear(50, 95),
    ),
    MeasureKind(
        "open_p1_tickets",
        _("Open P1 tickets"),
        _("Urgent (P1) tickets open at the end of the day."),
        Unit.COUNT,
        lambda d, p: (
            "(SELECT COUNT(*) FROM metrics_ticket x WHERE x.account_id = t.account_id"
            " AND x.priority = 'p1' AND x.opened_at < t.as_of_next"
            " AND (x.resolved_at IS NULL OR x.resolved_at >= t.as_of_next))"
        ),
        _bands((0, 100), (1, 40), (2, 0)),
        higher_is_better=False,
    ),
    MeasureKind(
        "open_tickets",
        _("Open tickets"),
        _("Tickets of any priority open at the end of the day."),
        Unit.COUNT,
        lambda d, p: "m.tickets_open",
        _bands((0, 100), (2, 75), (4, 45), (8, 0)),
        higher_is_better=False,
    ),
    MeasureKind(
        "ticket_volume_trend",
        _("Ticket volume trend"),
        _("Change of tickets opened in the last 30 days against the 30 days before, in %."),
        Unit.PERCENT,
        lambda d, p: (
            "CASE WHEN m.tickets_30d IS NULL THEN NULL"
            " WHEN COALESCE(m30.tickets_30d, 0) > 0"
            " THEN 100.0 * (m.tickets_30d - m30.tickets_30d) / m30.tickets_30d"
            " WHEN m.tickets_30d > 0 THEN 100 ELSE 0 END"
        ),
        _bands((-100, 100), (10, 75), (50, 40), (100, 0)),
        higher_is_better=False,
    ),
    MeasureKind(
        "mrr_trend",
        _("MRR trend"),
        _("Change of MRR over the last 30 days, in %."),
        Unit.PERCENT,
        lambda d, p: _pct_change("m.mrr", "m30.mrr"),
        _bands((-100, 0), (-10, 40), (0, 75), (5, 100)),
    ),
    MeasureKind(
        "days_to_renewal",
        _("Days to renewal"),
        _("Days until the earliest end of a paying subscription; NA when none has an end."),
        Unit.DAYS,
        lambda d, p: d.days_between(
            "(SELECT MIN(s.end_date) FROM accounts_subscription s WHERE "
            + _paying_on(d, "s")
            + " AND s.end_date IS NOT NULL)",
            "t.as_of",
        ),
        _bands((0, 40), (30, 60), (90, 80), (180, 100)),
    ),
    MeasureKind(
        "overdue_tasks",
        _("Overdue tasks"),
        _("CSM tasks on the account still open past their due date."),
        Unit.COUNT,
        lambda d, p: (
            "(SELECT COUNT(*) FROM accounts_task k WHERE k.account_id = t.account_id"
            " AND k.due_date < t.as_of AND k.created_at < t.as_of_next"
            " AND (k.completed_at IS NULL OR k.completed_at >= t.as_of_next)"
            " AND k.status <> 'cancelled')"
        ),
        _bands((0, 100), (1, 70), (3, 40), (6, 0)),
        higher_is_better=False,
    ),
    MeasureKind(
        "sponsor_contact",
        _("Executive sponsor engaged"),
        _(
            "Days since an executive sponsor or decision maker was last contacted; 999 when "
            "the account has none, or none was ever contacted."
        ),
        Unit.DAYS,
        lambda d, p: (
            "COALESCE("
            + d.days_between(
                "t.as_of",
                "(SELECT MAX("
                + d.day_of("c.last_contacted_at")
                + ") FROM accounts_contact c WHERE c.account_id = t.account_id"
                " AND c.power_role IN ('executive_sponsor', 'decision_maker'))",
            )
            + ", 999)"
        ),
        _bands((0, 100), (31, 70), (61, 40), (91, 0)),
        historical=False,
        higher_is_better=False,
    ),
    MeasureKind(
        "csm_sentiment",
        _("CSM sentiment"),
        _("The account owner's sentiment (at risk 0, neutral 60, positive 100) while it lasts."),
        Unit.SCORE,
        lambda d, p: (
            "(SELECT CASE s.sentiment WHEN 'at_risk' THEN 0 WHEN 'neutral' THEN 60"
            " WHEN 'positive' THEN 100 END FROM health_csmsentiment s"
            " WHERE s.account_id = t.account_id AND s.created_at < t.as_of_next"
            " AND s.expires_on >= t.as_of"
            " AND (s.ended_at IS NULL OR s.ended_at >= t.as_of_next)"
            " ORDER BY s.created_at DESC LIMIT 1)"
        ),
        _linear(0, 100),
    ),
    MeasureKind(
        "custom_field",
        _("A number from the account's custom fields"),
        _("Reads a numeric custom field of the account, e.g. overdue invoices; NA when unset."),
        Unit.COUNT,
        lambda d, p: d.json_number("a.custom_fields", p("field")),
        _bands((0, 100), (1, 50), (2, 0)),
        options=(Option("field", _("Custom field name")),),
        params=lambda options: {"field": str(options.get("field", ""))},
        historical=False,
        higher_is_better=False,
    ),
]

for _kind in BUILTIN:
    register_measure_kind(_kind)
