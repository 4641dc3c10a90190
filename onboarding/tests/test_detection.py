"""Activation and value from the usage rollups, and health from lateness and inactivity."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import AccountFactory
from metrics.models import Feature, FeatureEvent
from metrics.services import ingestion
from metrics.tracking import batch_parse
from onboarding import signals
from onboarding.choices import ActivationMatch, CriterionKind, CriterionRole, PlanHealth
from onboarding.models import OnboardingPlan, PlanCriterion
from onboarding.services.detection import plans_detect, plans_health_refresh
from onboarding.services.plans import plan_start, plan_task_set_done
from onboarding.tests.factories import CriterionFactory, standard_template

TODAY = timezone.localdate


def _ingest(account, events):
    """Send (user, event name, day) through the tracking path that writes the rollups."""
    batch = []
    for n, (user, name, day) in enumerate(events):
        stamp = f"{day.isoformat()}T10:00:00Z"
        batch.append(
            {
                "type": "group",
                "userId": user,
                "groupId": account.external_id,
                "timestamp": stamp,
                "messageId": f"g-{user}-{n}",
            }
        )
        batch.append(
            {
                "type": "track",
                "userId": user,
                "event": name,
                "timestamp": stamp,
                "messageId": f"t-{user}-{n}",
            }
        )
    messages, errors, _ = batch_parse(batch, received_at=timezone.now(), max_bytes=32 * 1024)
    assert not errors
    ingestion.events_ingest(messages=messages, received_at=timezone.now())


@pytest.fixture
def reports(db):
    feature = Feature.objects.create(key="reports", name="Reports", is_core=True)
    FeatureEvent.objects.create(event_name="report_viewed", feature=feature)
    return feature


@pytest.fixture
def plan(alice, reports):
    """Started 10 days ago; activated by 2 users of Reports and 2 active days; value at 5
    Reports events."""
    template = standard_template(name="Self-serve")
    CriterionFactory(
        template=template, kind=CriterionKind.FEATURE_USERS, feature=reports, threshold=2
    )
    CriterionFactory(template=template, kind=CriterionKind.ACTIVE_DAYS, threshold=2)
    CriterionFactory(
        template=template,
        role=CriterionRole.VALUE,
        kind=CriterionKind.FEATURE_EVENTS,
        feature=reports,
        threshold=5,
    )
    account = AccountFactory(owner=alice, external_id="ACME-1")
    return plan_start(
        account=account, template=template, started_on=TODAY() - dt.timedelta(days=10)
    )


def _day(n):
    return TODAY() - dt.timedelta(days=10 - n)


def test_activation_is_dated_the_day_the_last_criterion_was_met(
    plan, django_capture_on_commit_callbacks
):
    account = plan.account
    _ingest(
        account,
        [
            ("u1", "report_viewed", _day(-3)),  # before the plan started: not counted
            ("u1", "report_viewed", _day(1)),
            ("u1", "signed_in", _day(2)),
            ("u2", "report_viewed", _day(4)),
            ("u2", "report_viewed", _day(4)),
        ],
    )
    activated = []
    signals.plan_activated.connect(
        lambda sender, **kw: activated.append(kw), weak=False, dispatch_uid="test-activated"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            found = plans_detect()
    finally:
        signals.plan_activated.disconnect(dispatch_uid="test-activated")

    plan.refresh_from_db()
    # Users of Reports: u1 from day 1, u2 from day 4 → met on day 4. Active days: 1, 2, 4
    # → the second on day 2. Activation needs both: day 4.
    assert plan.activated_on == _day(4)
    criteria = {c.kind: c for c in PlanCriterion.objects.filter(plan=plan)}
    assert (criteria["feature_users"].current, criteria["feature_users"].met_on) == (2, _day(4))
    assert (criteria["active_days"].current, criteria["active_days"].met_on) == (3, _day(2))
    # Reports events since the start: 3 of the 5 the value point needs.
    assert (criteria["feature_events"].current, criteria["feature_events"].met_on) == (3, None)
    assert plan.value_on is None
    assert [row[0] for row in found.activated] == [plan.pk]
    assert activated == [
        {"signal": signals.plan_activated, "plan_ids": [plan.pk], "account_ids": [plan.account_id]}
    ]
    assert Activity.objects.filter(
        account=account, subject=f"Account activated on {_day(4).isoformat()}, day 4 of onboarding"
    ).exists()


def test_value_is_dated_the_day_the_running_count_crossed_the_threshold(plan):
    _ingest(
        plan.account,
        [("u1", "report_viewed", _day(1))] * 1
        + [
            ("u1", "report_viewed", _day(3)),
            ("u2", "report_viewed", _day(3)),
            ("u2", "report_viewed", _day(6)),
            ("u1", "report_viewed", _day(6)),
            ("u1", "report_viewed", _day(8)),
        ],
    )

    plans_detect()

    plan.refresh_from_db()
    # Running count of Reports events: day 1 → 1, day 3 → 3, day 6 → 5: value on day 6.
    assert plan.value_on == _day(6)
    assert plan.time_to_value_days == 6


def test_a_second_run_changes_nothing_and_logs_nothing_twice(plan):
    _ingest(plan.account, [("u1", "report_viewed", _day(1)), ("u2", "report_viewed", _day(2))])
    plans_detect()
    logged = Activity.objects.filter(subject__startswith="Account activated").count()

    found = plans_detect()

    assert found.activated == [] and found.valued == []
    assert Activity.objects.filter(subject__startswith="Account activated").count() == logged == 1


def test_any_criterion_activates_on_the_first_one_met(plan):
    OnboardingPlan.objects.filter(pk=plan.pk).update(activation_match=ActivationMatch.ANY)
    _ingest(plan.account, [("u1", "signed_in", _day(2)), ("u1", "signed_in", _day(5))])

    plans_detect()

    plan.refresh_from_db()
    assert plan.activated_on == _day(5)


def test_a_milestone_criterion_is_met_when_the_milestone_is_reached(alice, reports):
    template = standard_template(name="Guided")
    kickoff = template.milestones.get(name="Kick-off")
    CriterionFactory(
        template=template,
        role=CriterionRole.VALUE,
        kind=CriterionKind.MILESTONE,
        milestone=kickoff,
        threshold=1,
    )
    plan = plan_start(
        account=AccountFactory(owner=alice),
        template=template,
        started_on=TODAY() - dt.timedelta(days=3),
    )

    for t in plan.tasks.filter(milestone__name="Kick-off"):
        plan_task_set_done(plan_task=t, done=True, actor=alice)

    plan.refresh_from_db()
    assert plan.value_on == TODAY() and plan.time_to_value_days == 3


def test_detection_runs_the_same_statements_for_one_plan_or_many(plan, alice):
    def statements():
        with CaptureQueriesContext(connection) as ctx:
            plans_detect()
        return len(ctx.captured_queries)

    one = statements()
    template = plan.template
    for _ in range(20):
        plan_start(account=AccountFactory(owner=alice), template=template)
    assert statements() == one


# Health --------------------------------------------------------------------------------


def test_health_moves_from_on_track_to_behind_to_stuck_and_back(
    alice, django_capture_on_commit_callbacks
):
    template = standard_template(
        name="Thresholds"
    )  # behind after 3 days late, stuck after 14 quiet
    start = TODAY() - dt.timedelta(days=20)
    plan = plan_start(account=AccountFactory(owner=alice), template=template, started_on=start)
    # Started 20 days ago with the kick-off call (day 2) still open: rated at once.
    assert plan.health == PlanHealth.STUCK

    def rate(day):
        plans_health_refresh(plan_ids=[plan.pk], today=start + dt.timedelta(days=day))
        plan.refresh_from_db()
        return plan.health

    changes = []
    signals.plan_health_changed.connect(
        lambda sender, **kw: changes.extend(kw["changes"]), weak=False, dispatch_uid="test-health"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            # The kick-off call was due on day 2.
            assert rate(2) == PlanHealth.ON_TRACK
            assert rate(5) == PlanHealth.ON_TRACK  # 3 days late: not more than 3
            assert rate(6) == PlanHealth.BEHIND  # 4 days late
            assert rate(13) == PlanHealth.BEHIND  # 13 days without progress
            assert rate(14) == PlanHealth.STUCK  # 14 days without progress
            # Today (day 20) the two overdue tasks are done; the next is due today.
            for title in ("Kick-off call", "Invite your admins"):
                plan_task_set_done(plan_task=plan.tasks.get(title=title), done=True, actor=alice)
            plan.refresh_from_db()
            assert plan.health == PlanHealth.ON_TRACK
    finally:
        signals.plan_health_changed.disconnect(dispatch_uid="test-health")

    assert [c[2] for c in changes] == ["on_track", "behind", "stuck", "behind", "on_track"]
    subjects = list(
        Activity.objects.filter(account=plan.account, metadata__has_key="health")
        .order_by("pk")
        .values_list("subject", flat=True)
    )
    assert subjects == [
        "Onboarding is stuck: overdue work and no progress",
        "Onboarding is back on track",
        "Onboarding is behind: tasks are overdue",
        "Onboarding is stuck: overdue work and no progress",
        "Onboarding is behind: tasks are overdue",
        "Onboarding is back on track",
    ]


def test_recent_progress_keeps_a_late_plan_behind_rather_than_stuck(alice):
    template = standard_template(name="Busy")
    start = TODAY() - dt.timedelta(days=30)
    plan = plan_start(account=AccountFactory(owner=alice), template=template, started_on=start)
    # The customer invited their admins today; the kick-off call (day 2) is still open.
    plan_task_set_done(plan_task=plan.tasks.get(title="Invite your admins"), done=True)

    plan.refresh_from_db()
    assert plan.health == PlanHealth.BEHIND
