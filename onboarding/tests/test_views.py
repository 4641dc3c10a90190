"""The onboarding pages read like the role matrix of SPEC §0: who may see and change what."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import LifecycleStage, TaskStatus
from accounts.models import Account, Task
from accounts.tests.factories import AccountFactory, ContactFactory
from metrics.models import Feature
from onboarding.choices import CriterionKind, PlanStatus, TaskSide
from onboarding.models import (
    OnboardingPlan,
    OnboardingTemplate,
    PlanMilestone,
    PlanShareLink,
    PlanTask,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)
from onboarding.services.plans import plan_start
from onboarding.services.sharing import share_link_create
from onboarding.tests.factories import CriterionFactory, MilestoneFactory, standard_template

TODAY = timezone.localdate


@dataclass
class World:
    template: OnboardingTemplate
    account: Account
    spare: Account
    plan: OnboardingPlan
    checkpoint: PlanMilestone
    link: PlanShareLink


@pytest.fixture
def world(alice, bob, lead, vic, admin_user) -> World:
    """Alice's account with a plan in progress (shared once), and a second one without."""
    feature = Feature.objects.create(key="reports", name="Reports")
    template = standard_template(name="Low-touch onboarding")
    MilestoneFactory(template=template, name="Sign-off call", position=5, due_day=35)
    CriterionFactory(template=template, kind=CriterionKind.FEATURE_USERS, feature=feature)
    account = AccountFactory(name="Acme Rockets", owner=alice)
    ContactFactory(account=account, first_name="Carla", email="carla@acme.example")
    plan = plan_start(account=account, template=template, actor=alice)
    link, _token = share_link_create(plan=plan, actor=alice)
    return World(
        template=template,
        account=account,
        spare=AccountFactory(name="Acme Labs", owner=alice),
        plan=plan,
        checkpoint=plan.milestones.get(name="Sign-off call"),
        link=link,
    )


def _persona(request: pytest.FixtureRequest, name: str) -> Any:
    return request.getfixturevalue(name)


PERSONAS = ["alice", "bob", "lead", "vic", "admin_user"]

READ_PAGES = {
    "plans": lambda w: reverse("onboarding:plans"),
    "plans_all": lambda w: reverse("onboarding:plans") + "?status=&ordering=-progress",
    "plans_csv": lambda w: reverse("onboarding:plans") + "?format=csv",
    "plan": lambda w: reverse("onboarding:plan_detail", args=[w.plan.pk]),
    "templates": lambda w: reverse("onboarding:templates"),
    "template": lambda w: reverse("onboarding:template_detail", args=[w.template.pk]),
    "reports": lambda w: reverse("onboarding:reports"),
    "reports_csv": lambda w: reverse("onboarding:reports") + "?format=csv",
    "account_360": lambda w: reverse("accounts:detail", args=[w.account.pk]),
}


@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_logged_in_reads_every_page(request, client_for, world, page, persona):
    response = client_for(_persona(request, persona)).get(READ_PAGES[page](world))
    assert response.status_code == 200
    if not response.streaming:
        assert b"Acme Rockets" in response.content or page.startswith(("template", "report"))


@pytest.mark.parametrize("page", ["plans", "plan", "templates", "reports"])
def test_anonymous_is_sent_to_the_login_page(client, world, page):
    response = client.get(READ_PAGES[page](world))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_editors_see_the_buttons_that_change_a_plan(client_for, world, alice, bob, vic):
    url = reverse("onboarding:plan_detail", args=[world.plan.pk])
    toggle = reverse("onboarding:plan_task_toggle", args=[world.plan.tasks.first().pk])
    assert toggle.encode() in client_for(alice).get(url).content
    for user in (bob, vic):
        body = client_for(user).get(url).content
        assert toggle.encode() not in body
        assert b"Share with the customer" not in body


def test_the_360_panel_shows_the_plan_and_offers_a_start_to_editors_only(
    client_for, world, alice, vic
):
    panel = client_for(alice).get(reverse("accounts:detail", args=[world.account.pk]))
    assert b'data-testid="onboarding-panel"' in panel.content
    assert b"Kick-off" in panel.content
    start = reverse("onboarding:plan_start", args=[world.spare.pk]).encode()
    assert start in client_for(alice).get(world.spare.get_absolute_url()).content
    assert start not in client_for(vic).get(world.spare.get_absolute_url()).content


def test_navigation_offers_new_templates_to_the_lead_only(client_for, world, lead, alice):
    create = reverse("onboarding:template_create").encode()
    assert create in client_for(lead).get("/").content
    assert create not in client_for(alice).get("/").content
    assert reverse("onboarding:plans").encode() in client_for(alice).get("/").content


# Plan writes -------------------------------------------------------------------------------


