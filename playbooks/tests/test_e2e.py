"""A CS Lead builds a rule in a real browser: picks a trigger (its settings appear), adds a
task action, previews the matches, saves, enables and runs it, and reads the run log."""

from __future__ import annotations

import re

import pytest

from accounts.models import Task
from accounts.tests.factories import AccountFactory
from playbooks.models import Rule, RuleRun
from playbooks.tests.factories import health_score

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")


def test_a_lead_creates_previews_and_runs_a_rule(live_server, browser_context, lead, alice):
    for name, score in (("Acme Rockets", 35), ("Bolt Labs", 55), ("Comet Co", 85)):
        health_score(AccountFactory(name=name, owner=alice), score)
    expect = sync_api.expect

    page = browser_context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "lead")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page.get_by_test_id("user-menu")).to_be_visible()

    page.get_by_test_id("playbooks-menu").click()
    page.get_by_role("link", name="Rules", exact=True).click()
    page.get_by_test_id("new-rule").click()
    page.fill("input[name=name]", "Health below 60")

    # Choosing the trigger swaps in its settings, with the default filled in.
    page.select_option("select[name=trigger]", "health_below")
    score = page.locator("input[name=param-score]")
    expect(score).to_have_value("50")
    expect(page.get_by_test_id("trigger-description")).to_contain_text("health score is below")
    score.fill("60")

    # The first action is a task; only its settings show.
    expect(page.locator("select[name=actions-0-kind]")).to_have_value("create_task")
    expect(page.locator("select[name=actions-0-stage]")).to_be_hidden()
    page.fill("input[name=actions-0-title]", "Call the sponsor")
    page.select_option("select[name=actions-0-priority]", "high")
    page.fill("input[name=actions-0-due_days]", "3")

    # Preview the unsaved rule: the two accounts with a score below 60.
    page.get_by_test_id("preview-draft").click()
    expect(page.get_by_test_id("preview-count")).to_have_text("2 accounts match")
    expect(page.get_by_test_id("preview-result")).to_contain_text("Acme Rockets")
    expect(page.get_by_test_id("preview-result")).not_to_contain_text("Comet Co")

    page.get_by_test_id("save-rule").click()
    expect(page.get_by_test_id("rule-name")).to_contain_text("Health below 60")
    expect(page.get_by_test_id("mode-badge")).to_have_text("Dry run")
    expect(page.get_by_test_id("rule-actions")).to_contain_text("Call the sponsor")

    # The saved rule previews the same, then is enabled and run by hand.
    page.get_by_test_id("preview-button").click()
    expect(page.get_by_test_id("preview-count")).to_have_text("2 accounts match")
    page.get_by_test_id("mode-enabled").click()
    expect(page.get_by_test_id("mode-badge")).to_have_text("Enabled")
    page.get_by_test_id("run-now").click()

    expect(page).to_have_url(re.compile(r"/playbooks/runs/\d+/$"))
    expect(page.get_by_test_id("run-matched")).to_have_text("2")
    table = page.get_by_test_id("match-table")
    expect(table).to_contain_text("Acme Rockets")
    expect(table).to_contain_text("Bolt Labs")
    expect(table).to_contain_text("Fired")
    expect(table).to_contain_text("task “Call the sponsor”")

    # The run log lists the run.
    page.get_by_role("link", name="Run log").click()
    expect(page.get_by_test_id("run-table")).to_contain_text("By hand")
    assert page.get_by_test_id("run-table").locator("tbody tr").count() == 1

    rule = Rule.objects.get(name="Health below 60")
    assert rule.params == {"score": 60}
    assert RuleRun.objects.get(rule=rule).fired == 2
    tasks = Task.objects.filter(source="playbooks", title="Call the sponsor")
    assert sorted(t.account.name for t in tasks) == ["Acme Rockets", "Bolt Labs"]
    assert {t.priority for t in tasks} == {"high"}
