"""Plans from templates: copying, due dates, CSM tasks in "My book", completion, cancel."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts import services as account_services
from accounts.choices import LifecycleStage, TaskStatus, TouchModel
from accounts.models import Activity, Task
from accounts.tests.factories import AccountFactory
from onboarding import signals
from onboarding.choices import CancelReason, PlanStatus, TaskSide
from onboarding.models import OnboardingPlan, PlanTask
from onboarding.services.plans import (
    plan_cancel,
    plan_drafts_build,
    plan_drafts_write,
    plan_start,
    plan_task_set_done,
)
from onboarding.tests.factories import standard_template

D = dt.date


@pytest.fixture
def template(db):
    return standard_template(name="Low-touch onboarding")


def _start(account, template, started_on):
    (plan,) = plan_drafts_write(drafts=plan_drafts_build(starts=[(account, template, started_on)]))
    return plan


def _due(plan):
    return {t.title: t.due_on for t in plan.tasks.all()}


def test_a_plan_copies_milestones_tasks_and_settings_from_its_template(alice, template):
    account = AccountFactory(owner=alice)

    plan = plan_start(account=account, template=template, actor=alice)

    assert plan.status == PlanStatus.ACTIVE
    assert plan.template == template and plan.name == "Low-touch onboarding"
    assert [m.name for m in plan.milestones.all()] == ["Kick-off", "Go-live"]
    assert [(t.title, t.side) for t in plan.tasks.all()] == [
        ("Kick-off call", TaskSide.US),
        ("Invite your admins", TaskSide.CUSTOMER),
        ("Import your data", TaskSide.CUSTOMER),
        ("Train the team", TaskSide.US),
    ]
    assert (plan.behind_after_days, plan.stuck_after_days) == (3, 14)
    assert plan.milestones.first().started_on == plan.started_on
    assert Activity.objects.filter(account=account, metadata__plan_id=plan.pk).exists()


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        # Day 2, 5, 20 and 30 after the start, across the end of January and February.
        (
            D(2025, 1, 30),
            {
                "Kick-off call": D(2025, 2, 1),
                "Invite your admins": D(2025, 2, 4),
                "Import your data": D(2025, 2, 19),
                "Train the team": D(2025, 3, 1),
            },
        ),
        # A leap year: 30 days after 30 January is 29 February.
        (
            D(2024, 1, 30),
            {
                "Kick-off call": D(2024, 2, 1),
                "Invite your admins": D(2024, 2, 4),
                "Import your data": D(2024, 2, 19),
                "Train the team": D(2024, 2, 29),
            },
        ),
        # Across the end of a year.
        (
            D(2025, 12, 31),
            {
                "Kick-off call": D(2026, 1, 2),
                "Invite your admins": D(2026, 1, 5),
                "Import your data": D(2026, 1, 20),
                "Train the team": D(2026, 1, 30),
            },
        ),
    ],
)
def test_relative_due_days_count_calendar_days_across_month_ends(template, start, expected):
    plan = _start(AccountFactory(), template, start)

    assert _due(plan) == expected
    assert plan.target_on == expected["Train the team"]
    kickoff, golive = plan.milestones.all()
    assert kickoff.due_on == start + dt.timedelta(days=7)
    assert golive.due_on == expected["Train the team"]


def test_our_side_tasks_become_csm_tasks_in_the_owners_book(alice, template):
    account = AccountFactory(owner=alice)

    plan = plan_start(account=account, template=template, actor=alice)

    csm_tasks = Task.objects.filter(account=account, source="onboarding").order_by("due_date")
    assert [(t.title, t.assignee, t.status) for t in csm_tasks] == [
        ("Kick-off call", alice, TaskStatus.OPEN),
        ("Train the team", alice, TaskStatus.OPEN),
    ]
    kickoff_call = plan.tasks.get(title="Kick-off call")
    assert kickoff_call.task.due_date == kickoff_call.due_on
    assert plan.tasks.get(title="Invite your admins").task is None
    in_book = account_selectors.tasks_for_user(user=alice)
    assert "Kick-off call" in [t.title for t in in_book]


def test_completing_the_csm_task_in_my_book_ticks_the_plan_task(alice, template):
    account = AccountFactory(owner=alice)
    plan = plan_start(account=account, template=template, actor=alice)
    plan_task = plan.tasks.get(title="Kick-off call")

    account_services.task_complete(task=plan_task.task, actor=alice, outcome="Held")

    plan_task.refresh_from_db()
    assert plan_task.completed_at is not None
    assert plan_task.completed_by == alice


def test_ticking_a_plan_task_completes_its_csm_task_and_logs_it_once(alice, template):
    account = AccountFactory(owner=alice)
    plan = plan_start(account=account, template=template, actor=alice)
    plan_task = plan.tasks.get(title="Kick-off call")

    plan_task_set_done(plan_task=plan_task, done=True, actor=alice)
    plan_task_set_done(plan_task=plan_task, done=True, actor=alice)

    assert Task.objects.get(pk=plan_task.task_id).status == TaskStatus.DONE
    logged = Activity.objects.filter(account=account, subject="Task completed: Kick-off call")
    assert logged.count() == 1


def test_reopening_our_task_puts_a_new_csm_task_in_the_book(alice, template):
    account = AccountFactory(owner=alice)
    plan = plan_start(account=account, template=template, actor=alice)
    plan_task = plan.tasks.get(title="Kick-off call")
    plan_task_set_done(plan_task=plan_task, done=True, actor=alice)
    old_task_id = PlanTask.objects.get(pk=plan_task.pk).task_id

    plan_task = plan_task_set_done(plan_task=plan_task, done=False, actor=alice)

    assert plan_task.completed_at is None
    assert plan_task.task_id != old_task_id
    assert plan_task.task.status == TaskStatus.OPEN
    assert Activity.objects.filter(subject="Onboarding task reopened: Kick-off call").exists()


def test_a_milestone_is_reached_when_its_tasks_are_done_and_the_next_step_starts(alice, template):
    account = AccountFactory(owner=alice)
    plan = plan_start(account=account, template=template, actor=alice)
    for title in ("Kick-off call", "Invite your admins"):
        plan_task_set_done(plan_task=plan.tasks.get(title=title), done=True, actor=alice)

    kickoff, golive = plan.milestones.all()
    today = timezone.localdate()
    assert kickoff.completed_on == today
    assert golive.started_on == today and golive.completed_on is None
    assert Activity.objects.filter(
        account=account, subject="Onboarding milestone reached: Kick-off"
    ).exists()


def test_completion_stamps_dates_moves_the_stage_and_records_the_first_qbr(
    alice, template, django_capture_on_commit_callbacks
):
    account = AccountFactory(owner=alice, lifecycle_stage=LifecycleStage.ONBOARDING)
    started = timezone.localdate() - dt.timedelta(days=12)
    plan = plan_start(account=account, template=template, actor=alice, started_on=started)
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    signals.onboarding_completed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for t in plan.tasks.all():
                plan_task_set_done(plan_task=t, done=True, actor=alice)
    finally:
        signals.onboarding_completed.disconnect(receiver)

    plan.refresh_from_db()
    account.refresh_from_db()
    today = timezone.localdate()
    assert plan.status == PlanStatus.COMPLETED
    assert plan.completed_on == today
    assert plan.onboarding_days == 12
    # No value criteria: the value point is the completion.
    assert plan.value_on == today and plan.time_to_value_days == 12
    assert plan.first_qbr_due_on == today + dt.timedelta(days=30)
    assert account.lifecycle_stage == LifecycleStage.ADOPTION
    qbr = Task.objects.get(account=account, dedupe_key="qbr:first")
    assert (qbr.title, qbr.due_date, qbr.assignee) == (
        "Hold the first QBR",
        plan.first_qbr_due_on,
        alice,
    )
    subjects = set(Activity.objects.filter(account=account).values_list("subject", flat=True))
    assert "Onboarding completed in 12 days" in subjects
    assert f"First QBR due by {plan.first_qbr_due_on.isoformat()}" in subjects
    assert received == [
        {
            "signal": signals.onboarding_completed,
            "plan_id": plan.pk,
            "account_id": account.pk,
            "completed_on": today,
            "time_to_value_days": 12,
            "first_qbr_due_on": plan.first_qbr_due_on,
        }
    ]


def test_completion_leaves_a_later_lifecycle_stage_alone(alice, template):
    account = AccountFactory(owner=alice, lifecycle_stage=LifecycleStage.RENEWAL)
    plan = plan_start(account=account, template=template, actor=alice)
    for t in plan.tasks.all():
        plan_task_set_done(plan_task=t, done=True, actor=alice)

    account.refresh_from_db()
    assert account.lifecycle_stage == LifecycleStage.RENEWAL


def test_a_second_plan_in_progress_is_refused_and_nothing_is_written(alice, template):
    account = AccountFactory(owner=alice)
    plan_start(account=account, template=template, actor=alice)
    tasks_before = Task.objects.count()

    with pytest.raises(ValidationError, match="already has an onboarding plan"):
        plan_start(account=account, template=template, actor=alice)

    assert OnboardingPlan.objects.filter(account=account).count() == 1
    assert Task.objects.count() == tasks_before


@pytest.mark.parametrize(
    ("days", "message"),
    [(-400, "at most a year in the past"), (120, "at most 90 days from today")],
)
def test_start_dates_far_away_are_refused(template, days, message):
    account = AccountFactory()
    with pytest.raises(ValidationError, match=message):
        plan_start(
            account=account,
            template=template,
            started_on=timezone.localdate() + dt.timedelta(days=days),
        )
    assert not OnboardingPlan.objects.exists()


def test_an_archived_template_starts_no_plan(template):
    template.is_active = False
    template.save()
    with pytest.raises(ValidationError, match="archived"):
        plan_start(account=AccountFactory(), template=template)
    assert not OnboardingPlan.objects.exists()


def test_cancelling_takes_the_open_csm_tasks_out_of_the_book(alice, template):
    account = AccountFactory(owner=alice, touch_model=TouchModel.LOW)
    plan = plan_start(account=account, template=template, actor=alice)

    plan_cancel(plan=plan, actor=alice, reason=CancelReason.NOT_NEEDED, note="Self-serve")

    plan.refresh_from_db()
    assert plan.status == PlanStatus.CANCELLED and plan.cancelled_on == timezone.localdate()
    assert not Task.objects.filter(account=account, status=TaskStatus.OPEN).exists()
    with pytest.raises(ValidationError):
        plan_task_set_done(plan_task=plan.tasks.first(), done=True, actor=alice)
