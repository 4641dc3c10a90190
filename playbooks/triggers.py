"""The triggers a rule can have (SPEC §5), each a small registered piece.

A trigger narrows a queryset of accounts (already cut to the rule's segment scope, and for
an event to the accounts it is about) to those it matches at `now`, annotated with

    reason_key   text that identifies this occasion (the same renewal, the same survey
                 answer, the same week of falling usage): firing and open tasks are keyed
                 by rule + account + reason, so an occasion is acted on once
    ...          whatever values its `reason` function needs to say why, for people

in one query, whatever the number of accounts (never a loop over accounts in Python).
`events` lists the announcements (see playbooks.apps) that re-evaluate the trigger at once
for the accounts concerned; every trigger is also evaluated on a schedule.

Parameters are declared with their defaults, so the editor can show them and a rule saved
without one still works.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import (
    CharField,
    Count,
    DateField,
    DecimalField,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.choices import SubscriptionStatus
from accounts.models import Account, Subscription
from health.models import HealthScoreHistory
from metrics.models import (
    AccountDailyMetrics,
    AccountFeatureDailyUsage,
    Feature,
    SurveyResponse,
    Ticket,
)
from onboarding.choices import PlanHealth, PlanStatus
from onboarding.models import OnboardingPlan, PlanMilestone, PlanTask
from renewals.models import Renewal

# Event names (sent by playbooks.apps' receivers).
HEALTH = "health"
SURVEY = "survey"
TICKETS = "tickets"
ONBOARDING = "onboarding"


@dataclass(frozen=True)
class Param:
    name: str
    label: Promise
    kind: str  # "int", "decimal", "choice", "text"
    default: Any
    choices: tuple[tuple[str, Promise | str], ...] = ()
    help: Promise | str = ""


Matcher = Callable[[dict[str, Any], dt.datetime, QuerySet[Account]], QuerySet[Account]]
Reason = Callable[[dict[str, Any], dict[str, Any]], str]


@dataclass(frozen=True)
class Trigger:
    key: str
    label: Promise
    description: Promise
    match: Matcher
    reason: Reason
    fields: tuple[str, ...] = ()  # annotations `reason` reads
    params: tuple[Param, ...] = ()
    events: tuple[str, ...] = ()

    def settings(self, params: dict[str, Any] | None) -> dict[str, Any]:
        """The rule's parameters with defaults for the missing ones, typed."""
        given = params or {}
        out: dict[str, Any] = {}
        for p in self.params:
            value = given.get(p.name, p.default)
            if value in (None, "") and p.default is not None:
                value = p.default
            if p.kind == "int" and value is not None:
                value = int(value)
            elif p.kind == "decimal" and value is not None:
                value = Decimal(str(value))
            out[p.name] = value
        return out


_registry: dict[str, Trigger] = {}


def register_trigger(trigger: Trigger) -> None:
    """Add (or replace: ready() may run more than once) a trigger."""
    _registry[trigger.key] = trigger


def triggers() -> dict[str, Trigger]:
    return dict(_registry)


def trigger(key: str) -> Trigger | None:
    return _registry.get(key)


def _text(*parts: Any) -> Concat:
    """A reason key from literal text and expressions."""
    values = [p if hasattr(p, "resolve_expression") else Value(str(p)) for p in parts]
    values = [Cast(v, CharField()) if not isinstance(v, Value) else v for v in values]
    return Concat(*values, output_field=CharField())


def _figures_on(day: dt.date, column: str, output: Any = None) -> Subquery:
    """An account's figure `column` on `day` (AccountDailyMetrics)."""
    return Subquery(
        AccountDailyMetrics.objects.filter(account=OuterRef("pk"), date=day).values(column)[:1],
        output_field=output or IntegerField(),
    )


COLORS = (
    ("red", gettext_lazy("Red")),
    ("yellow", gettext_lazy("Yellow")),
    ("green", gettext_lazy("Green")),
)


