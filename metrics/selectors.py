"""Reads of the metrics app for the dashboard pages, the account 360 panel and the API.

Everything here reads what the engine stored (MetricSnapshot, AccountDailyMetrics,
MrrMovement) plus the raw feedback records; nothing recomputes a metric from events. Each
function runs a fixed number of queries whatever the number of accounts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Abs, RowNumber
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.choices import BusinessModel, Tier, TouchModel
from accounts.models import Account
from metrics.choices import MovementKind, Period, SurveyKind, TicketPriority, TicketStatus
from metrics.definitions import METRICS, MetricDefinition, Unit
from metrics.models import (
    AccountDailyMetrics,
    Feature,
    MetricSnapshot,
    MrrMovement,
    SurveyResponse,
    Ticket,
)

# Segments ------------------------------------------------------------------------------

# Account fields a segment may slice by, as the engine stores them ("tier:enterprise").
SEGMENT_FIELDS: dict[str, tuple[Promise, Any]] = {
    "tier": (_("Tier"), Tier),
    "touch_model": (_("Touch model"), TouchModel),
    "business_model": (_("Business model"), BusinessModel),
}


def segment_choices() -> list[tuple[str, Any]]:
    """("", Portfolio) then one group per segment field, for the filter select."""
    choices: list[tuple[str, Any]] = [("", _("Whole portfolio"))]
    for name, (label, enum) in SEGMENT_FIELDS.items():
        choices.append((str(label), [(f"{name}:{value}", lbl) for value, lbl in enum.choices]))
    return choices


# Feature adoption is stored per feature, under the segment "feature:<feature key>".
FEATURE_SEGMENT = "feature"
_SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def segment_parse(value: str | None) -> str:
    """The stored segment key for a filter value; ValueError if it names no known segment."""
    value = (value or "").strip()
    if value in ("", "all", "portfolio"):
        return ""
    name, sep, choice = value.partition(":")
    if name == FEATURE_SEGMENT and sep and _SLUG.match(choice) and len(value) <= 64:
        return value
    if not sep or name not in SEGMENT_FIELDS or choice not in SEGMENT_FIELDS[name][1].values:
        raise ValueError(value)
    return value


def segment_label(segment: str) -> Any:
    if not segment:
        return _("Whole portfolio")
    name, _sep, choice = segment.partition(":")
    if name == FEATURE_SEGMENT:
        return f"{_('Feature')}: {choice}"
    enum = SEGMENT_FIELDS[name][1]
    return f"{SEGMENT_FIELDS[name][0]}: {enum(choice).label}"


def _segment_q(segment: str, prefix: str = "account__") -> Q:
    if not segment:
        return Q()
    name, _sep, choice = segment.partition(":")
    return Q(**{f"{prefix}{name}": choice})


# Periods and ranges --------------------------------------------------------------------

# How far back a page or the API looks when no start is given.
DEFAULT_WINDOW_DAYS = {
    Period.DAY: 90,
    Period.WEEK: 7 * 26,
    Period.MONTH: 365,
    Period.QUARTER: 2 * 365,
    Period.YEAR: 5 * 365,
}
# The longest range one request may ask for.
MAX_RANGE_DAYS = {
    Period.DAY: 2 * 366,
    Period.WEEK: 5 * 366,
    Period.MONTH: 10 * 366,
    Period.QUARTER: 10 * 366,
    Period.YEAR: 20 * 366,
}
ACCOUNT_MAX_RANGE_DAYS = 2 * 366


def today_utc() -> date:
    return timezone.now().date()


def default_range(period: str, end: date | None = None) -> tuple[date, date]:
    end = end or today_utc()
    return end - timedelta(days=DEFAULT_WINDOW_DAYS[Period(period)]), end


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    months = d.year * 12 + d.month - 1 + n
    return date(months // 12, months % 12 + 1, 1)


def months_between(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


# Series --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    date: date
    value: Decimal | None
    numerator: Decimal | None = None
    denominator: Decimal | None = None


def metric_snapshots(
    *, metrics: Iterable[str], period: str, segment: str, start: date, end: date
) -> QuerySet[MetricSnapshot]:
    return MetricSnapshot.objects.filter(
        metric__in=list(metrics),
        period=period,
        segment=segment,
        date__gte=start,
        date__lte=end,
    ).order_by("metric", "date")


def metrics_series(
    *, metrics: Iterable[str], period: str, segment: str, start: date, end: date
) -> dict[str, list[Point]]:
    """Each metric's points in the range, oldest first, in one query."""
    keys = list(metrics)
    series: dict[str, list[Point]] = {key: [] for key in keys}
    rows = metric_snapshots(
        metrics=keys, period=period, segment=segment, start=start, end=end
    ).values_list("metric", "date", "value", "numerator", "denominator")
    for metric, day, value, numerator, denominator in rows:
        series[metric].append(Point(day, value, numerator, denominator))
    return series


