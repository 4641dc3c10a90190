"""The backtest (SPEC §4): would a scorecard have told churners from renewers in time?

Outcomes are the churns (an account's `churned_at`) and the renewals (a contract line that
ended while the account kept paying the day after; an account's latest in the window) of
the last N days, among the accounts the scorecard would score. Each is scored with the
chosen version as of 30, 60 and 90 days before it, by the statement that scores accounts
every night (`health_scores_for`), in one call whatever the number of outcomes. Per
horizon: the scores of churned and renewed accounts side by side and the ROC AUC, the
chance that a renewed account scored higher than a churned one (ties count half),
computed exactly from the two lists.

Kinds of measure that read today's facts (`historical=False`) would leak what happened
into the past. They are scored NA (`historical_only`): an NA measure hands its weight to
the others of its group, a group left without data to the other groups.
"""

from __future__ import annotations

import copy
import datetime as dt
import statistics
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from csplatform.sql import dialect
from health.choices import VersionStatus
from health.measures import measure_kind
from health.models import Measure, Scorecard, ScorecardVersion
from health.services.scores import health_scores_for
from health.services.scoring import criteria_sql

HORIZON_DAYS = (30, 60, 90)
WINDOWS = (90, 180, 365, 730)
DEFAULT_WINDOW = 365
# The most recent outcomes only: enough to judge a score, and the page stays quick.
MAX_OUTCOMES = 5000
CHURN, RENEWAL = "churn", "renewal"
BINS = 10  # 10-point bins of the 0–100 score

Pair = tuple[int, dt.date]


@dataclass(frozen=True)
class Outcome:
    account_id: int
    kind: str  # CHURN or RENEWAL
    day: dt.date


