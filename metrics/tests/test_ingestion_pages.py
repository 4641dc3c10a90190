"""Ingestion pages: sources (Admin), the feature catalogue, end users, events CSV import."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import AccountFactory
from metrics.models import AccountDailyUsage, EndUser, Event, Feature, Source
from metrics.models.ingestion import EventImport
from metrics.services import ingestion as services

pytestmark = pytest.mark.django_db


# Sources ---------------------------------------------------------------------------------


def test_an_admin_creates_a_source_and_sees_the_key_only_once(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post("/metrics/sources/", {"name": "web app"})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert Source.objects.get().write_key_hash == services.write_key_hash(key)
    assert key not in client.get("/metrics/sources/").content.decode()


def test_an_admin_revokes_a_source(client_for, admin_user):
    source, key = services.source_create(name="web")
    client_for(admin_user).post(f"/metrics/sources/{source.pk}/revoke/")
    assert services.source_authenticate(write_key=key) is None


def test_vic_and_the_cs_lead_cannot_manage_sources(client_for, vic, lead):
    source, _ = services.source_create(name="web")
    assert client_for(vic).get("/metrics/sources/").status_code == 403
    assert client_for(lead).post("/metrics/sources/", {"name": "x"}).status_code == 403
    assert client_for(vic).post(f"/metrics/sources/{source.pk}/revoke/").status_code == 403
    assert Source.objects.get().revoked_at is None


# Features --------------------------------------------------------------------------------


def test_a_cs_lead_edits_a_feature_and_its_events(client_for, lead):
    feature = services.feature_save(feature=Feature(key="r", name="Reports"), event_names=["A"])
    response = client_for(lead).post(
        f"/metrics/features/{feature.pk}/",
        {
            "key": "r",
            "name": "Reporting",
            "is_core": "on",
            "plans_text": "Pro, Enterprise",
            "event_names_text": "Report Built\nReport Shared",
        },
    )
    assert response.status_code == 302
    feature.refresh_from_db()
    assert (feature.name, feature.is_core, feature.plans) == (
        "Reporting",
        True,
        ["Pro", "Enterprise"],
    )
    assert sorted(feature.events.values_list("event_name", flat=True)) == [
        "Report Built",
        "Report Shared",
    ]


def test_a_csm_reads_the_catalogue_but_cannot_edit_it(client_for, alice):
    feature = services.feature_save(feature=Feature(key="r", name="Reports"), event_names=["A"])
    client = client_for(alice)
    assert "Reports" in client.get("/metrics/features/").content.decode()
    assert (
        client.post(f"/metrics/features/{feature.pk}/", {"key": "r", "name": "X"}).status_code
        == 403
    )
    assert client.get("/metrics/features/new/").status_code == 403
    feature.refresh_from_db()
    assert feature.name == "Reports"


def test_feature_list_queries_do_not_grow_with_features(
    client_for, vic, django_assert_max_num_queries
):
    for i in range(30):
        services.feature_save(feature=Feature(key=f"f{i}", name=f"F{i}"), event_names=[f"E{i}"])
    client = client_for(vic)
    client.get("/metrics/features/")
    with django_assert_max_num_queries(8):
        assert client.get("/metrics/features/").status_code == 200


# End users -------------------------------------------------------------------------------


def test_end_user_list_shows_accounts_and_waiting_links_with_constant_queries(
    client_for, vic, django_assert_max_num_queries
):
    account = AccountFactory(external_id="CRM-1")
    EndUser.objects.bulk_create(
        [EndUser(external_id=f"u{i}", account=account) for i in range(40)]
        + [EndUser(external_id="w1", group_external_id="CRM-9")]
    )
    client = client_for(vic)
    client.get("/metrics/end-users/")
    with django_assert_max_num_queries(8):
        response = client.get("/metrics/end-users/")
    page = response.content.decode()
    assert account.name in page
    assert "CRM-9" in page


# Events CSV import ---------------------------------------------------------------------

GOOD = (
    "user_id,event,timestamp,account_external_id,plan\n"
    "ann,Exported,2026-03-02T10:00:00Z,CRM-1,pro\n"
    "ben,Exported,2026-03-02T11:00:00Z,CRM-1,pro\n"
)
BAD = (
    "user_id,event,timestamp\n"
    "ann,Exported,2026-03-02T10:00:00Z\n"
    ",Exported,2026-03-02T10:00:00Z\n"
    "ben,,2026-03-02T10:00:00Z\n"
    "cat,Exported,not a date\n"
)


def upload(client, text: str, name: str = "events.csv"):
    return client.post(
        "/metrics/events/import/", {"file": SimpleUploadedFile(name, text.encode(), "text/csv")}
    )


def test_a_good_file_is_previewed_then_imported_and_counted_once_if_imported_again(
    client_for, lead
):
    account = AccountFactory(external_id="CRM-1")
    client = client_for(lead)
    response = upload(client, GOOD)
    job = EventImport.objects.get()
    assert response.url == f"/metrics/events/import/{job.pk}/"
    assert not Event.objects.exists()  # preview writes nothing
    assert "ann" in client.get(response.url).content.decode()
    client.post(f"/metrics/events/import/{job.pk}/commit/")
    assert Event.objects.filter(account=account).count() == 2
    assert Event.objects.get(user_id="ann").properties == {"plan": "pro"}
    usage = AccountDailyUsage.objects.get(account=account)
    assert (usage.events, usage.active_users) == (2, 2)

    upload(client, GOOD, "again.csv")
    client.post(f"/metrics/events/import/{EventImport.objects.first().pk}/commit/")
    assert Event.objects.count() == 2
    assert AccountDailyUsage.objects.get(account=account).events == 2


def test_a_bad_file_changes_nothing_and_reports_each_bad_line(client_for, lead):
    client = client_for(lead)
    response = upload(client, BAD)
    job = EventImport.objects.get()
    assert job.status == "invalid"
    lines = [e["line"] for e in job.report["errors"]]
    assert lines == [3, 4, 5]
    page = client.get(response.url).content.decode()
    assert "timestamp" in page
    client.post(f"/metrics/events/import/{job.pk}/commit/")
    assert not Event.objects.exists()
    assert EventImport.objects.get().status == "invalid"


def test_a_file_without_required_columns_is_rejected_at_line_1(lead):
    job = services.event_import_create(
        filename="x.csv", raw=b"user_id,when\nann,today\n", actor=lead
    )
    assert job.report["errors"][0]["line"] == 1
    assert "event" in job.report["errors"][0]["message"]


def test_csms_cannot_import_events(client_for, alice):
    assert upload(client_for(alice), GOOD).status_code == 403
