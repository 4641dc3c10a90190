"""Every onboarding list page and API list costs the same queries for 5 rows as for 50."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account
from accounts.tests.test_view_queries import MAX_QUERIES_360, enrich_account
from csplatform.services import api_key_create
from onboarding.choices import TaskSide
from onboarding.models import OnboardingPlan, PlanTask, TemplateTask
from onboarding.services.plans import plan_drafts_build, plan_drafts_write
from onboarding.tests.factories import standard_template

# Generous ceilings; the real guarantee is "the same for 5 as for 50".
MAX_QUERIES = 15


@pytest.fixture
def template(db):
    return standard_template(name="Queries")


def add_plans(n: int, template, owner) -> list[OnboardingPlan]:
    start = Account.objects.count()
    accounts = Account.objects.bulk_create(
        Account(name=f"Bulk {start + i:05d}", owner=owner) for i in range(n)
    )
    starts = [(a, template, timezone.localdate()) for a in accounts]
    return plan_drafts_write(drafts=plan_drafts_build(starts=starts))


def add_tasks(plan: OnboardingPlan, n: int) -> None:
    milestone = plan.milestones.first()
    PlanTask.objects.bulk_create(
        PlanTask(
            plan=plan,
            milestone=milestone,
            title=f"Extra {i}",
            side=TaskSide.CUSTOMER,
            due_on=timezone.localdate(),
            position=100 + i,
        )
        for i in range(n)
    )


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def same_for_5_and_50(client, url, grow, django_assert_max_num_queries):
    grow(5)
    queries(client, url)  # warm the session and content-type caches
    small = queries(client, url)
    grow(45)
    with django_assert_max_num_queries(MAX_QUERIES):
        large = queries(client, url)
    assert small == large, f"{url}: {small} queries for 5, {large} for 50"


LIST_PAGES = [
    reverse("onboarding:plans"),
    reverse("onboarding:plans") + "?status=&ordering=-progress&health=on_track",
    reverse("onboarding:plans") + "?ordering=step_since&page=2",
    reverse("onboarding:plans") + "?format=csv",
    reverse("onboarding:templates"),
    reverse("onboarding:reports"),
    reverse("onboarding:reports") + "?format=csv&segment=tier:smb",
]


@pytest.mark.parametrize("url", LIST_PAGES)
def test_list_pages(client_for, alice, template, url, django_assert_max_num_queries):
    same_for_5_and_50(
        client_for(alice),
        url,
        lambda n: add_plans(n, template, alice),
        django_assert_max_num_queries,
    )


def test_plan_page(client_for, alice, template, django_assert_max_num_queries):
    (plan,) = add_plans(1, template, alice)
    same_for_5_and_50(
        client_for(alice),
        reverse("onboarding:plan_detail", args=[plan.pk]),
        lambda n: add_tasks(plan, n),
        django_assert_max_num_queries,
    )


def add_template_tasks(template, n: int) -> None:
    milestone = template.milestones.first()
    TemplateTask.objects.bulk_create(
        TemplateTask(milestone=milestone, title=f"T{i}", side=TaskSide.US, due_day=3)
        for i in range(n)
    )


def test_template_page(client_for, lead, template, django_assert_max_num_queries):
    same_for_5_and_50(
        client_for(lead),
        reverse("onboarding:template_detail", args=[template.pk]),
        lambda n: add_template_tasks(template, n),
        django_assert_max_num_queries,
    )


def test_account_360_page_with_a_plan(client_for, alice, template, django_assert_max_num_queries):
    """The onboarding panel adds at most two queries to the 360 page, for any plan size."""
    (plan,) = add_plans(1, template, alice)
    enrich_account(plan.account, 5, alice)
    url = reverse("accounts:detail", args=[plan.account_id])
    client = client_for(alice)
    queries(client, url)
    with_plan = queries(client, url)
    assert with_plan <= MAX_QUERIES_360
    add_tasks(plan, 50)
    assert queries(client, url) == with_plan
    OnboardingPlan.objects.all().delete()
    assert queries(client, url) == with_plan - 1


def api_client(user) -> APIClient:
    client = APIClient()
    _key, raw = api_key_create(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


API_LISTS = [
    "/api/v1/onboarding/plans/",
    "/api/v1/onboarding/plans/?status=active&ordering=-started_on",
    "/api/v1/onboarding/plan-tasks/?side=customer",
    "/api/v1/onboarding/templates/",
]


@pytest.mark.parametrize("url", API_LISTS)
def test_api_lists(alice, template, url, django_assert_max_num_queries):
    same_for_5_and_50(
        api_client(alice),
        url,
        lambda n: add_plans(n, template, alice),
        django_assert_max_num_queries,
    )


def test_api_plan_detail(alice, template, django_assert_max_num_queries):
    (plan,) = add_plans(1, template, alice)
    same_for_5_and_50(
        api_client(alice),
        f"/api/v1/onboarding/plans/{plan.pk}/",
        lambda n: add_tasks(plan, n),
        django_assert_max_num_queries,
    )


def test_api_templates_with_many_tasks(lead, template, django_assert_max_num_queries):
    same_for_5_and_50(
        api_client(lead),
        "/api/v1/onboarding/templates/",
        lambda n: add_template_tasks(template, n),
        django_assert_max_num_queries,
    )
