"""Reads of the qbr app: the cadence of every account (set-based), the QBRs due, and the
prep pack of one account filled from every other app."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    DateField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from accounts.choices import AccountStatus, DiscountType, SubscriptionStatus, TaskStatus
from accounts.models import Account, Contact, Goal, GoalRevision, Subscription, Task
from csplatform.roles import can_edit_owned
from health.models import HealthScore, HealthScoreHistory
from metrics.choices import SurveyKind, TicketPriority, TicketStatus
from metrics.models import (
    AccountDailyMetrics,
    EndUserDailyActivity,
    EndUserFeatureDaily,
    SurveyResponse,
    Ticket,
)
from onboarding.choices import PlanStatus
from onboarding.models import OnboardingPlan, PlanMilestone
from onboarding.services.plans import FIRST_QBR_KEY
from qbr.choices import HELD_STATUSES, OPEN_STATUSES, Cadence, CadenceReason, QbrStatus
from qbr.models import Qbr, QbrNextStep
from renewals.models import Renewal

PREP_VERSION = 1
# Prep-pack lists are cut to what a page or a slide can hold.
MAX_NOTABLE_TICKETS = 6
MAX_FEATURES = 8
MAX_COMMENTS = 4
USAGE_POINTS = 13  # weekly samples over a quarter


# Permissions ---------------------------------------------------------------------------


def qbr_can_change(*, user: Any, qbr: Qbr) -> bool:
    """A CSM changes the QBRs of the accounts they own; a CS Lead or Admin every QBR."""
    return can_edit_owned(user, qbr.account.owner_id)


# Cadence (SPEC §8), for every account at once ---------------------------------------------


def _days(n: int) -> Value:
    return Value(dt.timedelta(days=n), output_field=DurationField())


def _plus(date_expr: Any, duration: Any) -> Cast:
    """A date plus a duration, as a date, on PostgreSQL and SQLite alike."""
    return Cast(ExpressionWrapper(date_expr + duration, output_field=DateField()), DateField())


def accounts_with_cadence(*, today: dt.date | None = None) -> QuerySet[Any]:
    """Every account annotated with its QBR cadence, the reason for it, the last QBR held,
    the next one planned and the day the next QBR is due, in one query.

    Rules, first match wins: churned accounts have none; a cadence set by hand (until its
    end date); a new customer in onboarding waits for its completion, and its first QBR is
    due when onboarding said (first_qbr_due_on); an existing customer in an implementation
    (an active onboarding plan) meets monthly; quiet accounts (QBR_QUIET_TOUCH_MODELS)
    twice a year; everyone else quarterly. The due day is the last QBR held (else the
    start as a customer) plus the interval, and never within QBR_NEW_CONTRACT_QUIET_DAYS
    of the latest contract signed.

    The inputs are aggregates over LEFT JOINs grouped by account (PostgreSQL computes an
    aggregate once however often the expressions below repeat it), and every rule is a
    flat CASE over them: nesting one annotation in the next would copy it into the SQL
    again at every level.
    """
    today = today or timezone.localdate()
    held_q = Q(qbrs__status__in=HELD_STATUSES)
    open_q = Q(qbrs__status__in=OPEN_STATUSES)
    last_held = Max("qbrs__held_on", filter=held_q)
    first_due = Max(
        "onboarding_plans__first_qbr_due_on",
        filter=Q(onboarding_plans__status=PlanStatus.COMPLETED),
    )
    active = Q(active_plans__gt=0)
    override = Max(
        "qbr_cadence__cadence",
        filter=Q(qbr_cadence__until__isnull=True) | Q(qbr_cadence__until__gte=today),
    )
    contract = Max(
        Coalesce("subscriptions__signed_on", "subscriptions__start_date"),
        filter=~Q(subscriptions__status=SubscriptionStatus.TRIAL),
    )
    quiet = Q(touch_model__in=list(settings.QBR_QUIET_TOUCH_MODELS))
    churned = Q(status=AccountStatus.CHURNED)
    has_override = Q(override_cadence__isnull=False)
    waiting = active & Q(last_held_on__isnull=True)
    none = churned | Q(override_cadence=Cadence.NONE) | (~has_override & waiting)

    def by_rule(**values: Any) -> list[When]:
        """The same rules, each giving the value named after it."""
        return [
            When(churned, then=values["churned"]),
            When(has_override, then=values["override"]),
            When(waiting, then=values["waiting"]),
            When(active, then=values["implementation"]),
            When(quiet, then=values["quiet"]),
        ]

    overridden_days = Case(
        *(When(override_cadence=c.value, then=_days(c.days or 0)) for c in Cadence if c.days),
        default=None,
        output_field=DurationField(),
    )
    interval = Case(
        *by_rule(
            churned=None,
            override=overridden_days,
            waiting=None,
            implementation=_days(Cadence.MONTHLY.days or 30),
            quiet=_days(Cadence.SEMIANNUAL.days or 182),
        ),
        default=_days(Cadence.QUARTERLY.days or 91),
        output_field=DurationField(),
    )
    started = Coalesce("customer_since", TruncDate("created_at"), output_field=DateField())
    qs = Account.objects.annotate(
        last_held_on=last_held,
        first_qbr_due_on=first_due,
        override_cadence=override,
        last_contract_on=contract,
        next_qbr_at=Min("qbrs__scheduled_at", filter=open_q),
        next_qbr_id=Min("qbrs__pk", filter=open_q),
        active_plans=Count(
            "onboarding_plans", filter=Q(onboarding_plans__status=PlanStatus.ACTIVE)
        ),
    )
    qs = qs.annotate(
        cadence=Case(
            *by_rule(
                churned=Value(Cadence.NONE.value),
                override=F("override_cadence"),
                waiting=Value(Cadence.NONE.value),
                implementation=Value(Cadence.MONTHLY.value),
                quiet=Value(Cadence.SEMIANNUAL.value),
            ),
            default=Value(Cadence.QUARTERLY.value),
            output_field=CharField(),
        ),
        base_due_on=Case(
            When(none, then=None),
            When(
                last_held_on__isnull=True, first_qbr_due_on__isnull=False, then="first_qbr_due_on"
            ),
            When(last_held_on__isnull=False, then=_plus(F("last_held_on"), interval)),
            default=_plus(started, interval),
            output_field=DateField(),
        ),
        contract_quiet_until=_plus(
            F("last_contract_on"), _days(settings.QBR_NEW_CONTRACT_QUIET_DAYS)
        ),
    )
    return qs.annotate(
        due_on=Case(
            When(base_due_on__isnull=True, then=None),
            When(contract_quiet_until__gt=F("base_due_on"), then="contract_quiet_until"),
            default="base_due_on",
            output_field=DateField(),
        ),
        cadence_reason=Case(
            *by_rule(
                churned=Value(CadenceReason.CHURNED.value),
                override=Value(CadenceReason.OVERRIDE.value),
                waiting=Value(CadenceReason.ONBOARDING.value),
                implementation=Value(CadenceReason.IMPLEMENTATION.value),
                quiet=None,
            )[:4],
            When(
                contract_quiet_until__gt=F("base_due_on"),
                contract_quiet_until__gte=today,
                then=Value(CadenceReason.NEW_CONTRACT.value),
            ),
            When(
                last_held_on__isnull=True,
                first_qbr_due_on__isnull=False,
                then=Value(CadenceReason.FIRST.value),
            ),
            When(quiet, then=Value(CadenceReason.QUIET.value)),
            default=Value(CadenceReason.DEFAULT.value),
            output_field=CharField(),
        ),
    )


def qbrs_due(*, today: dt.date | None = None, window_days: int | None = None) -> QuerySet[Account]:
    """Accounts whose next QBR is due within the window (overdue ones first)."""
    today = today or timezone.localdate()
    window = settings.QBR_DUE_WINDOW_DAYS if window_days is None else window_days
    return (
        accounts_with_cadence(today=today)
        .filter(due_on__isnull=False, due_on__lte=today + dt.timedelta(days=window))
        .select_related("owner")
        .order_by("due_on", "name", "pk")
    )


def account_cadence(*, account: Account, today: dt.date | None = None) -> Any:
    return accounts_with_cadence(today=today).filter(pk=account.pk).first()


# Lists ------------------------------------------------------------------------------------


def qbr_list() -> QuerySet[Qbr]:
    return Qbr.objects.select_related("account", "account__owner", "owner").annotate(
        steps=Count("next_steps")
    )


def qbr_detail(*, pk: int) -> Qbr:
    return (
        Qbr.objects.select_related("account", "account__owner", "owner", "first_qbr_task")
        .prefetch_related(
            "attendee_contacts",
            "attendee_users",
            Prefetch(
                "next_steps",
                queryset=QbrNextStep.objects.select_related("assignee", "task").order_by(
                    "position", "pk"
                ),
            ),
        )
        .get(pk=pk)
    )


def account_qbrs(*, account: Account, limit: int = 6) -> list[Qbr]:
    return list(
        Qbr.objects.filter(account=account)
        .select_related("owner")
        .order_by(F("held_on").desc(nulls_first=True), "-period_end", "-pk")[:limit]
    )


def previous_held(*, account_id: int, before: Qbr | None = None) -> Qbr | None:
    qs = Qbr.objects.filter(account_id=account_id, status__in=HELD_STATUSES)
    if before is not None and before.pk:
        qs = qs.exclude(pk=before.pk)
        if before.held_on:
            qs = qs.filter(held_on__lte=before.held_on)
    return qs.order_by("-held_on", "-pk").first()


def default_period(*, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last complete calendar quarter."""
    today = today or timezone.localdate()
    first_of_quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    end = first_of_quarter - dt.timedelta(days=1)
    start = end.replace(month=(end.month - 1) // 3 * 3 + 1, day=1)
    return start, end


# The prep pack ----------------------------------------------------------------------------


def _s(value: Any) -> str | None:
    """Decimals and dates as JSON-safe strings (the prep pack is stored on the QBR)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(value.quantize(Decimal("0.01")))
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _pct(part: Any, whole: Any) -> str | None:
    if not whole:
        return None
    return _s(Decimal(part) * 100 / Decimal(whole))


def _contract(account: Account, today: dt.date) -> dict[str, Any]:
    lines = list(
        Subscription.objects.filter(account=account)
        .exclude(status=SubscriptionStatus.TRIAL)
        .order_by("-mrr", "pk")
    )
    active = [
        s
        for s in lines
        if s.status == SubscriptionStatus.ACTIVE
        and s.start_date <= today
        and (s.end_date is None or s.end_date >= today)
    ]
    renewing = sorted((s for s in active if s.end_date), key=lambda s: s.end_date)  # type: ignore[arg-type,return-value]
    signed = [s.signed_on or s.start_date for s in lines]
    main = active[0] if active else None
    arr = account.mrr * 12
    threshold = account.next_tier_price_threshold
    return {
        "licenses": sum(s.quantity for s in active),
        "plan_tier": main.plan_name if main else None,
        "plans": sorted({s.plan_name for s in active}),
        "discounts": [
            {
                "plan": s.plan_name,
                "type": s.discount_type,
                "value": _s(s.discount_value),
            }
            for s in active
            if s.discount_type != DiscountType.NONE and s.discount_value
        ],
        "annual_billing": any(s.billing_period_months >= 12 for s in active),
        "billing_periods": sorted({s.billing_period for s in active}),
        "signed_on": _s(max(signed)) if signed else None,
        "first_signed_on": _s(min(signed)) if signed else None,
        "renewal_date": _s(account.renewal_date),
        "cancellation_deadline": _s(renewing[0].cancellation_deadline) if renewing else None,
        "auto_renew": renewing[0].auto_renew if renewing else None,
        "mrr": _s(account.mrr),
        "arr": _s(arr),
        "next_tier_threshold": _s(threshold),
        "next_tier_gap": _s(threshold - arr) if threshold is not None else None,
        "lines": [
            {
                "plan": s.plan_name,
                "product": s.product,
                "quantity": s.quantity,
                "billing_period": s.billing_period,
                "months": s.billing_period_months,
                "mrr": _s(s.mrr),
                "start": _s(s.start_date),
                "end": _s(s.end_date),
            }
            for s in active
        ],
    }


def _renewal(account: Account) -> dict[str, Any] | None:
    r = Renewal.objects.filter(account=account, outcome="").order_by("renewal_date", "pk").first()
    if r is None:
        return None
    return {
        "date": _s(r.renewal_date),
        "notice_deadline": _s(r.notice_deadline),
        "arr": _s(r.arr),
        "currency": r.currency,
        "forecast_category": r.forecast_category,
        "probability": r.probability,
        "at_risk": r.at_risk,
        "risks": r.risk_reasons,
        "stage": r.stage,
    }


def _onboarding(account: Account) -> dict[str, Any] | None:
    plan = (
        OnboardingPlan.objects.filter(account=account)
        .exclude(status=PlanStatus.CANCELLED)
        .prefetch_related(
            Prefetch("milestones", queryset=PlanMilestone.objects.order_by("position", "pk"))
        )
        .order_by("-started_on", "-pk")
        .first()
    )
    if plan is None:
        return None
    milestones = list(plan.milestones.all())
    done = sum(1 for m in milestones if m.completed_on)
    return {
        "name": plan.name,
        "status": plan.status,
        "health": plan.health,
        "started_on": _s(plan.started_on),
        "target_on": _s(plan.target_on),
        "completed_on": _s(plan.completed_on),
        "activated_on": _s(plan.activated_on),
        "value_on": _s(plan.value_on),
        "time_to_value_days": plan.time_to_value_days,
        "launch_on": _s(plan.completed_on or plan.value_on),
        "progress": int(done * 100 / len(milestones)) if milestones else 0,
        "milestones": [
            {"name": m.name, "due_on": _s(m.due_on), "completed_on": _s(m.completed_on)}
            for m in milestones
        ],
    }


def _goals(account: Account, last_held_on: dt.date | None) -> list[dict[str, Any]]:
    goals = list(
        Goal.objects.filter(account=account)
        .prefetch_related(
            Prefetch("revisions", queryset=GoalRevision.objects.order_by("-changed_at", "-pk"))
        )
        .order_by("due_date", "pk")
    )
    out = []
    for goal in goals:
        at_last = None
        if last_held_on is not None:
            for rev in goal.revisions.all():
                if timezone.localdate(rev.changed_at) <= last_held_on:
                    at_last = rev.status
                    break
        out.append(
            {
                "title": goal.title,
                "kpi": goal.kpi,
                "target": goal.target,
                "status": goal.status,
                "status_at_last_qbr": at_last,
                # Agreed since the last QBR: it had no status then.
                "new_since_last_qbr": last_held_on is not None and at_last is None,
                "due_date": _s(goal.due_date),
            }
        )
    return out


def _last_qbr(account: Account, before: Qbr | None) -> dict[str, Any] | None:
    last = previous_held(account_id=account.pk, before=before)
    if last is None:
        return None
    steps = list(last.next_steps.select_related("task").order_by("position", "pk"))
    return {
        "id": last.pk,
        "kind": last.kind,
        "held_on": _s(last.held_on),
        "next_steps": [
            {
                "text": s.text,
                "side": s.side,
                "due_date": _s(s.due_date),
                "status": s.task.status if s.task else None,
            }
            for s in steps
        ],
    }


def _metric_at(rows: list[AccountDailyMetrics], day: dt.date) -> AccountDailyMetrics | None:
    best = None
    for row in rows:
        if row.date <= day:
            best = row
    return best


def _kpis(rows: list[AccountDailyMetrics], start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    first = _metric_at(rows, start) or (rows[0] if rows else None)
    last = _metric_at(rows, end)

    def stick(r: AccountDailyMetrics | None) -> Any:
        return _pct(r.dau, r.mau) if r and r.mau else None

    def pick(attr: str) -> tuple[Any, Any]:
        a = getattr(first, attr) if first else None
        b = getattr(last, attr) if last else None
        return a, b

    out = []
    for key, unit in (
        ("mau", "count"),
        ("wau", "count"),
        ("dau", "count"),
        ("stickiness", "percent"),
        ("core_adoption_30d", "percent"),
        ("events_30d", "count"),
        ("mrr", "money"),
        ("nps_365d", "score"),
        ("csat_365d", "percent"),
        ("tickets_30d", "count"),
    ):
        if key == "stickiness":
            a, b = stick(first), stick(last)
        else:
            a, b = pick(key)
        out.append({"key": key, "unit": unit, "start": _s(a), "end": _s(b)})
    return out


def _usage_series(rows: list[AccountDailyMetrics], start: dt.date, end: dt.date) -> dict[str, Any]:
    span = max((end - start).days, 1)
    step = max(span // (USAGE_POINTS - 1), 1)
    days = [start + dt.timedelta(days=i) for i in range(0, span + 1, step)]
    if days[-1] != end:
        days.append(end)
    by_day = {r.date: r for r in rows}
    labels, mau, wau, dau = [], [], [], []
    for d in days:
        r = by_day.get(d) or _metric_at(rows, d)
        labels.append(_s(d))
        mau.append(r.mau if r else None)
        wau.append(r.wau if r else None)
        dau.append(r.dau if r else None)
    return {"labels": labels, "mau": mau, "wau": wau, "dau": dau}


def _health(account: Account, start: dt.date, end: dt.date) -> dict[str, Any]:
    score = HealthScore.objects.filter(account=account).first()
    history = list(
        HealthScoreHistory.objects.filter(
            account=account, date__gte=start - dt.timedelta(days=90), date__lte=end
        )
        .order_by("date")
        .values_list("date", "score", "color")
    )
    at_start = next((s for d, s, _c in reversed(history) if d <= start and s is not None), None)
    at_end = next((s for d, s, _c in reversed(history) if d <= end and s is not None), None)
    # One point a week keeps the chart readable.
    points = [(d, s) for i, (d, s, _c) in enumerate(history) if i % 7 == 0 or i == len(history) - 1]
    return {
        "score": _s(score.score) if score and score.score is not None else None,
        "color": score.color if score else "",
        "as_of": _s(score.as_of) if score else None,
        "start": _s(at_start),
        "end": _s(at_end if at_end is not None else (score.score if score else None)),
        "series": [[_s(d), _s(s)] for d, s in points],
    }


def _adoption(account: Account, end: dt.date) -> list[dict[str, Any]]:
    """Feature adoption as SPEC §3 defines it: users of the feature ÷ active users, over the
    last 30 days of the period, from the per-user daily rollups (two queries)."""
    since = end - dt.timedelta(days=29)
    window = {"account": account, "date__gte": since, "date__lte": end}
    active = EndUserDailyActivity.objects.filter(**window).values("end_user_id").distinct().count()
    rows = list(
        EndUserFeatureDaily.objects.filter(**window)
        .values("feature_id", "feature__name", "feature__is_core")
        .annotate(users=Count("end_user_id", distinct=True), events=Sum("events"))
        .order_by("-users", "feature__name")[:MAX_FEATURES]
    )
    return [
        {
            "feature": r["feature__name"],
            "core": r["feature__is_core"],
            "users": r["users"],
            "events": r["events"],
            "adoption": _pct(r["users"], active),
        }
        for r in rows
    ]


def _support(account: Account, start: dt.date, end: dt.date) -> dict[str, Any]:
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    in_period = Q(opened_at__gte=since, opened_at__lt=until)
    open_statuses = (TicketStatus.OPEN, TicketStatus.PENDING)
    figures = Ticket.objects.filter(account=account).aggregate(
        opened=Count("pk", filter=in_period),
        resolved=Count("pk", filter=Q(resolved_at__gte=since, resolved_at__lt=until)),
        open_now=Count("pk", filter=Q(status__in=open_statuses)),
        p1=Count("pk", filter=in_period & Q(priority=TicketPriority.P1)),
        escalations=Count("pk", filter=in_period & Q(is_escalation=True)),
        first_response=Avg(
            F("first_response_at") - F("opened_at"),
            filter=in_period & Q(first_response_at__isnull=False),
        ),
        resolution=Avg(
            F("resolved_at") - F("opened_at"), filter=in_period & Q(resolved_at__isnull=False)
        ),
    )
    notable = list(
        Ticket.objects.filter(account=account)
        .filter(
            (
                in_period
                & (Q(priority__in=[TicketPriority.P1, TicketPriority.P2]) | Q(is_escalation=True))
            )
            | Q(status__in=open_statuses, priority=TicketPriority.P1)
        )
        .order_by("priority", "-opened_at", "-pk")[:MAX_NOTABLE_TICKETS]
    )

    def hours(value: dt.timedelta | None) -> str | None:
        return _s(Decimal(value.total_seconds()) / 3600) if value is not None else None

    return {
        "opened": figures["opened"],
        "resolved": figures["resolved"],
        "open_now": figures["open_now"],
        "p1": figures["p1"],
        "escalations": figures["escalations"],
        "first_response_hours": hours(figures["first_response"]),
        "resolution_hours": hours(figures["resolution"]),
        "notable": [
            {
                "subject": t.subject,
                "priority": t.priority,
                "status": t.status,
                "opened_on": _s(timezone.localdate(t.opened_at)),
                "escalation": t.is_escalation,
            }
            for t in notable
        ],
    }


def _sentiment(account: Account, start: dt.date, end: dt.date) -> dict[str, Any]:
    since = dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC)
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    responses = list(
        SurveyResponse.objects.filter(
            account=account, responded_at__gte=since, responded_at__lt=until
        )
        .select_related("contact")
        .order_by("-responded_at", "-pk")
    )
    nps = [r.score for r in responses if r.kind == SurveyKind.NPS]
    csat = [r.score for r in responses if r.kind == SurveyKind.CSAT]
    promoters = sum(1 for s in nps if s >= 9)
    detractors = sum(1 for s in nps if s <= 6)
    comments = [
        {
            "kind": r.kind,
            "score": r.score,
            "comment": r.comment,
            "contact": f"{r.contact.first_name} {r.contact.last_name}".strip() if r.contact else "",
            "date": _s(timezone.localdate(r.responded_at)),
        }
        for r in responses
        if r.comment.strip()
    ][:MAX_COMMENTS]
    return {
        "nps": _s(Decimal(promoters - detractors) * 100 / len(nps)) if nps else None,
        "nps_responses": len(nps),
        "promoters": promoters,
        "passives": len(nps) - promoters - detractors,
        "detractors": detractors,
        "csat": _pct(sum(1 for s in csat if s >= 4), len(csat)),
        "csat_responses": len(csat),
        "comments": comments,
    }


def _people(account: Account) -> dict[str, Any]:
    contacts = list(Contact.objects.filter(account=account).order_by("-is_primary", "last_name"))
    return {
        "contacts": len(contacts),
        "sponsor": next(
            (
                f"{c.first_name} {c.last_name}".strip()
                for c in contacts
                if c.power_role == "executive_sponsor"
            ),
            None,
        ),
        "detractors": [
            f"{c.first_name} {c.last_name}".strip() for c in contacts if c.power_role == "detractor"
        ],
    }


def _risks(pack: dict[str, Any]) -> list[dict[str, Any]]:
    """Open risks as codes with their figures; the document words them."""
    out: list[dict[str, Any]] = []
    health = pack["health"]
    if health["color"] in ("red", "yellow"):
        out.append(
            {"code": "health", "params": {"score": health["score"], "color": health["color"]}}
        )
    renewal = pack["renewal"]
    if renewal and renewal["at_risk"]:
        out.append({"code": "renewal_at_risk", "params": {"risks": renewal["risks"]}})
    support = pack["support"]
    if support["open_now"] and any(
        t["priority"] == "p1" and t["status"] in ("open", "pending") for t in support["notable"]
    ):
        out.append({"code": "open_p1", "params": {}})
    if support["escalations"]:
        out.append({"code": "escalations", "params": {"n": support["escalations"]}})
    if pack["sentiment"]["detractors"]:
        out.append({"code": "detractor_nps", "params": {"n": pack["sentiment"]["detractors"]}})
    if not pack["people"]["sponsor"]:
        out.append({"code": "no_sponsor", "params": {}})
    for goal in pack["goals"]:
        if goal["status"] in ("at_risk", "missed"):
            out.append(
                {"code": "goal", "params": {"title": goal["title"], "status": goal["status"]}}
            )
    kpis = {k["key"]: k for k in pack["kpis"]}
    mau = kpis["mau"]
    if mau["start"] and mau["end"] and Decimal(mau["end"]) < Decimal(mau["start"]) * Decimal("0.8"):
        out.append({"code": "usage_drop", "params": {"start": mau["start"], "end": mau["end"]}})
    onboarding = pack["onboarding"]
    if (
        onboarding
        and onboarding["status"] == "active"
        and onboarding["health"] in ("behind", "stuck")
    ):
        out.append({"code": "onboarding", "params": {"health": onboarding["health"]}})
    return out


def _recommendations(pack: dict[str, Any]) -> list[dict[str, Any]]:
    """What the data suggests, as codes with their figures; the document words them."""
    out: list[dict[str, Any]] = []
    contract = pack["contract"]
    kpis = {k["key"]: k for k in pack["kpis"]}
    mau = Decimal(kpis["mau"]["end"]) if kpis["mau"]["end"] else None
    licenses = contract["licenses"]
    if mau is not None and licenses:
        use = mau * 100 / licenses
        if use < 50:
            out.append({"code": "adoption_drive", "params": {"use": _s(use), "licenses": licenses}})
        elif use >= 90:
            out.append({"code": "expansion", "params": {"use": _s(use), "licenses": licenses}})
    if contract["next_tier_gap"] is not None and Decimal(contract["next_tier_gap"]) > 0:
        out.append({"code": "next_tier", "params": {"gap": contract["next_tier_gap"]}})
    low = [
        f["feature"]
        for f in pack["adoption"]
        if f["core"] and f["adoption"] is not None and Decimal(f["adoption"]) < 20
    ]
    if low:
        out.append({"code": "training", "params": {"features": low[:3]}})
    renewal = pack["renewal"]
    if renewal:
        days = (
            dt.date.fromisoformat(renewal["date"]) - dt.date.fromisoformat(pack["period"]["as_of"])
        ).days
        if 0 <= days <= 180:
            out.append({"code": "renewal", "params": {"days": days, "date": renewal["date"]}})
    if pack["sentiment"]["detractors"] or not pack["people"]["sponsor"]:
        out.append({"code": "sponsor", "params": {}})
    if pack["support"]["p1"] or pack["support"]["escalations"]:
        out.append({"code": "incident_review", "params": {}})
    health = pack["health"]
    if health["color"] == "green" and not pack["sentiment"]["detractors"]:
        out.append({"code": "advocacy", "params": {}})
    return out


def prep_pack(
    *,
    account: Account,
    period_start: dt.date,
    period_end: dt.date,
    qbr: Qbr | None = None,
    today: dt.date | None = None,
) -> dict[str, Any]:
    """Everything a QBR needs about one account, from the platform's own records, as a
    JSON-safe dict (stored on the QBR when it is prepared, so the deck shows what was
    prepared). About twenty queries, whatever the account's size."""
    today = today or timezone.localdate()
    last = _last_qbr(account, qbr)
    last_held_on = dt.date.fromisoformat(last["held_on"]) if last else None
    rows = list(
        AccountDailyMetrics.objects.filter(
            account_id=account.pk,
            date__gte=period_start - dt.timedelta(days=1),
            date__lte=period_end,
        ).order_by("date")
    )
    kpis = _kpis(rows, period_start, period_end)
    owner = account.owner
    pack: dict[str, Any] = {
        "version": PREP_VERSION,
        "generated_at": _s(timezone.now()),
        "account": {
            "id": account.pk,
            "name": account.name,
            "currency": account.currency,
            "tier": account.tier,
            "touch_model": account.touch_model,
            "lifecycle_stage": account.lifecycle_stage,
            "status": account.status,
            "industry": account.industry,
            "customer_since": _s(account.customer_since),
            "owner": owner.get_full_name() or owner.username if owner else None,
            "owner_email": owner.email if owner else None,
        },
        "period": {"start": _s(period_start), "end": _s(period_end), "as_of": _s(today)},
        "contract": _contract(account, today),
        "renewal": _renewal(account),
        "onboarding": _onboarding(account),
        "goals": _goals(account, last_held_on),
        "last_qbr": last,
        "kpis": kpis,
        "health": _health(account, period_start, period_end),
        "usage": _usage_series(rows, period_start, period_end),
        "adoption": _adoption(account, period_end),
        "support": _support(account, period_start, period_end),
        "sentiment": _sentiment(account, period_start, period_end),
        "people": _people(account),
    }
    pack["risks"] = _risks(pack)
    pack["recommendations"] = _recommendations(pack)
    return pack


def open_first_qbr_task(*, account_id: int) -> Any:
    """The onboarding app's open "Hold the first QBR" task of the account, if any."""
    return Task.objects.filter(
        account_id=account_id, dedupe_key=FIRST_QBR_KEY, status=TaskStatus.OPEN
    ).first()


def batch_accounts(*, user: Any, account_ids: list[int]) -> QuerySet[Account]:
    return Account.objects.filter(pk__in=account_ids).select_related("owner").order_by("name", "pk")


def qbr_status_counts() -> dict[str, int]:
    rows = Qbr.objects.values("status").annotate(n=Count("pk"))
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r["status"]] = r["n"]
    return {s.value: counts[s.value] for s in QbrStatus}