def metric_series(*, metric: str, period: str, segment: str, start: date, end: date) -> list[Point]:
    return metrics_series(metrics=[metric], period=period, segment=segment, start=start, end=end)[
        metric
    ]


@dataclass(frozen=True)
class MetricFigure:
    """A metric's latest value on the dashboard, with its change since the period before."""

    definition: MetricDefinition
    latest: Decimal | None
    latest_date: date | None
    previous: Decimal | None

    @property
    def key(self) -> str:
        return self.definition.key

    @property
    def delta(self) -> Decimal | None:
        if self.latest is None or self.previous is None:
            return None
        return self.latest - self.previous

    @property
    def trend(self) -> str:
        """ "good", "bad" or "flat" (or "" when the metric has no better direction)."""
        delta = self.delta
        if delta is None or delta == 0:
            return "flat"
        if self.definition.higher_is_better is None:
            return ""
        return "good" if (delta > 0) == self.definition.higher_is_better else "bad"

    @property
    def is_percent(self) -> bool:
        return self.definition.unit == Unit.PERCENT


def figures(series: dict[str, list[Point]]) -> dict[str, MetricFigure]:
    """Latest and previous non-empty value of each catalogued metric in `series` (no query)."""
    result = {}
    for key, points in series.items():
        definition = METRICS.get(key)
        if definition is None:
            continue
        known = [p for p in points if p.value is not None]
        latest = known[-1] if known else None
        previous = known[-2] if len(known) > 1 else None
        result[key] = MetricFigure(
            definition=definition,
            latest=latest.value if latest else None,
            latest_date=latest.date if latest else None,
            previous=previous.value if previous else None,
        )
    return result


def chart_data(
    series: dict[str, list[Point]], keys: Iterable[str], *, benchmark_key: str | None = None
) -> dict[str, Any]:
    """Chart.js-ready labels and datasets for some metrics of `series`, aligned by date."""
    keys = [k for k in keys if k in series and k in METRICS]
    dates = sorted({p.date for k in keys for p in series[k]})
    datasets = []
    for key in keys:
        by_date = {p.date: p.value for p in series[key]}
        datasets.append(
            {
                "key": key,
                "label": str(METRICS[key].label),
                "data": [_as_float(by_date.get(d)) for d in dates],
            }
        )
    benchmarks = []
    definition = METRICS.get(benchmark_key or (keys[0] if keys else ""))
    if definition is not None:
        for b in definition.benchmarks:
            for bound in {b.low, b.high} - {None}:
                benchmarks.append({"label": str(b.label), "value": bound})
    unit = METRICS[keys[0]].unit.value if keys else ""
    return {
        "labels": [d.isoformat() for d in dates],
        "datasets": datasets,
        "benchmarks": benchmarks,
        "unit": unit,
    }


def _as_float(value: Decimal | None) -> float | None:
    # Chart.js draws numbers; the page shows exact Decimals everywhere else.
    return None if value is None else float(value)


@dataclass(frozen=True)
class FeatureAdoption:
    key: str
    name: str
    latest: Decimal | None
    previous: Decimal | None
    latest_date: date | None

    @property
    def delta(self) -> Decimal | None:
        if self.latest is None or self.previous is None:
            return None
        return self.latest - self.previous