# Health -------------------------------------------------------------------------------------


def _color_changed(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    # The day it changed: an account that stays red does not match again.
    return (
        qs.filter(
            health__color=p["to"],
            health__as_of__gte=now.date() - dt.timedelta(days=1),
            health__previous_as_of__isnull=False,
        )
        .exclude(health__previous_color=p["to"])
        .annotate(
            old_score=F("health__previous_score"),
            new_score=F("health__score"),
            old_color=F("health__previous_color"),
            reason_key=_text("turned-", p["to"], ":", F("health__as_of")),
        )
    )


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value or "—")


def _fmt(score: Any) -> str:
    return "—" if score is None else f"{Decimal(score):.0f}"


def _below(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    return qs.filter(health__score__lt=p["score"]).annotate(
        new_score=F("health__score"), reason_key=Value(f"below-{p['score']}")
    )


def _drop(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    then = now.date() - dt.timedelta(days=p["days"])
    before = HealthScoreHistory.objects.filter(account=OuterRef("pk"), date=then).values("score")[
        :1
    ]
    return (
        qs.filter(health__score__isnull=False)
        .annotate(
            old_score=Subquery(before, output_field=DecimalField()),
            new_score=F("health__score"),
        )
        .filter(old_score__isnull=False, new_score__lte=F("old_score") - p["points"])
        .annotate(reason_key=_text("drop-", p["points"], "-in-", p["days"], ":", then))
    )


# Usage ----------------------------------------------------------------------------------------

METRICS = (
    ("mau", gettext_lazy("Monthly active users")),
    ("wau", gettext_lazy("Weekly active users")),
    ("dau", gettext_lazy("Daily active users")),
    ("core_adoption_30d", gettext_lazy("Core feature adoption, 30 days (%)")),
    ("days_since_last_activity", gettext_lazy("Days since last activity")),
    ("events_30d", gettext_lazy("Events, 30 days")),
    ("tickets_open", gettext_lazy("Open tickets")),
    ("tickets_30d", gettext_lazy("Tickets, 30 days")),
    ("nps_365d", gettext_lazy("NPS, 365 days")),
    ("csat_365d", gettext_lazy("CSAT, 365 days (%)")),
    ("mrr", gettext_lazy("MRR")),
)
# How long a threshold must hold before the rule fires (SPEC §5): a key feature waits less.
WAIT_DAYS = 7
WAIT_DAYS_KEY_FEATURE = 3


def _threshold(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    """Every day of the waiting period (ending today) is on the wrong side of the value."""
    today = now.date()
    metric, op, value = str(p["metric"]), p["op"], p["value"]
    feature = None
    if metric.startswith("feature:"):
        feature = Feature.objects.filter(key=metric.split(":", 1)[1]).first()
        if feature is None:
            return qs.none()
    wait = p["wait_days"] or (
        WAIT_DAYS_KEY_FEATURE if feature is not None and feature.is_key else WAIT_DAYS
    )
    first = today - dt.timedelta(days=wait - 1)
    if feature is not None:
        # Users of the feature each day; a day without a row had none.
        breaking = Q(users__gte=value) if op == "lt" else Q(users__lte=value)
        broken = AccountFeatureDailyUsage.objects.filter(
            breaking, account=OuterRef("pk"), feature=feature, date__gte=first, date__lte=today
        )
        if op == "gt" and value >= 0:
            # "above" needs a row every day; count the days that have one above the value.
            held = Subquery(
                AccountFeatureDailyUsage.objects.filter(
                    account=OuterRef("pk"),
                    feature=feature,
                    date__gte=first,
                    date__lte=today,
                    users__gt=value,
                )
                .values("account")
                .annotate(n=Count("pk"))
                .values("n")[:1],
                output_field=IntegerField(),
            )
            matched: QuerySet[Account] = qs.annotate(held=Coalesce(held, 0)).filter(held=wait)
        else:
            matched = qs.filter(~Exists(broken))
        return matched.annotate(reason_key=_text("feature-", metric, op, value, ":", first))
    if metric not in dict(METRICS):
        return qs.none()
    lookup = f"{metric}__lt" if op == "lt" else f"{metric}__gt"
    days_held = Subquery(
        AccountDailyMetrics.objects.filter(
            account=OuterRef("pk"), date__gte=first, date__lte=today, **{lookup: value}
        )
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")[:1],
        output_field=IntegerField(),
    )
    return (
        qs.annotate(
            days_held=Coalesce(days_held, 0), current=_figures_on(today, metric, FloatField())
        )
        .filter(days_held=wait)
        .annotate(reason_key=_text("metric-", metric, op, value, ":", first))
    )


def _no_login(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    today = now.date()
    latest = AccountDailyMetrics.objects.filter(account=OuterRef("pk"), date__lte=today).order_by(
        "-date"
    )
    return (
        qs.annotate(
            idle_days=Subquery(latest.values("days_since_last_activity")[:1]),
            figures_on=Subquery(latest.values("date")[:1]),
        )
        .filter(idle_days__gte=p["days"])
        # The same stretch of silence is one occasion, however long it lasts.
        .annotate(
            reason_key=_text("idle-since:", Cast(F("figures_on"), CharField()), "-", F("idle_days"))
        )
    )


def _usage_drop(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    today = now.date()
    week_ago = today - dt.timedelta(days=7)
    iso = today.isocalendar()
    return (
        qs.annotate(
            wau_now=_figures_on(today, "wau"),
            wau_before=_figures_on(week_ago, "wau"),
        )
        .filter(wau_before__gte=p["min_users"], wau_now__isnull=False)
        .filter(wau_now__lte=F("wau_before") * (100 - p["percent"]) / 100.0)
        .annotate(reason_key=Value(f"usage-drop:{iso.year}-W{iso.week:02d}"))
    )


def _usage_limit(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    today = now.date()
    seats = (
        Subscription.objects.filter(account=OuterRef("pk"), start_date__lte=today)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .exclude(status=SubscriptionStatus.TRIAL)
        .values("account")
        .annotate(n=Sum("quantity"))
        .values("n")[:1]
    )
    return (
        qs.annotate(
            seats=Subquery(seats, output_field=IntegerField()), mau_now=_figures_on(today, "mau")
        )
        .filter(seats__gt=0, mau_now__gte=F("seats") * p["percent"] / 100.0)
        .annotate(reason_key=Value(f"limit:{today:%Y-%m}"))
    )


# Renewals -------------------------------------------------------------------------------------


def _open_renewals() -> QuerySet[Renewal]:
    return Renewal.objects.filter(account=OuterRef("pk"), outcome="").order_by("renewal_date", "pk")


def _renewal_in(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    """The account's earliest open renewal is within the days (once per renewal)."""
    today = now.date()
    due = _open_renewals().filter(
        renewal_date__gte=today, renewal_date__lte=today + dt.timedelta(days=p["days"])
    )
    return (
        qs.annotate(
            renewal_id=Subquery(due.values("pk")[:1]),
            due=Subquery(due.values("renewal_date")[:1], output_field=DateField()),
        )
        .filter(renewal_id__isnull=False)
        .annotate(reason_key=_text("renewal:", F("renewal_id")))
    )


def _deadline_in(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    """An open renewal of a line that renews by itself: its cancellation deadline (end date
    − notice period) is within the days."""
    today = now.date()
    due = (
        _open_renewals()
        .filter(
            subscription__auto_renew=True,
            notice_deadline__gte=today,
            notice_deadline__lte=today + dt.timedelta(days=p["days"]),
        )
        .order_by("notice_deadline", "pk")
    )
    return (
        qs.annotate(
            renewal_id=Subquery(due.values("pk")[:1]),
            line_deadline=Subquery(due.values("notice_deadline")[:1], output_field=DateField()),
            line_end=Subquery(due.values("renewal_date")[:1], output_field=DateField()),
        )
        .filter(renewal_id__isnull=False)
        .annotate(reason_key=_text("deadline:", F("renewal_id"), ":", F("line_deadline")))
    )


# Sentiment and support ------------------------------------------------------------------------


def _detractor(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    recent = SurveyResponse.objects.filter(
        account=OuterRef("pk"),
        kind="nps",
        score__lte=p["max_score"],
        responded_at__gte=now - dt.timedelta(days=p["within_days"]),
    ).order_by("-responded_at", "-pk")
    return (
        qs.annotate(
            response_id=Subquery(recent.values("pk")[:1]),
            nps_score=Subquery(recent.values("score")[:1]),
        )
        .filter(response_id__isnull=False)
        .annotate(reason_key=_text("detractor:", F("response_id")))
    )


def _ticket_spike(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    week = now - dt.timedelta(days=7)
    before = now - dt.timedelta(days=35)

    def count(since: dt.datetime, until: dt.datetime) -> Subquery:
        return Subquery(
            Ticket.objects.filter(account=OuterRef("pk"), opened_at__gte=since, opened_at__lt=until)
            .values("account")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        )

    iso = now.date().isocalendar()
    return (
        qs.annotate(
            tickets_week=Coalesce(count(week, now), 0),
            tickets_before=Coalesce(count(before, week), 0),
        )
        .filter(tickets_week__gte=p["min_tickets"])
        # The week's tickets against the four weeks before, per week.
        .filter(tickets_week__gte=F("tickets_before") * p["factor"] / 4.0)
        .annotate(reason_key=Value(f"ticket-spike:{iso.year}-W{iso.week:02d}"))
    )


# Onboarding ------------------------------------------------------------------------------------


def _onboarding_stuck(
    p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]
) -> QuerySet[Account]:
    stuck = OnboardingPlan.objects.filter(
        account=OuterRef("pk"), status=PlanStatus.ACTIVE, health=PlanHealth.STUCK
    )
    return (
        qs.annotate(
            plan_id=Subquery(stuck.values("pk")[:1]), plan_name=Subquery(stuck.values("name")[:1])
        )
        .filter(plan_id__isnull=False)
        .annotate(reason_key=_text("onboarding-stuck:", F("plan_id")))
    )


def _onboarding_overdue(
    p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]
) -> QuerySet[Account]:
    late = PlanTask.objects.filter(
        plan__account=OuterRef("pk"),
        plan__status=PlanStatus.ACTIVE,
        completed_at__isnull=True,
        due_on__lte=now.date() - dt.timedelta(days=p["days"]),
    ).order_by("due_on", "pk")
    return (
        qs.annotate(
            task_id=Subquery(late.values("pk")[:1]), task_title=Subquery(late.values("title")[:1])
        )
        .filter(task_id__isnull=False)
        .annotate(reason_key=_text("onboarding-overdue:", F("task_id")))
    )


def _milestone(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    done = PlanMilestone.objects.filter(
        plan__account=OuterRef("pk"),
        completed_on__gte=now.date() - dt.timedelta(days=p["within_days"]),
    ).order_by("-completed_on", "-pk")
    if p.get("name"):
        done = done.filter(name__icontains=p["name"])
    return (
        qs.annotate(
            milestone_id=Subquery(done.values("pk")[:1]),
            milestone_name=Subquery(done.values("name")[:1]),
        )
        .filter(milestone_id__isnull=False)
        .annotate(reason_key=_text("milestone:", F("milestone_id")))
    )


# Account profile ------------------------------------------------------------------------------------

# Words of the industry field; "financ*" is a prefix (financial, finance), "it" a whole word.
REGRET_INDUSTRIES = "financ*, bank*, insur*, fintech, software, it, tech*"


def industry_regex(words: str) -> str:
    """A case-insensitive pattern for the words (a trailing * makes one a prefix)."""
    parts = []
    for word in (w.strip().lower() for w in words.split(",")):
        if not word:
            continue
        stem = re.escape(word.rstrip("*"))
        parts.append(stem if word.endswith("*") else f"{stem}([^a-z]|$)")
    return f"(^|[^a-z])({'|'.join(parts)})" if parts else "$^"


def _regret(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    """New accounts with the purchase-regret risk profile of SPEC §5."""
    return qs.filter(
        industry__iregex=industry_regex(str(p["industries"])),
        customer_since__gte=now.date() - dt.timedelta(days=p["new_days"]),
        years_in_business__lt=p["max_years"],
        single_decision_maker=True,
    ).annotate(reason_key=_text("regret:", F("customer_since")))


def _advocate(p: dict[str, Any], now: dt.datetime, qs: QuerySet[Account]) -> QuerySet[Account]:
    """Healthy for the whole period, a recent promoter, and no urgent ticket open."""
    since = now.date() - dt.timedelta(days=p["days"])
    low = (
        HealthScoreHistory.objects.filter(account=OuterRef("pk"), date__gte=since)
        .values("account")
        .annotate(m=Min("score"), n=Count("pk"))
    )
    promoter = SurveyResponse.objects.filter(
        account=OuterRef("pk"),
        kind="nps",
        score__gte=p["min_nps"],
        responded_at__gte=now - dt.timedelta(days=365),
    )
    urgent = Ticket.objects.filter(account=OuterRef("pk"), priority="p1", resolved_at__isnull=True)
    quarter = (now.month - 1) // 3 + 1
    return (
        qs.annotate(
            lowest=Subquery(low.values("m")[:1], output_field=DecimalField()),
            scored_days=Subquery(low.values("n")[:1], output_field=IntegerField()),
            best_nps=Subquery(
                promoter.values("account").annotate(b=Max("score")).values("b")[:1],
                output_field=IntegerField(),
            ),
        )
        .filter(lowest__gte=p["min_score"], scored_days__gte=p["days"] // 2, best_nps__isnull=False)
        .filter(~Exists(urgent))
        .annotate(reason_key=Value(f"advocate:{now.year}-Q{quarter}"))
    )


BUILTIN = [
    Trigger(
        "health_color",
        gettext_lazy("Health changed colour"),
        gettext_lazy("The health score turned this colour (the day it changed)."),
        _color_changed,
        lambda p, r: (
            _("Health turned %(color)s (%(old)s → %(new)s)")
            % {
                "color": dict(COLORS)[p["to"]].lower(),
                "old": _fmt(r["old_score"]),
                "new": _fmt(r["new_score"]),
            }
        ),
        fields=("old_score", "new_score"),
        params=(Param("to", gettext_lazy("Turned"), "choice", "red", COLORS),),
        events=(HEALTH,),
    ),
    Trigger(
        "health_below",
        gettext_lazy("Health score below a value"),
        gettext_lazy("The health score is below the value."),
        _below,
        lambda p, r: (
            _("Health score %(score)s, below %(limit)s")
            % {"score": _fmt(r["new_score"]), "limit": p["score"]}
        ),
        fields=("new_score",),
        params=(Param("score", gettext_lazy("Below"), "int", 50),),
        events=(HEALTH,),
    ),
    Trigger(
        "health_drop",
        gettext_lazy("Health score dropped"),
        gettext_lazy("The health score fell by at least this many points within these days."),
        _drop,
        lambda p, r: (
            _("Health fell from %(old)s to %(new)s in %(days)s days")
            % {"old": _fmt(r["old_score"]), "new": _fmt(r["new_score"]), "days": p["days"]}
        ),
        fields=("old_score", "new_score"),
        params=(
            Param("points", gettext_lazy("By at least (points)"), "int", 15),
            Param("days", gettext_lazy("Within (days)"), "int", 14),
        ),
        events=(HEALTH,),
    ),
    Trigger(
        "metric_threshold",
        gettext_lazy("A metric crossed a threshold and stayed there"),
        gettext_lazy(
            "Every day of the waiting period the metric was on the wrong side of the value. "
            "Default wait: 7 days, 3 for a key feature (feature:<key> counts its users a day)."
        ),
        _threshold,
        lambda p, r: (
            (
                _("%(metric)s %(op)s %(value)s for %(days)s days")
                if p["wait_days"]
                else _("%(metric)s %(op)s %(value)s for the whole waiting period")
            )
            % {
                "metric": dict(METRICS).get(p["metric"], p["metric"]),
                "op": "<" if p["op"] == "lt" else ">",
                "value": p["value"],
                "days": p["wait_days"],
            }
        ),
        params=(
            Param(
                "metric",
                gettext_lazy("Metric"),
                "text",
                "mau",
                help=gettext_lazy("A metric, or feature:<key>"),
            ),
            Param(
                "op",
                gettext_lazy("Is"),
                "choice",
                "lt",
                (("lt", gettext_lazy("below")), ("gt", gettext_lazy("above"))),
            ),
            Param("value", gettext_lazy("Value"), "decimal", "10"),
            Param("wait_days", gettext_lazy("For (days; empty: the default)"), "int", None),
        ),
    ),
    Trigger(
        "renewal_in",
        gettext_lazy("Renewal coming up"),
        gettext_lazy("An open renewal's date is within this many days (once per renewal)."),
        _renewal_in,
        lambda p, r: _("Renews on %(date)s") % {"date": _day(r["due"])},
        fields=("due",),
        params=(Param("days", gettext_lazy("Within (days)"), "int", 120),),
    ),
    Trigger(
        "deadline_in",
        gettext_lazy("Cancellation deadline coming up"),
        gettext_lazy(
            "An auto-renewing line's cancellation deadline (end date − notice) is within this many days."
        ),
        _deadline_in,
        lambda p, r: (
            _("Cancellation deadline %(date)s, for the term ending %(end)s")
            % {"date": _day(r["line_deadline"]), "end": _day(r["line_end"])}
        ),
        fields=("line_deadline", "line_end"),
        params=(Param("days", gettext_lazy("Within (days)"), "int", 30),),
    ),
    Trigger(
        "nps_detractor",
        gettext_lazy("NPS detractor"),
        gettext_lazy("A contact answered the NPS survey with a detractor score."),
        _detractor,
        lambda p, r: _("NPS answer %(score)s (a detractor)") % {"score": r["nps_score"]},
        fields=("nps_score", "response_id"),
        params=(
            Param("max_score", gettext_lazy("Score at most"), "int", 6),
            Param("within_days", gettext_lazy("Answered within (days)"), "int", 2),
        ),
        events=(SURVEY,),
    ),
    Trigger(
        "no_login",
        gettext_lazy("No login for a while"),
        gettext_lazy("No end user of the account has done anything for this many days."),
        _no_login,
        lambda p, r: _("No activity for %(days)s days") % {"days": r["idle_days"]},
        fields=("idle_days",),
        params=(Param("days", gettext_lazy("For (days)"), "int", 14),),
    ),
    Trigger(
        "usage_drop",
        gettext_lazy("Usage dropped week over week"),
        gettext_lazy("Weekly active users fell by at least this percentage against a week before."),
        _usage_drop,
        lambda p, r: (
            _("Weekly active users %(before)s → %(now)s")
            % {"before": r["wau_before"], "now": r["wau_now"]}
        ),
        fields=("wau_now", "wau_before"),
        params=(
            Param("percent", gettext_lazy("By at least (%)"), "int", 30),
            Param("min_users", gettext_lazy("Only with at least (weekly users)"), "int", 5),
        ),
    ),
    Trigger(
        "onboarding_stuck",
        gettext_lazy("Onboarding stuck"),
        gettext_lazy("The account's onboarding plan is stuck."),
        _onboarding_stuck,
        lambda p, r: _("Onboarding “%(plan)s” is stuck") % {"plan": r["plan_name"]},
        fields=("plan_name",),
        events=(ONBOARDING,),
    ),
    Trigger(
        "onboarding_overdue",
        gettext_lazy("Onboarding task overdue"),
        gettext_lazy("A task of the onboarding plan is overdue by at least this many days."),
        _onboarding_overdue,
        lambda p, r: _("Onboarding task overdue: %(task)s") % {"task": r["task_title"]},
        fields=("task_title",),
        params=(Param("days", gettext_lazy("Overdue by (days)"), "int", 3),),
        events=(ONBOARDING,),
    ),
    Trigger(
        "ticket_spike",
        gettext_lazy("Ticket spike"),
        gettext_lazy(
            "Tickets opened in the last 7 days: at least this many, and this many times the weekly average of the 4 weeks before."
        ),
        _ticket_spike,
        lambda p, r: (
            _("%(n)s tickets this week (%(before)s in the 4 weeks before)")
            % {"n": r["tickets_week"], "before": r["tickets_before"]}
        ),
        fields=("tickets_week", "tickets_before"),
        params=(
            Param("min_tickets", gettext_lazy("At least (tickets)"), "int", 5),
            Param("factor", gettext_lazy("Times the usual"), "decimal", "2"),
        ),
        events=(TICKETS,),
    ),
    Trigger(
        "usage_limit",
        gettext_lazy("Usage limit reached"),
        gettext_lazy("Monthly active users reached this share of the licensed seats."),
        _usage_limit,
        lambda p, r: (
            _("%(users)s monthly users on %(seats)s seats")
            % {"users": r["mau_now"], "seats": r["seats"]}
        ),
        fields=("mau_now", "seats"),
        params=(
            # xgettext:no-python-format
            Param("percent", gettext_lazy("At least (% of seats)"), "int", 100),
        ),
    ),
    Trigger(
        "milestone_reached",
        gettext_lazy("Onboarding milestone reached"),
        gettext_lazy(
            "An onboarding milestone (optionally: whose name contains this text) was completed."
        ),
        _milestone,
        lambda p, r: _("Milestone reached: %(name)s") % {"name": r["milestone_name"]},
        fields=("milestone_name",),
        params=(
            Param("name", gettext_lazy("Name contains"), "text", ""),
            Param("within_days", gettext_lazy("Completed within (days)"), "int", 2),
        ),
        events=(ONBOARDING,),
    ),
    Trigger(
        "regret_risk",
        gettext_lazy("New account with the purchase-regret risk profile"),
        gettext_lazy(
            "A new customer in finance or IT, under 5 years in business, with a single decision maker."
        ),
        _regret,
        lambda p, r: _("New customer with the purchase-regret risk profile"),
        params=(
            Param("new_days", gettext_lazy("Customer for at most (days)"), "int", 90),
            Param(
                "industries",
                gettext_lazy("Industries (comma-separated)"),
                "text",
                REGRET_INDUSTRIES,
            ),
            Param("max_years", gettext_lazy("Fewer years in business than"), "int", 5),
        ),
    ),
    Trigger(
        "advocate",
        gettext_lazy("Advocate candidate"),
        gettext_lazy(
            "Very healthy for the period, a promoter in the last year, no urgent ticket open: ask for a reference, a case study or a referral."
        ),
        _advocate,
        lambda p, r: (
            _("Health at least %(score)s for %(days)s days and an NPS of %(nps)s")
            % {"score": p["min_score"], "days": p["days"], "nps": r["best_nps"]}
        ),
        fields=("best_nps",),
        params=(
            Param("min_score", gettext_lazy("Health at least"), "int", 80),
            Param("days", gettext_lazy("For (days)"), "int", 30),
            Param("min_nps", gettext_lazy("NPS answer at least"), "int", 9),
        ),
        events=(HEALTH, SURVEY),
    ),
]

for _trigger in BUILTIN:
    register_trigger(_trigger)
