"""Reads of the renewals app: the list, pipeline and forecast, realised retention, the
calendar, churn analysis and the account panel. Each runs a fixed number of queries
whatever the number of renewals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Concat, RowNumber, TruncMonth, TruncQuarter
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import TaskStatus
from accounts.models import Account, Task
from csplatform.roles import can_edit_owned
from csplatform.sql import Dialect
from metrics.choices import Period
from metrics.models import MetricSnapshot
from metrics.selectors import SEGMENT_FIELDS, segment_parse
from metrics.services.engine import period_bounds
from metrics.services.engine_sql import SCOPE, periods_cte, subscriptions_cte
from renewals.choices import (
    CounterOfferKind,
    CounterOfferStatus,
    ForecastCategory,
    Outcome,
    ReasonCode,
    WinBackStatus,
)
from renewals.models import CounterOffer, ExitInterview, Renewal, RenewalReminder
from renewals.services.closing import renewal_task_key
from renewals.services.offboarding import lost_customer

MONEY: DecimalField = DecimalField(max_digits=18, decimal_places=4)
ZERO = Decimal(0)
HUNDRED = Decimal(100)
FOUR = Decimal("0.0001")

# Open renewals: what the owner expects to renew, and that weighted by its probability.
FORECAST_ARR = Coalesce(F("expected_arr"), F("mrr") * 12, output_field=MONEY)
WEIGHTED_ARR = ExpressionWrapper(FORECAST_ARR * F("probability") / 100, output_field=MONEY)
# Closed renewals: what they renewed at (nothing for a churn) and what was lost.
LOST_MRR = Case(
    When(outcome__in=[Outcome.CHURNED, Outcome.CONTRACTED], then=F("mrr") - F("outcome_mrr")),
    default=Value(ZERO),
    output_field=MONEY,
)


def renewal_can_change(*, user: Any, renewal: Renewal) -> bool:
    """The account's owner (a CSM), a CS Lead or an Admin; never a Viewer."""
    return can_edit_owned(user, renewal.account.owner_id)


def renewal_list() -> QuerySet[Renewal]:
    """Renewals as the list page, the API and the CSV show them (one query per page)."""
    return Renewal.objects.select_related(
        "account", "account__owner", "owner", "subscription"
    ).annotate(
        forecast_arr_value=Case(
            When(outcome="", then=FORECAST_ARR), default=F("outcome_mrr") * 12, output_field=MONEY
        ),
        weighted_arr_value=Case(
            When(outcome="", then=WEIGHTED_ARR),
            default=F("outcome_mrr") * 12,
            output_field=MONEY,
        ),
    )


def renewal_detail(*, pk: int) -> Renewal:
    """One renewal with its offers, interview, reminders and successor, in fixed queries."""
    return (
        Renewal.objects.select_related(
            "account",
            "account__owner",
            "owner",
            "closed_by",
            "subscription",
            "successor",
            "exit_interview",
            "exit_interview__contact",
            "exit_interview__conducted_by",
        )
        .prefetch_related(
            Prefetch(
                "counter_offers",
                queryset=CounterOffer.objects.select_related("created_by").order_by(
                    "-offered_on", "-pk"
                ),
            ),
            Prefetch(
                "reminders",
                queryset=RenewalReminder.objects.select_related("task").order_by("-created_at"),
            ),
        )
        .get(pk=pk)
    )


def renewal_tasks(*, renewal: Renewal) -> QuerySet[Task]:
    """The tasks the platform made for this renewal (reminders, mitigation, exit)."""
    return (
        Task.objects.filter(
            account_id=renewal.account_id,
            dedupe_key__startswith=renewal_task_key(renewal.pk, ""),
        )
        .select_related("assignee")
        .order_by("status", "due_date", "pk")
    )


# Totals ----------------------------------------------------------------------------------


