"""A CSM closes a renewal as contracted in a real browser: the account's MRR, its timeline
and the pipeline totals change accordingly."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from renewals.models import Renewal
from renewals.tests.factories import annual_line, renewal_of

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")


def test_a_csm_closes_a_renewal_as_contracted_and_the_figures_follow(
    live_server, browser_context, alice
):
    today = timezone.localdate()
    account = AccountFactory(name="Acme Rockets", owner=alice)
    renewal = renewal_of(annual_line(account, renews_on=today))  # 10 licenses, 12,000 ARR
    annual_line(AccountFactory(name="Beta Works", owner=alice), quantity=5, renews_on=today)
    expect = sync_api.expect
    month = today.strftime("%Y-%m")

    page = browser_context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="My book")).to_be_visible()

    # This month's pipeline: 18,000 up for renewal, nothing renewed or lost yet.
    page.goto(f"{live_server.url}/renewals/pipeline/")
    row = page.locator(f"[data-testid=pipeline-USD] tr[data-period='{month}']")
    expect(row).to_contain_text("18,000.00")
    expect(page.get_by_test_id("total-won")).to_have_text("0.00")

    # From the account's 360 page, the CSM closes the renewal as contracted.
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    expect(page.get_by_test_id("account-header")).to_contain_text("1,000.00 USD")
    page.get_by_test_id(f"panel-close-{renewal.pk}").click()
    page.check("input[name=outcome][value=contracted]")
    page.fill("input[name=quantity]", "8")
    page.select_option("select[name=reason]", "budget")
    page.fill("textarea[name=reason_note]", "Two teams moved to another tool")
    page.click("input[type=submit][value='Close the renewal']")
    expect(page.get_by_test_id("outcome")).to_have_text("Contracted")
    expect(page.get_by_test_id("arr-after")).to_have_text("9,600.00 USD")

    # The account's MRR and timeline follow ...
    page.goto(f"{live_server.url}{account.get_absolute_url()}")
    expect(page.get_by_test_id("account-header")).to_contain_text("800.00 USD")
    expect(page.locator("#timeline")).to_contain_text(
        "Renewal closed: Contracted (12,000.00 USD → 9,600.00 USD ARR)"
    )
    expect(page.locator("#timeline")).to_contain_text("Reason: Budget cuts")
    expect(page.get_by_test_id("renewal-panel")).to_contain_text("Contracted")

    # ... and so do the pipeline totals: 9,600 renewed, 2,400 lost.
    page.goto(f"{live_server.url}/renewals/pipeline/")
    expect(page.get_by_test_id("total-won")).to_have_text("9,600.00")
    expect(page.get_by_test_id("total-lost")).to_contain_text("2,400.00")
    row = page.locator(f"[data-testid=pipeline-USD] tr[data-period='{month}']")
    expect(row).to_contain_text("9,600.00")
    expect(row).to_contain_text("2,400.00")

    renewal.refresh_from_db()
    assert renewal.outcome == "contracted" and renewal.closed_by == alice
    assert Renewal.objects.filter(account=account, outcome="").count() == 1  # the next term
