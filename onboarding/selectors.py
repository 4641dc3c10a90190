"""Reads of the onboarding app: template matching, plan lists and pages, and the reports.

Every function runs a fixed number of queries whatever the number of plans or accounts.
The reports (cohorts, activation, time to value, tickets from accounts in onboarding) are
computed by one grouped statement per figure family, on PostgreSQL and SQLite alike, and
feed both the reports page and the metric engine's snapshots (`snapshot_rows`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from accounts.models import Account
from csplatform.roles import can_edit_owned
from csplatform.sql import Dialect
from metrics.models import MetricSnapshot, Ticket
from metrics.selectors import add_months, month_start
from onboarding.choices import PlanHealth, PlanStatus
from onboarding.models import (
    OnboardingPlan,
    OnboardingTemplate,
    PlanCriterion,
    PlanMilestone,
    PlanShareLink,
    PlanTask,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)

# Templates -----------------------------------------------------------------------------


def _specificity() -> Any:
    def one_if_set(name: str) -> Case:
        return Case(When(~Q(**{name: ""}), then=Value(1)), default=Value(0))

    return one_if_set("touch_model") + one_if_set("tier") + one_if_set("business_model")


def templates_matching(
    *, touch_model: Any, tier: Any, business_model: Any, auto_start_only: bool = False
) -> QuerySet[OnboardingTemplate]:
    """Active templates that suit an account with these fields, best first.

    A blank field of a template matches anything. The template naming the most of the
    account's fields wins; then the lowest priority number; then the name. The fields may
    be values or OuterRef expressions (for one subquery per account).
    """
    qs = OnboardingTemplate.objects.filter(
        Q(touch_model="") | Q(touch_model=touch_model),
        Q(tier="") | Q(tier=tier),
        Q(business_model="") | Q(business_model=business_model),
        is_active=True,
    )
    if auto_start_only:
        qs = qs.filter(auto_start=True)
    return qs.annotate(specificity=_specificity()).order_by(
        "-specificity", "priority", "name", "pk"
    )


def best_template_subquery(*, auto_start_only: bool = False) -> Subquery:
    """The id of the best matching template of each account in an Account queryset."""
    best = templates_matching(
        touch_model=OuterRef("touch_model"),
        tier=OuterRef("tier"),
        business_model=OuterRef("business_model"),
        auto_start_only=auto_start_only,
    )
    return Subquery(best.values("pk")[:1])


def template_for_account(*, account: Account) -> OnboardingTemplate | None:
    return templates_matching(
        touch_model=account.touch_model, tier=account.tier, business_model=account.business_model
    ).first()


def template_list() -> QuerySet[OnboardingTemplate]:
    active_plans = (
        OnboardingPlan.objects.filter(template=OuterRef("pk"), status=PlanStatus.ACTIVE)
        .order_by()
        .values("template")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return OnboardingTemplate.objects.annotate(
        milestone_count=Coalesce(
            Subquery(
                TemplateMilestone.objects.filter(template=OuterRef("pk"))
                .order_by()
                .values("template")
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        task_count=Coalesce(
            Subquery(
                TemplateTask.objects.filter(milestone__template=OuterRef("pk"))
                .order_by()
                .values("milestone__template")
                .annotate(n=Count("pk"))
                .values("n"),
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        active_plans=Coalesce(Subquery(active_plans, output_field=IntegerField()), Value(0)),
    ).order_by("-is_active", "name", "pk")


def template_detail(*, pk: int) -> OnboardingTemplate:
    return OnboardingTemplate.objects.prefetch_related(
        Prefetch(
            "milestones",
            queryset=TemplateMilestone.objects.order_by("position", "pk").prefetch_related(
                Prefetch("tasks", queryset=TemplateTask.objects.order_by("position", "due_day"))
            ),
        ),
        Prefetch(
            "criteria",
            queryset=TemplateCriterion.objects.select_related("feature", "milestone"),
        ),
    ).get(pk=pk)


# Plans ---------------------------------------------------------------------------------


def plan_can_change(*, user: Any, plan: OnboardingPlan) -> bool:
    """The account's owner (a CSM), a CS Lead or an Admin; never a Viewer."""
    return can_edit_owned(user, plan.account.owner_id)