@dataclass
class WriteCase:
    url: Any
    data: Any
    changed: Any  # world -> bool: did the write reach the database?
    get: bool = True  # the page also answers GET (a form)


def _task(w: World, title: str) -> PlanTask:
    return w.plan.tasks.get(title=title)


PLAN_WRITES: dict[str, WriteCase] = {
    "start": WriteCase(
        lambda w: reverse("onboarding:plan_start", args=[w.spare.pk]),
        lambda w: {"template": w.template.pk, "started_on": TODAY().isoformat()},
        lambda w: OnboardingPlan.objects.filter(account=w.spare).exists(),
    ),
    "toggle": WriteCase(
        lambda w: reverse("onboarding:plan_task_toggle", args=[_task(w, "Kick-off call").pk]),
        lambda w: {"done": "1"},
        lambda w: _task(w, "Kick-off call").completed_at is not None,
        get=False,
    ),
    "task_create": WriteCase(
        lambda w: reverse("onboarding:plan_task_create", args=[w.plan.pk]),
        lambda w: {
            "milestone": w.checkpoint.pk,
            "title": "Security review",
            "side": TaskSide.CUSTOMER,
            "due_on": TODAY().isoformat(),
        },
        lambda w: w.plan.tasks.filter(title="Security review").exists(),
    ),
    "task_edit": WriteCase(
        lambda w: reverse("onboarding:plan_task_edit", args=[_task(w, "Train the team").pk]),
        lambda w: {
            "milestone": _task(w, "Train the team").milestone_id,
            "title": "Train the team",
            "side": TaskSide.US,
            "due_on": (TODAY() + dt.timedelta(days=40)).isoformat(),
        },
        lambda w: _task(w, "Train the team").due_on == TODAY() + dt.timedelta(days=40),
    ),
    "milestone_complete": WriteCase(
        lambda w: reverse("onboarding:milestone_complete", args=[w.checkpoint.pk]),
        lambda w: {},
        lambda w: PlanMilestone.objects.get(pk=w.checkpoint.pk).completed_on is not None,
        get=False,
    ),
    "complete": WriteCase(
        lambda w: reverse("onboarding:plan_complete", args=[w.plan.pk]),
        lambda w: {},
        lambda w: OnboardingPlan.objects.get(pk=w.plan.pk).status == PlanStatus.COMPLETED,
    ),
    "cancel": WriteCase(
        lambda w: reverse("onboarding:plan_cancel", args=[w.plan.pk]),
        lambda w: {"reason": "not_needed"},
        lambda w: OnboardingPlan.objects.get(pk=w.plan.pk).status == PlanStatus.CANCELLED,
    ),
    "share": WriteCase(
        lambda w: reverse("onboarding:share_link_create", args=[w.plan.pk]),
        lambda w: {"days": "14"},
        lambda w: w.plan.share_links.count() == 2,
    ),
    "revoke": WriteCase(
        lambda w: reverse("onboarding:share_link_revoke", args=[w.link.pk]),
        lambda w: {},
        lambda w: PlanShareLink.objects.get(pk=w.link.pk).revoked_at is not None,
        get=False,
    ),
}

MATRIX = [("alice", True), ("bob", False), ("lead", True), ("vic", False), ("admin_user", True)]


@pytest.mark.parametrize("case", PLAN_WRITES)
@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_plan_write_matrix(request, client_for, world, case, persona, allowed):
    write = PLAN_WRITES[case]
    c = client_for(_persona(request, persona))
    url = write.url(world)
    if write.get:
        assert c.get(url).status_code == (200 if allowed else 403)
    response = c.post(url, write.data(world))
    if allowed:
        assert response.status_code in (200, 302), response.content[:500]
        assert write.changed(world)
    else:
        assert response.status_code == 403
        assert not write.changed(world)


# Template writes (CS Leads) -----------------------------------------------------------------


def _milestone(w: World) -> TemplateMilestone:
    return w.template.milestones.get(name="Kick-off")