def feature_adoption(*, period: str, start: date, end: date) -> list[FeatureAdoption]:
    """Each feature's adoption rate in its latest period of the range, highest first (2 queries).

    The engine stores adoption per feature for the whole portfolio only, so there is no
    segment here.
    """
    prefix = f"{FEATURE_SEGMENT}:"
    points: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
    rows = (
        MetricSnapshot.objects.filter(
            metric="feature_adoption",
            period=period,
            segment__startswith=prefix,
            date__gte=start,
            date__lte=end,
            value__isnull=False,
        )
        .order_by("segment", "date")
        .values_list("segment", "date", "value")
    )
    for segment, day, value in rows:
        if value is not None:
            points[segment.removeprefix(prefix)].append((day, value))
    names = dict(Feature.objects.filter(key__in=list(points)).values_list("key", "name"))
    result = [
        FeatureAdoption(
            key=key,
            name=names.get(key, key),
            latest=series[-1][1],
            previous=series[-2][1] if len(series) > 1 else None,
            latest_date=series[-1][0],
        )
        for key, series in points.items()
    ]
    return sorted(result, key=lambda f: (-(f.latest or 0), f.name))


def snapshots_exist() -> bool:
    return MetricSnapshot.objects.exists()


# MRR movements waterfall ---------------------------------------------------------------

MOVEMENT_SIGN = {
    MovementKind.NEW: 1,
    MovementKind.EXPANSION: 1,
    MovementKind.REACTIVATION: 1,
    MovementKind.CONTRACTION: -1,
    MovementKind.CHURN: -1,
}
# The order a waterfall reads in: opening, gains, losses, closing.
WATERFALL_ORDER = (
    MovementKind.NEW,
    MovementKind.EXPANSION,
    MovementKind.REACTIVATION,
    MovementKind.CONTRACTION,
    MovementKind.CHURN,
)


@dataclass(frozen=True)
class WaterfallStep:
    kind: str
    label: Any
    amount: Decimal  # signed: gains positive, losses negative
    accounts: int


@dataclass(frozen=True)
class Waterfall:
    """One month's MRR bridge: opening + new + expansion + reactivation − contraction − churn."""

    month: date
    opening: Decimal | None
    steps: list[WaterfallStep]

    @property
    def net(self) -> Decimal:
        return sum((s.amount for s in self.steps), Decimal(0))

    @property
    def closing(self) -> Decimal | None:
        return None if self.opening is None else self.opening + self.net

    @property
    def has_movements(self) -> bool:
        return any(s.accounts for s in self.steps)

    def chart(self) -> dict[str, Any]:
        """Floating bars [from, to] so the steps hang from the running total."""
        labels, bars, colours = [], [], []
        running = self.opening if self.opening is not None else Decimal(0)
        if self.opening is not None:
            labels.append(str(_("Opening MRR")))
            bars.append([0.0, float(self.opening)])
            colours.append("total")
        for step in self.steps:
            labels.append(str(step.label))
            bars.append([float(running), float(running + step.amount)])
            colours.append("gain" if step.amount >= 0 else "loss")
            running += step.amount
        if self.opening is not None:
            labels.append(str(_("Closing MRR")))
            bars.append([0.0, float(running)])
            colours.append("total")
        return {"labels": labels, "bars": bars, "kinds": colours}


def latest_movement_month() -> date | None:
    return MrrMovement.objects.aggregate(m=Max("month"))["m"]


