"""/api/v1/qbrs/: the role matrix, a QBR from planning to follow-up through the API, bad
input as 400 with field errors, exports and the due list, and list query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Task
from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.services import api_key_create
from onboarding.tests.test_queries import same_for_5_and_50
from qbr.models import Qbr
from qbr.tests.factories import QbrFactory, grow_with_qbrs, held

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    _key, raw = api_key_create(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def account(alice):
    return AccountFactory(name="Acme", owner=alice)


def test_a_qbr_from_planning_to_follow_up(alice, account):
    c = api(alice)
    pat = ContactFactory(account=account, email="pat@acme.example")
    created = c.post(
        "/api/v1/qbrs/",
        {
            "account": account.pk,
            "kind": "ebr",
            "period_start": "2026-07-01",
            "period_end": "2026-09-30",
            "contact_ids": [pat.pk],
            "narrative": {"summary": "<b>Great</b> quarter"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["narrative"] == {"summary": "<b>Great</b> quarter"}
    assert c.post(f"/api/v1/qbrs/{pk}/prepare/").json()["status"] == "prepared"
    patched = c.patch(
        f"/api/v1/qbrs/{pk}/",
        {"optional_sections": ["wins"], "narrative": {"wins": "Live"}},
        format="json",
    )
    assert patched.status_code == 200 and patched.json()["optional_sections"] == ["wins"]
    today = timezone.localdate().isoformat()
    assert (
        c.post(
            f"/api/v1/qbrs/{pk}/hold/", {"held_on": today, "notes": "Good"}, format="json"
        ).json()["status"]
        == "held"
    )
    followed = c.post(
        f"/api/v1/qbrs/{pk}/follow-up/",
        {"steps": [{"text": "Send the report"}, {"text": "Confirm seats", "side": "customer"}]},
        format="json",
    )
    assert followed.status_code == 200, followed.content
    body = followed.json()
    assert body["status"] == "followed_up"
    assert [s["text"] for s in body["next_steps"]] == ["Send the report", "Confirm seats"]
    assert Task.objects.filter(account=account, source="qbr").count() == 2
    pdf = c.get(f"/api/v1/qbrs/{pk}/export/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_bad_input_is_a_400_with_field_errors(alice, account):
    c = api(alice)
    stranger = ContactFactory()
    cases = [
        (
            {"account": account.pk, "period_start": "2026-09-01", "period_end": "2026-08-01"},
            "period_end",
        ),
        ({"account": account.pk, "contact_ids": [stranger.pk]}, "contact_ids"),
        ({"account": account.pk, "narrative": {"bogus": "x"}}, "narrative"),
        ({"account": account.pk, "kind": "weekly"}, "kind"),
        ({"account": 999_999}, "account"),
        ({"kind": "qbr"}, "account"),
    ]
    for body, field in cases:
        response = c.post("/api/v1/qbrs/", body, format="json")
        assert response.status_code == 400 and field in response.json()["errors"], (
            body,
            response.content,
        )
    assert not Qbr.objects.exists()
    q = QbrFactory(account=account)
    assert (
        c.post(
            f"/api/v1/qbrs/{q.pk}/follow-up/", {"steps": [{"text": "x"}]}, format="json"
        ).status_code
        == 400
    )
    assert (
        c.post(f"/api/v1/qbrs/{q.pk}/follow-up/", {"steps": []}, format="json").status_code == 400
    )
    future = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    assert (
        c.post(f"/api/v1/qbrs/{q.pk}/hold/", {"held_on": future}, format="json").status_code == 400
    )
    assert c.get(f"/api/v1/qbrs/{q.pk}/export/doc/").status_code == 404
    assert (
        c.post(
            f"/api/v1/qbrs/{q.pk}/invite/", {"contact_ids": [stranger.pk]}, format="json"
        ).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("persona", "may_change"), [("alice", True), ("bob", False), ("lead", True), ("vic", False)]
)
def test_role_matrix(request, account, persona, may_change):
    c = api(request.getfixturevalue(persona))
    q = QbrFactory(account=account)
    assert c.get("/api/v1/qbrs/").status_code == 200
    assert c.get(f"/api/v1/qbrs/{q.pk}/").status_code == 200
    assert c.get("/api/v1/qbrs/due/").status_code == 200
    assert c.get(f"/api/v1/qbrs/{q.pk}/export/pptx/").status_code == 200
    expected = 200 if may_change else 403
    assert c.post(f"/api/v1/qbrs/{q.pk}/prepare/").status_code == expected
    created = c.post("/api/v1/qbrs/", {"account": account.pk}, format="json")
    assert created.status_code == (201 if may_change else 403)


def test_the_due_list(alice, account):
    held(account, timezone.localdate() - dt.timedelta(days=100))
    response = api(alice).get("/api/v1/qbrs/due/?overdue=true")
    rows = response.json()["results"]
    assert [(r["account_name"], r["cadence"], r["cadence_reason"]) for r in rows] == [
        ("Acme", "quarterly", "default")
    ]
    assert rows[0]["due_on"] == (timezone.localdate() - dt.timedelta(days=9)).isoformat()
    assert api(alice).get("/api/v1/qbrs/due/?owner=abc").status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/qbrs/", "/api/v1/qbrs/due/"])
def test_lists_cost_the_same_for_5_and_50(alice, path, django_assert_max_num_queries):
    same_for_5_and_50(api(alice), path, grow_with_qbrs(alice), django_assert_max_num_queries)
