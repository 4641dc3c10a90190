"""Reads of the health app: explanations, the account panel, the portfolio view, backtest.

Explanations are derived from what the scoring statement stored per account (each
measure's raw value and score, each group's score) and the version's weights:

    contribution_i = (W_g / Σ W over scored groups) · (w_i / Σ w over scored measures) · s_i

so the contributions add up to the computed score (to the rounding of two decimals).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import AccountStatus, Tier, TouchModel
from accounts.models import Account
from csplatform.roles import can_edit_owned
from health.choices import Color, ScoringMethod, VersionStatus
from health.measures import MeasureKind, measure_kind
from health.models import (
    CsmSentiment,
    HealthOverride,
    HealthScore,
    HealthScoreHistory,
    Measure,
    MeasureGroup,
    Scorecard,
    ScorecardVersion,
)
from health.services.scorecards import measure_errors
from health.services.scoring import MeasureSpec, VersionSpec, version_spec

TWO = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(TWO, rounding=ROUND_HALF_UP)


def band_label(measure: MeasureSpec, raw: Decimal | None) -> str:
    """Which band (or linear range) a raw value fell in, for people."""
    if raw is None:
        return _("no data")
    if measure.method == ScoringMethod.LINEAR and measure.low is not None:
        return _("linear: %(low)s → 0, %(high)s → 100") % {
            "low": f"{measure.low.normalize():f}",
            "high": f"{measure.high.normalize():f}" if measure.high is not None else "—",
        }
    below = [start for start, _score in measure.bands if raw >= start]
    if not below:
        return _("below %(start)s") % {"start": f"{measure.bands[0][0].normalize():f}"}
    return _("from %(start)s") % {"start": f"{max(below).normalize():f}"}


@dataclass(frozen=True)
class MeasureLine:
    label: str
    kind: str
    unit: str
    weight: Decimal
    raw: Decimal | None
    band: str
    score: Decimal | None
    contribution: Decimal  # points of the overall score
    previous_raw: Decimal | None = None
    previous_contribution: Decimal | None = None

    @property
    def na(self) -> bool:
        return self.score is None

    @property
    def change(self) -> Decimal | None:
        if self.previous_contribution is None:
            return None
        return _q(self.contribution - self.previous_contribution)


@dataclass(frozen=True)
class GroupLine:
    name: str
    weight: Decimal
    score: Decimal | None
    contribution: Decimal
    measures: list[MeasureLine]


@dataclass(frozen=True)
class Explanation:
    as_of: dt.date
    score: Decimal | None  # computed
    groups: list[GroupLine]
    previous_as_of: dt.date | None
    previous_score: Decimal | None

    @property
    def total(self) -> Decimal:
        return _q(sum((g.contribution for g in self.groups), ZERO)) or ZERO


def _contributions(spec: VersionSpec, details: dict[str, Any]) -> list[Decimal] | None:
    """Each measure's contribution from stored scores, or None when they don't fit."""
    scores = [_dec(s) for s in details.get("scores") or []]
    groups = [_dec(g) for g in details.get("groups") or []]
    if len(scores) != len(spec.measures) or len(groups) != len(spec.groups):
        return None
    if details.get("version") not in (None, spec.id):
        return None
    out = [ZERO] * len(spec.measures)
    group_total = sum(
        (g.weight for g, s in zip(spec.groups, groups, strict=True) if s is not None), ZERO
    )
    for g, g_score in zip(spec.groups, groups, strict=True):
        if g_score is None or not group_total:
            continue
        scored = [i for i in g.measures if scores[i] is not None]
        measure_total = sum((spec.measures[i].weight for i in scored), ZERO)
        if not measure_total:
            continue
        for i in scored:
            share = (g.weight / group_total) * (spec.measures[i].weight / measure_total)
            out[i] = share * scores[i]  # type: ignore[operator]
    return out


def explain(*, health: HealthScore, spec: VersionSpec | None = None) -> Explanation | None:
    """Why the account scores what it does, and what moved since the day before."""
    if health.version_id is None:
        return None
    spec = spec or version_spec(health.version)  # type: ignore[arg-type]
    details = health.details or {}
    contributions = _contributions(spec, details)
    if contributions is None:
        return None
    raws = [_dec(r) for r in details.get("raw") or []]
    scores = [_dec(s) for s in details.get("scores") or []]
    group_scores = [_dec(g) for g in details.get("groups") or []]
    previous = health.previous_details or {}
    prev_contrib = _contributions(spec, previous) if previous else None
    prev_raws = [_dec(r) for r in previous.get("raw") or []] if prev_contrib else []
    groups = []
    for gi, g in enumerate(spec.groups):
        lines = []
        for i in g.measures:
            m = spec.measures[i]
            lines.append(
                MeasureLine(
                    label=m.label,
                    kind=m.kind_key,
                    unit=str(m.kind.unit) if m.kind else "",
                    weight=m.weight,
                    raw=raws[i],
                    band=band_label(m, raws[i]),
                    score=scores[i],
                    contribution=_q(contributions[i]) or ZERO,
                    previous_raw=prev_raws[i] if prev_contrib else None,
                    previous_contribution=_q(prev_contrib[i]) if prev_contrib else None,
                )
            )
        groups.append(
            GroupLine(
                name=g.name,
                weight=g.weight,
                score=group_scores[gi],
                contribution=_q(sum((contributions[i] for i in g.measures), ZERO)) or ZERO,
                measures=lines,
            )
        )
    return Explanation(
        as_of=health.as_of,
        score=health.computed_score,
        groups=groups,
        previous_as_of=health.previous_as_of,
        previous_score=health.previous_score,
    )


# The account panel ---------------------------------------------------------------------


@dataclass
class AccountHealth:
    health: HealthScore | None
    override: HealthOverride | None
    sentiment: CsmSentiment | None
    history: list[tuple[dt.date, Decimal | None, str]]
    trend_7: Decimal | None = None
    trend_30: Decimal | None = None
    can_change: bool = False

    @property
    def color(self) -> Color | None:
        return Color(self.health.color) if self.health and self.health.color else None


def _score_on(
    history: Sequence[tuple[dt.date, Decimal | None, str]], day: dt.date
) -> Decimal | None:
    """The last score recorded on or before `day`."""
    found = None
    for date, score, _color in history:
        if date > day:
            break
        found = score
    return found


def account_health(*, account: Account, user: Any, days: int = 90) -> AccountHealth:
    """Everything the health panel shows: at most four queries, whatever the history."""
    health = (
        HealthScore.objects.select_related("version", "version__scorecard")
        .filter(account=account)
        .first()
    )
    history: list[tuple[dt.date, Decimal | None, str]] = []
    if health is not None:
        since = timezone.now().date() - dt.timedelta(days=days)
        history = list(
            HealthScoreHistory.objects.filter(account=account, date__gte=since)
            .order_by("date")
            .values_list("date", "score", "color")
        )
    override = (
        HealthOverride.objects.filter(account=account, ended_at__isnull=True).first()
        if health is not None and health.overridden
        else None
    )
    sentiment = CsmSentiment.objects.filter(account=account, ended_at__isnull=True).first()
    out = AccountHealth(
        health=health,
        override=override,
        sentiment=sentiment,
        history=history,
        can_change=can_edit_owned(user, account.owner_id),
    )
    if health and health.score is not None:
        for span, name in ((7, "trend_7"), (30, "trend_30")):
            before = _score_on(history, health.as_of - dt.timedelta(days=span))
            if before is not None:
                setattr(out, name, _q(health.score - before))
    return out


# The portfolio -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SegmentRow:
    label: str
    counts: Counter[str]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Portfolio:
    total: int = 0
    by_color: Counter[str] = field(default_factory=Counter)
    # segment field → its values with customers by colour
    by_segment: dict[str, list[SegmentRow]] = field(default_factory=dict)
    unscored: int = 0


def portfolio(*, accounts: QuerySet[Account]) -> Portfolio:
    """Customers by colour, overall and per tier and touch model (two grouped queries)."""
    out = Portfolio()
    base = accounts.exclude(status=AccountStatus.CHURNED)
    for field_name, choices in (("tier", Tier), ("touch_model", TouchModel)):
        counts = base.values(field_name, "health__color").annotate(n=Count("pk"))
        segment: dict[str, Counter[str]] = defaultdict(Counter)
        for row in counts:
            color = row["health__color"] or ""
            segment[row[field_name]][color] += row["n"]
            if field_name == "tier":
                out.total += row["n"]
                if color:
                    out.by_color[color] += row["n"]
                else:
                    out.unscored += row["n"]
        out.by_segment[field_name] = [
            SegmentRow(str(choice.label), segment[choice.value])
            for choice in choices
            if choice.value in segment
        ]
    return out


def movers(
    *, accounts: QuerySet[Account], days: int = 7, limit: int = 10
) -> dict[str, list[HealthScore]]:
    """Biggest score changes against `days` ago: fallers and risers (one query each)."""
    then = timezone.now().date() - dt.timedelta(days=days)
    score_then = HealthScoreHistory.objects.filter(account=OuterRef("account"), date=then).values(
        "score"
    )[:1]
    qs = (
        HealthScore.objects.filter(account__in=accounts, score__isnull=False)
        .annotate(score_then=Subquery(score_then))
        .filter(score_then__isnull=False)
        .annotate(delta=F("score") - F("score_then"))
        .select_related("account", "account__owner")
    )
    return {
        "fallers": list(qs.filter(delta__lt=0).order_by("delta", "account_id")[:limit]),
        "risers": list(qs.filter(delta__gt=0).order_by("-delta", "account_id")[:limit]),
    }


def scorecard_list() -> QuerySet[Scorecard]:
    return Scorecard.objects.annotate(
        versions_count=Count("versions"),
    ).order_by("-is_default", "priority", "name")


def scorecard_versions(*, scorecard: Scorecard) -> dict[str, ScorecardVersion | None]:
    versions = {v.status: v for v in scorecard.versions.exclude(status="archived")}
    return {"published": versions.get("published"), "draft": versions.get("draft")}


def scorecard_accounts(*, scorecard: Scorecard) -> int:
    return HealthScore.objects.filter(version__scorecard=scorecard).count()


def health_history(*, account: Account, days: int = 365) -> QuerySet[HealthScoreHistory]:
    since = timezone.now().date() - dt.timedelta(days=days)
    return HealthScoreHistory.objects.filter(account=account, date__gte=since).order_by("date")


def health_list() -> QuerySet[HealthScore]:
    """Current scores with their accounts, for the API and CSV export."""
    return (
        HealthScore.objects.select_related("account", "account__owner")
        .annotate(account_name=F("account__name"))
        .filter(~Q(account__status=AccountStatus.CHURNED))
    )


# The scorecard editor ----------------------------------------------------------------------


def scorecard_rows() -> QuerySet[Scorecard]:
    """Scorecards as the list shows them: published and draft version numbers and how many
    customers each scores now, in one query."""
    versions = ScorecardVersion.objects.filter(scorecard=OuterRef("pk")).order_by()
    published = versions.filter(status=VersionStatus.PUBLISHED)
    scored = (
        HealthScore.objects.filter(version__scorecard=OuterRef("pk"))
        .exclude(account__status=AccountStatus.CHURNED)
        .order_by()
        .values("version__scorecard")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Scorecard.objects.annotate(
        published_number=Subquery(published.values("number")[:1]),
        published_on=Subquery(published.values("published_at")[:1]),
        draft_number=Subquery(versions.filter(status=VersionStatus.DRAFT).values("number")[:1]),
        scored=Coalesce(Subquery(scored, output_field=IntegerField()), Value(0)),
    ).order_by("-is_default", "priority", "name")


@dataclass(frozen=True)
class MeasureRow:
    measure: Measure
    kind: MeasureKind | None
    # Percent of the overall score while every measure has data: W_g · w / 100.
    share: Decimal
    errors: dict[str, list[str]]

    @property
    def bands(self) -> list[tuple[Decimal, Decimal]]:
        """(from, score), lowest start first."""
        out = []
        for band in self.measure.bands or []:
            try:
                out.append((Decimal(str(band["from"])), Decimal(str(band["score"]))))
            except (KeyError, TypeError, ArithmeticError, ValueError):
                continue
        return sorted(out)

    @property
    def name(self) -> str:
        """The measure's own label, else its kind's name."""
        if self.measure.label:
            return self.measure.label
        return str(self.kind.label) if self.kind else self.measure.kind

    @property
    def option_values(self) -> list[tuple[str, str]]:
        if self.kind is None:
            return []
        options = self.measure.options or {}
        return [(str(o.label), str(options.get(o.name, ""))) for o in self.kind.options]


@dataclass(frozen=True)
class GroupRow:
    group: MeasureGroup
    measures: list[MeasureRow]

    @property
    def total(self) -> Decimal:
        return sum((m.measure.weight for m in self.measures), ZERO)

    @property
    def complete(self) -> bool:
        return self.total == HUNDRED


@dataclass(frozen=True)
class VersionTree:
    version: ScorecardVersion
    groups: list[GroupRow]

    @property
    def total(self) -> Decimal:
        return sum((g.group.weight for g in self.groups), ZERO)

    @property
    def complete(self) -> bool:
        """Every level adds up to 100 %."""
        return self.total == HUNDRED and all(g.complete for g in self.groups)

    @property
    def not_historical(self) -> list[MeasureRow]:
        """Measures the backtest cannot score for past days (NA there)."""
        return [m for g in self.groups for m in g.measures if m.kind and not m.kind.historical]


def version_tree(*, version: ScorecardVersion) -> VersionTree:
    """A version's groups and measures with their kinds, weight sums and shares (two
    queries)."""
    groups = list(
        version.groups.order_by("position", "pk").prefetch_related(
            Prefetch("measures", queryset=Measure.objects.order_by("position", "pk"))
        )
    )
    rows = []
    for group in groups:
        measures = [
            MeasureRow(
                measure=m,
                kind=measure_kind(m.kind),
                share=_q(group.weight * m.weight / HUNDRED) or ZERO,
                errors=measure_errors(m),
            )
            for m in group.measures.all()
        ]
        rows.append(GroupRow(group=group, measures=measures))
    return VersionTree(version=version, groups=rows)


def version_history(*, scorecard: Scorecard) -> QuerySet[ScorecardVersion]:
    """Every version of a scorecard, newest first, with who made and published it."""
    return scorecard.versions.select_related("created_by", "published_by").order_by("-number")


PREVIEW_COLORS = (Color.RED.value, Color.YELLOW.value, Color.GREEN.value, "")


@dataclass(frozen=True)
class PreviewChange:
    account: Account
    old: Decimal | None
    new: Decimal | None
    old_color: str
    new_color: str


def preview_changes(
    *, version: ScorecardVersion, changed: Sequence[tuple[int, Decimal | None, Decimal | None]]
) -> list[PreviewChange]:
    """The accounts a preview says would change colour, with their names (one query)."""
    accounts = Account.objects.select_related("owner").in_bulk([pk for pk, _o, _n in changed])
    current = dict(
        HealthScore.objects.filter(account_id__in=list(accounts)).values_list("account_id", "color")
    )
    return [
        PreviewChange(
            account=accounts[pk],
            old=old,
            new=new,
            old_color=current.get(pk) or "",
            new_color=version.color_of(new) or "",
        )
        for pk, old, new in changed
        if pk in accounts
    ]
