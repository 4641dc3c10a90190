"""The emailed survey in a real browser: a CSM sends it, the customer clicks a score once
(the landing page submits itself), adds a comment, and a second click changes nothing."""

from __future__ import annotations

import re

import pytest

from accounts.choices import LifecycleStage
from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.models import OutboundEmail
from metrics.models import SurveyResponse

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")


def test_send_click_comment_and_click_again(live_server, browser_context, alice):
    expect = sync_api.expect
    account = AccountFactory(
        name="Acme Rockets", owner=alice, lifecycle_stage=LifecycleStage.ADOPTION
    )
    ContactFactory(account=account, first_name="Carla", email="carla@acme.example")

    csm = browser_context.new_page()
    csm.goto(f"{live_server.url}/login/")
    csm.fill("input[name=username]", "alice")
    csm.fill("input[name=password]", "correct horse battery staple")
    csm.click("button[type=submit]")
    csm.goto(f"{live_server.url}{account.get_absolute_url()}")
    csm.get_by_test_id("send-survey").click()
    csm.select_option("select[name=contact]", label="Carla " + account.contacts.get().last_name)
    csm.click("input[type=submit][value='Send survey'], button >> text=Send survey")
    expect(csm).to_have_url(re.compile(rf"/accounts/{account.pk}/$"))
    expect(csm.locator(".alert-success")).to_contain_text("carla@acme.example")

    email = OutboundEmail.objects.get(idempotency_key__startswith="survey:")
    path = re.search(r"/metrics/survey/[A-Za-z0-9_-]+/9/", email.body_text)[0]

    customer = browser_context.browser.new_context().new_page()
    customer.goto(f"{live_server.url}{path}")
    expect(customer.get_by_test_id("survey-recorded")).to_be_visible()
    customer.fill("textarea[name=comment]", "The onboarding calls were excellent.")
    customer.click("button[type=submit]")
    expect(customer.get_by_test_id("survey-thanks")).to_be_visible()

    customer.goto(f"{live_server.url}{path.replace('/9/', '/2/')}")
    expect(customer.get_by_test_id("survey-already-answered")).to_be_visible()

    response = SurveyResponse.objects.get()
    assert (response.score, response.lifecycle_stage) == (9, LifecycleStage.ADOPTION)
    assert response.comment == "The onboarding calls were excellent."
