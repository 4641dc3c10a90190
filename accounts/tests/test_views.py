"""The accounts pages read like the role matrix of SPEC §0: who may see and change what."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import BillingPeriod, GoalStatus, TaskStatus, Tier
from accounts.models import Account, Activity, Contact, Goal, GoalRevision, Subscription, Task
from accounts.tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    GoalFactory,
    SubscriptionFactory,
    TaskFactory,
)

TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The personas are created with passwords; a slow hasher only slows the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class World:
    account: Account
    contact: Contact
    subscription: Subscription
    task: Task
    goal: Goal


@pytest.fixture
def world(alice, bob, lead, vic, admin_user) -> World:
    """One of Alice's accounts with a record of every kind on it."""
    account = AccountFactory(name="Acme Rockets", owner=alice, currency="EUR")
    return World(
        account=account,
        contact=ContactFactory(account=account, first_name="Carla", email="carla@acme.example"),
        subscription=SubscriptionFactory(account=account, plan_name="Pro", currency="EUR"),
        task=TaskFactory(account=account, title="Call Carla", assignee=alice),
        goal=GoalFactory(account=account, title="Halve onboarding time"),
    )


def _persona(request: pytest.FixtureRequest, name: str) -> Any:
    return request.getfixturevalue(name)


def account_form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "name": "Acme Rockets",
        "external_id": "",
        "domain": "acme.example",
        "industry": "Aerospace",
        "country": "us",
        "currency": "eur",
        "tier": Tier.ENTERPRISE,
        "touch_model": "high",
        "business_model": "b2b",
        "lifecycle_stage": "adoption",
        "status": "active",
        "customer_since": "2024-01-15",
        "churned_at": "",
        "years_in_business": "12",
        "next_tier_price_threshold": "",
    }
    data.update(overrides)
    return data


def subscription_form_data(**overrides: Any) -> dict[str, Any]:
    today = TODAY()
    data = {
        "plan_name": "Enterprise",
        "product": "Platform",
        "quantity": "20",
        "unit_price": "100.00",
        "discount_type": "percent",
        "discount_value": "10",
        "billing_period": BillingPeriod.ANNUAL,
        "billing_period_months": "",
        "currency": "EUR",
        "one_time_fees": "500",
        "signed_on": "",
        "start_date": (today - dt.timedelta(days=10)).isoformat(),
        "end_date": (today + dt.timedelta(days=355)).isoformat(),
        "notice_period_days": "60",
        "auto_renew": "on",
        "status": "active",
    }
    data.update(overrides)
    return data


def contact_form_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Dana",
        "last_name": "Scully",
        "email": "dana@acme.example",
        "phone": "",
        "title": "VP Operations",
        "department": "Operations",
        "power_role": "executive_sponsor",
        "birthday": "",
        "anniversary": "",
    }
    data.update(overrides)
    return data


# Reads ---------------------------------------------------------------------------------

READ_URLS = {
    "home": lambda w: reverse("accounts:home"),
    "list": lambda w: reverse("accounts:list"),
    "list_csv": lambda w: reverse("accounts:list") + "?format=csv",
    "detail": lambda w: reverse("accounts:detail", args=[w.account.pk]),
    "tasks": lambda w: reverse("accounts:tasks"),
    "tasks_team": lambda w: reverse("accounts:tasks") + "?scope=team",
}


@pytest.mark.parametrize("page", READ_URLS)
@pytest.mark.parametrize("persona", ["alice", "bob", "lead", "vic", "admin_user"])
def test_everyone_logged_in_reads_every_page(request, client_for, world, page, persona):
    response = client_for(_persona(request, persona)).get(READ_URLS[page](world))
    assert response.status_code == 200


