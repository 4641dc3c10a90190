"""REST API of ingestion: the native bulk endpoint, features, sources, end users."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import AccountFactory
from metrics.models import AccountDailyUsage, EndUser, Event, Feature, Source
from metrics.services import ingestion as services

pytestmark = pytest.mark.django_db

BULK = "/api/v1/events/bulk/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def rows() -> list[dict]:
    return [
        {
            "message_id": "n-1",
            "user_id": "ann",
            "event": "Exported",
            "timestamp": "2026-03-02T10:00:00Z",
            "account_external_id": "CRM-1",
            "properties": {"format": "csv"},
        },
        {
            "message_id": "n-2",
            "user_id": "ann",
            "event": "Signed In",
            "timestamp": "2026-03-02T11:00:00Z",
        },
    ]


# Bulk ------------------------------------------------------------------------------------


def test_bulk_stores_events_links_accounts_and_counts_a_retry_once(lead):
    account = AccountFactory(external_id="CRM-1")
    first = api(lead).post(BULK, rows(), format="json")
    assert first.status_code == 200
    assert first.json() == {"received": 2, "inserted": 2, "duplicates": 0}
    again = api(lead).post(BULK, rows(), format="json")
    assert again.json() == {"received": 2, "inserted": 0, "duplicates": 2}
    assert Event.objects.filter(account=account).count() == 2
    services.rollups_fold()  # the periodic fold, at once
    assert AccountDailyUsage.objects.get(account=account).events == 2


def test_bulk_with_a_bad_row_stores_nothing_and_lists_every_bad_row(lead):
    bad = [*rows(), {"user_id": "x"}, {"event": "E", "user_id": "y", "timestamp": "yesterday"}]
    response = api(lead).post(BULK, bad, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]["rows"]
    assert [e["index"] for e in errors] == [2, 3]
    assert "event" in errors[0]["errors"]
    assert "timestamp" in errors[1]["errors"]
    assert not Event.objects.exists()


def test_bulk_needs_the_add_event_permission(alice, vic):
    assert api(alice).post(BULK, rows(), format="json").status_code == 403
    assert api(vic).post(BULK, rows(), format="json").status_code == 403
    assert APIClient().post(BULK, rows(), format="json").status_code in (401, 403)


def test_bulk_over_the_body_limit_is_413(lead, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api(lead).post(BULK, rows() * 20, format="json")
    assert response.status_code == 413
    assert not Event.objects.exists()


# Features ------------------------------------------------------------------------------


def test_a_cs_lead_creates_a_feature_with_its_events(lead):
    body = {
        "key": "reports",
        "name": "Reports",
        "is_core": True,
        "plans": ["Pro"],
        "event_names": ["Report Built", "Report Shared"],
        "release_date": "2026-01-15",
    }
    response = api(lead).post("/api/v1/features/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["event_names"] == ["Report Built", "Report Shared"]
    feature = Feature.objects.get(key="reports")
    assert sorted(feature.events.values_list("event_name", flat=True)) == [
        "Report Built",
        "Report Shared",
    ]


def test_a_csm_reads_features_but_cannot_change_them(alice):
    feature = services.feature_save(feature=Feature(key="f", name="F"), event_names=["E"])
    client = api(alice)
    assert client.get("/api/v1/features/").status_code == 200
    response = client.patch(f"/api/v1/features/{feature.pk}/", {"name": "G"}, format="json")
    assert response.status_code == 403
    assert (
        client.post("/api/v1/features/", {"key": "g", "name": "G"}, format="json").status_code
        == 403
    )


def test_feature_list_costs_the_same_queries_for_5_or_50(vic, django_assert_max_num_queries):
    for i in range(50):
        services.feature_save(
            feature=Feature(key=f"f{i}", name=f"F{i}"), event_names=[f"E{i}", f"X{i}"]
        )
    with django_assert_max_num_queries(6):
        response = api(vic).get("/api/v1/features/")
    assert response.json()["count"] == 50


# Sources ---------------------------------------------------------------------------------


def test_an_admin_creates_a_source_and_sees_its_write_key_once(admin_user):
    client = api(admin_user)
    created = client.post("/api/v1/sources/", {"name": "web"}, format="json")
    assert created.status_code == 201
    key = created.json()["write_key"]
    source = Source.objects.get()
    assert source.write_key_hash == services.write_key_hash(key)
    assert key not in str(client.get(f"/api/v1/sources/{source.pk}/").json())
    revoked = client.post(f"/api/v1/sources/{source.pk}/revoke/")
    assert revoked.json()["is_active"] is False
    assert services.source_authenticate(write_key=key) is None


def test_only_admins_manage_sources(vic, lead):
    assert api(vic).get("/api/v1/sources/").status_code == 403
    assert api(lead).post("/api/v1/sources/", {"name": "x"}, format="json").status_code == 403


# End users -------------------------------------------------------------------------------


def test_end_user_list_is_readable_by_a_viewer_with_constant_queries(
    vic, django_assert_max_num_queries
):
    api(vic)  # warm
    account = AccountFactory(external_id="CRM-1")
    EndUser.objects.bulk_create(
        [EndUser(external_id=f"u{i}", account=account if i % 2 else None) for i in range(60)]
    )
    with django_assert_max_num_queries(6):
        response = api(vic).get("/api/v1/end-users/")
    assert response.json()["count"] == 60
    assert {r["account_name"] for r in response.json()["results"]} == {account.name, None}
