"""The portfolio dashboard, cohort retention and "about the metrics" pages.

Rows are written straight into the engine's tables with known values; the pages must show
them, whoever computed them.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.choices import Tier
from accounts.models import Account
from metrics import selectors
from metrics.choices import MovementKind
from metrics.definitions import METRICS
from metrics.models import MetricSnapshot, MrrMovement

TODAY = selectors.today_utc()
THIS_MONTH = selectors.month_start(TODAY)


def month_end(offset: int) -> dt.date:
    """The last day of the month `offset` months before this one (1 = last month's end)."""
    return selectors.add_months(THIS_MONTH, 1 - offset) - dt.timedelta(days=1)


def snap(metric, day, value, *, period="month", segment=""):
    return MetricSnapshot.objects.create(
        metric=metric, period=period, segment=segment, date=day, value=Decimal(value)
    )


def move(account, month, kind, opening, closing):
    return MrrMovement.objects.create(
        account=account,
        month=month,
        kind=kind,
        amount=abs(Decimal(closing) - Decimal(opening)),
        opening_mrr=Decimal(opening),
        closing_mrr=Decimal(closing),
    )


def accounts(n: int, **fields) -> list[Account]:
    start = Account.objects.count()
    return Account.objects.bulk_create(
        Account(name=f"Acct {start + i:05d}", **fields) for i in range(n)
    )


# Who may read ------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["metrics:dashboard", "metrics:cohorts", "metrics:about"])
@pytest.mark.parametrize("persona", ["alice", "lead", "vic"])
def test_every_logged_in_role_reads_the_metric_pages(request, client_for, page, persona):
    user = request.getfixturevalue(persona)
    assert client_for(user).get(reverse(page)).status_code == 200


@pytest.mark.parametrize("page", ["metrics:dashboard", "metrics:cohorts", "metrics:about"])
def test_anonymous_visitors_are_sent_to_the_login_page(client, db, page):
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_navigation_links_to_the_metrics_dashboard(client_for, vic):
    html = client_for(vic).get(reverse("accounts:home")).content.decode()
    assert f'href="{reverse("metrics:dashboard")}"' in html


# Dashboard ---------------------------------------------------------------------------------


def test_dashboard_without_snapshots_says_how_to_calculate_them(client_for, vic):
    html = client_for(vic).get(reverse("metrics:dashboard")).content.decode()
    assert "Metrics have not been calculated yet" in html
    assert "metrics_backfill" in html


def test_dashboard_with_snapshots_elsewhere_says_this_filter_has_none(client_for, vic):
    snap("nrr", month_end(1), "101", segment="tier:smb")
    html = client_for(vic).get(reverse("metrics:dashboard")).content.decode()
    assert "Metrics have not been calculated yet" not in html
    assert "No figures for this segment and period yet." in html


def test_dashboard_shows_the_latest_value_its_change_and_the_benchmark(client_for, vic):
    snap("customer_churn_rate", month_end(2), "4.0")
    snap("customer_churn_rate", month_end(1), "3.5")
    snap("mrr", month_end(2), "10000")
    snap("mrr", month_end(1), "12500.5")

    response = client_for(vic).get(reverse("metrics:dashboard"))

    html = response.content.decode()
    figs = {f.key: f for _t, section in response.context["sections"] for f in section}
    assert figs["mrr"].latest == Decimal("12500.5")
    assert figs["mrr"].delta == Decimal("2500.5")
    assert figs["customer_churn_rate"].trend == "good"  # churn fell
    assert '<div class="kpi" data-testid="value-mrr">12,500.50</div>' in html
    assert '<div class="kpi" data-testid="value-customer_churn_rate">3.5 %</div>' in html
    assert "−0.5 pp" in html
    assert "SaaS average, monthly: 10–14 %" in html
    # The formula is on the figure's tooltip.
    assert f'data-bs-title="{METRICS["customer_churn_rate"].formula}"' in html


def test_dashboard_trend_charts_embed_their_series_and_benchmark_lines(client_for, vic):
    snap("nps", month_end(2), "30")
    snap("nps", month_end(1), "42")
    html = client_for(vic).get(reverse("metrics:dashboard")).content.decode()
    start = html.index('<script id="chart-nps" type="application/json">')
    data = json.loads(html[start:].split(">", 1)[1].split("</script>", 1)[0])
    assert data["labels"] == [month_end(2).isoformat(), month_end(1).isoformat()]
    assert data["datasets"][0]["data"] == [30.0, 42.0]
    assert {"label": "best in class", "value": 50} in data["benchmarks"]
    assert 'src="/static/vendor/chartjs/chart.umd.js"' in html


def test_dashboard_lists_each_features_adoption_highest_first(client_for, vic):
    from metrics.models import Feature

    Feature.objects.create(key="reports", name="Scheduled reports", is_core=True)
    Feature.objects.create(key="exports", name="CSV exports")
    snap("nrr", month_end(1), "100")
    snap("feature_adoption", month_end(2), "30", segment="feature:reports")
    snap("feature_adoption", month_end(1), "45.5", segment="feature:reports")
    snap("feature_adoption", month_end(1), "12", segment="feature:exports")

    response = client_for(vic).get(reverse("metrics:dashboard"))

    features = response.context["features"]
    assert [(f.name, f.latest, f.delta) for f in features] == [
        ("Scheduled reports", Decimal("45.5"), Decimal("15.5")),
        ("CSV exports", Decimal("12"), None),
    ]
    html = response.content.decode()
    assert 'data-testid="feature-adoption"' in html
    assert "+15.5 pp" in html


def test_segment_filter_shows_the_segments_figures(client_for, vic):
    snap("nrr", month_end(1), "90")
    snap("nrr", month_end(1), "115", segment="tier:enterprise")
    response = client_for(vic).get(reverse("metrics:dashboard"), {"segment": "tier:enterprise"})
    figs = {f.key: f for _t, section in response.context["sections"] for f in section}
    assert figs["nrr"].latest == Decimal("115")
    html = response.content.decode()
    assert "Tier: Enterprise" in html
    # The filter offers the portfolio and every tier, touch model and business model.
    for value in ("", "tier:smb", "touch_model:tech", "business_model:b2c"):
        assert f'<option value="{value}"' in html


def test_period_selector_reads_that_periods_snapshots(client_for, vic):
    snap("dau", TODAY - dt.timedelta(days=7), "40", period="week")
    snap("dau", month_end(1), "25", period="month")
    response = client_for(vic).get(reverse("metrics:dashboard"), {"period": "week"})
    figs = {f.key: f for _t, section in response.context["sections"] for f in section}
    assert figs["dau"].latest == Decimal("40")


def test_unknown_filter_values_fall_back_to_the_defaults_with_a_note(client_for, vic):
    snap("nrr", month_end(1), "99")
    response = client_for(vic).get(
        reverse("metrics:dashboard"), {"segment": "tier:galactic", "period": "fortnight"}
    )
    assert response.status_code == 200
    assert response.context["segment"] == ""
    assert response.context["period"] == "month"
    assert "the defaults are shown" in response.content.decode()


def test_waterfall_bridges_opening_to_closing_mrr_for_the_month(client_for, vic):
    month = selectors.add_months(THIS_MONTH, -1)
    a, b, c, d, e = accounts(5)
    snap("mrr", month_end(2), "1000")  # the month before: the opening
    move(a, month, MovementKind.NEW, "0", "300")
    move(b, month, MovementKind.EXPANSION, "200", "250")
    move(c, month, MovementKind.CONTRACTION, "400", "320")
    move(d, month, MovementKind.CHURN, "100", "0")
    move(e, month, MovementKind.REACTIVATION, "0", "70")

    response = client_for(vic).get(reverse("metrics:dashboard"), {"month": month.strftime("%Y-%m")})

    w = response.context["waterfall"]
    assert w.opening == Decimal("1000")
    assert {s.kind: s.amount for s in w.steps} == {
        "new": Decimal("300"),
        "expansion": Decimal("50"),
        "reactivation": Decimal("70"),
        "contraction": Decimal("-80"),
        "churn": Decimal("-100"),
    }
    assert w.closing == Decimal("1240")
    html = response.content.decode()
    assert "1,240.00" in html
    assert '<script id="chart-waterfall" type="application/json">' in html


def test_waterfall_defaults_to_the_latest_month_and_filters_by_segment(client_for, vic):
    (ent,) = accounts(1, tier=Tier.ENTERPRISE)
    (smb,) = accounts(1, tier=Tier.SMB)
    old = selectors.add_months(THIS_MONTH, -3)
    latest = selectors.add_months(THIS_MONTH, -1)
    move(ent, old, MovementKind.NEW, "0", "500")
    move(ent, latest, MovementKind.EXPANSION, "500", "800")
    move(smb, latest, MovementKind.NEW, "0", "40")

    response = client_for(vic).get(reverse("metrics:dashboard"), {"segment": "tier:enterprise"})

    w = response.context["waterfall"]
    assert w.month == latest
    assert {s.kind: s.amount for s in w.steps if s.accounts} == {"expansion": Decimal("300")}
    # No MRR snapshot to open the bridge from: the net change stands in for the closing.
    assert w.opening is None
    html = response.content.decode()
    assert "Net change" in html
    assert f'value="{latest:%Y-%m}"' in html  # the month picker shows the month drawn


def test_dashboard_queries_do_not_grow_with_accounts(
    client_for, vic, django_assert_max_num_queries
):
    month = selectors.add_months(THIS_MONTH, -1)
    client = client_for(vic)
    for key in ("mrr", "nrr", "nps", "dau"):
        snap(key, month_end(1), "10")
    for acct in accounts(5):
        move(acct, month, MovementKind.NEW, "0", "10")
    client.get(reverse("metrics:dashboard"))
    with django_assert_max_num_queries(10) as small:
        client.get(reverse("metrics:dashboard"))
    for acct in accounts(500):
        move(acct, month, MovementKind.EXPANSION, "10", "20")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("metrics:dashboard"))
    assert response.context["waterfall"].steps[1].accounts == 500