ANONYMOUS_URLS = [
    ("accounts:home", []),
    ("accounts:list", []),
    ("accounts:create", []),
    ("accounts:detail", ["account"]),
    ("accounts:edit", ["account"]),
    ("accounts:contact_create", ["account"]),
    ("accounts:contact_edit", ["contact"]),
    ("accounts:contact_delete", ["contact"]),
    ("accounts:subscription_create", ["account"]),
    ("accounts:subscription_edit", ["subscription"]),
    ("accounts:subscription_delete", ["subscription"]),
    ("accounts:activity_create", ["account"]),
    ("accounts:task_create", ["account"]),
    ("accounts:tasks", []),
    ("accounts:task_edit", ["task"]),
    ("accounts:task_complete", ["task"]),
    ("accounts:task_snooze", ["task"]),
    ("accounts:goal_create", ["account"]),
    ("accounts:goal_edit", ["goal"]),
]


@pytest.mark.parametrize(("name", "args"), ANONYMOUS_URLS)
def test_anonymous_is_sent_to_the_login_page(client, world, name, args):
    url = reverse(name, args=[getattr(world, a).pk for a in args])
    for response in (client.get(url), client.post(url, {})):
        assert response.status_code == 302
        assert response["Location"].startswith("/login/?next=")
    assert Task.objects.get(pk=world.task.pk).status == TaskStatus.OPEN
    assert Contact.objects.filter(pk=world.contact.pk).exists()


def test_detail_of_a_missing_account_is_404(client_for, alice):
    assert client_for(alice).get(reverse("accounts:detail", args=[999999])).status_code == 404


def test_account_360_shows_header_facts_and_records(client_for, world, bob):
    ActivityFactory(account=world.account, subject="Kick-off call with Carla")
    response = client_for(bob).get(reverse("accounts:detail", args=[world.account.pk]))
    html = response.content.decode()
    header = response.context["header"]
    assert header.mrr == Decimal("500.0000")
    assert header.licenses == 10
    assert header.can_edit is False
    for text in ("Acme Rockets", "500.00 EUR", "6,000.00 EUR", "Carla", "Pro", "Call Carla"):
        assert text in html
    assert "Kick-off call with Carla" in html
    assert "Halve onboarding time" in html
    # Bob may read but not change Alice's account: no edit or add buttons.
    assert reverse("accounts:edit", args=[world.account.pk]) not in html
    assert reverse("accounts:contact_create", args=[world.account.pk]) not in html


def test_account_360_offers_edit_buttons_to_the_owner(client_for, world, alice):
    html = client_for(alice).get(reverse("accounts:detail", args=[world.account.pk])).content
    html = html.decode()
    assert reverse("accounts:edit", args=[world.account.pk]) in html
    assert reverse("accounts:task_create", args=[world.account.pk]) in html
    assert reverse("accounts:activity_create", args=[world.account.pk]) in html
    assert reverse("accounts:task_complete", args=[world.task.pk]) in html


# My book -------------------------------------------------------------------------------


def test_my_book_shows_my_accounts_tasks_and_kpis(client_for, world, alice, bob):
    today = TODAY()
    AccountFactory(name="Bobs Account", owner=bob)
    TaskFactory(account=world.account, title="Overdue QBR prep", due_date=today - dt.timedelta(3))
    TaskFactory(account=world.account, title="Far future", due_date=today + dt.timedelta(60))
    response = client_for(alice).get(reverse("accounts:home"))
    html = response.content.decode()
    assert [a.name for a in response.context["accounts"]] == ["Acme Rockets"]
    assert "Bobs Account" not in html
    titles = [t.title for t in response.context["tasks"]]
    assert titles == ["Overdue QBR prep", "Call Carla"]  # overdue first, then today
    kpis = response.context["kpis"]
    assert kpis.accounts == 1
    assert kpis.mrr_by_currency == [("EUR", Decimal("500.0000"), Decimal("6000.0000"))]
    assert kpis.tasks_overdue == 1
    assert "500.00 EUR" in html