@dataclass
class Totals:
    """ARR of a set of renewals in one currency: what is up, how it is forecast, how it went."""

    currency: str
    renewals: int = 0
    open: int = 0
    arr: Decimal = ZERO  # ARR up for renewal, open and closed
    commit: Decimal = ZERO
    probable: Decimal = ZERO
    at_risk: Decimal = ZERO
    churn: Decimal = ZERO
    weighted: Decimal = ZERO  # open renewals, risk-weighted
    at_risk_count: int = 0
    closed: int = 0
    won: Decimal = ZERO  # ARR renewed at (renewed, expanded, contracted)
    lost: Decimal = ZERO  # ARR churned or contracted away
    expansion: Decimal = ZERO

    @property
    def forecast(self) -> Decimal:
        """Commit + probable, plus what has already renewed (SPEC §7)."""
        return self.won + self.commit + self.probable

    @property
    def weighted_forecast(self) -> Decimal:
        """What is expected to renew: renewed already, plus the open risk-weighted."""
        return self.won + self.weighted

    @property
    def forecast_rate(self) -> Decimal | None:
        """The risk-weighted forecast as a share of the ARR up for renewal."""
        if not self.arr:
            return None
        return (self.weighted_forecast * HUNDRED / self.arr).quantize(Decimal("0.1"))


def _totals_aggregates() -> dict[str, Any]:
    """Aggregates of Totals' fields, prefixed: an aggregate must not shadow a field
    (at_risk) that another aggregate filters on."""
    open_ = Q(outcome="")
    closed = ~Q(outcome="")

    def open_sum(category: str) -> Sum:
        return Sum(FORECAST_ARR, filter=open_ & Q(forecast_category=category), default=ZERO)

    aggregates = {
        "renewals": Count("pk"),
        "open": Count("pk", filter=open_),
        "arr": Sum(F("mrr") * 12, default=ZERO, output_field=MONEY),
        "commit": open_sum(ForecastCategory.COMMIT),
        "probable": open_sum(ForecastCategory.PROBABLE),
        "at_risk": open_sum(ForecastCategory.AT_RISK),
        # What is at stake, not what is expected back (nothing, for a churn).
        "churn": Sum(
            F("mrr") * 12,
            filter=open_ & Q(forecast_category=ForecastCategory.CHURN),
            default=ZERO,
            output_field=MONEY,
        ),
        "weighted": Sum(WEIGHTED_ARR, filter=open_, default=ZERO),
        "at_risk_count": Count("pk", filter=open_ & Q(at_risk=True)),
        "closed": Count("pk", filter=closed),
        "won": Sum(
            F("outcome_mrr") * 12,
            filter=closed & ~Q(outcome=Outcome.CHURNED),
            default=ZERO,
            output_field=MONEY,
        ),
        "lost": Sum(LOST_MRR * 12, filter=closed, default=ZERO, output_field=MONEY),
        "expansion": Sum(
            (F("outcome_mrr") - F("mrr")) * 12,
            filter=Q(outcome=Outcome.EXPANDED),
            default=ZERO,
            output_field=MONEY,
        ),
    }
    return {f"{PREFIX}{k}": v for k, v in aggregates.items()}


PREFIX = "t_"


def _totals(row: dict[str, Any], currency: str) -> Totals:
    return Totals(
        currency=currency,
        **{k[len(PREFIX) :]: v for k, v in row.items() if k.startswith(PREFIX)},
    )


def totals_by_currency(qs: QuerySet[Renewal]) -> list[Totals]:
    """One Totals per currency of the renewals (one query), the largest first."""
    rows = qs.order_by().values("currency").annotate(**_totals_aggregates())
    return sorted((_totals(r, r["currency"]) for r in rows), key=lambda t: (-t.arr, t.currency))


# Pipeline --------------------------------------------------------------------------------


@dataclass
class PipelineRow:
    period: dt.date  # first day of the month or quarter
    end: dt.date
    label: str
    totals: Totals


@dataclass
class Pipeline:
    by: str  # "month" or "quarter"
    currencies: list[str]
    # currency → rows, oldest period first
    rows: dict[str, list[PipelineRow]] = field(default_factory=dict)
    totals: list[Totals] = field(default_factory=list)


def period_label(by: str, start: dt.date) -> str:
    if by == Period.QUARTER:
        return f"{start.year} Q{(start.month - 1) // 3 + 1}"
    return start.strftime("%Y-%m")


