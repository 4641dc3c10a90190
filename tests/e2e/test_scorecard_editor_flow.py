"""The scorecard editor in a real browser: a CS Lead changes a weight in place (htmx), sees
the sum and the refusal to publish, spreads the weights to 100 % and publishes."""

from __future__ import annotations

import pytest

from accounts.tests.factories import AccountFactory
from health.choices import VersionStatus
from health.services.scorecards import version_draft
from health.tests.factories import build_scorecard, linear

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")


def test_a_lead_edits_weights_in_place_spreads_them_and_publishes(
    live_server, browser_context, lead
):
    version = build_scorecard(
        [
            ("Usage", 60, [("stickiness", 100, linear(0, 100))]),
            ("Sentiment", 40, [("nps", 100, linear(-100, 100))]),
        ],
        name="Customer health",
    )
    scorecard = version.scorecard
    version_draft(scorecard=scorecard, actor=lead)
    AccountFactory(name="Acme Rockets")
    expect = sync_api.expect

    page = browser_context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "lead")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}{scorecard.get_absolute_url()}")
    expect(page.get_by_test_id("preview")).to_contain_text("of 1 account")

    # A weight changed in place: the sums and the problems follow without a page load.
    page.evaluate("window.__same_page = true")
    usage = page.locator("#weights-form input[name^=g]").first
    usage.fill("80")
    usage.dispatch_event("change")
    expect(page.get_by_test_id("groups-sum")).to_contain_text("120 %")
    expect(page.get_by_test_id("problems")).to_contain_text("add up to 120 %")
    expect(page.get_by_test_id("publish")).to_be_disabled()
    assert page.evaluate("window.__same_page") is True

    page.get_by_test_id("normalise").click()
    expect(page.get_by_test_id("groups-sum")).to_contain_text("100 %")
    expect(page.locator("#weights-form input[name^=g]").first).to_have_value("66.67")
    assert page.evaluate("window.__same_page") is True

    page.fill("input[name=note]", "More weight on usage")
    page.get_by_test_id("publish").click()
    expect(page.locator(".alert-success")).to_contain_text("published")
    expect(page.get_by_test_id("version-nav")).to_contain_text("Published")
    draft = scorecard.versions.get(number__gt=version.number)
    assert draft.status == VersionStatus.PUBLISHED
    assert draft.note == "More weight on usage"


def test_a_weight_change_says_so_in_place_and_an_invalid_one_is_not_sent(
    live_server, browser_context, lead
):
    version = build_scorecard([("Usage", 100, [("stickiness", 100, linear(0, 100))])])
    draft = version_draft(scorecard=version.scorecard, actor=lead)
    expect = sync_api.expect
    page = browser_context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "lead")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}{version.scorecard.get_absolute_url()}")
    weight = page.locator("#weights-form input[name^=m]").first
    weight.fill("250")  # above the input's maximum: the browser keeps it from being sent
    weight.dispatch_event("change")
    page.wait_for_timeout(500)
    assert draft.groups.get().measures.get().weight == 100
    weight.fill("90")
    weight.dispatch_event("change")
    expect(page.get_by_test_id("draft-editor")).to_contain_text("Weights saved.")
    expect(page.get_by_test_id("problems")).to_contain_text("add up to 90 %")
