"""Cohort figures, the step funnel and the engine's snapshots, against hand-computed values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import Tier
from accounts.tests.factories import AccountFactory
from metrics.models import MetricSnapshot, Ticket
from metrics.services.engine import metrics_recalculate
from onboarding.choices import PlanHealth, PlanStatus
from onboarding.models import OnboardingPlan, PlanMilestone
from onboarding.selectors import MonthSpan, cohort_figures, snapshot_rows, step_funnel
from onboarding.services.plans import plan_drafts_build, plan_drafts_write
from onboarding.tests.factories import MilestoneFactory, TemplateFactory, standard_template

D = dt.date
JAN = MonthSpan("month", D(2025, 1, 31), D(2025, 1, 1), D(2025, 1, 31))
FEB = MonthSpan("month", D(2025, 2, 28), D(2025, 2, 1), D(2025, 2, 28))


def _plan(template, started_on, *, tier=Tier.SMB, **fields):
    account = AccountFactory(tier=tier)
    (plan,) = plan_drafts_write(
        drafts=plan_drafts_build(starts=[(account, template, started_on)]), record=False
    )
    OnboardingPlan.objects.filter(pk=plan.pk).update(**fields)
    return plan


def _ticket(plan_or_account, day):
    account = getattr(plan_or_account, "account", plan_or_account)
    Ticket.objects.create(
        account=account,
        subject="Help",
        opened_at=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
    )


@pytest.fixture
def cohorts(db):
    """January 2025: four plans (two SMB, two enterprise); February: one; December: one.

    plan  tier  start   end                 activated  value (days)
    A     smb   Jan 3   completed Jan 23    Jan 10     Jan 13 (10)
    B     smb   Jan 10  completed Feb 9     Jan 20     Feb 9 (30)
    C     ent   Jan 20  in progress         Feb 1      Feb 4 (15)
    D     ent   Jan 31  cancelled Feb 10    —          —
    E     smb   Feb 1   in progress         —          —
    F     smb   Dec 31  in progress         —          —   (not a January plan)
    """
    t = standard_template(name="Cohorts")
    done = PlanStatus.COMPLETED
    a = _plan(
        t,
        D(2025, 1, 3),
        status=done,
        completed_on=D(2025, 1, 23),
        activated_on=D(2025, 1, 10),
        value_on=D(2025, 1, 13),
    )
    b = _plan(
        t,
        D(2025, 1, 10),
        status=done,
        completed_on=D(2025, 2, 9),
        activated_on=D(2025, 1, 20),
        value_on=D(2025, 2, 9),
    )
    c = _plan(
        t, D(2025, 1, 20), tier=Tier.ENTERPRISE, activated_on=D(2025, 2, 1), value_on=D(2025, 2, 4)
    )
    d = _plan(
        t,
        D(2025, 1, 31),
        tier=Tier.ENTERPRISE,
        status=PlanStatus.CANCELLED,
        cancelled_on=D(2025, 2, 10),
    )
    _plan(t, D(2025, 2, 1))
    _plan(t, D(2024, 12, 31))
    # Tickets of accounts with a plan in progress on the day count; others do not.
    _ticket(a, D(2025, 1, 5))  # A onboarding: counts (January)
    _ticket(a, D(2025, 1, 25))  # A completed on the 23rd
    _ticket(b, D(2025, 1, 9))  # B starts on the 10th
    _ticket(b, D(2025, 2, 9))  # B completed that day
    _ticket(c, D(2025, 1, 20))  # C's first day: counts (January)
    _ticket(c, D(2025, 2, 15))  # C still onboarding: counts (February)
    _ticket(d, D(2025, 2, 10))  # D cancelled that day
    _ticket(AccountFactory(), D(2025, 1, 15))  # no plan at all
    return t


def test_january_cohort_figures_for_the_portfolio(cohorts):
    jan = cohort_figures(spans=[JAN, FEB])[("month", D(2025, 1, 31), "")]

    assert (jan.plans, jan.completed, jan.activated, jan.valued) == (4, 2, 3, 3)
    assert (jan.active, jan.cancelled) == (1, 1)
    assert jan.completion_rate == Decimal("50.0000")  # 2 of 4
    assert jan.average_onboarding_days == Decimal("25.0000")  # (20 + 30) ÷ 2
    assert jan.activation_rate == Decimal("75.0000")  # 3 of 4
    assert jan.time_to_value_median == Decimal("15.0000")  # 10, 15, 30
    assert jan.time_to_value_mean == Decimal("18.3333")  # 55 ÷ 3
    assert jan.tickets == 2
    assert jan.tickets_per_day == Decimal("0.0645")  # 2 ÷ 31


def test_cohort_figures_per_segment_and_month(cohorts):
    figures = cohort_figures(spans=[JAN, FEB])

    smb = figures[("month", D(2025, 1, 31), "tier:smb")]
    assert (smb.plans, smb.completion_rate, smb.activation_rate) == (
        2,
        Decimal("100.0000"),
        Decimal("100.0000"),
    )
    assert smb.time_to_value_median == Decimal("20.0000")  # 10, 30
    enterprise = figures[("month", D(2025, 1, 31), "tier:enterprise")]
    assert (enterprise.plans, enterprise.completion_rate) == (2, Decimal("0.0000"))
    assert enterprise.activation_rate == Decimal("50.0000")
    assert enterprise.time_to_value_mean == Decimal("15.0000")
    feb = figures[("month", D(2025, 2, 28), "")]
    assert (feb.plans, feb.completed, feb.completion_rate) == (1, 0, Decimal("0.0000"))
    assert feb.tickets == 1 and feb.tickets_per_day == Decimal("0.0357")  # 1 ÷ 28


def test_a_template_filter_keeps_its_plans_only(cohorts):
    other = standard_template(name="Other")
    _plan(other, D(2025, 1, 15))

    mine = cohort_figures(spans=[JAN], template_id=cohorts.pk)[("month", D(2025, 1, 31), "")]
    theirs = cohort_figures(spans=[JAN], template_id=other.pk)[("month", D(2025, 1, 31), "")]

    assert (mine.plans, theirs.plans) == (4, 1)


def test_snapshot_rows_give_cohort_figures_for_months_and_tickets_for_every_period(cohorts):
    day = MonthSpan("day", D(2025, 1, 5), D(2025, 1, 5), D(2025, 1, 5))

    rows = {(r.metric, r.period, r.segment, r.date): r for r in snapshot_rows([JAN, day])}

    completion = rows[("onboarding_completion_rate", "month", "", D(2025, 1, 31))]
    assert (completion.value, completion.numerator, completion.denominator) == (
        Decimal("50.0000"),
        2,
        4,
    )
    assert rows[("activation_rate", "month", "", D(2025, 1, 31))].value == Decimal("75.0000")
    assert rows[("average_onboarding_days", "month", "", D(2025, 1, 31))].value == 25
    assert rows[("time_to_value_median", "month", "", D(2025, 1, 31))].value == 15
    assert rows[("time_to_value_mean", "month", "", D(2025, 1, 31))].value == Decimal("18.3333")
    per_day = rows[("onboarding_tickets_per_day", "day", "", D(2025, 1, 5))]
    assert (per_day.value, per_day.numerator, per_day.denominator) == (Decimal("1.0000"), 1, 1)
    # A one-day cohort says little: days get tickets per day only.
    assert ("onboarding_completion_rate", "day", "", D(2025, 1, 5)) not in rows
    assert rows[("activation_rate", "month", "tier:enterprise", D(2025, 1, 31))].value == 50


def test_the_engine_stores_the_onboarding_figures_with_its_own(cohorts):
    metrics_recalculate(start=D(2025, 1, 30), end=D(2025, 2, 1), today=D(2025, 6, 1))
    metrics_recalculate(start=D(2025, 1, 30), end=D(2025, 2, 1), today=D(2025, 6, 1))

    stored = MetricSnapshot.objects.get(
        metric="onboarding_completion_rate", period="month", segment="", date=D(2025, 1, 31)
    )
    assert stored.value == Decimal("50.0000")
    assert MetricSnapshot.objects.filter(
        metric="time_to_value_median", period="quarter", segment="", date=D(2025, 3, 31)
    ).exists()


def test_the_step_funnel_shows_where_plans_spend_their_time_and_stall(db):
    template = TemplateFactory(name="Funnel")
    for i, name in enumerate(("Kick-off", "Set-up", "Go-live")):
        MilestoneFactory(template=template, name=name, position=i, due_day=10 * (i + 1))
    since = D(2025, 1, 1)

    def plan(steps, **fields):
        p = _plan(template, since, **fields)
        for m, (started, completed) in zip(p.milestones.order_by("position"), steps, strict=False):
            PlanMilestone.objects.filter(pk=m.pk).update(started_on=started, completed_on=completed)
        return p

    j = lambda n: D(2025, 1, n)  # noqa: E731
    plan([(j(1), j(3)), (j(3), j(7)), (j(7), j(8))], status=PlanStatus.COMPLETED)  # 2, 4, 1 days
    plan([(j(1), j(4)), (j(4), None)], health=PlanHealth.STUCK)  # 3 days, then stuck in Set-up
    plan([(j(1), None)], status=PlanStatus.CANCELLED)  # dropped out in Kick-off
    plan([(j(1), j(6)), (j(6), None)])  # 5 days, now in Set-up

    funnel = step_funnel(template_id=template.pk, since=since)

    assert [(s.name, s.reached, s.completed, s.in_step, s.stuck, s.dropped) for s in funnel] == [
        ("Kick-off", 4, 3, 0, 0, 1),
        ("Set-up", 3, 1, 2, 1, 0),
        ("Go-live", 1, 1, 0, 0, 0),
    ]
    assert [s.median_days for s in funnel] == [Decimal(3), Decimal(4), Decimal(1)]


def test_the_reports_page_shows_this_months_cohort_beside_the_benchmarks(client_for, vic):
    template = standard_template(name="This month")
    today = timezone.localdate()
    start = today.replace(day=1)
    _plan(template, start, status=PlanStatus.COMPLETED, completed_on=today, value_on=today)
    _plan(template, start)

    response = client_for(vic).get(reverse("onboarding:reports"))

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="value-onboarding_completion_rate">50.0 %' in body
    assert "good for B2B: 40–60 %" in body and "good for B2C: 30–50 %" in body
    row = response.context["report"].rows[-1]
    assert row.month == start and row.figures.plans == 2


def test_the_report_csv_has_one_row_per_cohort_month(client_for, vic):
    response = client_for(vic).get(reverse("onboarding:reports") + "?months=6&format=csv")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("start month,plans,completed,completion rate %")
    assert len(lines) == 7