@pytest.mark.parametrize("persona", ["lead", "vic"])
def test_my_book_without_accounts_points_to_the_list(request, client_for, world, persona):
    response = client_for(_persona(request, persona)).get(reverse("accounts:home"))
    assert 'data-testid="empty-book"' in response.content.decode()
    assert reverse("accounts:list") in response.content.decode()


# Account list, filters, sorting, CSV ---------------------------------------------------


@pytest.fixture
def portfolio(alice, bob):
    today = TODAY()
    a = AccountFactory(name="Alpha", owner=alice, tier=Tier.ENTERPRISE, domain="alpha.io")
    b = AccountFactory(name="Bravo", owner=bob, tier=Tier.SMB)
    c = AccountFactory(name="Charlie", owner=alice, tier=Tier.ENTERPRISE, status="trial")
    SubscriptionFactory(account=a, unit_price=Decimal("10"), end_date=today + dt.timedelta(20))
    SubscriptionFactory(account=b, unit_price=Decimal("30"), end_date=today + dt.timedelta(200))
    SubscriptionFactory(account=c, unit_price=Decimal("20"), end_date=today + dt.timedelta(300))
    a.tags.create(name="strategic")
    return a, b, c


def _names(response) -> list[str]:
    return [a.name for a in response.context["page"].object_list]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alpha", "Bravo", "Charlie"]),
        ("?q=alpha.io", ["Alpha"]),
        ("?tier=enterprise", ["Alpha", "Charlie"]),
        ("?status=trial", ["Charlie"]),
        ("?renewal_window=30", ["Alpha"]),
        ("?tag=strategic", ["Alpha"]),
        ("?ordering=-mrr", ["Bravo", "Charlie", "Alpha"]),
        ("?ordering=mrr", ["Alpha", "Charlie", "Bravo"]),
        ("?ordering=-name&tier=enterprise", ["Charlie", "Alpha"]),
    ],
)
def test_account_list_filters_and_sorts(client_for, vic, portfolio, query, expected):
    response = client_for(vic).get(reverse("accounts:list") + query)
    assert response.status_code == 200
    assert _names(response) == expected


def test_account_list_filters_by_owner(client_for, vic, alice, portfolio):
    response = client_for(vic).get(reverse("accounts:list"), {"owner": alice.pk})
    assert _names(response) == ["Alpha", "Charlie"]


def test_sort_headers_toggle_direction_and_keep_filters(client_for, vic, portfolio):
    html = client_for(vic).get(reverse("accounts:list") + "?tier=enterprise&ordering=mrr")
    html = html.content.decode()
    assert 'href="?tier=enterprise&amp;ordering=-mrr" data-sort="mrr"' in html
    assert 'href="?tier=enterprise&amp;ordering=name" data-sort="name"' in html