TEMPLATE_WRITES: dict[str, WriteCase] = {
    "create": WriteCase(
        lambda w: reverse("onboarding:template_create"),
        lambda w: {
            "name": "Enterprise onboarding",
            "priority": "10",
            "activation_match": "all",
            "behind_after_days": "3",
            "stuck_after_days": "14",
            "first_qbr_after_days": "30",
            "next_stage": LifecycleStage.ADOPTION,
        },
        lambda w: OnboardingTemplate.objects.filter(name="Enterprise onboarding").exists(),
    ),
    "edit": WriteCase(
        lambda w: reverse("onboarding:template_edit", args=[w.template.pk]),
        lambda w: {
            "name": "Low-touch onboarding",
            "priority": "5",
            "is_active": "on",
            "activation_match": "any",
            "behind_after_days": "3",
            "stuck_after_days": "14",
            "first_qbr_after_days": "30",
            "next_stage": LifecycleStage.ADOPTION,
        },
        lambda w: OnboardingTemplate.objects.get(pk=w.template.pk).priority == 5,
    ),
    "duplicate": WriteCase(
        lambda w: reverse("onboarding:template_duplicate", args=[w.template.pk]),
        lambda w: {"name": "Low-touch v2"},
        lambda w: OnboardingTemplate.objects.filter(name="Low-touch v2").exists(),
    ),
    "milestone_create": WriteCase(
        lambda w: reverse("onboarding:template_milestone_create", args=[w.template.pk]),
        lambda w: {"name": "Adoption check", "due_day": "60"},
        lambda w: w.template.milestones.filter(name="Adoption check").exists(),
    ),
    "milestone_edit": WriteCase(
        lambda w: reverse("onboarding:template_milestone_edit", args=[_milestone(w).pk]),
        lambda w: {"name": "Kick-off", "due_day": "9", "position": "0"},
        lambda w: _milestone(w).due_day == 9,
    ),
    "task_create": WriteCase(
        lambda w: reverse("onboarding:template_task_create", args=[w.template.pk]),
        lambda w: {
            "milestone": _milestone(w).pk,
            "title": "Send the welcome pack",
            "side": TaskSide.US,
            "due_day": "1",
        },
        lambda w: TemplateTask.objects.filter(title="Send the welcome pack").exists(),
    ),
    "task_edit": WriteCase(
        lambda w: reverse(
            "onboarding:template_task_edit",
            args=[TemplateTask.objects.get(title="Kick-off call").pk],
        ),
        lambda w: {
            "milestone": _milestone(w).pk,
            "title": "Kick-off call",
            "side": TaskSide.US,
            "due_day": "3",
        },
        lambda w: TemplateTask.objects.get(title="Kick-off call").due_day == 3,
    ),
    "criterion_create": WriteCase(
        lambda w: reverse("onboarding:template_criterion_create", args=[w.template.pk]),
        lambda w: {"role": "value", "kind": CriterionKind.ACTIVE_DAYS, "threshold": "5"},
        lambda w: w.template.criteria.filter(kind=CriterionKind.ACTIVE_DAYS).exists(),
    ),
    "delete_task": WriteCase(
        lambda w: reverse(
            "onboarding:template_part_delete",
            args=["task", TemplateTask.objects.get(title="Train the team").pk],
        ),
        lambda w: {},
        lambda w: not TemplateTask.objects.filter(title="Train the team").exists(),
    ),
}

TEMPLATE_MATRIX = [
    ("alice", False),
    ("bob", False),
    ("lead", True),
    ("vic", False),
    ("admin_user", True),
]


@pytest.mark.parametrize("case", TEMPLATE_WRITES)
@pytest.mark.parametrize(("persona", "allowed"), TEMPLATE_MATRIX)
def test_template_write_matrix(request, client_for, world, case, persona, allowed):
    write = TEMPLATE_WRITES[case]
    c = client_for(_persona(request, persona))
    url = write.url(world)
    assert c.get(url).status_code == (200 if allowed else 403)
    response = c.post(url, write.data(world))
    if allowed:
        assert response.status_code == 302, response.content[:800]
        assert write.changed(world)
    else:
        assert response.status_code == 403
        assert not write.changed(world)


def test_editing_a_template_leaves_running_plans_alone(client_for, world, lead):
    plan_task = world.plan.tasks.get(title="Kick-off call")
    client_for(lead).post(
        reverse(
            "onboarding:template_task_edit",
            args=[TemplateTask.objects.get(title="Kick-off call").pk],
        ),
        {"milestone": _milestone(world).pk, "title": "Kick-off call", "side": "us", "due_day": 9},
    )
    assert PlanTask.objects.get(pk=plan_task.pk).due_on == plan_task.due_on


# Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("milestone_without_name", {"name": "", "due_day": "5"}),
        ("due_day_too_far", {"name": "Later", "due_day": "9999"}),
    ],
)
def test_bad_template_input_is_a_400_and_changes_nothing(client_for, world, lead, name, data):
    before = TemplateMilestone.objects.count()
    response = client_for(lead).post(
        reverse("onboarding:template_milestone_create", args=[world.template.pk]), data
    )
    assert response.status_code == 400
    assert TemplateMilestone.objects.count() == before


def test_a_feature_criterion_needs_its_feature(client_for, world, lead):
    before = TemplateCriterion.objects.count()
    response = client_for(lead).post(
        reverse("onboarding:template_criterion_create", args=[world.template.pk]),
        {"role": "activation", "kind": CriterionKind.FEATURE_EVENTS, "threshold": "3"},
    )
    assert response.status_code == 400
    assert "Choose the feature" in response.content.decode()
    assert TemplateCriterion.objects.count() == before


