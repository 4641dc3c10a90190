"""Every trigger with a fixed clock: who it matches, why, and under which occasion key."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import SubscriptionStatus
from accounts.tests.factories import AccountFactory, SubscriptionFactory
from health.models import HealthScoreHistory
from metrics.models import (
    AccountFeatureDailyUsage,
    Feature,
    SurveyResponse,
    Ticket,
)
from onboarding.models import OnboardingPlan, PlanMilestone, PlanTask
from playbooks.models import Rule
from playbooks.services.evaluate import rule_matches
from playbooks.tests.helpers import NOW, TODAY, figures, health, matches
from renewals.models import Renewal

pytestmark = pytest.mark.django_db


def test_colour_change_matches_the_day_an_account_turns_that_colour():
    turned = AccountFactory(name="Turned")
    health(turned, 40, "red", previous=62, previous_color="yellow")
    stays = AccountFactory(name="Stays")
    health(stays, 30, "red", previous=35, previous_color="red")
    first = AccountFactory(name="First score")
    health(first, 20, "red")
    found = matches("health_color", to="red")
    assert list(found) == [turned.pk]
    assert found[turned.pk].reason == "Health turned red (62 → 40)"
    assert found[turned.pk].reason_key == f"turned-red:{TODAY}"


def test_below_and_drop_within_days():
    low = AccountFactory()
    health(low, 44, "red")
    ok = AccountFactory()
    health(ok, 70, "yellow")
    HealthScoreHistory.objects.create(account=ok, date=TODAY - dt.timedelta(days=14), score=90)
    assert list(matches("health_below", score=50)) == [low.pk]
    dropped = matches("health_drop", points=15, days=14)
    assert list(dropped) == [ok.pk]
    assert dropped[ok.pk].reason == "Health fell from 90 to 70 in 14 days"


def test_a_metric_must_hold_for_the_whole_waiting_period():
    held = AccountFactory()
    brief = AccountFactory()
    for i in range(7):
        day = TODAY - dt.timedelta(days=i)
        figures(held, day, mau=5)
        figures(brief, day, mau=5 if i < 6 else 50)  # above 10 seven days ago
    found = matches("metric_threshold", metric="mau", op="lt", value="10")
    assert list(found) == [held.pk]
    # With a wait of six days the brief one holds too.
    assert set(matches("metric_threshold", metric="mau", op="lt", value="10", wait_days=6)) == {
        held.pk,
        brief.pk,
    }


def test_a_key_feature_waits_three_days_a_plain_one_seven():
    key = Feature.objects.create(key="reports", name="Reports", is_key=True)
    Feature.objects.create(key="exports", name="Exports")
    account = AccountFactory()
    # Reports: 1 user a day for the last three days, 8 before; exports: never used.
    for i in range(10):
        day = TODAY - dt.timedelta(days=i)
        AccountFeatureDailyUsage.objects.create(
            account=account, feature=key, date=day, events=3, users=1 if i < 3 else 8
        )
    assert list(matches("metric_threshold", metric="feature:reports", op="lt", value="2")) == [
        account.pk
    ]
    # A plain feature unused for seven days matches too; one with usage does not.
    assert list(matches("metric_threshold", metric="feature:exports", op="lt", value="1")) == [
        account.pk
    ]


def test_renewal_and_cancellation_deadline_windows():
    # Renewals follow the subscriptions as they are saved, on today's date.
    now = timezone.now()
    today = now.date()
    soon = AccountFactory()
    SubscriptionFactory(
        account=soon,
        start_date=today - dt.timedelta(days=300),
        end_date=today + dt.timedelta(days=60),
        notice_period_days=45,
    )
    later = AccountFactory()
    SubscriptionFactory(
        account=later,
        start_date=today - dt.timedelta(days=10),
        end_date=today + dt.timedelta(days=300),
        notice_period_days=30,
    )
    renewing = matches("renewal_in", now=now, days=120)
    assert list(renewing) == [soon.pk]
    renewal = Renewal.objects.get(account=soon, outcome="")
    assert renewing[soon.pk].reason_key == f"renewal:{renewal.pk}"
    assert renewing[soon.pk].reason == f"Renews on {today + dt.timedelta(days=60)}"
    # Deadline = end − notice: 60 − 45 = 15 days from now, inside 30; the other 270.
    deadline = matches("deadline_in", now=now, days=30)
    assert list(deadline) == [soon.pk]
    assert deadline[soon.pk].reason == (
        f"Cancellation deadline {today + dt.timedelta(days=15)}, for the term ending "
        f"{today + dt.timedelta(days=60)}"
    )
    # Closed, it is no longer coming up.
    Renewal.objects.filter(pk=renewal.pk).update(outcome="renewed", closed_on=today, stage="closed")
    assert matches("renewal_in", now=now, days=120) == {}


def test_deadline_ignores_lines_that_do_not_renew():
    today = timezone.localdate()
    account = AccountFactory()
    SubscriptionFactory(
        account=account,
        start_date=today - dt.timedelta(days=300),
        end_date=today + dt.timedelta(days=40),
        notice_period_days=30,
        auto_renew=False,
    )
    assert matches("deadline_in", now=timezone.now(), days=30) == {}


def test_a_detractor_answer_matches_once_per_answer():
    account = AccountFactory()
    answer = SurveyResponse.objects.create(
        account=account, kind="nps", score=3, responded_at=NOW - dt.timedelta(hours=5)
    )
    promoter = AccountFactory()
    SurveyResponse.objects.create(account=promoter, kind="nps", score=10, responded_at=NOW)
    found = matches("nps_detractor")
    assert list(found) == [account.pk]
    assert (found[account.pk].reason_key, found[account.pk].reason) == (
        f"detractor:{answer.pk}",
        "NPS answer 3 (a detractor)",
    )


def test_no_login_for_a_stretch_is_one_occasion():
    idle = AccountFactory()
    figures(idle, TODAY, days_since_last_activity=20)
    busy = AccountFactory()
    figures(busy, TODAY, days_since_last_activity=1)
    found = matches("no_login", days=14)
    assert list(found) == [idle.pk]
    assert found[idle.pk].reason == "No activity for 20 days"


def test_usage_drop_week_over_week():
    falling = AccountFactory()
    figures(falling, TODAY, wau=6)
    figures(falling, TODAY - dt.timedelta(days=7), wau=10)  # −40 %
    small = AccountFactory()
    figures(small, TODAY, wau=1)
    figures(small, TODAY - dt.timedelta(days=7), wau=3)  # too few users to judge
    assert list(matches("usage_drop", percent=30)) == [falling.pk]


def test_usage_limit_reached_against_paying_seats():
    full = AccountFactory()
    SubscriptionFactory(
        account=full,
        quantity=10,
        start_date=TODAY - dt.timedelta(days=10),
        end_date=TODAY + dt.timedelta(days=300),
    )
    figures(full, TODAY, mau=10)
    room = AccountFactory()
    SubscriptionFactory(
        account=room,
        quantity=50,
        start_date=TODAY - dt.timedelta(days=10),
        end_date=TODAY + dt.timedelta(days=300),
    )
    figures(room, TODAY, mau=10)
    trial = AccountFactory()
    SubscriptionFactory(
        account=trial,
        quantity=1,
        status=SubscriptionStatus.TRIAL,
        start_date=TODAY - dt.timedelta(days=3),
        end_date=TODAY + dt.timedelta(days=11),
    )
    figures(trial, TODAY, mau=3)
    found = matches("usage_limit", percent=100)
    assert list(found) == [full.pk]
    assert found[full.pk].reason == "10 monthly users on 10 seats"


def test_ticket_spike_against_the_usual_week():
    spiking = AccountFactory()
    for i in range(6):
        Ticket.objects.create(
            account=spiking, subject="Down", opened_at=NOW - dt.timedelta(days=1, hours=i)
        )
    Ticket.objects.create(account=spiking, subject="Old", opened_at=NOW - dt.timedelta(days=20))
    steady = AccountFactory()
    for _i in range(6):
        Ticket.objects.create(account=steady, subject="Now", opened_at=NOW - dt.timedelta(days=2))
    for _i in range(24):
        Ticket.objects.create(
            account=steady, subject="Before", opened_at=NOW - dt.timedelta(days=10 + i)
        )
    assert list(matches("ticket_spike", min_tickets=5, factor="2")) == [spiking.pk]


def test_onboarding_stuck_overdue_and_milestone():
    stuck = AccountFactory()
    plan = OnboardingPlan.objects.create(
        account=stuck,
        name="Onboarding",
        status="active",
        health="stuck",
        started_on=TODAY - dt.timedelta(days=40),
        target_on=TODAY + dt.timedelta(days=10),
    )
    milestone = PlanMilestone.objects.create(
        plan=plan,
        name="Go-live",
        due_on=TODAY - dt.timedelta(days=5),
        completed_on=TODAY - dt.timedelta(days=1),
    )
    late = PlanTask.objects.create(
        plan=plan,
        milestone=milestone,
        title="Import users",
        side="customer",
        due_on=TODAY - dt.timedelta(days=5),
    )
    assert list(matches("onboarding_stuck")) == [stuck.pk]
    overdue = matches("onboarding_overdue", days=3)
    assert overdue[stuck.pk].reason_key == f"onboarding-overdue:{late.pk}"
    reached = matches("milestone_reached", name="go-live")
    assert reached[stuck.pk].reason == "Milestone reached: Go-live"
    assert matches("milestone_reached", name="training") == {}


def test_purchase_regret_profile_on_new_accounts():
    risky = AccountFactory(
        industry="Financial services",
        years_in_business=2,
        single_decision_maker=True,
        customer_since=TODAY - dt.timedelta(days=20),
    )
    AccountFactory(
        industry="Financial services",
        years_in_business=12,
        single_decision_maker=True,
        customer_since=TODAY - dt.timedelta(days=20),
    )
    AccountFactory(
        industry="Retail",
        years_in_business=2,
        single_decision_maker=True,
        customer_since=TODAY - dt.timedelta(days=20),
    )
    AccountFactory(
        industry="IT consulting",
        years_in_business=2,
        single_decision_maker=True,
        customer_since=TODAY - dt.timedelta(days=200),
    )
    AccountFactory(
        industry="Hospitality",  # "it" inside a word is not IT
        years_in_business=2,
        single_decision_maker=True,
        customer_since=TODAY - dt.timedelta(days=20),
    )
    it = AccountFactory(
        industry="IT services",
        years_in_business=1,
        single_decision_maker=True,
        customer_since=TODAY - dt.timedelta(days=5),
    )
    assert set(matches("regret_risk")) == {risky.pk, it.pk}


def test_advocate_candidates_are_healthy_promoters_without_urgent_tickets():
    fan = AccountFactory()
    busy = AccountFactory()
    for account in (fan, busy):
        for i in range(30):
            HealthScoreHistory.objects.create(
                account=account, date=TODAY - dt.timedelta(days=i), score=85
            )
        SurveyResponse.objects.create(
            account=account, kind="nps", score=10, responded_at=NOW - dt.timedelta(days=40)
        )
    Ticket.objects.create(account=busy, subject="Outage", priority="p1", opened_at=NOW)
    found = matches("advocate")
    assert list(found) == [fan.pk]
    assert found[fan.pk].reason_key == "advocate:2026-Q1"


def test_the_rule_scope_narrows_every_trigger():
    enterprise = AccountFactory(tier="enterprise", mrr=Decimal(5000))
    smb = AccountFactory(tier="smb", mrr=Decimal(100))
    for account in (enterprise, smb):
        health(account, 30, "red")
    rule = Rule(name="x", trigger="health_below", params={"score": 50}, tiers=["enterprise"])
    assert [m.account_id for m in rule_matches(rule=rule, now=NOW)] == [enterprise.pk]
    rich = Rule(name="y", trigger="health_below", params={"score": 50}, min_mrr=Decimal(1000))
    assert [m.account_id for m in rule_matches(rule=rich, now=NOW)] == [enterprise.pk]
