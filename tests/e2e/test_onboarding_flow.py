"""A mutual action plan in real browsers: a CSM starts and shares a plan, the customer ticks
their task through the link in another browser, and the CSM sees it on the timeline."""

from __future__ import annotations

import re

import pytest

from accounts.tests.factories import AccountFactory, ContactFactory
from onboarding.models import PlanTask
from onboarding.tests.factories import standard_template

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(autouse=True)
def _private_cache(settings):
    # Link throttling counts in the cache; keep this test's counts to itself.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def test_a_customer_ticks_a_task_through_the_shared_plan_and_the_csm_sees_it(
    live_server, chromium, browser_context, alice
):
    # Started by hand here, not automatically when the account is created.
    standard_template(name="Low-touch onboarding", auto_start=False)
    account = AccountFactory(name="Acme Rockets", owner=alice)
    ContactFactory(account=account, first_name="Carla", last_name="Diaz", email="carla@acme.test")
    expect = sync_api.expect

    page = browser_context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="My book")).to_be_visible()

    # The CSM starts the plan from the account's 360 page.
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    page.get_by_test_id("start-onboarding").click()
    expect(page.locator("select[name=template]")).to_have_value(re.compile(r"\d+"))
    page.click("input[type=submit][value='Start onboarding'], button:has-text('Start onboarding')")
    expect(page.get_by_test_id("plan-header")).to_contain_text("Acme Rockets")
    expect(page.get_by_test_id("current-step")).to_contain_text("Kick-off")

    # ... and shares it with Carla.
    page.get_by_test_id("share-plan").click()
    page.select_option("select[name=contact]", label="Carla Diaz")
    page.uncheck("input[name=send_email]")
    page.click("input[type=submit][value='Create link'], button:has-text('Create link')")
    url = page.get_by_test_id("share-url").input_value()
    assert url.startswith(f"{live_server.url}/onboarding/shared/")

    # The customer opens the link in a browser of their own, without logging in.
    customer = chromium.new_context(viewport={"width": 1280, "height": 900})
    shared = customer.new_page()
    shared.goto(url)
    expect(shared.get_by_role("heading", name="Onboarding plan for Acme Rockets")).to_be_visible()
    task = PlanTask.objects.get(plan__account=account, title="Invite your admins")
    ours = PlanTask.objects.get(plan__account=account, title="Kick-off call")
    expect(shared.get_by_test_id(f"toggle-{ours.pk}")).to_have_count(0)
    shared.get_by_test_id(f"toggle-{task.pk}").click()
    expect(shared.get_by_test_id(f"toggle-{task.pk}")).to_have_attribute("aria-pressed", "true")
    expect(shared.locator(f"#task-{task.pk}")).to_contain_text("Carla")

    # The CSM sees the tick on the account's timeline.
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    expect(page.locator("#timeline")).to_contain_text("Carla Diaz ticked off: Invite your admins")
    expect(page.get_by_test_id("onboarding-panel")).to_contain_text("25 %")
    task.refresh_from_db()
    assert task.completed_at is not None and task.completed_by_contact.first_name == "Carla"
    customer.close()
