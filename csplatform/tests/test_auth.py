"""Logging in and out, throttling, passwords, notification preferences and the role groups."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.urls import reverse

from csplatform import services
from csplatform.choices import EmailStatus, NotificationCategory, Role
from csplatform.models import OutboundEmail

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def _login(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


# Log in and out ---------------------------------------------------------------------------


def test_the_login_page_renders(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    content = response.content.decode()
    assert 'name="username"' in content
    assert 'name="password"' in content
    assert reverse("password_reset") in content


def test_correct_credentials_lead_to_the_home_page(client, alice):
    response = _login(client, "alice", PASSWORD)

    assert response.status_code == 302
    assert response.url == reverse("accounts:home")
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_a_wrong_password_shows_the_form_again(client, alice):
    response = _login(client, "alice", "wrong")

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Please enter a correct username and password" in response.content.decode()


def test_pages_need_a_login(client):
    response = client.get(reverse("settings_notifications"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_logout_is_a_post(client, alice):
    client.force_login(alice)

    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session


# Throttling -------------------------------------------------------------------------------


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    return settings


def test_repeated_failures_lock_the_account_even_for_the_right_password(client, alice, axes_on):
    for _ in range(axes_on.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "alice", "wrong").status_code == 200
    locked = _login(client, "alice", "wrong")
    assert locked.status_code == 429

    response = _login(client, "alice", PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    content = response.content.decode()
    assert 'data-testid="locked-out"' in content
    assert "Logging in failed 3 times in a row" in content
    assert reverse("password_reset") in content


def test_a_lockout_is_per_user_and_address(client, alice, bob, axes_on):
    for _ in range(axes_on.AXES_FAILURE_LIMIT):
        _login(client, "alice", "wrong")

    response = _login(client, "bob", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(bob.pk)


def test_failures_below_the_limit_do_not_lock(client, alice, axes_on):
    for _ in range(axes_on.AXES_FAILURE_LIMIT - 1):
        _login(client, "alice", "wrong")

    assert _login(client, "alice", PASSWORD).status_code == 302


# Passwords --------------------------------------------------------------------------------


def test_password_change(client, alice):
    client.force_login(alice)
    new = "a brand new passphrase 42"

    assert client.get(reverse("password_change")).status_code == 200
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302
    assert response.url == reverse("password_change_done")
    assert client.get(response.url).status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(new)
    assert client.session["_auth_user_id"] == str(alice.pk)  # still logged in


def test_password_change_needs_the_old_password(client, alice):
    client.force_login(alice)

    response = client.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_password_reset_goes_through_the_outbox(
    client, alice, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://cs.example.com"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    row = OutboundEmail.objects.get()
    assert row.category == NotificationCategory.SECURITY
    assert row.to == ["alice@example.com"]
    assert row.user == alice
    assert row.status == EmailStatus.SENT
    assert len(mail.outbox) == 1
    match = re.search(r"https://cs\.example\.com(/password/reset/[^/\s]+/[^/\s]+/)", row.body_text)
    assert match, row.body_text
    assert f'href="https://cs.example.com{match[1]}"' in row.body_html
    # The reset token travels in the body only, never in the key sent as a mail header.
    token = match[1].rstrip("/").rsplit("/", 1)[1]
    assert token not in row.idempotency_key
    assert token not in str(mail.outbox[0].extra_headers)

    # Following the link leads to a form for the new password.
    response = client.get(match[1], follow=True)
    assert response.status_code == 200
    assert response.context["validlink"] is True
    set_password_url = response.redirect_chain[-1][0]
    new = "another fine passphrase 7"
    response = client.post(set_password_url, {"new_password1": new, "new_password2": new})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")
    alice.refresh_from_db()
    assert alice.check_password(new)
    # The link works once.
    assert client.get(match[1], follow=True).context["validlink"] is False


def test_password_reset_does_not_reveal_whether_an_account_exists(client, alice):
    known = client.post(reverse("password_reset"), {"email": "alice@example.com"}, follow=True)
    OutboundEmail.objects.all().delete()

    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)

    assert not OutboundEmail.objects.exists()
    assert unknown.redirect_chain == known.redirect_chain

    def page(response) -> str:  # the CSRF token differs from one response to the next
        return re.sub(r'"X-CSRFToken": "[^"]*"', "", response.content.decode())

    assert page(unknown) == page(known)


def test_a_double_submitted_reset_sends_one_email(client, alice, monkeypatch):
    import datetime as dt

    from csplatform import forms

    clock = [dt.datetime(2026, 3, 2, 9, 15, 30, 800000, tzinfo=dt.UTC)]
    monkeypatch.setattr(forms.timezone, "now", lambda: clock[0])
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    clock[0] += dt.timedelta(milliseconds=300)  # across a second boundary
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    # Within the minute: one email. A minute later: a fresh one.
    assert OutboundEmail.objects.count() == 1
    clock[0] += dt.timedelta(minutes=1)
    client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert OutboundEmail.objects.count() == 2


# Notification preferences -----------------------------------------------------------------


def test_notification_preferences_are_saved_and_obeyed(client, alice):
    client.force_login(alice)
    page = client.get(reverse("settings_notifications"))
    assert page.status_code == 200
    assert 'value="digest"' in page.content.decode()

    response = client.post(reverse("settings_notifications"), {"categories": ["alerts"]})

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.notification_preferences == {
        "alerts": True,
        "digest": False,
        "reminders": False,
        "assignments": False,
    }
    statuses = {
        category: services.email_enqueue(
            idempotency_key=f"pref:{category}",
            template="notice",
            context={"subject": "s", "message": "m"},
            to=[alice.email],
            category=category,
            user=alice,
        ).status
        for category in ("alerts", "digest", "security")
    }
    assert statuses == {
        "alerts": EmailStatus.PENDING,
        "digest": EmailStatus.SUPPRESSED,
        "security": EmailStatus.PENDING,
    }


def test_an_unknown_notification_category_is_refused(client, alice):
    client.force_login(alice)

    response = client.post(reverse("settings_notifications"), {"categories": ["spam"]})

    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.notification_preferences == {}


# Roles ------------------------------------------------------------------------------------


def _codenames(role: Role) -> set[str]:
    return set(
        Group.objects.get(name=role.value).permissions.values_list(
            "content_type__app_label", "codename"
        )
    )


def test_every_role_group_exists_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)


def test_a_viewer_may_only_view():
    perms = _codenames(Role.VIEWER)

    assert ("accounts", "view_account") in perms
    assert all(codename.startswith("view_") for _app, codename in perms)


def test_a_csm_may_write_account_records():
    perms = _codenames(Role.CSM)

    for model in ("account", "contact", "subscription", "activity", "task", "goal"):
        for action in ("add", "change", "delete", "view"):
            assert ("accounts", f"{action}_{model}") in perms
    assert not any(app in ("auth", "csplatform", "axes") for app, _codename in perms)


def test_a_cs_lead_holds_every_permission_of_the_cs_apps():
    perms = _codenames(Role.CS_LEAD)
    accounts_perms = set(
        Permission.objects.filter(content_type__app_label="accounts").values_list(
            "content_type__app_label", "codename"
        )
    )

    assert accounts_perms
    assert accounts_perms <= perms
    assert not any(app in ("auth", "csplatform") for app, _codename in perms)


def test_an_admin_holds_every_permission():
    assert _codenames(Role.ADMIN) == set(
        Permission.objects.values_list("content_type__app_label", "codename")
    )


def test_user_role(alice, lead, vic, admin_user):
    assert alice.role == Role.CSM
    assert lead.role == Role.CS_LEAD
    assert vic.role == Role.VIEWER
    assert admin_user.role == Role.ADMIN
    assert admin_user.is_staff and admin_user.is_superuser
    assert lead.is_cs_lead_or_admin and not alice.is_cs_lead_or_admin
    assert alice.has_perm("accounts.change_account")
    assert not vic.has_perm("accounts.change_account")


def test_changing_a_role_replaces_the_old_one(alice):
    services.user_set_role(user=alice, role=Role.VIEWER)

    assert alice.role == Role.VIEWER
    assert list(alice.groups.values_list("name", flat=True)) == [Role.VIEWER.value]
