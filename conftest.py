"""Test-wide set-up: real PostgreSQL and Redis by default, and the personas of the role matrix."""

import os
from pathlib import Path

# The database and broker are chosen in csplatform/settings_test.py (pytest-django loads
# the settings before this file).
# Playwright's sync API runs an event loop in the test thread; the ORM calls around it are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest

from csplatform.choices import Role


@pytest.fixture(autouse=True)
def _no_login_lockouts(settings):
    # Throttling has its own tests; elsewhere a client logging in many times must not lock out.
    settings.AXES_ENABLED = False


def _persona(django_user_model, username: str, role: Role, first_name: str):
    from csplatform.services import user_create

    return user_create(
        username=username,
        role=role,
        password="correct horse battery staple",
        email=f"{username}@example.com",
        first_name=first_name,
    )


@pytest.fixture
def alice(db, django_user_model):
    """A CSM who owns accounts."""
    return _persona(django_user_model, "alice", Role.CSM, "Alice")


@pytest.fixture
def bob(db, django_user_model):
    """Alice's fellow CSM; he must not edit her accounts."""
    return _persona(django_user_model, "bob", Role.CSM, "Bob")


@pytest.fixture
def lead(db, django_user_model):
    """The CS Lead: may change everything CS-related."""
    return _persona(django_user_model, "lead", Role.CS_LEAD, "Lena")


@pytest.fixture
def vic(db, django_user_model):
    """A read-only viewer (executive, finance)."""
    return _persona(django_user_model, "vic", Role.VIEWER, "Vic")


@pytest.fixture
def admin_user(db, django_user_model):
    return _persona(django_user_model, "root", Role.ADMIN, "Ada")


@pytest.fixture
def client_for(client):
    """client_for(user) → a test client logged in as that user."""
    from django.test import Client

    def make(user):
        c = Client()
        c.force_login(user)
        return c

    return make


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chromium():
    """Debian's headless Chromium driven by Playwright; the test is skipped without it."""
    if not CHROMIUM.exists():
        pytest.skip("needs the system Chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    """A fresh browser profile at 1280 px, as a person at a laptop has."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context
    context.close()