def test_starting_a_second_plan_is_a_400_with_the_reason(client_for, world, alice):
    response = client_for(alice).post(
        reverse("onboarding:plan_start", args=[world.account.pk]),
        {"template": world.template.pk, "started_on": TODAY().isoformat()},
    )
    assert response.status_code == 400
    assert "already has an onboarding plan" in response.content.decode()
    assert OnboardingPlan.objects.filter(account=world.account).count() == 1


def test_a_share_link_longer_than_allowed_is_refused(client_for, world, alice, settings):
    response = client_for(alice).post(
        reverse("onboarding:share_link_create", args=[world.plan.pk]), {"days": "999"}
    )
    assert response.status_code == 400
    assert world.plan.share_links.count() == 1


def test_emailing_a_link_needs_a_contact_with_an_email(client_for, world, alice):
    response = client_for(alice).post(
        reverse("onboarding:share_link_create", args=[world.plan.pk]),
        {"days": "14", "send_email": "on"},
    )
    assert response.status_code == 400
    assert "contact with an email" in response.content.decode()
    assert world.plan.share_links.count() == 1


@pytest.mark.parametrize(
    "query",
    ["status=bogus", "health=nope&ordering=evil", "started_after=yesterday", "page=999"],
)
def test_bad_query_parameters_never_break_the_plan_list(client_for, world, vic, query):
    response = client_for(vic).get(reverse("onboarding:plans") + "?" + query)
    assert response.status_code == 200


@pytest.mark.parametrize("query", ["months=7", "segment=tier:galactic", "template=abc"])
def test_bad_report_filters_fall_back_to_the_defaults(client_for, world, vic, query):
    response = client_for(vic).get(reverse("onboarding:reports") + "?" + query)
    assert response.status_code == 200
    assert b"defaults are shown" in response.content


# Page behaviour ---------------------------------------------------------------------------


def test_share_link_is_shown_once_and_only_its_hash_is_kept(client_for, world, alice):
    response = client_for(alice).post(
        reverse("onboarding:share_link_create", args=[world.plan.pk]),
        {"days": "14", "contact": world.account.contacts.get().pk, "send_email": "on"},
    )
    assert response.status_code == 200
    url = response.context["url"]
    token = url.rstrip("/").rsplit("/", 1)[-1]
    link = response.context["link"]
    assert token not in link.token_hash and len(link.token_hash) == 64
    assert link.expires_at.date() == TODAY() + dt.timedelta(days=14)
    page = client_for(alice).get(reverse("onboarding:plan_detail", args=[world.plan.pk]))
    assert token.encode() not in page.content
    from csplatform.models import OutboundEmail

    email = OutboundEmail.objects.get(idempotency_key=f"onboarding-share:{link.pk}")
    assert email.to == ["carla@acme.example"] and token in email.body_text


def test_ticking_from_the_plan_page_with_htmx_redirects_to_the_plan(client_for, world, alice):
    task = world.plan.tasks.get(title="Kick-off call")
    response = client_for(alice).post(
        reverse("onboarding:plan_task_toggle", args=[task.pk]),
        {"done": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 302
    assert response["Location"].startswith(world.plan.get_absolute_url())
    assert Task.objects.get(pk=task.task_id).status == TaskStatus.DONE


def test_plan_list_filters_and_defaults_to_plans_in_progress(client_for, world, vic, bob):
    other = plan_start(account=AccountFactory(name="Bobco", owner=bob), template=world.template)
    plan_start(account=world.spare, template=world.template)
    from onboarding.services.plans import plan_cancel

    plan_cancel(plan=other, reason="other")
    c = client_for(vic)

    def names(query=""):
        response = c.get(reverse("onboarding:plans") + query)
        return sorted(p.account.name for p in response.context["page"])

    assert names() == ["Acme Labs", "Acme Rockets"]
    assert names("?status=") == ["Acme Labs", "Acme Rockets", "Bobco"]
    assert names(f"?status=&owner={bob.pk}") == ["Bobco"]
    assert names("?q=labs") == ["Acme Labs"]
    # The filter form carries the sort order on as the list page reads it.
    html = c.get(reverse("onboarding:plans") + "?ordering=-progress").content.decode()
    assert 'name="ordering" value="-progress"' in html


def test_plan_csv_has_every_filtered_plan_with_its_figures(client_for, world, vic):
    response = client_for(vic).get(reverse("onboarding:plans") + "?format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["id", "account", "owner"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["account"] == "Acme Rockets"
    assert row["tasks"] == "4" and row["tasks done"] == "0" and row["current step"] == "Kick-off"


def test_the_pages_speak_russian(client_for, world, vic):
    c = client_for(vic)
    plans = c.get(reverse("onboarding:plans"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    plan = c.get(world.plan.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Планы онбординга" in plans
    assert "Текущий этап" in plan and "Активация и ценность" in plan
