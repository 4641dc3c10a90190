"""The bell: each person sees their own notifications, unread first, and marks them read."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from playbooks.models import Notification
from playbooks.tests.factories import NotificationFactory


@pytest.fixture
def inbox(alice, bob):
    account = AccountFactory(name="Acme Rockets", owner=alice)
    now = timezone.now()
    old_unread = NotificationFactory(user=alice, title="Old but unread", account=account)
    read = NotificationFactory(user=alice, title="Already read", read_at=now)
    new_unread = NotificationFactory(
        user=alice, title="Acme Rockets: Health turned red", account=account, link="/accounts/"
    )
    Notification.objects.filter(pk=old_unread.pk).update(created_at=now - dt.timedelta(days=3))
    Notification.objects.filter(pk=read.pk).update(created_at=now)
    NotificationFactory(user=bob, title="Bob's own")
    return {"old": old_unread, "read": read, "new": new_unread, "account": account}


def test_the_bell_shows_the_unread_count_in_the_navbar(client_for, inbox, alice, bob, vic):
    html = client_for(alice).get(reverse("accounts:home")).content.decode()
    assert 'data-testid="notification-bell"' in html
    assert 'data-testid="bell-count">2</span>' in html
    none = client_for(vic).get(reverse("accounts:home")).content.decode()
    assert 'data-testid="bell-count">0</span>' in none and "d-none" in none


def test_the_bell_costs_one_query_and_nothing_for_anonymous_users(inbox, alice):
    from django.contrib.auth.models import AnonymousUser

    template = Template("{% load playbooks_ui %}{% notification_bell %}")
    request = RequestFactory().get("/")
    request.user = alice
    with CaptureQueriesContext(connection) as ctx:
        html = template.render(Context({"request": request}))
    assert len(ctx.captured_queries) == 1 and ">2</span>" in html
    request.user = AnonymousUser()
    with CaptureQueriesContext(connection) as ctx:
        assert template.render(Context({"request": request})).strip() == ""
    assert len(ctx.captured_queries) == 0


def test_the_list_shows_my_notifications_unread_first(client_for, inbox, alice):
    response = client_for(alice).get(reverse("playbooks:notifications"))
    titles = [n.title for n in response.context["page"]]
    assert titles == ["Acme Rockets: Health turned red", "Old but unread", "Already read"]
    assert response.context["unread"] == 2
    html = response.content.decode()
    assert "Bob's own" not in html
    assert reverse("accounts:detail", args=[inbox["account"].pk]) in html


def test_the_menu_lists_the_latest_for_the_dropdown(client_for, inbox, alice):
    response = client_for(alice).get(reverse("playbooks:notification_menu"), HTTP_HX_REQUEST="true")
    assert [n.title for n in response.context["notifications"]] == [
        "Acme Rockets: Health turned red",
        "Old but unread",
        "Already read",
    ]
    assert b"<html" not in response.content


def test_marking_one_read_with_htmx_returns_its_row_and_the_new_count(client_for, inbox, alice):
    url = reverse("playbooks:notification_read", args=[inbox["new"].pk])
    response = client_for(alice).post(url, HTTP_HX_REQUEST="true")
    inbox["new"].refresh_from_db()
    assert inbox["new"].read_at is not None
    html = response.content.decode()
    assert f'id="notification-{inbox["new"].pk}"' in html and 'data-testid="mark-read"' not in html
    assert 'id="bell-count" hx-swap-oob="true"' in html and ">1</span>" in html
    assert Notification.objects.get(pk=inbox["old"].pk).read_at is None


def test_nobody_marks_someone_elses_notification(client_for, inbox, bob):
    for name in ("playbooks:notification_read", "playbooks:notification_open"):
        method = "post" if name.endswith("read") else "get"
        response = getattr(client_for(bob), method)(reverse(name, args=[inbox["new"].pk]))
        assert response.status_code == 404
    assert Notification.objects.get(pk=inbox["new"].pk).read_at is None


def test_mark_all_read_only_touches_mine(client_for, inbox, alice, bob):
    client_for(alice).post(reverse("playbooks:notifications_read_all"))
    assert not Notification.objects.filter(user=alice, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=bob, read_at__isnull=True).count() == 1


def test_marking_read_needs_a_post(client_for, inbox, alice):
    url = reverse("playbooks:notification_read", args=[inbox["new"].pk])
    assert client_for(alice).get(url).status_code == 405
    assert client_for(alice).get(reverse("playbooks:notifications_read_all")).status_code == 405


def test_opening_a_notification_marks_it_read_and_follows_a_safe_link(client_for, inbox, alice):
    response = client_for(alice).get(reverse("playbooks:notification_open", args=[inbox["new"].pk]))
    assert response.status_code == 302 and response["Location"] == "/accounts/"
    assert Notification.objects.get(pk=inbox["new"].pk).read_at is not None
    # Without a link: the account; with a link elsewhere: the list, never another site.
    old = client_for(alice).get(reverse("playbooks:notification_open", args=[inbox["old"].pk]))
    assert old["Location"] == reverse("accounts:detail", args=[inbox["account"].pk])
    evil = NotificationFactory(user=alice, link="https://evil.example/phish")
    away = client_for(alice).get(reverse("playbooks:notification_open", args=[evil.pk]))
    assert away["Location"] == reverse("playbooks:notifications")
