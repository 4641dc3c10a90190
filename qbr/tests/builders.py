"""An account with a full record in every app, for the prep pack and the documents."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from accounts.choices import BillingPeriod, DiscountType, GoalStatus, PowerRole, Tier
from accounts.models import Account, Goal, GoalRevision, Subscription
from accounts.tests.factories import AccountFactory, ContactFactory, SubscriptionFactory
from health.models import HealthScore, HealthScoreHistory
from metrics.choices import SurveyKind, TicketPriority, TicketStatus
from metrics.models import (
    AccountDailyMetrics,
    EndUser,
    EndUserDailyActivity,
    EndUserFeatureDaily,
    Feature,
    SurveyResponse,
    Ticket,
)
from onboarding.choices import PlanStatus
from onboarding.models import OnboardingPlan, PlanMilestone
from onboarding.tests.factories import standard_template
from qbr.choices import StepSide
from qbr.models import Qbr, QbrNextStep
from qbr.tests.factories import held


@dataclass
class World:
    account: Account
    main: Subscription
    addon: Subscription
    goal_kept: Goal
    goal_new: Goal
    last_qbr: Qbr
    period: tuple[dt.date, dt.date]
    today: dt.date


def _at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), dt.UTC)


def full_account(owner, *, name: str = "Acme Rockets GmbH") -> World:
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=91), today - dt.timedelta(days=1)
    account = AccountFactory(
        name=name,
        owner=owner,
        currency="EUR",
        tier=Tier.ENTERPRISE,
        customer_since=today - dt.timedelta(days=500),
        next_tier_price_threshold=Decimal("40000.00"),
    )
    main = SubscriptionFactory(
        account=account,
        plan_name="Enterprise",
        product="Platform",
        quantity=25,
        unit_price=Decimal("1200.00"),
        currency="EUR",
        billing_period=BillingPeriod.ANNUAL,
        discount_type=DiscountType.PERCENT,
        discount_value=Decimal("10"),
        signed_on=today - dt.timedelta(days=150),
        start_date=today - dt.timedelta(days=140),
        end_date=today + dt.timedelta(days=225),
        notice_period_days=60,
    )
    addon = SubscriptionFactory(
        account=account,
        plan_name="Analytics add-on",
        product="Analytics",
        quantity=5,
        unit_price=Decimal("20.00"),
        currency="EUR",
        billing_period=BillingPeriod.MONTHLY,
        discount_type=DiscountType.AMOUNT,
        discount_value=Decimal("10.00"),
        signed_on=today - dt.timedelta(days=120),
        start_date=today - dt.timedelta(days=120),
        end_date=today + dt.timedelta(days=245),
    )
    ContactFactory(
        account=account,
        first_name="Erika",
        last_name="Sponsor",
        power_role=PowerRole.EXECUTIVE_SPONSOR,
        is_primary=True,
    )
    last = held(account, start + dt.timedelta(days=5))
    QbrNextStep.objects.create(qbr=last, position=1, text="Roll out to finance", side=StepSide.OURS)
    kept = Goal.objects.create(
        account=account,
        title="Month-end close in 3 days",
        kpi="Days to close",
        target="3",
        status=GoalStatus.ACHIEVED,
    )
    GoalRevision.objects.create(
        goal=kept, status=GoalStatus.ON_TRACK, target="3", changed_at=_at(start)
    )
    GoalRevision.objects.create(
        goal=kept,
        status=GoalStatus.ACHIEVED,
        target="3",
        changed_at=_at(end - dt.timedelta(days=3)),
    )
    new = Goal.objects.create(
        account=account,
        title="Every region live",
        kpi="Regions",
        target="4 of 4",
        status=GoalStatus.NOT_STARTED,
    )
    GoalRevision.objects.create(
        goal=new,
        status=GoalStatus.NOT_STARTED,
        target="4 of 4",
        changed_at=_at(end - dt.timedelta(days=2)),
    )
    plan = OnboardingPlan.objects.create(
        account=account,
        template=standard_template(),
        name="Enterprise onboarding",
        status=PlanStatus.COMPLETED,
        started_on=today - dt.timedelta(days=140),
        target_on=today - dt.timedelta(days=100),
        completed_on=today - dt.timedelta(days=95),
        value_on=today - dt.timedelta(days=110),
    )
    PlanMilestone.objects.create(
        plan=plan,
        name="Kick-off",
        position=0,
        due_on=today - dt.timedelta(days=133),
        completed_on=today - dt.timedelta(days=134),
    )
    PlanMilestone.objects.create(
        plan=plan,
        name="Go-live",
        position=1,
        due_on=today - dt.timedelta(days=100),
        completed_on=today - dt.timedelta(days=95),
    )
    for day, mau, dau in (
        (start - dt.timedelta(days=1), 40, 10),
        (start, 40, 10),
        (end - dt.timedelta(days=40), 46, 12),
        (end, 52, 18),
    ):
        AccountDailyMetrics.objects.create(
            account=account,
            date=day,
            mau=mau,
            wau=mau - 5,
            dau=dau,
            mrr=Decimal("2290"),
            tickets_30d=3,
        )
    Ticket.objects.create(
        account=account,
        subject="Export fails for large files",
        priority=TicketPriority.P1,
        status=TicketStatus.RESOLVED,
        is_escalation=True,
        opened_at=_at(start + dt.timedelta(days=10)),
        first_response_at=_at(start + dt.timedelta(days=10), 14),
        resolved_at=_at(start + dt.timedelta(days=11)),
    )
    Ticket.objects.create(
        account=account,
        subject="How to add users",
        priority=TicketPriority.P3,
        status=TicketStatus.OPEN,
        opened_at=_at(end - dt.timedelta(days=5)),
        first_response_at=_at(end - dt.timedelta(days=5), 16),
    )
    Ticket.objects.create(
        account=account, subject="Old question", opened_at=_at(start - dt.timedelta(days=30))
    )
    for kind, score in (
        (SurveyKind.NPS, 10),
        (SurveyKind.NPS, 9),
        (SurveyKind.NPS, 3),
        (SurveyKind.CSAT, 5),
        (SurveyKind.CSAT, 4),
        (SurveyKind.CSAT, 2),
    ):
        SurveyResponse.objects.create(
            account=account,
            kind=kind,
            score=score,
            responded_at=_at(end - dt.timedelta(days=20)),
            comment="Reports are slow" if score == 3 else "",
        )
    HealthScoreHistory.objects.create(
        account=account, date=start, score=Decimal("60"), color="yellow"
    )
    HealthScoreHistory.objects.create(
        account=account, date=end, score=Decimal("72"), color="yellow"
    )
    HealthScore.objects.create(
        account=account,
        as_of=today,
        score=Decimal("74"),
        color="yellow",
        computed_score=Decimal("74"),
        computed_color="yellow",
    )
    # Four active users in the period's last 30 days: three used Reports (core), one Exports.
    reports = Feature.objects.create(key=f"reports-{account.pk}", name="Reports", is_core=True)
    exports = Feature.objects.create(key=f"exports-{account.pk}", name="Exports")
    users = [
        EndUser.objects.create(account=account, external_id=f"u{account.pk}-{i}") for i in range(4)
    ]
    for i, user in enumerate(users):
        day = end - dt.timedelta(days=i * 3)
        EndUserDailyActivity.objects.create(end_user=user, account=account, date=day, events=5)
        if i < 3:
            EndUserFeatureDaily.objects.create(
                end_user=user, account=account, feature=reports, date=day, events=4
            )
    EndUserFeatureDaily.objects.create(
        end_user=users[3], account=account, feature=exports, date=end, events=1
    )
    # Used before the window: not counted.
    EndUserFeatureDaily.objects.create(
        end_user=users[3],
        account=account,
        feature=reports,
        date=end - dt.timedelta(days=40),
        events=9,
    )
    account.refresh_from_db()
    return World(account, main, addon, kept, new, last, (start, end), today)