def pipeline(*, qs: QuerySet[Renewal], by: str) -> Pipeline:
    """Renewals grouped by the month or quarter of their date and by currency (one query for
    the rows, one for the totals)."""
    trunc = TruncQuarter("renewal_date") if by == Period.QUARTER else TruncMonth("renewal_date")
    rows = (
        qs.order_by()
        .annotate(period=trunc)
        .values("period", "currency")
        .annotate(**_totals_aggregates())
        .order_by("period", "currency")
    )
    out = Pipeline(by=by, currencies=[])
    for row in rows:
        period = row["period"]
        if isinstance(period, dt.datetime):
            period = period.date()
        out.rows.setdefault(row["currency"], []).append(
            PipelineRow(
                period,
                period_bounds(by, period)[1],
                period_label(by, period),
                _totals(row, row["currency"]),
            )
        )
    out.totals = totals_by_currency(qs)
    out.currencies = [t.currency for t in out.totals]
    return out


def pipeline_chart(pipe: Pipeline, currency: str) -> dict[str, Any]:
    """Chart.js data: stacked ARR by forecast category per period, one currency."""
    rows = pipe.rows.get(currency, [])

    def series(attr: str) -> list[float]:
        return [float(getattr(r.totals, attr)) for r in rows]

    return {
        "labels": [r.label for r in rows],
        "currency": currency,
        "datasets": [
            {"key": "won", "label": str(_("Renewed")), "data": series("won")},
            {
                "key": "commit",
                "label": str(ForecastCategory.COMMIT.label),
                "data": series("commit"),
            },
            {
                "key": "probable",
                "label": str(ForecastCategory.PROBABLE.label),
                "data": series("probable"),
            },
            {
                "key": "at_risk",
                "label": str(ForecastCategory.AT_RISK.label),
                "data": series("at_risk"),
            },
            {"key": "churn", "label": str(ForecastCategory.CHURN.label), "data": series("churn")},
            {"key": "lost", "label": str(_("Lost")), "data": series("lost")},
        ],
        "weighted": series("weighted_forecast"),
    }


# Realised retention ----------------------------------------------------------------------


@dataclass
class RetentionRow:
    """A closed period's retention read from closed renewals, beside the engine's figures.

    Opening MRR is the portfolio's on the day before the period (the engine's rule); each
    account's renewals that took effect in the period are netted, so an account that
    expanded one line and contracted another by as much moved nothing, as in the engine.
    """

    kind: str
    start: dt.date
    end: dt.date
    opening: Decimal
    expansion: Decimal
    lost: Decimal  # contraction + churn
    renewing: Decimal  # MRR of the renewals that took effect
    renewals: int
    won: int
    churned: int
    engine_grr: Decimal | None = None
    engine_nrr: Decimal | None = None

    @property
    def label(self) -> str:
        return period_label(self.kind, self.start)

    @property
    def grr(self) -> Decimal | None:
        if not self.opening:
            return None
        value = ((self.opening - self.lost) * HUNDRED / self.opening).quantize(FOUR, ROUND_HALF_UP)
        return min(value, HUNDRED)

    @property
    def nrr(self) -> Decimal | None:
        if not self.opening:
            return None
        return ((self.opening + self.expansion - self.lost) * HUNDRED / self.opening).quantize(
            FOUR, ROUND_HALF_UP
        )

    @property
    def renewal_rate(self) -> Decimal | None:
        """Renewals won ÷ renewals decided, by count (logo renewal rate)."""
        if not self.renewals:
            return None
        return (Decimal(self.won) * HUNDRED / self.renewals).quantize(Decimal("0.1"))

    @property
    def agrees(self) -> bool | None:
        if self.engine_grr is None or self.engine_nrr is None:
            return None
        return self.engine_grr == self.grr and self.engine_nrr == self.nrr


def closed_periods(
    *, by: str, count: int, today: dt.date | None = None
) -> list[tuple[dt.date, dt.date]]:
    """The last `count` whole months or quarters before the current one, oldest first."""
    today = today or timezone.localdate()
    start, _end = period_bounds(by, today)
    spans = []
    for _i in range(count):
        start, end = period_bounds(by, start - dt.timedelta(days=1))
        spans.append((start, end))
    return spans[::-1]


def _segment_sql(segment: str, params: dict[str, Any]) -> str:
    """The condition on an account segment ("tier:smb"); ValueError for an unknown one."""
    segment = segment_parse(segment)
    if not segment:
        return ""
    name, _sep, value = segment.partition(":")
    if name not in SEGMENT_FIELDS:
        raise ValueError(segment)
    params["segment_value"] = value
    return f" AND o.{name} = %(segment_value)s"


