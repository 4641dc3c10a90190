"""Scheduled and triggered work: beat entries, automatic starts, detection soon after usage."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from accounts import services as account_services
from accounts.choices import BusinessModel, LifecycleStage, Tier, TouchModel
from accounts.models import Account, Task
from accounts.tests.factories import AccountFactory
from csplatform.celery import app
from metrics.models import AccountDailyUsage
from metrics.signals import usage_recorded
from onboarding import tasks
from onboarding.choices import CriterionKind, PlanHealth, PlanStatus
from onboarding.models import OnboardingPlan
from onboarding.selectors import template_for_account
from onboarding.services.plans import plan_start
from onboarding.tests.factories import CriterionFactory, TemplateFactory, standard_template


def test_beat_runs_detection_health_and_the_autostart_sweep_with_expiry():
    schedule = settings.CELERY_BEAT_SCHEDULE
    for name, task in [
        ("onboarding-detect", "onboarding.tasks.plans_detect_all"),
        ("onboarding-health-refresh", "onboarding.tasks.plans_health_refresh_all"),
        ("onboarding-autostart-sweep", "onboarding.tasks.plans_autostart_sweep"),
    ]:
        assert schedule[name]["task"] == task
        assert task in app.tasks
        assert 0 < schedule[name]["options"]["expires"] < 3600


# Template matching -----------------------------------------------------------------------


def test_the_template_naming_most_of_the_account_wins_then_priority(db):
    TemplateFactory(name="Anyone", priority=1)
    TemplateFactory(name="Tech-touch", touch_model=TouchModel.TECH, priority=50)
    TemplateFactory(name="Tech SMB", touch_model=TouchModel.TECH, tier=Tier.SMB, priority=90)
    TemplateFactory(
        name="Tech SMB B2C",
        touch_model=TouchModel.TECH,
        tier=Tier.SMB,
        business_model=BusinessModel.B2C,
        is_active=False,
    )
    TemplateFactory(name="Enterprise", tier=Tier.ENTERPRISE, priority=1)

    def best(**fields):
        return template_for_account(account=AccountFactory(**fields)).name

    assert best(touch_model=TouchModel.TECH, tier=Tier.SMB) == "Tech SMB"
    # The archived B2C template is passed over.
    assert best(touch_model=TouchModel.TECH, tier=Tier.SMB, business_model="b2c") == "Tech SMB"
    assert best(touch_model=TouchModel.TECH, tier=Tier.MID_MARKET) == "Tech-touch"
    assert best(touch_model=TouchModel.HIGH, tier=Tier.MID_MARKET) == "Anyone"


# Automatic starts ------------------------------------------------------------------------


@pytest.fixture
def auto_template(db):
    return standard_template(name="Automatic", touch_model=TouchModel.LOW)


def test_a_new_onboarding_account_gets_a_plan_after_commit(
    alice, auto_template, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        account = account_services.account_create(
            name="Fresh Co", touch_model=TouchModel.LOW, owner=alice
        )

    plan = OnboardingPlan.objects.get(account=account)
    assert plan.template == auto_template and plan.started_on == timezone.localdate()
    assert plan.tasks.filter(task__assignee=alice).count() == 2


@pytest.mark.parametrize(
    "fields",
    [
        {"lifecycle_stage": LifecycleStage.ADOPTION},
        {"touch_model": TouchModel.HIGH},  # no template suits it
    ],
)
def test_accounts_that_are_not_onboarding_or_suit_no_template_get_none(
    auto_template, django_capture_on_commit_callbacks, fields
):
    with django_capture_on_commit_callbacks(execute=True):
        account_services.account_create(name="Other Co", **{"touch_model": "low", **fields})
    assert not OnboardingPlan.objects.exists()


def test_automatic_starts_can_be_switched_off(
    settings, auto_template, django_capture_on_commit_callbacks
):
    settings.ONBOARDING_AUTO_START = False
    with django_capture_on_commit_callbacks(execute=True):
        account_services.account_create(name="Fresh Co", touch_model=TouchModel.LOW)
    assert tasks.plans_autostart_sweep() == 0
    assert not OnboardingPlan.objects.exists()


def test_a_template_that_does_not_start_automatically_is_offered_by_hand_only(
    auto_template, django_capture_on_commit_callbacks
):
    auto_template.auto_start = False
    auto_template.save()
    with django_capture_on_commit_callbacks(execute=True):
        account = account_services.account_create(name="Fresh Co", touch_model=TouchModel.LOW)
    assert not OnboardingPlan.objects.exists()
    assert template_for_account(account=account) == auto_template


def test_the_sweep_starts_plans_for_imported_accounts_once(auto_template, alice):
    # Imports write with bulk_create: no signal, the sweep finds them.
    fresh = Account.objects.bulk_create(
        [Account(name=f"Imported {i}", touch_model=TouchModel.LOW, owner=alice) for i in range(3)]
    )
    old = AccountFactory(name="Old", touch_model=TouchModel.LOW)
    Account.objects.filter(pk=old.pk).update(
        created_at=timezone.now()
        - dt.timedelta(days=settings.ONBOARDING_AUTO_START_WINDOW_DAYS + 1)
    )
    has_plan = AccountFactory(name="Has one", touch_model=TouchModel.LOW)
    plan_start(account=has_plan, template=auto_template)

    assert tasks.plans_autostart_sweep() == 3
    assert tasks.plans_autostart_sweep() == 0
    assert set(OnboardingPlan.objects.values_list("account__name", flat=True)) == {
        "Imported 0",
        "Imported 1",
        "Imported 2",
        "Has one",
    }
    assert {a.pk for a in fresh} <= set(OnboardingPlan.objects.values_list("account", flat=True))


# Detection soon after usage --------------------------------------------------------------


def test_new_usage_asks_for_one_detection_run_however_many_batches(
    alice, django_capture_on_commit_callbacks
):
    template = standard_template(name="Signals")
    CriterionFactory(template=template, kind=CriterionKind.ACTIVE_DAYS, threshold=1)
    plan = plan_start(account=AccountFactory(owner=alice), template=template)
    AccountDailyUsage.objects.create(
        account=plan.account, date=timezone.localdate(), events=3, active_users=1
    )

    tasks._asked_at = 0.0
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        usage_recorded.send(sender=None, account_ids=[plan.account_id])
        tasks._asked_at = 0.0  # as if another process: the cache still lets one through
        usage_recorded.send(sender=None, account_ids=None)

    # One run is queued (the second batch finds it pending); it activates the plan.
    assert sum("plans_detect_soon" in c.__qualname__ for c in callbacks) == 1
    plan.refresh_from_db()
    assert plan.activated_on == timezone.localdate()


def test_the_scheduled_tasks_detect_and_rate_every_plan(alice):
    template = standard_template(name="Scheduled")
    CriterionFactory(template=template, kind=CriterionKind.ACTIVE_DAYS, threshold=1)
    plan = plan_start(
        account=AccountFactory(owner=alice),
        template=template,
        started_on=timezone.localdate() - dt.timedelta(days=5),
    )
    AccountDailyUsage.objects.create(
        account=plan.account, date=timezone.localdate(), events=3, active_users=1
    )
    OnboardingPlan.objects.filter(pk=plan.pk).update(health=PlanHealth.STUCK)

    assert tasks.plans_detect_all() == 1
    assert tasks.plans_health_refresh_all() == 1
    plan.refresh_from_db()
    # Five days in, the kick-off call (day 2) is 3 days late: not more than 3.
    assert plan.activated_on == timezone.localdate() and plan.health == PlanHealth.ON_TRACK


def test_a_plan_stops_when_its_account_churns(
    alice, auto_template, django_capture_on_commit_callbacks
):
    account = AccountFactory(owner=alice, touch_model=TouchModel.LOW)
    plan = plan_start(account=account, template=auto_template, actor=alice)

    with django_capture_on_commit_callbacks(execute=True):
        account_services.account_update(account=account, actor=alice, status="churned")

    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED and plan.cancel_reason == "churned"
    assert not Task.objects.filter(account=account, source="onboarding", status="open").exists()
