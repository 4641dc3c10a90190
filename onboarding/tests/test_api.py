"""/api/v1/onboarding/: the role matrix, errors, and that writes go through the services."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.choices import TaskStatus
from accounts.models import Task
from accounts.tests.factories import AccountFactory
from csplatform.services import api_key_create
from onboarding.choices import PlanStatus, TaskSide
from onboarding.models import OnboardingPlan, OnboardingTemplate, PlanTask, TemplateCriterion
from onboarding.services.plans import plan_start
from onboarding.tests.factories import standard_template

PLANS = "/api/v1/onboarding/plans/"
TASKS = "/api/v1/onboarding/plan-tasks/"
TEMPLATES = "/api/v1/onboarding/templates/"


def api_client(user) -> APIClient:
    client = APIClient()
    _key, raw = api_key_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def setup(alice, bob, lead, vic):
    template = standard_template(name="Low-touch onboarding")
    account = AccountFactory(name="Acme Rockets", owner=alice)
    plan = plan_start(account=account, template=template, actor=alice)
    return {
        "template": template,
        "plan": plan,
        "spare": AccountFactory(name="Acme Labs", owner=alice),
        "users": {"alice": alice, "bob": bob, "lead": lead, "vic": vic},
    }


MATRIX = [("alice", True), ("bob", False), ("lead", True), ("vic", False)]


@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_starting_a_plan_follows_ownership(setup, persona, allowed):
    response = api_client(setup["users"][persona]).post(
        PLANS, {"account": setup["spare"].pk, "template": setup["template"].pk}
    )

    assert response.status_code == (201 if allowed else 403), response.content
    assert OnboardingPlan.objects.filter(account=setup["spare"]).exists() is allowed
    if allowed:
        body = response.json()
        assert body["account_name"] == "Acme Labs" and body["tasks_total"] == 4
        assert body["current_step"] == "Kick-off" and body["progress"] == 0


@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_ticking_a_task_follows_ownership(setup, persona, allowed):
    task = setup["plan"].tasks.get(title="Kick-off call")

    response = api_client(setup["users"][persona]).post(f"{TASKS}{task.pk}/complete/")

    assert response.status_code == (200 if allowed else 403)
    task.refresh_from_db()
    assert (task.completed_at is not None) is allowed
    assert Task.objects.get(pk=task.task_id).status == (
        TaskStatus.DONE if allowed else TaskStatus.OPEN
    )


@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_moving_a_due_date_follows_ownership_and_moves_the_csm_task(setup, persona, allowed):
    task = setup["plan"].tasks.get(title="Train the team")
    new = timezone.localdate() + timezone.timedelta(days=45)

    response = api_client(setup["users"][persona]).patch(
        f"{TASKS}{task.pk}/", {"due_on": new.isoformat()}
    )

    assert response.status_code == (200 if allowed else 403)
    task.refresh_from_db()
    assert (task.due_on == new) is allowed
    assert (Task.objects.get(pk=task.task_id).due_date == new) is allowed


@pytest.mark.parametrize(("persona", "allowed"), [*MATRIX[:3], ("vic", False)])
def test_cancelling_follows_ownership(setup, persona, allowed):
    response = api_client(setup["users"][persona]).post(
        f"{PLANS}{setup['plan'].pk}/cancel/", {"reason": "not_needed"}
    )
    assert response.status_code == (200 if allowed else 403)
    status = OnboardingPlan.objects.get(pk=setup["plan"].pk).status
    assert status == (PlanStatus.CANCELLED if allowed else PlanStatus.ACTIVE)


@pytest.mark.parametrize(
    ("persona", "allowed"), [("alice", False), ("bob", False), ("lead", True), ("vic", False)]
)
def test_only_the_lead_writes_templates(setup, persona, allowed):
    client = api_client(setup["users"][persona])

    created = client.post(TEMPLATES, {"name": "Enterprise", "tier": "enterprise"})
    changed = client.patch(f"{TEMPLATES}{setup['template'].pk}/", {"priority": 7})

    assert created.status_code == (201 if allowed else 403)
    assert changed.status_code == (200 if allowed else 403)
    assert OnboardingTemplate.objects.filter(name="Enterprise").exists() is allowed
    assert (OnboardingTemplate.objects.get(pk=setup["template"].pk).priority == 7) is allowed
    assert client.get(TEMPLATES).status_code == 200


def test_everyone_reads_plans_with_their_nested_steps(setup):
    client = api_client(setup["users"]["vic"])

    listed = client.get(PLANS).json()
    detail = client.get(f"{PLANS}{setup['plan'].pk}/").json()

    assert listed["count"] == 1 and listed["results"][0]["account_name"] == "Acme Rockets"
    assert [m["name"] for m in detail["milestones"]] == ["Kick-off", "Go-live"]
    assert [t["title"] for t in detail["milestones"][0]["tasks"]] == [
        "Kick-off call",
        "Invite your admins",
    ]


def test_a_plan_without_a_template_gets_the_best_match(setup):
    response = api_client(setup["users"]["alice"]).post(
        PLANS, {"account": setup["spare"].pk, "template": None}
    )
    assert response.status_code == 201
    assert response.json()["template"] == setup["template"].pk


def test_a_second_plan_is_a_400_and_nothing_is_written(setup):
    response = api_client(setup["users"]["alice"]).post(
        PLANS, {"account": setup["plan"].account_id, "template": setup["template"].pk}
    )
    assert response.status_code == 400
    assert "already has an onboarding plan" in str(response.json()["errors"])
    assert OnboardingPlan.objects.count() == 1


def test_a_feature_criterion_without_a_feature_is_a_400(setup):
    response = api_client(setup["users"]["lead"]).post(
        "/api/v1/onboarding/template-criteria/",
        {"template": setup["template"].pk, "role": "activation", "kind": "feature_events"},
    )
    assert response.status_code == 400
    assert "feature" in response.json()["errors"]
    assert not TemplateCriterion.objects.exists()


def test_a_task_cannot_be_added_to_another_plans_milestone(setup):
    other = plan_start(account=setup["spare"], template=setup["template"])
    response = api_client(setup["users"]["alice"]).post(
        TASKS,
        {
            "plan": setup["plan"].pk,
            "milestone": other.milestones.first().pk,
            "title": "Sneaky",
            "side": TaskSide.US,
            "due_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 400
    assert not PlanTask.objects.filter(title="Sneaky").exists()


def test_ticking_a_task_of_a_closed_plan_is_a_400(setup):
    client = api_client(setup["users"]["alice"])
    client.post(f"{PLANS}{setup['plan'].pk}/complete/")
    task = setup["plan"].tasks.get(title="Kick-off call")

    response = client.post(f"{TASKS}{task.pk}/complete/")

    assert response.status_code == 400
    assert PlanTask.objects.get(pk=task.pk).completed_at is None


def test_plans_cannot_be_deleted_through_the_api(setup):
    response = api_client(setup["users"]["lead"]).delete(f"{PLANS}{setup['plan'].pk}/")
    assert response.status_code == 405
    assert OnboardingPlan.objects.filter(pk=setup["plan"].pk).exists()