# Cohorts -----------------------------------------------------------------------------------


def test_cohort_retention_by_start_month_logos_and_revenue(db):
    m0 = selectors.add_months(THIS_MONTH, -3)
    m1, m2 = selectors.add_months(m0, 1), selectors.add_months(m0, 2)
    a, b, c, d = accounts(4)
    # Cohort m0: a, b, c start with 100 each.
    for acct in (a, b, c):
        move(acct, m0, MovementKind.NEW, "0", "100")
    move(a, m1, MovementKind.EXPANSION, "100", "160")  # a grows
    move(b, m1, MovementKind.CHURN, "100", "0")  # b leaves
    move(c, m2, MovementKind.CONTRACTION, "100", "50")  # c shrinks
    move(b, m2, MovementKind.REACTIVATION, "0", "100")  # b returns
    # Cohort m1: d.
    move(d, m1, MovementKind.NEW, "0", "200")

    table = selectors.cohort_retention(months=6)

    first, second = table.rows
    assert (first.month, first.accounts, first.starting_mrr) == (m0, 3, Decimal("300"))
    assert [c.logo_retention for c in first.cells] == [
        Decimal("100.0"),
        Decimal("66.7"),
        Decimal("100.0"),
    ]
    assert [c.revenue_retention for c in first.cells] == [
        Decimal("100.0"),
        Decimal("86.7"),  # 160 + 0 + 100 = 260 of 300
        Decimal("103.3"),  # 160 + 100 + 50 = 310 of 300
    ]
    assert (second.month, second.accounts, len(second.cells)) == (m1, 1, 2)
    assert table.offsets == [0, 1, 2]