def test_account_list_paginates_by_50_and_keeps_filters_in_page_links(client_for, vic, alice):
    AccountFactory.create_batch(55, owner=alice, tier=Tier.SMB)
    AccountFactory.create_batch(3, owner=alice, tier=Tier.ENTERPRISE)
    response = client_for(vic).get(reverse("accounts:list"), {"tier": "smb"})
    assert len(response.context["page"].object_list) == 50
    assert response.context["page"].paginator.count == 55
    assert "?tier=smb&amp;page=2" in response.content.decode()
    page2 = client_for(vic).get(reverse("accounts:list"), {"tier": "smb", "page": 2})
    assert len(page2.context["page"].object_list) == 5


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_csv_export_has_every_filtered_row_not_just_the_page(client_for, vic, alice, portfolio):
    AccountFactory.create_batch(60, owner=alice, tier=Tier.ENTERPRISE)
    response = client_for(vic).get(
        reverse("accounts:list"), {"format": "csv", "tier": "enterprise", "ordering": "name"}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _csv(response)
    assert rows[0][:3] == ["id", "name", "external id"]
    assert len(rows) == 1 + 62
    alpha = next(r for r in rows if r[1] == "Alpha")
    header = rows[0]
    assert alpha[header.index("owner")] == "Alice"
    assert alpha[header.index("tier")] == "Enterprise"
    assert alpha[header.index("MRR")] == "100.00"
    assert alpha[header.index("ARR")] == "1200.00"
    assert "Bravo" not in {r[1] for r in rows}


def test_csv_export_neutralises_spreadsheet_formulas(client_for, vic, alice):
    AccountFactory(name="=HYPERLINK(1)", owner=alice)
    rows = _csv(client_for(vic).get(reverse("accounts:list"), {"format": "csv"}))
    assert rows[1][1] == "'=HYPERLINK(1)"


# The write matrix -----------------------------------------------------------------------


@dataclass
class WriteCase:
    url: Any
    data: Any
    changed: Any  # world -> bool: did the write reach the database?


WRITES: dict[str, WriteCase] = {
    "account_edit": WriteCase(
        lambda w: reverse("accounts:edit", args=[w.account.pk]),
        lambda w: account_form_data(name="Acme Rockets Intl"),
        lambda w: Account.objects.get(pk=w.account.pk).name == "Acme Rockets Intl",
    ),
    "contact_create": WriteCase(
        lambda w: reverse("accounts:contact_create", args=[w.account.pk]),
        lambda w: contact_form_data(),
        lambda w: w.account.contacts.filter(email="dana@acme.example").exists(),
    ),
    "contact_edit": WriteCase(
        lambda w: reverse("accounts:contact_edit", args=[w.contact.pk]),
        lambda w: contact_form_data(first_name="Carla", email="carla@acme.example", title="CEO"),
        lambda w: Contact.objects.get(pk=w.contact.pk).title == "CEO",
    ),
    "contact_delete": WriteCase(
        lambda w: reverse("accounts:contact_delete", args=[w.contact.pk]),
        lambda w: {},
        lambda w: not Contact.objects.filter(pk=w.contact.pk).exists(),
    ),
    "subscription_create": WriteCase(
        lambda w: reverse("accounts:subscription_create", args=[w.account.pk]),
        lambda w: subscription_form_data(),
        lambda w: w.account.subscriptions.filter(plan_name="Enterprise").exists(),
    ),
    "subscription_edit": WriteCase(
        lambda w: reverse("accounts:subscription_edit", args=[w.subscription.pk]),
        lambda w: subscription_form_data(plan_name="Pro Plus"),
        lambda w: Subscription.objects.get(pk=w.subscription.pk).plan_name == "Pro Plus",
    ),
    "subscription_delete": WriteCase(
        lambda w: reverse("accounts:subscription_delete", args=[w.subscription.pk]),
        lambda w: {},
        lambda w: not Subscription.objects.filter(pk=w.subscription.pk).exists(),
    ),
    "activity_create": WriteCase(
        lambda w: reverse("accounts:activity_create", args=[w.account.pk]),
        lambda w: {"kind": "call", "subject": "Renewal chat", "contacts": [w.contact.pk]},
        lambda w: Activity.objects.filter(account=w.account, subject="Renewal chat").exists(),
    ),
    "task_create": WriteCase(
        lambda w: reverse("accounts:task_create", args=[w.account.pk]),
        lambda w: {"title": "Send QBR deck", "kind": "email", "priority": "high"},
        lambda w: Task.objects.filter(account=w.account, title="Send QBR deck").exists(),
    ),
    "task_edit": WriteCase(
        lambda w: reverse("accounts:task_edit", args=[w.task.pk]),
        lambda w: {"title": "Call Carla today", "kind": "call", "priority": "urgent"},
        lambda w: Task.objects.get(pk=w.task.pk).priority == "urgent",
    ),
    "task_complete": WriteCase(
        lambda w: reverse("accounts:task_complete", args=[w.task.pk]),
        lambda w: {"outcome": "Reached", "note": "Happy"},
        lambda w: Task.objects.get(pk=w.task.pk).status == TaskStatus.DONE,
    ),
    "task_snooze": WriteCase(
        lambda w: reverse("accounts:task_snooze", args=[w.task.pk]),
        lambda w: {"until": (TODAY() + dt.timedelta(days=5)).isoformat()},
        lambda w: Task.objects.get(pk=w.task.pk).snoozed_until is not None,
    ),
    "goal_create": WriteCase(
        lambda w: reverse("accounts:goal_create", args=[w.account.pk]),
        lambda w: {"title": "Roll out to EMEA", "status": "on_track", "target": "5 teams"},
        lambda w: w.account.goals.filter(title="Roll out to EMEA").exists(),
    ),
    "goal_edit": WriteCase(
        lambda w: reverse("accounts:goal_edit", args=[w.goal.pk]),
        lambda w: {"title": "Halve onboarding time", "status": "at_risk", "note": "Slipped"},
        lambda w: Goal.objects.get(pk=w.goal.pk).status == GoalStatus.AT_RISK,
    ),
}

PERSONAS = [("alice", True), ("bob", False), ("lead", True), ("vic", False), ("admin_user", True)]


@pytest.mark.parametrize("case", WRITES)
@pytest.mark.parametrize(("persona", "allowed"), PERSONAS)
def test_write_matrix(request, client_for, world, case, persona, allowed):
    write = WRITES[case]
    c = client_for(_persona(request, persona))
    url = write.url(world)
    get = c.get(url)
    response = c.post(url, write.data(world))
    if allowed:
        assert get.status_code == 200
        assert response.status_code == 302
        assert write.changed(world)
    else:
        assert get.status_code == 403
        assert response.status_code == 403
        assert not write.changed(world)


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("alice", True), ("bob", True), ("lead", True), ("vic", False), ("admin_user", True)],
)
def test_creating_an_account_needs_the_add_permission(request, client_for, persona, allowed):
    user = _persona(request, persona)
    response = client_for(user).post(reverse("accounts:create"), account_form_data(name="Newco"))
    assert response.status_code == (302 if allowed else 403)
    assert Account.objects.filter(name="Newco").exists() is allowed


