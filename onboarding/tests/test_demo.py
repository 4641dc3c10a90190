"""seed_demo's onboarding: plans at every stage, some behind or stuck, completed with TTV."""

from __future__ import annotations

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from accounts.choices import LifecycleStage, TaskStatus
from accounts.models import Account, Task
from onboarding.choices import PlanHealth, PlanStatus
from onboarding.models import OnboardingPlan, OnboardingTemplate, PlanMilestone

pytestmark = pytest.mark.django_db


def seed(*args: str) -> None:
    call_command("seed_demo", *args, "--no-progress", stdout=StringIO(), stderr=StringIO())


def signature() -> list[tuple]:
    return sorted(
        OnboardingPlan.objects.annotate(done=Count("tasks", filter=~Q_open()))
        .values_list(
            "account__external_id",
            "template__name",
            "status",
            "health",
            "started_on",
            "completed_on",
            "activated_on",
            "value_on",
            "done",
        )
        .order_by()
    )


def Q_open():
    from django.db.models import Q

    return Q(tasks__completed_at__isnull=True)


def test_the_demo_book_has_plans_at_every_stage_and_their_records_agree():
    seed("--accounts", "150", "--seed", "11")

    # Every status, and plans in progress on track, behind and stuck.
    statuses = Counter(OnboardingPlan.objects.values_list("status", flat=True))
    health = Counter(
        OnboardingPlan.objects.filter(status=PlanStatus.ACTIVE).values_list("health", flat=True)
    )
    assert statuses[PlanStatus.ACTIVE] and statuses[PlanStatus.COMPLETED]
    assert statuses[PlanStatus.CANCELLED]
    assert health[PlanHealth.ON_TRACK] and health[PlanHealth.BEHIND] and health[PlanHealth.STUCK]
    assert OnboardingTemplate.objects.count() == 3
    # Plans in progress are spread over the steps.
    current = Counter()
    for plan in OnboardingPlan.objects.filter(status=PlanStatus.ACTIVE):
        step = plan.milestones.filter(completed_on__isnull=True).order_by("position").first()
        current[step.position if step else None] += 1
    assert len([p for p in current if p is not None]) >= 2

    # Every onboarding account has a plan in progress; completed plans carry their stamps.
    onboarding = Account.objects.filter(lifecycle_stage=LifecycleStage.ONBOARDING).exclude(
        status="churned"
    )
    assert not onboarding.exclude(onboarding_plans__status=PlanStatus.ACTIVE).exists()
    completed = OnboardingPlan.objects.filter(status=PlanStatus.COMPLETED)
    assert not completed.filter(completed_on__isnull=True).exists()
    assert not completed.filter(first_qbr_due_on__isnull=True).exists()
    with_value = completed.exclude(value_on__isnull=True)
    assert with_value.count() >= completed.count() * 0.6
    assert all(p.time_to_value_days >= 0 for p in with_value)
    assert completed.exclude(activated_on__isnull=True).exists()

    # Our open work is in the owners' books, and only for plans in progress.
    assert Task.objects.filter(
        source="onboarding",
        status=TaskStatus.OPEN,
        onboarding_task__plan__status=PlanStatus.ACTIVE,
    ).exists()
    open_csm = Task.objects.filter(source="onboarding", status=TaskStatus.OPEN)
    assert not open_csm.filter(onboarding_task__completed_at__isnull=False).exists()
    assert not open_csm.exclude(onboarding_task__plan__status=PlanStatus.ACTIVE).exists()
    # A reached milestone has every task done and a start no later than its end.
    for m in PlanMilestone.objects.filter(completed_on__isnull=False).prefetch_related("tasks"):
        assert all(t.completed_at for t in m.tasks.all())
        assert m.started_on and m.started_on <= m.completed_on


def test_the_same_seed_gives_the_same_plans():
    seed("--accounts", "40", "--seed", "5")
    first = signature()
    assert first
    Account.objects.all().delete()
    seed("--accounts", "40", "--seed", "5")
    assert signature() == first