def mrr_waterfall(*, month: date, segment: str = "") -> Waterfall:
    """The movements of `month` by kind (one query) and the opening MRR from snapshots (one)."""
    month = month_start(month)
    totals = MrrMovement.objects.filter(_segment_q(segment), month=month).aggregate(
        **{
            f"{kind}_amount": Sum(Abs("amount"), filter=Q(kind=kind), default=Decimal(0))
            for kind in WATERFALL_ORDER
        },
        **{f"{kind}_n": Count("pk", filter=Q(kind=kind)) for kind in WATERFALL_ORDER},
        opening_sum=Sum("opening_mrr", default=Decimal(0)),
    )
    steps = [
        WaterfallStep(
            kind=kind.value,
            label=kind.label,
            amount=MOVEMENT_SIGN[kind] * totals[f"{kind}_amount"],
            accounts=totals[f"{kind}_n"],
        )
        for kind in WATERFALL_ORDER
    ]
    net = sum((s.amount for s in steps), Decimal(0))
    # Monthly MRR snapshots of the month before and this one: the bridge's two ends.
    mrr_points = list(
        MetricSnapshot.objects.filter(
            metric="mrr",
            period=Period.MONTH,
            segment=segment,
            date__gte=add_months(month, -1),
            date__lt=add_months(month, 1),
            value__isnull=False,
        )
        .order_by("date")
        .values_list("date", "value")
    )
    before = [v for d, v in mrr_points if d < month and v is not None]
    during = [v for d, v in mrr_points if d >= month and v is not None]
    if before:
        opening: Decimal | None = before[-1]
    elif during:
        opening = during[-1] - net
    else:
        opening = None
    return Waterfall(month=month, opening=opening, steps=steps)


# Cohort retention ----------------------------------------------------------------------


@dataclass(frozen=True)
class CohortCell:
    offset: int
    accounts: int
    mrr: Decimal
    logo_retention: Decimal | None  # % of the cohort's accounts still paying
    revenue_retention: Decimal | None  # their MRR now ÷ their starting MRR × 100


@dataclass(frozen=True)
class CohortRow:
    month: date
    accounts: int
    starting_mrr: Decimal
    cells: list[CohortCell] = field(default_factory=list)


@dataclass(frozen=True)
class CohortTable:
    rows: list[CohortRow]
    offsets: list[int]


