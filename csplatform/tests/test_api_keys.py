"""API keys: stored hashed, shown once, usable in the Authorization header, revocable."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from csplatform.models import ApiKey
from csplatform.services import api_key_create


@pytest.fixture(autouse=True)
def _private_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "csplatform-test-api-keys",
        }
    }
    cache.clear()


def _client_with(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def _raw_key_in_database(raw: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM csplatform_apikey WHERE "
            "hashed_key = %s OR prefix = %s OR name = %s",
            [raw, raw, raw],
        )
        direct = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM csplatform_apikey t WHERE strpos(t::text, %s) > 0", [raw]
        )
        anywhere = cursor.fetchone()[0]
    return bool(direct or anywhere)


def test_only_the_hash_of_a_key_is_stored(alice):
    key, raw = api_key_create(user=alice, name="CRM sync")

    key.refresh_from_db()
    assert raw.startswith("csp_")
    assert len(raw) > 40
    assert key.hashed_key == hashlib.sha256(raw.encode()).hexdigest()
    assert key.prefix == raw[:12]
    assert not _raw_key_in_database(raw)


def test_the_settings_page_shows_a_new_key_once(client_for, alice):
    client = client_for(alice)

    created = client.post("/settings/api-keys/", {"name": "Zapier"})
    html = created.content.decode()
    match = re.search(r"Api-Key (csp_[A-Za-z0-9_\-]+)", html)
    assert created.status_code == 200
    assert match, html
    raw = match.group(1)
    key = ApiKey.objects.get(user=alice, name="Zapier")
    assert key.hashed_key == hashlib.sha256(raw.encode()).hexdigest()
    assert not _raw_key_in_database(raw)

    later = client.get("/settings/api-keys/").content.decode()
    assert raw not in later
    assert "Zapier" in later
    assert key.prefix in later

    assert _client_with(raw).get("/api/v1/accounts/").status_code == 200


def test_a_key_acts_as_its_user_and_records_its_last_use(vic):
    key, raw = api_key_create(user=vic, name="BI")

    read = _client_with(raw).get("/api/v1/accounts/")
    write = _client_with(raw).post("/api/v1/accounts/", {"name": "Nope"}, format="json")

    key.refresh_from_db()
    assert read.status_code == 200
    assert write.status_code == 403  # a viewer's key is read-only like the viewer
    assert key.last_used_at is not None


@pytest.mark.parametrize("keyword", ["Api-Key", "Token", "Bearer"])
def test_the_usual_authorization_keywords_work(alice, keyword):
    _key, raw = api_key_create(user=alice, name="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {raw}")

    assert client.get("/api/v1/accounts/").status_code == 200


def test_revoking_on_the_settings_page_stops_the_key(client_for, alice):
    key, raw = api_key_create(user=alice, name="old")
    api = _client_with(raw)
    assert api.get("/api/v1/accounts/").status_code == 200

    response = client_for(alice).post(f"/settings/api-keys/{key.pk}/revoke/")

    key.refresh_from_db()
    assert response.status_code == 302
    assert key.revoked_at is not None
    denied = api.get("/api/v1/accounts/")
    assert denied.status_code == 401
    assert denied.json()["code"] == "authentication_failed"


def test_nobody_revokes_someone_elses_key(client_for, alice, bob):
    key, raw = api_key_create(user=alice, name="mine")

    response = client_for(bob).post(f"/settings/api-keys/{key.pk}/revoke/")

    key.refresh_from_db()
    assert response.status_code == 404
    assert key.revoked_at is None
    assert _client_with(raw).get("/api/v1/accounts/").status_code == 200
