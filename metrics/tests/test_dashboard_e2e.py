"""The metric charts draw in a real browser, from the locally served Chart.js, without errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.tests.factories import AccountFactory
from metrics import selectors
from metrics.choices import MovementKind
from metrics.models import AccountDailyMetrics, MetricSnapshot, MrrMovement

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    return page


def _log_in(page, live_server):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "vic")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


def _charts_drawn(page) -> list[str]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('canvas[data-chart]'))
                 .filter((c) => window.Chart && Chart.getChart(c))
                 .map((c) => c.dataset.chart)"""
    )


def test_viewer_sees_trend_charts_and_the_mrr_bridge_drawn(live_server, page, vic):
    this_month = selectors.month_start(selectors.today_utc())
    for offset in (1, 2, 3):
        day = selectors.add_months(this_month, 1 - offset) - dt.timedelta(days=1)
        for key, value in (("mrr", 1000 + offset), ("nrr", 101), ("nps", 30), ("dau", 12)):
            MetricSnapshot.objects.create(
                metric=key, period="month", segment="", date=day, value=Decimal(value)
            )
    account = AccountFactory()
    MrrMovement.objects.create(
        account=account,
        month=selectors.add_months(this_month, -1),
        kind=MovementKind.NEW,
        amount=Decimal(50),
        opening_mrr=Decimal(0),
        closing_mrr=Decimal(50),
    )

    _log_in(page, live_server)
    page.click("nav >> text=Metrics")
    page.click("nav >> text=Portfolio dashboard")
    sync_api.expect(page.get_by_role("heading", name="Portfolio metrics")).to_be_visible()
    page.wait_for_load_state("load")

    drawn = _charts_drawn(page)
    assert {"chart-mrr", "chart-retention", "chart-nps", "chart-usage", "chart-waterfall"} <= set(
        drawn
    )
    # The formula tooltip opens on hover.
    page.hover('[data-metric="nrr"] [data-bs-toggle="tooltip"]')
    sync_api.expect(page.locator(".tooltip")).to_contain_text("Opening MRR")
    assert page.errors == []


def test_account_360_draws_the_usage_chart(live_server, page, vic):
    account = AccountFactory(name="Chart Co")
    today = selectors.today_utc()
    AccountDailyMetrics.objects.bulk_create(
        AccountDailyMetrics(account=account, date=today - dt.timedelta(days=i), dau=i, mau=30)
        for i in range(10)
    )

    _log_in(page, live_server)
    page.goto(f"{live_server.url}/accounts/{account.pk}/")
    sync_api.expect(page.get_by_role("heading", name="Usage and sentiment")).to_be_visible()

    assert _charts_drawn(page) == ["account-usage-chart"]
    assert page.errors == []