def _count(qs: QuerySet[Any], group: str) -> Coalesce:
    counted = qs.order_by().values(group).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def plan_list() -> QuerySet[OnboardingPlan]:
    """Plans as the list page, the API and the CSV show them: account, owner, progress, step.

    Counts and the current step are correlated subqueries, computed for the rows of the
    page only (the paginator's COUNT drops them).
    """
    tasks = PlanTask.objects.filter(plan=OuterRef("pk"))
    current = PlanMilestone.objects.filter(plan=OuterRef("pk"), completed_on__isnull=True).order_by(
        "position", "pk"
    )
    return (
        OnboardingPlan.objects.select_related("account", "account__owner", "template")
        .annotate(
            tasks_total=_count(tasks, "plan"),
            tasks_done=_count(tasks.filter(completed_at__isnull=False), "plan"),
            customer_open=_count(tasks.filter(completed_at__isnull=True, side="customer"), "plan"),
            overdue=_count(
                tasks.filter(completed_at__isnull=True, due_on__lt=timezone.localdate()), "plan"
            ),
            current_step=Subquery(current.values("name")[:1]),
            step_since=Subquery(current.values("started_on")[:1]),
        )
        .annotate(
            progress=Coalesce(
                F("tasks_done") * 100 / NullIf(F("tasks_total"), 0),
                Value(0),
                output_field=IntegerField(),
            ),
            # Plans that need help first: stuck, behind, on track, then closed ones.
            health_rank=Case(
                When(~Q(status=PlanStatus.ACTIVE), then=Value(3)),
                When(health=PlanHealth.STUCK, then=Value(0)),
                When(health=PlanHealth.BEHIND, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
    )


def plan_steps_prefetch() -> list[Prefetch]:
    """Milestones with their tasks, and the criteria, as the plan page and the API show them."""
    tasks = PlanTask.objects.select_related("completed_by", "completed_by_contact", "task")
    return [
        Prefetch(
            "milestones",
            queryset=PlanMilestone.objects.order_by("position", "pk").prefetch_related(
                Prefetch("tasks", queryset=tasks.order_by("position", "due_on", "pk"))
            ),
        ),
        Prefetch("criteria", queryset=PlanCriterion.objects.select_related("feature", "milestone")),
    ]


def plan_detail(*, pk: int) -> OnboardingPlan:
    """One plan with everything its page shows, in a fixed number of queries."""
    return (
        OnboardingPlan.objects.select_related("account", "account__owner", "template", "created_by")
        .prefetch_related(
            *plan_steps_prefetch(),
            Prefetch(
                "share_links",
                queryset=PlanShareLink.objects.select_related("contact", "created_by"),
            ),
        )
        .get(pk=pk)
    )


@dataclass(frozen=True)
class PlanProgress:
    """What the plan page and the 360 panel say about a plan (from prefetched rows)."""

    tasks_total: int
    tasks_done: int
    customer_open: int
    our_open: int
    overdue: int
    current: PlanMilestone | None
    next_tasks: list[PlanTask]

    @property
    def percent(self) -> int:
        return self.tasks_done * 100 // self.tasks_total if self.tasks_total else 0


def plan_progress(plan: OnboardingPlan, *, next_count: int = 5) -> PlanProgress:
    """Progress of a plan loaded by `plan_detail` (no query)."""
    milestones = list(plan.milestones.all())
    tasks = [t for m in milestones for t in m.tasks.all()]
    open_tasks = sorted((t for t in tasks if not t.is_done), key=lambda t: (t.due_on, t.pk))
    return PlanProgress(
        tasks_total=len(tasks),
        tasks_done=len(tasks) - len(open_tasks),
        customer_open=sum(1 for t in open_tasks if t.side == "customer"),
        our_open=sum(1 for t in open_tasks if t.side == "us"),
        overdue=sum(1 for t in open_tasks if t.is_overdue),
        current=next((m for m in milestones if m.completed_on is None), None),
        next_tasks=open_tasks[:next_count],
    )


def account_onboarding(*, account: Account) -> OnboardingPlan | None:
    """The account's plan in progress, else its latest one, annotated like `plan_list`."""
    plan = (
        plan_list()
        .filter(account=account)
        .order_by(
            Case(When(status=PlanStatus.ACTIVE, then=Value(0)), default=Value(1)),
            "-started_on",
            "-pk",
        )
        .first()
    )
    if plan is not None:
        # The panel is on the account's own page: no query for what it already has.
        plan.account = account
    return plan


def plan_next_tasks(*, plan: OnboardingPlan, limit: int = 4) -> list[PlanTask]:
    """The plan's open tasks, soonest due first."""
    return list(
        PlanTask.objects.filter(plan=plan, completed_at__isnull=True).order_by(
            "due_on", "position", "pk"
        )[:limit]
    )


def shared_plan(*, link: PlanShareLink) -> OnboardingPlan:
    """The plan a customer sees through a link, loaded for the public page."""
    return (
        OnboardingPlan.objects.select_related("account", "account__owner")
        .prefetch_related(
            Prefetch(
                "milestones",
                queryset=PlanMilestone.objects.order_by("position", "pk").prefetch_related(
                    Prefetch(
                        "tasks",
                        queryset=PlanTask.objects.select_related("completed_by_contact").order_by(
                            "position", "due_on", "pk"
                        ),
                    )
                ),
            )
        )
        .get(pk=link.plan_id)
    )


# Reports -------------------------------------------------------------------------------


class Span(Protocol):
    """A period as the metric engine hands it to snapshot sources (kind, date, start, end)."""

    @property
    def kind(self) -> str: ...
    @property
    def date(self) -> dt.date: ...
    @property
    def start(self) -> dt.date: ...
    @property
    def end(self) -> dt.date: ...


@dataclass(frozen=True)
class MonthSpan:
    kind: str
    date: dt.date
    start: dt.date
    end: dt.date


def month_spans(*, months: int, today: dt.date | None = None) -> list[MonthSpan]:
    """The last `months` calendar months up to today's, oldest first."""
    current = month_start(today or timezone.localdate())
    out = []
    for n in range(months - 1, -1, -1):
        first = add_months(current, -n)
        last = add_months(first, 1) - dt.timedelta(days=1)
        out.append(MonthSpan("month", last, first, last))
    return out


@dataclass
class CohortFigures:
    """A cohort (plans started in one period) and the tickets of accounts in onboarding."""

    plans: int = 0
    completed: int = 0
    completed_days: int = 0
    activated: int = 0
    valued: int = 0
    value_days: int = 0
    active: int = 0
    cancelled: int = 0
    tickets: int = 0
    days: int = 0
    value_samples: list[int] = field(default_factory=list)

    @property
    def completion_rate(self) -> Decimal | None:
        return _ratio(self.completed, self.plans, 100)

    @property
    def activation_rate(self) -> Decimal | None:
        return _ratio(self.activated, self.plans, 100)

    @property
    def average_onboarding_days(self) -> Decimal | None:
        return _ratio(self.completed_days, self.completed)

    @property
    def time_to_value_mean(self) -> Decimal | None:
        return _ratio(self.value_days, self.valued)

    @property
    def time_to_value_median(self) -> Decimal | None:
        if not self.value_samples:
            return None
        return Decimal(str(statistics.median(self.value_samples))).quantize(FOUR)

    @property
    def tickets_per_day(self) -> Decimal | None:
        return _ratio(self.tickets, self.days)


FOUR = Decimal("0.0001")
_COUNTS = (
    "plans",
    "completed",
    "completed_days",
    "activated",
    "valued",
    "value_days",
    "active",
    "cancelled",
)


def _ratio(part: int, whole: int, scale: int = 1) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * scale / Decimal(whole)).quantize(FOUR, rounding=ROUND_HALF_UP)


def _spans_cte(d: Dialect, spans: Sequence[Span], params: dict[str, Any]) -> str:
    rows = []
    for i, s in enumerate(spans):
        params.update({f"k{i}": s.kind, f"d{i}": s.date, f"s{i}": s.start, f"e{i}": s.end})
        rows.append(f"(%(k{i})s, {d.date(f'd{i}')}, {d.date(f's{i}')}, {d.date(f'e{i}')})")
    return f"spans (kind, pdate, ps, pe) AS (VALUES {', '.join(rows)})"


def _segments(tier: str, touch: str, business: str) -> tuple[str, ...]:
    return ("", f"tier:{tier}", f"touch_model:{touch}", f"business_model:{business}")


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


CohortKey = tuple[str, dt.date, str]  # (period kind, period's last day, segment)


def cohort_figures(
    *,
    spans: Sequence[Span],
    template_id: int | None = None,
    with_tickets: bool = True,
) -> dict[CohortKey, CohortFigures]:
    """Per period and segment: the cohort of plans started in it, and onboarding tickets.

    Cohort = plans (any status) whose start day falls in the period. Completion, activation
    and value count what those plans have reached by now. Tickets: opened in the period by
    accounts that had a plan in progress that day (started on or before it, not yet
    completed or cancelled). Three statements whatever the number of periods or plans.
    """
    out: dict[CohortKey, CohortFigures] = {}
    if not spans:
        return out
    d = Dialect(connection.vendor)
    plan, account = OnboardingPlan._meta.db_table, Account._meta.db_table
    params: dict[str, Any] = {"template": template_id}
    cte = _spans_cte(d, spans, params)
    template_filter = " AND p.template_id = %(template)s" if template_id is not None else ""
    days = {(s.kind, s.date): (s.end - s.start).days + 1 for s in spans}

    def bucket(kind: str, pdate: Any, tier: str, touch: str, business: str) -> list[CohortFigures]:
        day = _as_date(pdate)
        figures = []
        for segment in _segments(tier, touch, business):
            fig = out.setdefault((kind, day, segment), CohortFigures(days=days[(kind, day)]))
            figures.append(fig)
        return figures

    joined = f"""
        FROM spans s JOIN {plan} p ON p.started_on >= s.ps AND p.started_on <= s.pe
        JOIN {account} a ON a.id = p.account_id
        WHERE 1 = 1{template_filter}"""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH {cte}
            SELECT s.kind, s.pdate, a.tier, a.touch_model, a.business_model,
                COUNT(*),
                SUM(CASE WHEN p.status = 'completed' THEN 1 ELSE 0 END),
                SUM(CASE WHEN p.status = 'completed'
                    THEN {d.days_between("p.completed_on", "p.started_on")} ELSE 0 END),
                SUM(CASE WHEN p.activated_on IS NOT NULL THEN 1 ELSE 0 END),
                SUM(CASE WHEN p.value_on IS NOT NULL THEN 1 ELSE 0 END),
                SUM(CASE WHEN p.value_on IS NOT NULL
                    THEN {d.days_between("p.value_on", "p.started_on")} ELSE 0 END),
                SUM(CASE WHEN p.status = 'active' THEN 1 ELSE 0 END),
                SUM(CASE WHEN p.status = 'cancelled' THEN 1 ELSE 0 END)
            {joined}
            GROUP BY s.kind, s.pdate, a.tier, a.touch_model, a.business_model
            """,
            params,
        )
        for kind, pdate, tier, touch, business, *counts in cursor.fetchall():
            for fig in bucket(kind, pdate, tier, touch, business):
                for name, value in zip(_COUNTS, counts, strict=True):
                    setattr(fig, name, getattr(fig, name) + int(value or 0))
        cursor.execute(
            f"""
            WITH {cte}
            SELECT s.kind, s.pdate, a.tier, a.touch_model, a.business_model,
                {d.days_between("p.value_on", "p.started_on")}
            {joined} AND p.value_on IS NOT NULL
            """,
            params,
        )
        for kind, pdate, tier, touch, business, ttv in cursor.fetchall():
            for fig in bucket(kind, pdate, tier, touch, business):
                fig.value_samples.append(int(ttv))
        if with_tickets:
            _tickets_in_onboarding(cursor, d, cte, params, bucket, spans)
    return out


def _tickets_in_onboarding(
    cursor: Any, d: Dialect, cte: str, params: dict[str, Any], bucket: Any, spans: Sequence[Span]
) -> None:
    plan, ticket, account = (
        OnboardingPlan._meta.db_table,
        Ticket._meta.db_table,
        Account._meta.db_table,
    )
    first, last = min(s.start for s in spans), max(s.end for s in spans)
    params.update(
        {
            "t_from": dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC),
            "t_to": dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC),
        }
    )
    day = d.day_of("t.opened_at")
    cursor.execute(
        f"""
        WITH {cte},
        onboarding_tickets AS (
            SELECT t.id, t.account_id, {day} AS day
            FROM {ticket} t
            WHERE t.opened_at >= %(t_from)s AND t.opened_at < %(t_to)s
              AND EXISTS (
                SELECT 1 FROM {plan} p
                WHERE p.account_id = t.account_id AND p.started_on <= {day}
                  AND (p.completed_on IS NULL OR p.completed_on > {day})
                  AND (p.cancelled_on IS NULL OR p.cancelled_on > {day})
              )
        )
        SELECT s.kind, s.pdate, a.tier, a.touch_model, a.business_model, COUNT(*)
        FROM spans s JOIN onboarding_tickets o ON o.day >= s.ps AND o.day <= s.pe
        JOIN {account} a ON a.id = o.account_id
        GROUP BY s.kind, s.pdate, a.tier, a.touch_model, a.business_model
        """,
        params,
    )
    for kind, pdate, tier, touch, business, n in cursor.fetchall():
        for fig in bucket(kind, pdate, tier, touch, business):
            fig.tickets += int(n)


# The metric engine's snapshots ----------------------------------------------------------

COHORT_PERIODS = ("month", "quarter", "year")


def snapshot_rows(spans: Sequence[Span]) -> list[MetricSnapshot]:
    """Onboarding figures for the engine's periods (registered in OnboardingConfig.ready()).

    Cohort figures for months, quarters and years (a cohort of one day says little);
    tickets per day from accounts in onboarding for every period. The portfolio gets a row
    for every period, segments only where they have plans or tickets.
    """
    figures = cohort_figures(spans=spans)
    for s in spans:
        figures.setdefault((s.kind, s.date, ""), CohortFigures(days=(s.end - s.start).days + 1))
    rows = []
    for (kind, day, segment), fig in figures.items():
        values: dict[str, tuple[Decimal | None, Any, Any]] = {
            "onboarding_tickets_per_day": (fig.tickets_per_day, fig.tickets, fig.days),
        }
        if kind in COHORT_PERIODS:
            values.update(
                {
                    "onboarding_completion_rate": (
                        fig.completion_rate,
                        fig.completed,
                        fig.plans,
                    ),
                    "activation_rate": (fig.activation_rate, fig.activated, fig.plans),
                    "average_onboarding_days": (
                        fig.average_onboarding_days,
                        fig.completed_days,
                        fig.completed,
                    ),
                    "time_to_value_mean": (fig.time_to_value_mean, fig.value_days, fig.valued),
                    "time_to_value_median": (fig.time_to_value_median, None, fig.valued),
                }
            )
        for metric, (value, num, den) in values.items():
            rows.append(
                MetricSnapshot(
                    date=day,
                    period=kind,
                    metric=metric,
                    segment=segment,
                    value=value,
                    numerator=None if num is None else Decimal(num),
                    denominator=None if den is None else Decimal(den),
                )
            )
    return rows


# The reports page ----------------------------------------------------------------------


@dataclass(frozen=True)
class CohortRow:
    month: dt.date
    figures: CohortFigures


@dataclass
class Report:
    rows: list[CohortRow]
    total: CohortFigures


def onboarding_report(
    *,
    months: int = 12,
    segment: str = "",
    template_id: int | None = None,
    today: dt.date | None = None,
) -> Report:
    """Cohorts by start month over the last `months` months, and their total."""
    spans = month_spans(months=months, today=today)
    figures = cohort_figures(spans=spans, template_id=template_id)
    rows = []
    total = CohortFigures()
    for s in spans:
        fig = figures.get((s.kind, s.date, segment)) or CohortFigures(
            days=(s.end - s.start).days + 1
        )
        rows.append(CohortRow(month=s.start, figures=fig))
        for name in (*_COUNTS, "tickets", "days"):
            setattr(total, name, getattr(total, name) + getattr(fig, name))
        total.value_samples.extend(fig.value_samples)
    return Report(rows=rows, total=total)


@dataclass(frozen=True)
class FunnelStep:
    position: int
    name: str
    reached: int
    completed: int
    in_step: int
    stuck: int
    dropped: int
    median_days: Decimal | None


def step_funnel(*, template_id: int, since: dt.date) -> list[FunnelStep]:
    """For plans of a template started since `since`, each step in order: how many plans
    reached it and finished it, the median days it took, how many are in it now (and stuck
    there), and how many were cancelled while it was their current step. Two statements.
    """
    milestone, plan = PlanMilestone._meta.db_table, OnboardingPlan._meta.db_table
    d = Dialect(connection.vendor)
    params: dict[str, Any] = {"template": template_id, "since": since}
    steps = f"""
        WITH pm AS (
            SELECT m.position, m.name, m.started_on, m.completed_on, p.status, p.health,
                MIN(CASE WHEN m.completed_on IS NULL THEN m.position END)
                    OVER (PARTITION BY m.plan_id) AS current_position
            FROM {milestone} m JOIN {plan} p ON p.id = m.plan_id
            WHERE p.template_id = %(template)s AND p.started_on >= {d.date("since")}
        )"""
    with connection.cursor() as cursor:
        cursor.execute(
            steps
            + """
            SELECT position, MAX(name), COUNT(started_on), COUNT(completed_on),
                SUM(CASE WHEN status = 'active' AND position = current_position THEN 1 ELSE 0 END),
                SUM(CASE WHEN status = 'active' AND position = current_position
                    AND health = 'stuck' THEN 1 ELSE 0 END),
                SUM(CASE WHEN status = 'cancelled' AND position = current_position
                    THEN 1 ELSE 0 END)
            FROM pm GROUP BY position ORDER BY position
            """,
            params,
        )
        counts = cursor.fetchall()
        cursor.execute(
            steps
            + f"""
            SELECT position, {d.days_between("completed_on", "started_on")}
            FROM pm WHERE completed_on IS NOT NULL AND started_on IS NOT NULL
            """,
            params,
        )
        durations: dict[int, list[int]] = defaultdict(list)
        for position, days in cursor.fetchall():
            durations[position].append(max(0, int(days)))
    return [
        FunnelStep(
            position=position,
            name=name,
            reached=reached,
            completed=completed,
            in_step=int(in_step or 0),
            stuck=int(stuck or 0),
            dropped=int(dropped or 0),
            median_days=Decimal(str(statistics.median(durations[position]))).quantize(FOUR)
            if durations[position]
            else None,
        )
        for position, name, reached, completed, in_step, stuck, dropped in counts
    ]
