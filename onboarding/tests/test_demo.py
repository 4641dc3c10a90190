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


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """One demo book of 150 accounts for the whole module (seeding is the slow part)."""
    with django_db_blocker.unblock():
        call_command("seed_demo", accounts=150, seed=11, no_progress=True, verbosity=0)
        yield
        Account.objects.all().delete()
        OnboardingTemplate.objects.all().delete()
        from django.contrib.auth import get_user_model

        get_user_model().objects.all().delete()


def test_demo_plans_cover_every_status_and_health(demo):
    statuses = Counter(OnboardingPlan.objects.values_list("status", flat=True))
    health = Counter(
        OnboardingPlan.objects.filter(status=PlanStatus.ACTIVE).values_list("health", flat=True)
    )
    assert statuses[PlanStatus.ACTIVE] and statuses[PlanStatus.COMPLETED]
    assert statuses[PlanStatus.CANCELLED]
    assert health[PlanHealth.ON_TRACK] and health[PlanHealth.BEHIND] and health[PlanHealth.STUCK]
    assert OnboardingTemplate.objects.count() == 3


def test_plans_in_progress_are_spread_over_the_steps(demo):
    current = Counter()
    for plan in OnboardingPlan.objects.filter(status=PlanStatus.ACTIVE):
        step = plan.milestones.filter(completed_on__isnull=True).order_by("position").first()
        current[step.position if step else None] += 1
    assert len([p for p in current if p is not None]) >= 2


def test_every_onboarding_account_has_a_plan_and_completed_ones_have_their_stamps(demo):
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


def test_open_our_side_tasks_are_in_the_owners_book_and_milestones_are_consistent(demo):
    open_ours = Task.objects.filter(
        source="onboarding",
        status=TaskStatus.OPEN,
        onboarding_task__plan__status=PlanStatus.ACTIVE,
    )
    assert open_ours.exists()
    assert not Task.objects.filter(
        source="onboarding", status=TaskStatus.OPEN, onboarding_task__completed_at__isnull=False
    ).exists()
    assert (
        not Task.objects.filter(source="onboarding", status=TaskStatus.OPEN)
        .exclude(onboarding_task__plan__status=PlanStatus.ACTIVE)
        .exists()
    )
    # A reached milestone has every task done and a start no later than its end.
    for m in PlanMilestone.objects.filter(completed_on__isnull=False).prefetch_related("tasks")[
        :200
    ]:
        assert all(t.completed_at for t in m.tasks.all())
        assert m.started_on and m.started_on <= m.completed_on


def test_the_same_seed_gives_the_same_plans():
    # From an empty book (the module's demo book is restored when this test rolls back).
    Account.objects.all().delete()
    seed("--accounts", "40", "--seed", "5")
    first = signature()
    assert first
    Account.objects.all().delete()
    seed("--accounts", "40", "--seed", "5")
    assert signature() == first