def _pct(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def cohort_retention(
    *, segment: str = "", months: int = 12, today: date | None = None
) -> CohortTable:
    """Logo and revenue retention by start month, from MRR movements in one grouped query.

    An account's cohort is the month of its first "new" movement. Summing the movements of
    a cohort month by month gives how many of its accounts pay (+1 new or reactivation,
    −1 churn) and their MRR (closing − opening) at every later month, so the database
    returns one row per cohort and month, never one per account.
    """
    current = month_start(today or today_utc())
    first = add_months(current, -(months - 1))
    first_new = (
        MrrMovement.objects.filter(account=OuterRef("account"), kind=MovementKind.NEW)
        .order_by("month")
        .values("month")[:1]
    )
    rows = (
        MrrMovement.objects.filter(_segment_q(segment), month__lte=current)
        .annotate(cohort=Subquery(first_new))
        .filter(cohort__gte=first, cohort__lte=current, month__gte=F("cohort"))
        .values("cohort", "month")
        .annotate(
            mrr_delta=Sum(F("closing_mrr") - F("opening_mrr")),
            logo_delta=Sum(
                Case(
                    When(kind__in=[MovementKind.NEW, MovementKind.REACTIVATION], then=Value(1)),
                    When(kind=MovementKind.CHURN, then=Value(-1)),
                    default=Value(0),
                    output_field=IntegerField(),
                )
            ),
        )
        .order_by("cohort", "month")
    )
    deltas: dict[date, dict[int, tuple[Decimal, int]]] = defaultdict(dict)
    last = None
    for r in rows:
        offset = months_between(r["cohort"], r["month"])
        deltas[r["cohort"]][offset] = (r["mrr_delta"] or Decimal(0), r["logo_delta"] or 0)
        last = r["month"] if last is None or r["month"] > last else last
    if last is None:
        return CohortTable(rows=[], offsets=[])
    table = []
    for cohort in sorted(deltas):
        mrr, logos = Decimal(0), 0
        cells = []
        for offset in range(months_between(cohort, last) + 1):
            d_mrr, d_logos = deltas[cohort].get(offset, (Decimal(0), 0))
            mrr += d_mrr
            logos += d_logos
            cells.append(CohortCell(offset, logos, mrr, None, None))
        start_accounts, start_mrr = cells[0].accounts, cells[0].mrr
        table.append(
            CohortRow(
                month=cohort,
                accounts=start_accounts,
                starting_mrr=start_mrr,
                cells=[
                    CohortCell(
                        c.offset,
                        c.accounts,
                        c.mrr,
                        _pct(c.accounts, start_accounts),
                        _pct(c.mrr, start_mrr),
                    )
                    for c in cells
                ],
            )
        )
    width = max(len(r.cells) for r in table)
    return CohortTable(rows=table, offsets=list(range(width)))


# Account usage and sentiment (the 360 panel) -------------------------------------------

OPEN_TICKET_STATUSES = (TicketStatus.OPEN, TicketStatus.PENDING)
PANEL_DAYS = 90
RESPONSES_PER_KIND = 3


@dataclass(frozen=True)
class AccountUsage:
    days: list[AccountDailyMetrics]
    responses: dict[str, list[SurveyResponse]]
    tickets_open: int
    tickets_30d: int
    tickets_open_p1: int
    open_tickets: list[Ticket]

    @property
    def latest(self) -> AccountDailyMetrics | None:
        return self.days[-1] if self.days else None

    @property
    def stickiness(self) -> Decimal | None:
        latest = self.latest
        if latest is None or not latest.mau:
            return None
        return _pct(latest.dau, latest.mau)

    @property
    def latest_nps(self) -> SurveyResponse | None:
        return next(iter(self.responses.get(SurveyKind.NPS, [])), None)

    @property
    def latest_csat(self) -> SurveyResponse | None:
        return next(iter(self.responses.get(SurveyKind.CSAT, [])), None)

    @property
    def is_empty(self) -> bool:
        return not (self.days or self.responses or self.tickets_30d or self.tickets_open)

    def chart(self) -> dict[str, Any]:
        labels = [d.date.isoformat() for d in self.days]
        return {
            "labels": labels,
            "datasets": [
                {"key": "dau", "label": str(_("DAU")), "data": [d.dau for d in self.days]},
                {"key": "wau", "label": str(_("WAU")), "data": [d.wau for d in self.days]},
                {"key": "mau", "label": str(_("MAU")), "data": [d.mau for d in self.days]},
            ],
            "benchmarks": [],
            "unit": Unit.COUNT.value,
        }


def account_daily_metrics(
    *, account_id: int, start: date, end: date
) -> QuerySet[AccountDailyMetrics]:
    return AccountDailyMetrics.objects.filter(
        account_id=account_id, date__gte=start, date__lte=end
    ).order_by("date")


def account_usage(*, account: Account, today: date | None = None) -> AccountUsage:
    """Usage, survey answers and tickets of one account in three queries."""
    today = today or today_utc()
    days = list(
        account_daily_metrics(
            account_id=account.pk, start=today - timedelta(days=PANEL_DAYS - 1), end=today
        )
    )
    ranked = (
        SurveyResponse.objects.filter(account=account)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("kind")],
                order_by=[F("responded_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=RESPONSES_PER_KIND)
        .select_related("contact")
        .order_by("kind", "-responded_at", "-pk")
    )
    grouped: dict[str, list[SurveyResponse]] = defaultdict(list)
    for response in ranked:
        grouped[response.kind].append(response)
    # NPS first, then CSAT, then CES, as the panel shows them.
    responses = {kind: grouped[kind] for kind in SurveyKind.values if kind in grouped}
    # One account's open and recent tickets are few: one query, counted here.
    since = timezone.now() - timedelta(days=30)
    tickets = list(
        Ticket.objects.filter(
            Q(status__in=OPEN_TICKET_STATUSES) | Q(opened_at__gte=since), account=account
        ).order_by("priority", "-opened_at", "-pk")
    )
    open_tickets = [t for t in tickets if t.status in OPEN_TICKET_STATUSES]
    return AccountUsage(
        days=days,
        responses=responses,
        tickets_open=len(open_tickets),
        tickets_30d=sum(1 for t in tickets if t.opened_at >= since),
        tickets_open_p1=sum(1 for t in open_tickets if t.priority == TicketPriority.P1),
        open_tickets=open_tickets[:5],
    )