def realised_retention(
    *, by: str, spans: list[tuple[dt.date, dt.date]], segment: str = ""
) -> list[RetentionRow]:
    """GRR and NRR of each period from the renewals closed in it (one statement), with the
    metric engine's snapshot of the same period and segment (one query)."""
    if not spans:
        return []
    d = Dialect(connection.vendor)
    params: dict[str, Any] = {"lo": 0, "hi": 2**62}
    for i, (ps, pe) in enumerate(spans):
        params.update(
            {
                f"p{i}_kind": by,
                f"p{i}_pdate": pe,
                f"p{i}_ps": ps,
                f"p{i}_pe": pe,
                f"p{i}_open_d": ps - dt.timedelta(days=1),
                f"p{i}_pe_next": pe + dt.timedelta(days=1),
                f"p{i}_m_start": pe - dt.timedelta(days=29),
            }
        )
    where_segment = _segment_sql(segment, params)
    sql = f"""
    WITH {periods_cte(d, len(spans))},
    {subscriptions_cte(d, SCOPE)},
    opening AS (
        SELECT p.pdate, s.account_id, s.tier, s.touch_model, s.business_model,
            SUM(s.mrr) AS opening
        FROM periods p JOIN subs s
          ON s.start_date <= p.open_d AND (s.last_day IS NULL OR s.last_day >= p.open_d)
        GROUP BY p.pdate, s.account_id, s.tier, s.touch_model, s.business_model
    ),
    moves AS (
        SELECT p.pdate, r.account_id,
            SUM(COALESCE(r.outcome_mrr, 0) - r.mrr) AS delta,
            SUM(r.mrr) AS base,
            COUNT(*) AS n,
            SUM(CASE WHEN r.outcome = 'churned' THEN 1 ELSE 0 END) AS churned
        FROM periods p JOIN renewals_renewal r
          ON r.outcome <> '' AND r.effective_on >= p.ps AND r.effective_on <= p.pe
        GROUP BY p.pdate, r.account_id
    )
    SELECT o.pdate, SUM(o.opening),
        SUM(CASE WHEN m.delta > 0 THEN m.delta ELSE 0 END),
        SUM(CASE WHEN m.delta < 0 THEN {d.least("-m.delta", "o.opening")} ELSE 0 END),
        SUM(COALESCE(m.base, 0)), SUM(COALESCE(m.n, 0)), SUM(COALESCE(m.churned, 0))
    FROM opening o
    LEFT JOIN moves m ON m.pdate = o.pdate AND m.account_id = o.account_id
    WHERE o.opening > 0{where_segment}
    GROUP BY o.pdate
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = {_as_date(r[0]): r[1:] for r in cursor.fetchall()}
    engine: dict[tuple[dt.date, str], Decimal | None] = {
        (day, metric): value
        for day, metric, value in MetricSnapshot.objects.filter(
            period=by,
            segment=segment,
            metric__in=["grr", "nrr"],
            date__in=[pe for _ps, pe in spans],
        ).values_list("date", "metric", "value")
    }
    out = []
    for ps, pe in spans:
        opening, expansion, lost, base, n, churned = found.get(pe, (0, 0, 0, 0, 0, 0))
        out.append(
            RetentionRow(
                kind=by,
                start=ps,
                end=pe,
                opening=_dec(opening),
                expansion=_dec(expansion),
                lost=_dec(lost),
                renewing=_dec(base),
                renewals=int(n or 0),
                won=int(n or 0) - int(churned or 0),
                churned=int(churned or 0),
                engine_grr=engine.get((pe, "grr")),
                engine_nrr=engine.get((pe, "nrr")),
            )
        )
    return out


def _dec(value: Any) -> Decimal:
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# Calendar --------------------------------------------------------------------------------


@dataclass
class CalendarDay:
    day: dt.date
    in_month: bool
    renewals: int = 0
    arr: dict[str, Decimal] = field(default_factory=dict)
    at_risk: int = 0
    deadlines: int = 0
    top: list[Renewal] = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(0, self.renewals - len(self.top))


def calendar_month(
    *, qs: QuerySet[Renewal], month: dt.date, top: int = 3
) -> list[list[CalendarDay]]:
    """Weeks (Monday first) of the month with each day's renewals and notice deadlines, in
    three queries: per-day totals, deadlines, and the largest few renewals of each day."""
    first, last = period_bounds(Period.MONTH, month)
    grid_start = first - dt.timedelta(days=first.weekday())
    grid_end = last + dt.timedelta(days=6 - last.weekday())
    days = {
        grid_start + dt.timedelta(days=i): CalendarDay(
            day=grid_start + dt.timedelta(days=i),
            in_month=first <= grid_start + dt.timedelta(days=i) <= last,
        )
        for i in range((grid_end - grid_start).days + 1)
    }
    in_grid = qs.order_by().filter(renewal_date__gte=grid_start, renewal_date__lte=grid_end)
    for day, currency, n, arr, risky in (
        in_grid.values("renewal_date", "currency")
        .annotate(
            n=Count("pk"),
            arr_sum=Sum(F("mrr") * 12, output_field=MONEY),
            risky=Count("pk", filter=Q(at_risk=True, outcome="")),
        )
        .values_list("renewal_date", "currency", "n", "arr_sum", "risky")
    ):
        cell = days[day]
        cell.renewals += n
        cell.arr[currency] = cell.arr.get(currency, ZERO) + (arr or ZERO)
        cell.at_risk += risky
    for day, n in (
        qs.order_by()
        .filter(outcome="", notice_deadline__gte=grid_start, notice_deadline__lte=grid_end)
        .values("notice_deadline")
        .annotate(n=Count("pk"))
        .values_list("notice_deadline", "n")
    ):
        days[day].deadlines += n
    ranked = (
        in_grid.select_related("account")
        .annotate(
            rank=Window(
                RowNumber(), partition_by=[F("renewal_date")], order_by=[F("mrr").desc(), F("pk")]
            )
        )
        .filter(rank__lte=top)
        .order_by("renewal_date", "rank")
    )
    for renewal in ranked:
        days[renewal.renewal_date].top.append(renewal)
    ordered = [days[k] for k in sorted(days)]
    return [ordered[i : i + 7] for i in range(0, len(ordered), 7)]


# Churn analysis --------------------------------------------------------------------------


@dataclass
class ReasonRow:
    reason: str
    label: str
    churned: int
    contracted: int
    lost_arr: Decimal
    voluntary: bool


@dataclass
class ChurnAnalysis:
    reasons: list[ReasonRow]
    by_type: dict[str, tuple[int, Decimal]]
    competitors: list[tuple[str, int, Decimal]]
    offers: list[dict[str, Any]]
    offers_made: int
    offers_accepted: int
    saved_arr: Decimal
    interviews: int
    communication: dict[str, int]
    would_return: dict[str, int]
    recent_interviews: list[ExitInterview]
    lost_customers: int
    won_back: int
    win_back_planned: list[Renewal]
    unexplained: int

    @property
    def acceptance_rate(self) -> Decimal | None:
        if not self.offers_made:
            return None
        return (Decimal(self.offers_accepted) * HUNDRED / self.offers_made).quantize(Decimal("0.1"))

    @property
    def win_back_rate(self) -> Decimal | None:
        """Churned customers who became customers again ÷ churned customers × 100 (SPEC §3)."""
        if not self.lost_customers:
            return None
        return (Decimal(self.won_back) * HUNDRED / self.lost_customers).quantize(Decimal("0.1"))

    @property
    def lost_arr(self) -> Decimal:
        return sum((r.lost_arr for r in self.reasons), ZERO)


def churn_analysis(*, qs: QuerySet[Renewal], recent: int = 10) -> ChurnAnalysis:
    """Why customers leave or shrink, what was offered, what they said, who came back.

    `qs` is the closed renewals in scope (a period, an owner, a tier); a fixed number of
    queries.
    """
    lost = qs.filter(outcome__in=[Outcome.CHURNED, Outcome.CONTRACTED])
    reasons = []
    unexplained = 0
    for reason, churned, contracted, lost_mrr in (
        lost.order_by()
        .values("reason")
        .annotate(
            churned=Count("pk", filter=Q(outcome=Outcome.CHURNED)),
            contracted=Count("pk", filter=Q(outcome=Outcome.CONTRACTED)),
            lost_mrr=Sum(LOST_MRR, output_field=MONEY),
        )
        .values_list("reason", "churned", "contracted", "lost_mrr")
    ):
        if not reason:
            unexplained += churned + contracted
        code = ReasonCode(reason) if reason else None
        reasons.append(
            ReasonRow(
                reason=reason,
                label=str(code.label) if code else "",
                churned=churned,
                contracted=contracted,
                lost_arr=(lost_mrr or ZERO) * 12,
                voluntary=code is None or code.churn_type == "voluntary",
            )
        )
    reasons.sort(key=lambda r: (-r.lost_arr, r.label))
    by_type = {
        t or "": (n, (m or ZERO) * 12)
        for t, n, m in lost.filter(outcome=Outcome.CHURNED)
        .order_by()
        .values("churn_type")
        .annotate(n=Count("pk"), m=Sum("mrr"))
        .values_list("churn_type", "n", "m")
    }
    competitors = [
        (name, n, (m or ZERO) * 12)
        for name, n, m in lost.exclude(competitor="")
        .order_by()
        .values("competitor")
        .annotate(n=Count("pk"), m=Sum(LOST_MRR, output_field=MONEY))
        .order_by("-n", "competitor")
        .values_list("competitor", "n", "m")[:10]
    ]
    offers_qs = CounterOffer.objects.filter(renewal__in=qs.values("pk"))
    offers = [
        {**o, "label": CounterOfferKind(o["kind"]).label}
        for o in offers_qs.order_by()
        .values("kind")
        .annotate(
            made=Count("pk"),
            accepted=Count("pk", filter=Q(status=CounterOfferStatus.ACCEPTED)),
            value=Sum("value", filter=Q(status=CounterOfferStatus.ACCEPTED)),
        )
        .order_by("-made")
    ]
    saved = qs.exclude(outcome=Outcome.CHURNED).filter(
        counter_offers__status=CounterOfferStatus.ACCEPTED
    )
    saved_mrr = Renewal.objects.filter(pk__in=saved.values("pk")).aggregate(
        s=Sum("outcome_mrr", default=ZERO)
    )["s"]
    interviews = ExitInterview.objects.filter(renewal__in=qs.values("pk"))
    answers = interviews.aggregate(
        n=Count("pk"),
        **{f"c_{c}": Count("pk", filter=Q(communication=c)) for c in ("well", "partly", "poorly")},
        **{f"w_{w}": Count("pk", filter=Q(would_return=w)) for w in ("yes", "maybe", "no")},
    )
    pool = qs.filter(outcome=Outcome.CHURNED).filter(lost_customer())
    customers = pool.aggregate(
        lost=Count("account_id", distinct=True),
        back=Count("account_id", distinct=True, filter=Q(win_back_status=WinBackStatus.WON)),
    )
    return ChurnAnalysis(
        reasons=reasons,
        by_type=by_type,
        competitors=competitors,
        offers=offers,
        offers_made=sum(o["made"] for o in offers),
        offers_accepted=sum(o["accepted"] for o in offers),
        saved_arr=(saved_mrr or ZERO) * 12,
        interviews=answers["n"],
        communication={c: answers[f"c_{c}"] for c in ("well", "partly", "poorly")},
        would_return={w: answers[f"w_{w}"] for w in ("yes", "maybe", "no")},
        recent_interviews=list(
            interviews.select_related("renewal__account", "contact").order_by(
                "-interviewed_on", "-pk"
            )[:recent]
        ),
        lost_customers=customers["lost"],
        won_back=customers["back"],
        win_back_planned=list(
            pool.filter(win_back_status=WinBackStatus.PLANNED)
            .select_related("account", "owner")
            .order_by("win_back_next_on", "pk")[:20]
        ),
        unexplained=unexplained,
    )


# The account 360 panel -------------------------------------------------------------------


def account_renewals(*, account: Account, closed: int = 3) -> list[Any]:
    """Open renewals of the account and its latest closed ones, with the count of open tasks
    of each and of its counter-offers: one query."""
    open_tasks = (
        Task.objects.filter(
            account_id=OuterRef("account_id"),
            status=TaskStatus.OPEN,
            dedupe_key__startswith=Concat(
                Value("renewals:"), Cast(OuterRef("pk"), CharField()), Value(":")
            ),
        )
        .order_by()
        .values("account_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rows: list[Any] = list(
        Renewal.objects.filter(account=account)
        .select_related("subscription")
        .annotate(
            open_tasks=Coalesce(Subquery(open_tasks, output_field=IntegerField()), 0),
            offers=Count("counter_offers"),
        )
        .order_by(F("closed_on").desc(nulls_first=True), "renewal_date", "pk")
    )
    opened = [r for r in rows if r.is_open]
    return opened + [r for r in rows if not r.is_open][:closed]
