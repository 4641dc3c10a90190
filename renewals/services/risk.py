"""Renewal risk: which open renewals are at risk, and why (SPEC §7), set-based.

Three statements whatever the number of renewals: the facts (health colour, open
escalations, the account's last NPS answer, the change of its monthly active users over 30
days), then the flags and "at risk" from the thresholds in settings (RENEWALS_RISK_*; only
the flags named in RENEWALS_RISK_FLAGS count), then the forecast category of renewals
nobody has categorised by hand (at risk, or probable). The health colour is read from
health.HealthScore and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from csplatform.signals import announce_on_commit
from health.models import HealthScore
from metrics.choices import SurveyKind, TicketStatus
from metrics.models import AccountDailyMetrics, SurveyResponse, Ticket
from renewals import signals
from renewals.choices import ForecastCategory, RenewalStage
from renewals.models import Renewal

OPEN_TICKET = (TicketStatus.OPEN, TicketStatus.PENDING)
USAGE_WINDOW_DAYS = 30


@dataclass
class RiskChange:
    at_risk: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)


def _open(account_ids: Sequence[int] | None, renewal_ids: Sequence[int] | None) -> QuerySet:
    qs = Renewal.objects.filter(outcome="")
    if account_ids is not None:
        qs = qs.filter(account_id__in=list(account_ids))
    if renewal_ids is not None:
        qs = qs.filter(pk__in=list(renewal_ids))
    return qs


def _usage_change(today: dt.date) -> ExpressionWrapper | Value:
    """% change of the account's MAU between the engine's latest day and 30 days before."""
    latest = AccountDailyMetrics.objects.filter(date__lte=today).aggregate(d=Max("date"))["d"]
    if latest is None:
        return Value(None, output_field=DecimalField())
    rows = AccountDailyMetrics.objects.filter(account_id=OuterRef("account_id"))
    number: DecimalField = DecimalField(max_digits=14, decimal_places=4)
    now = Cast(Subquery(rows.filter(date=latest).values("mau")[:1]), number)
    before = Cast(
        Subquery(rows.filter(date=latest - dt.timedelta(days=USAGE_WINDOW_DAYS)).values("mau")[:1]),
        number,
    )
    return ExpressionWrapper(
        (now - before) * Value(Decimal(100)) / NullIf(before, Value(Decimal(0))),
        output_field=DecimalField(max_digits=8, decimal_places=2),
    )


def risk_conditions() -> dict[str, Q]:
    """Each flag's condition on the stored facts, for the flags that count."""
    conditions = {
        "health": Q(health_color__in=settings.RENEWALS_RISK_HEALTH_COLORS),
        "usage": Q(usage_change__lte=-settings.RENEWALS_RISK_USAGE_DROP_PERCENT),
        "escalations": Q(escalations_open__gte=settings.RENEWALS_RISK_ESCALATIONS),
        "nps": Q(nps_last__lte=settings.RENEWALS_RISK_NPS_MAX),
    }
    return {k: q for k, q in conditions.items() if k in settings.RENEWALS_RISK_FLAGS}


def _flag(condition: Q | None) -> Case | Value:
    if condition is None:
        return Value(False)
    return Case(When(condition, then=Value(True)), default=Value(False))


def renewals_risk_refresh(
    *,
    account_ids: Sequence[int] | None = None,
    renewal_ids: Sequence[int] | None = None,
    today: dt.date | None = None,
) -> RiskChange:
    """Recompute the risk of open renewals (default: all); announce those that changed."""
    today = today or timezone.localdate()
    now = timezone.now()
    qs = _open(account_ids, renewal_ids)
    escalations = (
        Ticket.objects.filter(
            account_id=OuterRef("account_id"), is_escalation=True, status__in=OPEN_TICKET
        )
        .order_by()
        .values("account_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    nps = (
        SurveyResponse.objects.filter(
            account_id=OuterRef("account_id"),
            kind=SurveyKind.NPS,
            responded_at__gte=now - dt.timedelta(days=settings.RENEWALS_RISK_NPS_DAYS),
        )
        .order_by("-responded_at", "-pk")
        .values("score")[:1]
    )
    health = HealthScore.objects.filter(account_id=OuterRef("account_id")).values("color")[:1]
    conditions = risk_conditions()
    any_flag = Q()
    for condition in conditions.values():
        any_flag |= condition
    with transaction.atomic():
        before = set(qs.filter(at_risk=True).values_list("pk", flat=True))
        qs.update(
            health_color=Coalesce(Subquery(health), Value("")),
            escalations_open=Coalesce(Subquery(escalations, output_field=IntegerField()), 0),
            nps_last=Subquery(nps),
            usage_change=_usage_change(today),
            risk_checked_at=now,
        )
        qs.update(
            risk_health=_flag(conditions.get("health")),
            risk_usage=_flag(conditions.get("usage")),
            risk_escalations=_flag(conditions.get("escalations")),
            risk_nps=_flag(conditions.get("nps")),
            at_risk=_flag(any_flag if conditions else None),
        )
        # Nobody chose a category yet: at risk or probable follows the flags (a committed
        # stage means commit).
        prob = settings.RENEWALS_PROBABILITY
        qs.filter(forecast_manual=False).update(
            forecast_category=Case(
                When(stage=RenewalStage.COMMITTED, then=Value(ForecastCategory.COMMIT)),
                When(at_risk=True, then=Value(ForecastCategory.AT_RISK)),
                default=Value(ForecastCategory.PROBABLE),
            ),
            probability=Case(
                When(stage=RenewalStage.COMMITTED, then=Value(prob["commit"])),
                When(at_risk=True, then=Value(prob["at_risk"])),
                default=Value(prob["probable"]),
            ),
        )
        after = set(qs.filter(at_risk=True).values_list("pk", flat=True))
        change = RiskChange(at_risk=sorted(after - before), recovered=sorted(before - after))
        if change.at_risk or change.recovered:
            announce_on_commit(
                signals.renewals_risk_changed,
                at_risk=change.at_risk,
                recovered=change.recovered,
            )
    return change