@dataclass
class Side:
    """The scores of one kind of outcome at one horizon."""

    scores: list[Decimal] = field(default_factory=list)  # ascending
    unscored: int = 0  # no data that day (NA): left out of every figure
    colors: Counter[str] = field(default_factory=Counter)

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> Decimal | None:
        if not self.scores:
            return None
        mean = sum(self.scores, Decimal(0)) / len(self.scores)
        return mean.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)

    @property
    def median(self) -> Decimal | None:
        if not self.scores:
            return None
        return Decimal(statistics.median(self.scores)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )

    @property
    def histogram(self) -> list[int]:
        """Accounts per 10-point bin (100 falls in the last)."""
        counts = [0] * BINS
        for score in self.scores:
            counts[min(int(score // 10), BINS - 1)] += 1
        return counts

    def color_share(self, color: str) -> float | None:
        return 100.0 * self.colors[color] / self.n if self.n else None


@dataclass
class Horizon:
    days: int
    churned: Side
    renewed: Side

    @cached_property
    def auc(self) -> Fraction | None:
        return roc_auc(self.churned.scores, self.renewed.scores)

    @cached_property
    def roc(self) -> list[tuple[float, float]]:
        return roc_curve(self.churned.scores, self.renewed.scores)

    @property
    def reading(self) -> str:
        return auc_reading(self.auc, self.churned.n, self.renewed.n)


@dataclass
class Backtest:
    version: ScorecardVersion
    since: dt.date
    until: dt.date
    churns: int = 0
    renewals: int = 0
    capped: bool = False
    limit: int = MAX_OUTCOMES
    horizons: list[Horizon] = field(default_factory=list)
    # Measures scored NA because their kind reads today's facts: (label, kind label).
    left_out: list[tuple[str, str]] = field(default_factory=list)

    @property
    def outcomes(self) -> int:
        return self.churns + self.renewals


# The separation figures --------------------------------------------------------------------


def roc_auc(churned: Sequence[Decimal], renewed: Sequence[Decimal]) -> Fraction | None:
    """P(a renewed account scores higher than a churned one), a tie counting half; exact
    (the Mann–Whitney U over the product of the counts). None without both kinds."""
    if not churned or not renewed:
        return None
    lows = sorted(churned)
    twice_wins = 0
    for score in renewed:
        below, up_to = bisect_left(lows, score), bisect_right(lows, score)
        twice_wins += 2 * below + (up_to - below)
    return Fraction(twice_wins, 2 * len(lows) * len(renewed))


def roc_curve(churned: Sequence[Decimal], renewed: Sequence[Decimal]) -> list[tuple[float, float]]:
    """(share of renewed accounts flagged, share of churned accounts flagged) while the
    threshold "flag every account scoring at most t" rises through every score seen; the
    area under it is `roc_auc`."""
    if not churned or not renewed:
        return []
    lows, highs = sorted(churned), sorted(renewed)
    points = [(0.0, 0.0)]
    for t in sorted(set(lows) | set(highs)):
        points.append(
            (
                round(bisect_right(highs, t) / len(highs), 4),
                round(bisect_right(lows, t) / len(lows), 4),
            )
        )
    return points


# Fewer outcomes than this on a side and any separation figure is mostly chance.
FEW = 10


def auc_reading(auc: Fraction | None, churned: int, renewed: int) -> str:
    """What an AUC means, in a sentence."""
    if auc is None:
        return _("Needs both churned and renewed accounts with a score.")
    value = float(auc)
    if value < 0.45:
        text = _(
            "Worse than a coin flip: churned accounts scored higher than renewed ones. "
            "Check the direction of the measures."
        )
    elif value < 0.55:
        text = _("About a coin flip: the score does not tell churners from renewers.")
    elif value < 0.7:
        text = _("Weak: the score leans the right way but misses many churners.")
    elif value < 0.8:
        text = _("Useful: the score separates churners from renewers.")
    elif value < 0.9:
        text = _("Strong: churners mostly scored below renewers.")
    else:
        text = _("Excellent: make sure no measure knows the outcome in advance.")
    if min(churned, renewed) < FEW:
        text += " " + _("Few outcomes: read it as a hint, not a measurement.")
    return text


# Outcomes ----------------------------------------------------------------------------------


def _sans_stage(scorecard: Scorecard) -> Scorecard:
    """A churned account's stage is "churned" now: its stage then is unknown, so the
    backtest leaves lifecycle stages out of the criteria."""
    stand_in = copy.copy(scorecard)
    stand_in.lifecycle_stages = []
    return stand_in


def segment_sql(scorecard: Scorecard, params: dict[str, Any]) -> str:
    """SQL true for the accounts (aliased `a`) the scorecard would score, as selection does
    (the first active published scorecard by priority whose criteria match, else the
    default), taking part even when inactive or unpublished, lifecycle stages aside."""
    taking_part = {
        sc.pk: sc
        for sc in Scorecard.objects.filter(
            is_active=True, versions__status=VersionStatus.PUBLISHED
        ).distinct()
    }
    taking_part[scorecard.pk] = scorecard
    whens = [
        f"WHEN {criteria_sql(_sans_stage(sc), params)} THEN {sc.pk}"
        for sc in sorted(taking_part.values(), key=lambda s: (s.priority, s.pk))
        if not sc.is_default
    ]
    default = next((sc.pk for sc in taking_part.values() if sc.is_default), None)
    fallback = str(default) if default else "NULL"
    case = f"CASE {' '.join(whens)} ELSE {fallback} END" if whens else fallback
    params["bt_scorecard"] = scorecard.pk
    return f"({case}) = %(bt_scorecard)s"


def outcomes_find(
    *, scorecard: Scorecard, since: dt.date, until: dt.date, limit: int = MAX_OUTCOMES
) -> tuple[list[Outcome], bool]:
    """Churns and renewals in (since, until], most recent first (one query), and whether
    there were more than `limit`."""
    d = dialect()
    params: dict[str, Any] = {"bt_since": since, "bt_until": until, "bt_limit": limit + 1}
    segment = segment_sql(scorecard, params)
    after = d.add("s.end_date", 1)
    sql = f"""
        SELECT account_id, kind, day FROM (
            SELECT a.id AS account_id, '{CHURN}' AS kind, a.churned_at AS day
            FROM accounts_account a
            WHERE a.churned_at > {d.date("bt_since")} AND a.churned_at <= {d.date("bt_until")}
              AND {segment}
            UNION ALL
            SELECT a.id AS account_id, '{RENEWAL}' AS kind, MAX(s.end_date) AS day
            FROM accounts_subscription s JOIN accounts_account a ON a.id = s.account_id
            WHERE s.status <> 'trial'
              AND s.end_date > {d.date("bt_since")} AND s.end_date < {d.date("bt_until")}
              AND EXISTS (
                SELECT 1 FROM accounts_subscription n
                WHERE n.account_id = s.account_id AND n.status <> 'trial'
                  AND n.start_date <= {after} AND (n.end_date IS NULL OR n.end_date >= {after})
              )
              AND {segment}
            GROUP BY a.id
        ) o
        ORDER BY day DESC, kind, account_id
        LIMIT %(bt_limit)s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    outcomes = [
        Outcome(int(pk), kind, day if isinstance(day, dt.date) else dt.date.fromisoformat(day))
        for pk, kind, day in rows
    ]
    return outcomes[:limit], len(outcomes) > limit


# Scoring the past --------------------------------------------------------------------------


def _leaking(version: ScorecardVersion) -> list[Measure]:
    return [
        m
        for m in Measure.objects.filter(group__version=version).order_by(
            "group__position", "position", "pk"
        )
        if (kind := measure_kind(m.kind)) is not None and not kind.historical
    ]


def historical_scores(
    *, version: ScorecardVersion, pairs: Sequence[Pair]
) -> dict[Pair, Decimal | None]:
    """What `version` scores for past (account, day) pairs, the measures that would read
    today's facts counted as no data."""
    return health_scores_for(version=version, pairs=pairs, historical_only=True)


def backtest_run(
    *,
    version: ScorecardVersion,
    days: int = DEFAULT_WINDOW,
    today: dt.date | None = None,
    horizons: Sequence[int] = HORIZON_DAYS,
    limit: int = MAX_OUTCOMES,
) -> Backtest:
    """Score the churns and renewals of the last `days` days `horizons` days before they
    happened; a fixed number of queries whatever the number of outcomes."""
    until = today or timezone.now().date()
    since = until - dt.timedelta(days=days)
    outcomes, capped = outcomes_find(
        scorecard=version.scorecard, since=since, until=until, limit=limit
    )
    leaking = _leaking(version)
    result = Backtest(
        version=version,
        since=since,
        until=until,
        churns=sum(1 for o in outcomes if o.kind == CHURN),
        renewals=sum(1 for o in outcomes if o.kind == RENEWAL),
        capped=capped,
        limit=limit,
        left_out=[
            (m.label or str(kind.label), str(kind.label))
            for m in leaking
            if (kind := measure_kind(m.kind)) is not None
        ],
    )
    pairs = sorted(
        {(o.account_id, o.day - dt.timedelta(days=h)) for o in outcomes for h in horizons}
    )
    scores = historical_scores(version=version, pairs=pairs)
    for h in horizons:
        sides = {CHURN: Side(), RENEWAL: Side()}
        for o in outcomes:
            side = sides[o.kind]
            score = scores.get((o.account_id, o.day - dt.timedelta(days=h)))
            if score is None:
                side.unscored += 1
                continue
            side.scores.append(score)
            side.colors[version.color_of(score) or ""] += 1
        for side in sides.values():
            side.scores.sort()
        result.horizons.append(Horizon(days=h, churned=sides[CHURN], renewed=sides[RENEWAL]))
    return result