def test_a_csm_creating_an_account_owns_it_and_cannot_pick_another_owner(client_for, alice, bob):
    c = client_for(alice)
    assert "owner" not in c.get(reverse("accounts:create")).context["form"].fields
    response = c.post(reverse("accounts:create"), account_form_data(name="Newco", owner=bob.pk))
    account = Account.objects.get(name="Newco")
    assert response["Location"] == reverse("accounts:detail", args=[account.pk])
    assert account.owner == alice
    assert account.currency == "EUR" and account.country == "US"


def test_a_lead_reassigns_an_account_and_the_timeline_says_so(client_for, world, lead, bob):
    url = reverse("accounts:edit", args=[world.account.pk])
    response = client_for(lead).post(url, account_form_data(owner=bob.pk))
    assert response.status_code == 302
    assert Account.objects.get(pk=world.account.pk).owner == bob
    assert world.account.activities.filter(subject__startswith="Owner changed").exists()


def test_the_assignee_may_complete_a_task_on_someone_elses_account(client_for, world, bob):
    task = TaskFactory(account=world.account, assignee=bob, title="Bob's task")
    c = client_for(bob)
    response = c.post(reverse("accounts:task_complete", args=[task.pk]), {"outcome": "Done"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.outcome == "Done"
    # ...but not edit the account's other records.
    other = reverse("accounts:task_complete", args=[world.task.pk])
    assert c.post(other, {}).status_code == 403


def test_a_viewer_assigned_a_task_still_may_not_change_it(client_for, world, vic):
    task = TaskFactory(account=world.account, assignee=vic)
    response = client_for(vic).post(reverse("accounts:task_complete", args=[task.pk]), {})
    assert response.status_code == 403
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_completing_a_task_records_outcome_and_timeline(client_for, world, alice):
    url = reverse("accounts:task_complete", args=[world.task.pk])
    response = client_for(alice).post(
        url, {"outcome": "Renewal confirmed", "note": "Signed", "next": "/accounts/"}
    )
    assert response["Location"] == "/accounts/"
    task = Task.objects.get(pk=world.task.pk)
    assert (task.status, task.outcome, task.note) == (
        TaskStatus.DONE,
        "Renewal confirmed",
        "Signed",
    )
    assert world.account.activities.filter(subject="Task completed: Call Carla").exists()


def test_redirect_after_a_task_action_never_leaves_the_site(client_for, world, alice):
    url = reverse("accounts:task_complete", args=[world.task.pk])
    response = client_for(alice).post(url, {"next": "https://evil.example/"})
    assert response["Location"] == reverse("accounts:tasks")


def test_htmx_complete_returns_the_updated_row(client_for, world, alice):
    url = reverse("accounts:task_complete", args=[world.task.pk])
    response = client_for(alice).post(url, {"outcome": "Reached"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith("<tr") and f'id="task-{world.task.pk}"' in html
    assert "Task completed." in html and "Done" in html
    assert Task.objects.get(pk=world.task.pk).status == TaskStatus.DONE


def test_htmx_snooze_returns_the_updated_row(client_for, world, alice):
    until = TODAY() + dt.timedelta(days=7)
    url = reverse("accounts:task_snooze", args=[world.task.pk])
    response = client_for(alice).post(url, {"until": until.isoformat()}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Snoozed" in response.content.decode()
    task = Task.objects.get(pk=world.task.pk)
    assert task.snoozed_until == until and task.due_date == until


@pytest.mark.parametrize("htmx", [False, True])
def test_snoozing_into_the_past_is_a_400_and_changes_nothing(client_for, world, alice, htmx):
    url = reverse("accounts:task_snooze", args=[world.task.pk])
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client_for(alice).post(url, {"until": TODAY().isoformat()}, **extra)
    assert response.status_code == 400
    assert "Snooze until a future date." in response.content.decode()
    assert Task.objects.get(pk=world.task.pk).snoozed_until is None


# Invalid input: 400, a clear error, nothing changed -----------------------------------


def _post(client, url, data):
    before = (
        Account.objects.count(),
        Contact.objects.count(),
        Subscription.objects.count(),
        Task.objects.count(),
        Goal.objects.count(),
        Activity.objects.count(),
    )
    response = client.post(url, data)
    after = (
        Account.objects.count(),
        Contact.objects.count(),
        Subscription.objects.count(),
        Task.objects.count(),
        Goal.objects.count(),
        Activity.objects.count(),
    )
    assert response.status_code == 400
    assert before == after
    return response


def test_custom_billing_period_needs_its_months(client_for, world, alice):
    url = reverse("accounts:subscription_create", args=[world.account.pk])
    response = _post(client_for(alice), url, subscription_form_data(billing_period="custom"))
    assert response.context["form"].errors["billing_period_months"]


def test_a_cancelled_subscription_needs_its_end_date(client_for, world, alice):
    url = reverse("accounts:subscription_create", args=[world.account.pk])
    data = subscription_form_data(status="cancelled", end_date="")
    response = _post(client_for(alice), url, data)
    assert response.context["form"].errors["end_date"]
    assert not world.account.subscriptions.filter(plan_name="Enterprise").exists()


def test_custom_billing_period_with_months_sets_the_mrr(client_for, world, alice):
    url = reverse("accounts:subscription_create", args=[world.account.pk])
    data = subscription_form_data(
        billing_period="custom", billing_period_months="18", discount_type="none"
    )
    assert client_for(alice).post(url, data).status_code == 302
    sub = world.account.subscriptions.get(plan_name="Enterprise")
    assert sub.billing_period_months == 18
    assert sub.mrr == Decimal("111.1111")  # 20 × 100 ÷ 18


def test_subscription_end_before_start_is_refused(client_for, world, alice):
    url = reverse("accounts:subscription_edit", args=[world.subscription.pk])
    data = subscription_form_data(start_date="2026-05-01", end_date="2026-04-01")
    response = _post(client_for(alice), url, data)
    assert response.context["form"].errors["end_date"]
    assert Subscription.objects.get(pk=world.subscription.pk).plan_name == "Pro"


def test_duplicate_contact_email_comes_back_as_a_form_error(client_for, world, alice):
    # The per-account unique email is checked by the service's full_clean, not the form.
    url = reverse("accounts:contact_create", args=[world.account.pk])
    response = _post(client_for(alice), url, contact_form_data(email="carla@acme.example"))
    assert response.context["form"].non_field_errors()


def test_duplicate_external_id_is_refused(client_for, world, alice, lead):
    AccountFactory(name="Other", external_id="CRM-1")
    url = reverse("accounts:edit", args=[world.account.pk])
    response = _post(client_for(lead), url, account_form_data(external_id="CRM-1"))
    assert response.context["form"].errors["external_id"]
    assert Account.objects.get(pk=world.account.pk).external_id is None


@pytest.mark.parametrize(
    ("name", "target", "data"),
    [
        ("accounts:create", None, {"name": ""}),
        ("accounts:task_create", "account", {"title": "", "kind": "call", "priority": "high"}),
        ("accounts:task_edit", "task", {"title": "x", "kind": "nope", "priority": "high"}),
        ("accounts:activity_create", "account", {"kind": "call", "subject": ""}),
        ("accounts:goal_create", "account", {"title": "", "status": "on_track"}),
        ("accounts:goal_edit", "goal", {"title": "G", "status": "bogus"}),
        ("accounts:contact_edit", "contact", contact_form_data(email="not-an-email")),
        ("accounts:task_complete", "task", {"outcome": "x" * 300}),
    ],
)
def test_invalid_forms_are_a_400_and_change_nothing(client_for, world, alice, name, target, data):
    args = [getattr(world, target).pk] if target else []
    _post(client_for(alice), reverse(name, args=args), data)
    assert Task.objects.get(pk=world.task.pk).status == TaskStatus.OPEN
    assert Goal.objects.get(pk=world.goal.pk).status == GoalStatus.NOT_STARTED


def test_goal_changes_are_kept_as_revisions(client_for, world, alice):
    url = reverse("accounts:goal_edit", args=[world.goal.pk])
    data = {"title": world.goal.title, "status": "achieved", "target": "7 days", "note": "QBR"}
    client_for(alice).post(url, data)
    revision = GoalRevision.objects.filter(goal=world.goal).first()
    assert (revision.status, revision.target, revision.note) == ("achieved", "7 days", "QBR")


def test_delete_asks_for_confirmation_on_get(client_for, world, alice):
    url = reverse("accounts:subscription_delete", args=[world.subscription.pk])
    response = client_for(alice).get(url)
    assert response.status_code == 200
    assert "This cannot be undone." in response.content.decode()
    assert Subscription.objects.filter(pk=world.subscription.pk).exists()


def test_deleting_a_subscription_refreshes_the_account_mrr(client_for, world, alice):
    client_for(alice).post(reverse("accounts:subscription_delete", args=[world.subscription.pk]))
    assert Account.objects.get(pk=world.account.pk).mrr == 0


def test_activity_logged_from_the_360_page_lands_on_the_timeline(client_for, world, alice):
    url = reverse("accounts:activity_create", args=[world.account.pk])
    response = client_for(alice).post(
        url, {"kind": "meeting", "subject": "Exec sync", "contacts": [world.contact.pk]}
    )
    assert response["Location"].endswith("#timeline")
    activity = Activity.objects.get(subject="Exec sync")
    assert activity.author.username == "alice"
    assert list(activity.contacts.all()) == [world.contact]
    page = client_for(alice).get(reverse("accounts:detail", args=[world.account.pk]))
    assert "Exec sync" in page.content.decode()


def test_activity_contacts_must_belong_to_the_account(client_for, world, alice):
    stranger = ContactFactory()
    url = reverse("accounts:activity_create", args=[world.account.pk])
    _post(client_for(alice), url, {"kind": "call", "subject": "x", "contacts": [stranger.pk]})


# Task list -----------------------------------------------------------------------------


@pytest.fixture
def team_tasks(world, alice, bob):
    today = TODAY()
    bobs_account = AccountFactory(owner=bob)
    return {
        "overdue": TaskFactory(
            account=world.account, title="Overdue", due_date=today - dt.timedelta(2)
        ),
        "later": TaskFactory(
            account=world.account, title="Later", due_date=today + dt.timedelta(9)
        ),
        "done": TaskFactory(account=world.account, title="Finished", status=TaskStatus.DONE),
        "bobs": TaskFactory(account=bobs_account, title="Bob's call", assignee=bob),
    }


def _task_titles(response) -> list[str]:
    return [t.title for t in response.context["page"].object_list]


def test_task_list_defaults_to_my_open_tasks_overdue_first(client_for, alice, team_tasks):
    response = client_for(alice).get(reverse("accounts:tasks"))
    assert _task_titles(response) == ["Overdue", "Call Carla", "Later"]


def test_task_list_team_scope_shows_everyone(client_for, lead, team_tasks):
    mine = client_for(lead).get(reverse("accounts:tasks"))
    assert _task_titles(mine) == []
    team = client_for(lead).get(reverse("accounts:tasks"), {"scope": "team"})
    assert _task_titles(team) == ["Overdue", "Call Carla", "Bob's call", "Later"]


def test_task_list_filters_by_assignee_status_and_overdue(client_for, lead, bob, team_tasks):
    c = client_for(lead)
    assert _task_titles(c.get(reverse("accounts:tasks"), {"assignee": bob.pk})) == ["Bob's call"]
    done = c.get(reverse("accounts:tasks"), {"scope": "team", "status": "done"})
    assert _task_titles(done) == ["Finished"]
    overdue = c.get(reverse("accounts:tasks"), {"scope": "team", "overdue": "true"})
    assert _task_titles(overdue) == ["Overdue"]


def test_task_list_hides_actions_on_tasks_the_user_may_not_change(client_for, bob, team_tasks):
    html = client_for(bob).get(reverse("accounts:tasks"), {"scope": "team"}).content.decode()
    assert reverse("accounts:task_complete", args=[team_tasks["bobs"].pk]) in html
    assert reverse("accounts:task_complete", args=[team_tasks["overdue"].pk]) not in html


def test_task_create_defaults_the_assignee_to_the_owner(client_for, world, lead, alice):
    url = reverse("accounts:task_create", args=[world.account.pk])
    client_for(lead).post(url, {"title": "Prep renewal", "kind": "renewal", "priority": "normal"})
    task = Task.objects.get(title="Prep renewal")
    assert task.assignee == alice and task.created_by.username == "lead"


@pytest.mark.parametrize(
    "url",
    [
        "/accounts/?ordering=password",
        "/accounts/?renewal_window=forever&owner=abc&tier=huge",
        "/accounts/?page=999",
        "/accounts/?page=abc&format=csv",
        "/tasks/?assignee=abc&due_before=yesterday&overdue=maybe",
        "/tasks/?page=-1&status=bogus",
    ],
)
def test_bad_query_parameters_never_break_a_list(client_for, vic, portfolio, url):
    response = client_for(vic).get(url)
    assert response.status_code == 200


def test_account_list_filters_unassigned_accounts(client_for, lead, alice):
    from accounts.tests.factories import AccountFactory

    AccountFactory(name="Owned", owner=alice)
    AccountFactory(name="Orphan", owner=None)
    response = client_for(lead).get("/accounts/?owner=null")
    names = [a.name for a in response.context["page"]]
    assert names == ["Orphan"]
