"""The "usage and sentiment" panel that metrics adds to the account 360 page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from accounts import panels
from accounts.tests.factories import AccountFactory, ContactFactory
from metrics import selectors
from metrics.choices import SurveyKind, TicketPriority, TicketStatus
from metrics.models import AccountDailyMetrics, SurveyResponse, Ticket

TODAY = selectors.today_utc()


def test_metrics_registers_its_panel_with_the_accounts_registry():
    keys = [p.key for p in panels.registered_panels()]
    assert "usage" in keys


def test_registry_renders_panels_in_order_with_their_context(db):
    account = AccountFactory(name="Ordered Ltd")
    panels.register_account_panel(
        key="zz_test_first",
        template="metrics/dashboard/_nav.html",
        context=lambda a, u: {"title": f"first {a.name}"},
        order=-2,
    )
    try:
        rendered = [
            p for p in panels.account_panels(account, None) if p.key in ("zz_test_first", "usage")
        ]
    finally:
        panels.unregister_account_panel(key="zz_test_first")
    assert [p.key for p in rendered] == ["zz_test_first", "usage"]
    assert "first Ordered Ltd</h1>" in rendered[0].html
    assert "zz_test_first" not in [p.key for p in panels.registered_panels()]


def test_panel_shows_usage_survey_comments_and_tickets_on_the_360_page(client_for, vic):
    account = AccountFactory()
    other = AccountFactory()
    contact = ContactFactory(account=account, first_name="Nina", last_name="Park")
    AccountDailyMetrics.objects.create(
        account=account, date=TODAY - dt.timedelta(days=1), dau=4, wau=9, mau=20
    )
    AccountDailyMetrics.objects.create(
        account=account,
        date=TODAY,
        dau=7,
        wau=15,
        mau=28,
        events_30d=1234,
        core_adoption_30d=Decimal("61.50"),
        nps_365d=Decimal("40"),
    )
    AccountDailyMetrics.objects.create(account=other, date=TODAY, dau=999, mau=999)
    now = timezone.now()
    SurveyResponse.objects.create(
        account=account,
        contact=contact,
        kind=SurveyKind.NPS,
        score=9,
        comment="Reports save us hours",
        responded_at=now - dt.timedelta(days=2),
    )
    SurveyResponse.objects.create(
        account=account,
        kind=SurveyKind.NPS,
        score=3,
        comment="Old complaint",
        responded_at=now - dt.timedelta(days=300),
    )
    SurveyResponse.objects.create(
        account=account,
        kind=SurveyKind.CSAT,
        score=5,
        comment="Quick answer",
        responded_at=now - dt.timedelta(days=1),
    )
    Ticket.objects.create(account=account, subject="Export broken", priority=TicketPriority.P1)
    Ticket.objects.create(
        account=account,
        subject="Old resolved",
        status=TicketStatus.RESOLVED,
        opened_at=now - dt.timedelta(days=60),
    )
    Ticket.objects.create(account=other, subject="Not this account")

    response = client_for(vic).get(reverse("accounts:detail", args=[account.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="usage-panel"' in html
    assert '<dd data-testid="usage-dau">7</dd>' in html
    assert '<dd data-testid="usage-mau">28</dd>' in html
    assert "1,234" in html
    assert "61.5 %" in html
    assert "25.0 %" in html  # stickiness 7 ÷ 28
    assert "Reports save us hours" in html
    assert "Nina Park" in html
    assert "Quick answer" in html
    assert '<dd data-testid="tickets-open">1</dd>' in html
    assert '<dd data-testid="tickets-30d">1</dd>' in html
    assert "Export broken" in html
    assert "Not this account" not in html
    assert '<script id="account-usage-chart" type="application/json">' in html
    usage = selectors.account_usage(account=account)
    assert [d.dau for d in usage.days] == [4, 7]
    assert usage.latest_nps.comment == "Reports save us hours"


def test_panel_keeps_only_the_latest_three_answers_of_each_kind(db):
    account = AccountFactory()
    now = timezone.now()
    for i in range(5):
        SurveyResponse.objects.create(
            account=account,
            kind=SurveyKind.NPS,
            score=i,
            comment=f"answer {i}",
            responded_at=now - dt.timedelta(days=i),
        )
    usage = selectors.account_usage(account=account)
    assert [r.comment for r in usage.responses["nps"]] == ["answer 0", "answer 1", "answer 2"]


def test_panel_of_an_account_without_signals_says_so(client_for, vic):
    account = AccountFactory()
    html = client_for(vic).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert 'data-testid="usage-empty"' in html
    assert "chart.umd.js" not in html


def test_panel_runs_four_queries_whatever_the_history(db, django_assert_num_queries):
    account = AccountFactory()
    AccountDailyMetrics.objects.bulk_create(
        AccountDailyMetrics(account=account, date=TODAY - dt.timedelta(days=i), dau=i)
        for i in range(200)
    )
    SurveyResponse.objects.bulk_create(
        SurveyResponse(account=account, kind=SurveyKind.NPS, score=i % 11) for i in range(100)
    )
    Ticket.objects.bulk_create(Ticket(account=account, subject=f"T{i}") for i in range(100))
    with django_assert_num_queries(3):
        usage = selectors.account_usage(account=account)
    assert len(usage.days) == selectors.PANEL_DAYS
    assert usage.tickets_open == 100
    assert len(usage.open_tickets) == 5