def test_cohort_page_shows_both_tables_for_the_segment(client_for, vic):
    m0 = selectors.add_months(THIS_MONTH, -2)
    (ent,) = accounts(1, tier=Tier.ENTERPRISE)
    (smb,) = accounts(1, tier=Tier.SMB)
    move(ent, m0, MovementKind.NEW, "0", "1000")
    move(ent, selectors.add_months(m0, 1), MovementKind.EXPANSION, "1000", "1200")
    move(smb, m0, MovementKind.NEW, "0", "10")

    response = client_for(vic).get(reverse("metrics:cohorts"), {"segment": "tier:enterprise"})

    (row,) = response.context["table"].rows
    assert row.accounts == 1
    assert row.starting_mrr == Decimal("1000")
    html = response.content.decode()
    assert 'data-testid="logo-table"' in html
    assert 'data-testid="revenue-table"' in html
    assert "120.0 %" in html


def test_cohort_page_without_movements_shows_an_empty_state(client_for, vic):
    html = client_for(vic).get(reverse("metrics:cohorts")).content.decode()
    assert 'data-testid="cohorts-empty"' in html


def test_cohort_queries_do_not_grow_with_accounts(client_for, vic, django_assert_max_num_queries):
    m0 = selectors.add_months(THIS_MONTH, -2)
    client = client_for(vic)
    for acct in accounts(5):
        move(acct, m0, MovementKind.NEW, "0", "10")
    client.get(reverse("metrics:cohorts"))
    with django_assert_max_num_queries(7) as small:
        client.get(reverse("metrics:cohorts"))
    MrrMovement.objects.bulk_create(
        MrrMovement(
            account=acct,
            month=m0,
            kind=MovementKind.NEW,
            amount=Decimal(10),
            opening_mrr=Decimal(0),
            closing_mrr=Decimal(10),
        )
        for acct in accounts(500)
    )
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(reverse("metrics:cohorts"))
    assert response.context["table"].rows[0].accounts == 505


# About -------------------------------------------------------------------------------------


def test_about_page_lists_every_metric_with_its_formula_and_benchmarks(client_for, vic):
    html = client_for(vic).get(reverse("metrics:about")).content.decode()
    for key, definition in METRICS.items():
        assert f'id="metric-{key}"' in html
        assert str(definition.formula) in html
    assert "best in class: ≥ 50" in html
