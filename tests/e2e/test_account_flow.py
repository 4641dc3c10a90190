"""A CSM's day in a real browser: log in, open an account, add a task, find it in My book."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from accounts.tests.factories import AccountFactory, ContactFactory, SubscriptionFactory

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


def test_csm_adds_a_task_on_the_360_page_and_finds_it_in_my_book(live_server, page, alice, bob):
    account = AccountFactory(name="Acme Rockets", owner=alice)
    SubscriptionFactory(account=account)
    ContactFactory(account=account, first_name="Carla")
    AccountFactory(name="Bobs Bakery", owner=bob)
    expect = sync_api.expect

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="My book")).to_be_visible()

    page.click("nav >> text=Accounts")
    page.fill("input[name=q]", "Acme")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#account-table tbody tr")).to_have_count(1)
    page.click("#account-table >> text=Acme Rockets")
    expect(page).to_have_url(re.compile(rf"/accounts/{account.pk}/$"))
    expect(page.get_by_test_id("account-header")).to_contain_text("500.00 USD")

    page.get_by_test_id("add-task").click()
    page.fill("input[name=title]", "Send the renewal proposal")
    page.select_option("select[name=kind]", "renewal")
    page.select_option("select[name=priority]", "high")
    page.fill("input[name=due_date]", timezone.localdate().isoformat())
    page.click("input[type=submit], button[type=submit] >> text=Save task")
    expect(page).to_have_url(re.compile(rf"/accounts/{account.pk}/#tasks$"))
    expect(page.locator("#tasks")).to_contain_text("Send the renewal proposal")

    page.click("nav >> text=My book")
    row = page.locator("#my-tasks tr", has_text="Send the renewal proposal")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Today")
    expect(row).to_contain_text("Acme Rockets")

    # Snooze it through htmx: the row is replaced in place, no page load.
    row.locator("summary[data-action=snooze]").click()
    until = timezone.localdate() + dt.timedelta(days=3)
    row.locator("input[name=until]").fill(until.isoformat())
    row.locator("button", has_text="Snooze").click()
    expect(page.locator("#my-tasks tr", has_text="Send the renewal proposal")).to_contain_text(
        "Task snoozed."
    )

    task = account.tasks.get(title="Send the renewal proposal")
    assert task.assignee == alice
    assert task.snoozed_until == until
