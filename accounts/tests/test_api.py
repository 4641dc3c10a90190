"""The /api/v1/ endpoints of the accounts records: role matrix, errors, filters, MRR."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.utils import timezone
from rest_framework.test import APIClient, APIRequestFactory

from accounts import services
from accounts.choices import BillingPeriod, DiscountType, TaskStatus, Tier
from accounts.models import Account, Activity, Contact, Goal, GoalRevision, Subscription, Task
from accounts.tests.factories import (
    AccountFactory,
    ActivityFactory,
    ContactFactory,
    GoalFactory,
    SubscriptionFactory,
    TaskFactory,
)
from csplatform.api.exceptions import exception_handler
from csplatform.services import api_key_create, api_key_revoke

TODAY = timezone.localdate


@pytest.fixture(autouse=True)
def _private_cache(settings):
    # Throttle counters live in the cache; keep them away from other test runs' Redis keys.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "accounts-test-api",
        }
    }
    cache.clear()
    yield
    cache.clear()


def api_client(user=None) -> APIClient:
    """A client that authenticates with a freshly created API key (anonymous for None)."""
    client = APIClient()
    if user is not None:
        _key, raw = api_key_create(user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


@pytest.fixture
def personas(alice, bob, lead, vic):
    return {"alice": alice, "bob": bob, "lead": lead, "vic": vic, "anonymous": None}


@pytest.fixture
def alice_account(alice):
    return AccountFactory(owner=alice, name="Alice Co")


@pytest.fixture
def bob_account(bob):
    return AccountFactory(owner=bob, name="Bob Co")


# The role matrix -----------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    """How to make, create, change and replace one kind of record in the matrix tests."""

    url: str
    model: type[models.Model]
    make: Any  # (account) -> obj on that account
    create: Any  # (account, owner) -> payload
    patch: dict[str, Any]
    put: Any  # (obj) -> payload
    changed: Any  # (obj) -> the value patch/put set


def _today() -> str:
    return TODAY().isoformat()


RESOURCES = {
    "accounts": Resource(
        url="accounts",
        model=Account,
        make=lambda account: account,
        create=lambda account, owner: {"name": "Newco", "owner": owner.pk, "tier": "enterprise"},
        patch={"name": "Renamed"},
        put=lambda obj: {"name": "Renamed", "owner": obj.owner_id, "tier": "smb"},
        changed=lambda obj: obj.name,
    ),
    "contacts": Resource(
        url="contacts",
        model=Contact,
        make=lambda account: ContactFactory(account=account),
        create=lambda account, owner: {
            "account": account.pk,
            "first_name": "Ann",
            "email": "ann@newco.example",
            "power_role": "champion",
        },
        patch={"first_name": "Renamed"},
        put=lambda obj: {"account": obj.account_id, "first_name": "Renamed", "email": ""},
        changed=lambda obj: obj.first_name,
    ),
    "subscriptions": Resource(
        url="subscriptions",
        model=Subscription,
        make=lambda account: SubscriptionFactory(account=account),
        create=lambda account, owner: {
            "account": account.pk,
            "plan_name": "Pro",
            "unit_price": "100.00",
            "start_date": _today(),
        },
        patch={"plan_name": "Renamed"},
        put=lambda obj: {
            "account": obj.account_id,
            "plan_name": "Renamed",
            "unit_price": "10.00",
            "start_date": _today(),
        },
        changed=lambda obj: obj.plan_name,
    ),
    "activities": Resource(
        url="activities",
        model=Activity,
        make=lambda account: ActivityFactory(account=account),
        create=lambda account, owner: {"account": account.pk, "kind": "call", "subject": "Call"},
        patch={"subject": "Renamed"},
        put=lambda obj: {"account": obj.account_id, "kind": "meeting", "subject": "Renamed"},
        changed=lambda obj: obj.subject,
    ),
    "tasks": Resource(
        url="tasks",
        model=Task,
        make=lambda account: TaskFactory(account=account),
        create=lambda account, owner: {"account": account.pk, "title": "Call the sponsor"},
        patch={"title": "Renamed"},
        put=lambda obj: {"account": obj.account_id, "title": "Renamed", "priority": "high"},
        changed=lambda obj: obj.title,
    ),
    "goals": Resource(
        url="goals",
        model=Goal,
        make=lambda account: GoalFactory(account=account),
        create=lambda account, owner: {"account": account.pk, "title": "Halve onboarding"},
        patch={"title": "Renamed"},
        put=lambda obj: {"account": obj.account_id, "title": "Renamed", "status": "on_track"},
        changed=lambda obj: obj.title,
    ),
}

# Who may write records of alice's account: alice (owner) and the CS Lead.
WRITE_STATUS = {"alice": None, "bob": 403, "lead": None, "vic": 403, "anonymous": 401}
PERSONAS = list(WRITE_STATUS)


def _list_url(resource: Resource) -> str:
    return f"/api/v1/{resource.url}/"


def _detail_url(resource: Resource, obj: models.Model) -> str:
    return f"/api/v1/{resource.url}/{obj.pk}/"


@pytest.mark.parametrize("name", RESOURCES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_role_reads_lists_and_records_anonymous_gets_401(
    name, persona, personas, alice_account
):
    resource = RESOURCES[name]
    obj = resource.make(alice_account)
    client = api_client(personas[persona])

    listed = client.get(_list_url(resource))
    one = client.get(_detail_url(resource, obj))

    if persona == "anonymous":
        assert listed.status_code == one.status_code == 401
        assert listed["WWW-Authenticate"].startswith("Api-Key")
        assert listed.json()["code"] == "not_authenticated"
    else:
        assert listed.status_code == 200, listed.content
        assert obj.pk in [row["id"] for row in listed.json()["results"]]
        assert one.status_code == 200
        assert one.json()["id"] == obj.pk


@pytest.mark.parametrize("name", RESOURCES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_create_on_alices_account_is_for_alice_and_the_lead(
    name, persona, personas, alice, alice_account
):
    resource = RESOURCES[name]
    before = resource.model.objects.count()

    response = api_client(personas[persona]).post(
        _list_url(resource), resource.create(alice_account, alice), format="json"
    )

    expected = WRITE_STATUS[persona]
    if expected is None:
        assert response.status_code == 201, response.content
        assert resource.model.objects.count() == before + 1
        assert resource.model.objects.filter(pk=response.json()["id"]).exists()
    else:
        assert response.status_code == expected, response.content
        assert resource.model.objects.count() == before


@pytest.mark.parametrize("name", RESOURCES)
@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("method", ["patch", "put"])
def test_update_of_alices_record_is_for_alice_and_the_lead(
    name, persona, method, personas, alice_account
):
    resource = RESOURCES[name]
    obj = resource.make(alice_account)
    payload = resource.patch if method == "patch" else resource.put(obj)
    before = resource.changed(obj)

    client = api_client(personas[persona])
    response = getattr(client, method)(_detail_url(resource, obj), payload, format="json")

    obj.refresh_from_db()
    expected = WRITE_STATUS[persona]
    if expected is None:
        assert response.status_code == 200, response.content
        assert resource.changed(obj) == "Renamed"
        assert response.json()["id"] == obj.pk
    else:
        assert response.status_code == expected, response.content
        assert resource.changed(obj) == before


@pytest.mark.parametrize("name", RESOURCES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_delete_of_alices_record_is_for_alice_and_the_lead(name, persona, personas, alice_account):
    resource = RESOURCES[name]
    obj = resource.make(alice_account)

    response = api_client(personas[persona]).delete(_detail_url(resource, obj))

    expected = WRITE_STATUS[persona]
    exists = resource.model.objects.filter(pk=obj.pk).exists()
    if expected is None:
        assert response.status_code == 204, response.content
        assert not exists
    else:
        assert response.status_code == expected
        assert exists


@pytest.mark.parametrize("name", [n for n in RESOURCES if n != "accounts"])
def test_a_csm_cannot_move_a_record_to_a_colleagues_account(
    name, alice, alice_account, bob_account
):
    resource = RESOURCES[name]
    obj = resource.make(alice_account)

    response = api_client(alice).patch(
        _detail_url(resource, obj), {"account": bob_account.pk}, format="json"
    )

    assert response.status_code == 403
    obj.refresh_from_db()
    assert obj.account_id == alice_account.pk


def test_a_csm_creates_accounts_for_herself_only(alice, bob):
    client = api_client(alice)

    mine = client.post("/api/v1/accounts/", {"name": "Mine"}, format="json")
    for_bob = client.post("/api/v1/accounts/", {"name": "Bobs", "owner": bob.pk}, format="json")

    assert mine.status_code == 201
    assert Account.objects.get(name="Mine").owner == alice
    assert for_bob.status_code == 403
    assert not Account.objects.filter(name="Bobs").exists()


def test_only_the_lead_hands_an_account_to_another_csm(alice, bob, lead, alice_account):
    refused = api_client(alice).patch(
        f"/api/v1/accounts/{alice_account.pk}/", {"owner": bob.pk}, format="json"
    )
    alice_account.refresh_from_db()
    assert refused.status_code == 403
    assert alice_account.owner == alice

    done = api_client(lead).patch(
        f"/api/v1/accounts/{alice_account.pk}/", {"owner": bob.pk}, format="json"
    )
    alice_account.refresh_from_db()
    assert done.status_code == 200
    assert alice_account.owner == bob
    assert done.json()["owner_name"] == "Bob"


def test_the_assignee_updates_and_completes_a_task_on_someone_elses_account(bob, alice_account):
    task = TaskFactory(account=alice_account, assignee=bob)
    client = api_client(bob)

    updated = client.patch(f"/api/v1/tasks/{task.pk}/", {"priority": "high"}, format="json")
    completed = client.post(
        f"/api/v1/tasks/{task.pk}/complete/", {"outcome": "Booked", "note": "QBR set"}
    )
    deleted = client.delete(f"/api/v1/tasks/{task.pk}/")

    task.refresh_from_db()
    assert updated.status_code == 200
    assert completed.status_code == 200, completed.content
    assert task.priority == "high"
    assert task.status == TaskStatus.DONE
    assert task.outcome == "Booked"
    assert deleted.status_code == 403
    assert Task.objects.filter(pk=task.pk).exists()


@pytest.mark.parametrize(("persona", "expected"), [("bob", 403), ("vic", 403), ("alice", 200)])
def test_complete_follows_the_role_matrix(persona, expected, personas, alice_account):
    task = TaskFactory(account=alice_account)  # assigned to alice, the owner

    response = api_client(personas[persona]).post(f"/api/v1/tasks/{task.pk}/complete/", {})

    task.refresh_from_db()
    assert response.status_code == expected
    assert (task.status == TaskStatus.DONE) == (expected == 200)


def test_complete_logs_the_task_on_the_timeline_and_refuses_a_closed_task(alice, alice_account):
    task = TaskFactory(account=alice_account)
    client = api_client(alice)

    first = client.post(
        f"/api/v1/tasks/{task.pk}/complete/", {"outcome": "Renewed", "note": "2 years"}
    )
    again = client.post(f"/api/v1/tasks/{task.pk}/complete/", {})

    assert first.status_code == 200
    assert first.json()["status"] == "done"
    assert first.json()["completed_at"]
    assert Activity.objects.filter(account=alice_account, metadata__task_id=task.pk).count() == 1
    assert again.status_code == 400
    assert "status" in again.json()["errors"]


def test_snooze_moves_the_due_date_to_a_future_day_only(alice, alice_account):
    task = TaskFactory(account=alice_account)
    client = api_client(alice)
    until = TODAY() + dt.timedelta(days=7)

    ok = client.post(f"/api/v1/tasks/{task.pk}/snooze/", {"until": until.isoformat()})
    past = client.post(f"/api/v1/tasks/{task.pk}/snooze/", {"until": TODAY().isoformat()})
    garbage = client.post(f"/api/v1/tasks/{task.pk}/snooze/", {"until": "not a date"})

    task.refresh_from_db()
    assert ok.status_code == 200
    assert ok.json()["snoozed_until"] == until.isoformat()
    assert task.due_date == until
    assert past.status_code == 400
    assert "until" in past.json()["errors"]
    assert garbage.status_code == 400


def test_a_viewer_cannot_snooze(vic, alice_account):
    task = TaskFactory(account=alice_account)
    until = TODAY() + dt.timedelta(days=7)

    response = api_client(vic).post(f"/api/v1/tasks/{task.pk}/snooze/", {"until": str(until)})

    task.refresh_from_db()
    assert response.status_code == 403
    assert task.snoozed_until is None


def test_session_authentication_works_too(alice, alice_account):
    client = APIClient()
    client.force_login(alice)

    response = client.get("/api/v1/accounts/")

    assert response.status_code == 200
    assert response.json()["count"] == 1


# Validation errors ---------------------------------------------------------------------


def _errors(response) -> dict[str, list[str]]:
    body = response.json()
    assert response.status_code == 400, body
    assert body["code"] == "invalid"
    assert body["detail"]
    return body["errors"]


def test_a_custom_billing_period_needs_its_months(alice, alice_account):
    response = api_client(alice).post(
        "/api/v1/subscriptions/",
        {
            "account": alice_account.pk,
            "plan_name": "Odd",
            "unit_price": "100",
            "billing_period": "custom",
            "start_date": _today(),
        },
        format="json",
    )

    assert "billing_period_months" in _errors(response)
    assert not Subscription.objects.exists()


def test_end_date_before_start_date_is_refused(alice, alice_account):
    response = api_client(alice).post(
        "/api/v1/subscriptions/",
        {
            "account": alice_account.pk,
            "plan_name": "Pro",
            "unit_price": "100",
            "start_date": "2025-06-01",
            "end_date": "2025-05-01",
        },
        format="json",
    )

    assert "end_date" in _errors(response)
    assert not Subscription.objects.exists()


def test_patching_only_the_end_date_is_checked_against_the_stored_start(alice, alice_account):
    sub = SubscriptionFactory(account=alice_account)

    response = api_client(alice).patch(
        f"/api/v1/subscriptions/{sub.pk}/",
        {"end_date": (sub.start_date - dt.timedelta(days=1)).isoformat()},
        format="json",
    )

    assert "end_date" in _errors(response)
    old_end = sub.end_date
    sub.refresh_from_db()
    assert sub.end_date == old_end


def test_bad_email_and_unknown_choice_are_field_errors(alice, alice_account):
    client = api_client(alice)

    contact = client.post(
        "/api/v1/contacts/",
        {"account": alice_account.pk, "first_name": "Ann", "email": "not-an-email"},
        format="json",
    )
    account = client.post("/api/v1/accounts/", {"name": "X", "tier": "galactic"}, format="json")

    assert "email" in _errors(contact)
    assert "tier" in _errors(account)
    assert not Contact.objects.exists()
    assert not Account.objects.filter(name="X").exists()


def test_missing_required_fields_and_negative_money_are_field_errors(alice, alice_account):
    response = api_client(alice).post(
        "/api/v1/subscriptions/",
        {"account": alice_account.pk, "unit_price": "-5", "start_date": _today()},
        format="json",
    )

    errors = _errors(response)
    assert "plan_name" in errors
    assert "unit_price" in errors


def test_a_duplicate_contact_email_is_reported_on_the_email_field(alice, alice_account):
    ContactFactory(account=alice_account, email="ann@x.example")

    response = api_client(alice).post(
        "/api/v1/contacts/",
        {"account": alice_account.pk, "first_name": "Ann", "email": "ann@x.example"},
        format="json",
    )

    assert "email" in _errors(response)
    assert Contact.objects.filter(email="ann@x.example").count() == 1


def test_activity_contacts_must_belong_to_its_account(alice, alice_account, bob_account):
    stranger = ContactFactory(account=bob_account)

    response = api_client(alice).post(
        "/api/v1/activities/",
        {"account": alice_account.pk, "subject": "Call", "contacts": [stranger.pk]},
        format="json",
    )

    assert "contacts" in _errors(response)
    assert not Activity.objects.filter(subject="Call").exists()


def test_model_validation_errors_from_services_become_400_with_field_errors():
    request = APIRequestFactory().post("/api/v1/accounts/")
    response = exception_handler(
        DjangoValidationError({"name": ["Too long."], "__all__": ["Clash."]}),
        {"request": request, "view": None},
    )

    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert response.data["errors"] == {"name": ["Too long."], "non_field_errors": ["Clash."]}


def test_an_invalid_filter_value_is_a_400(alice):
    response = api_client(alice).get("/api/v1/accounts/", {"tier": "galactic"})

    assert "tier" in _errors(response)


def test_malformed_json_is_a_400(alice):
    response = api_client(alice).post(
        "/api/v1/accounts/", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"


# 401 / 404 / 413 / 429 -----------------------------------------------------------------


def test_no_key_an_unknown_key_and_a_revoked_key_get_401(alice, alice_account):
    key, raw = api_key_create(user=alice, name="soon revoked")
    revoked = APIClient()
    revoked.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert revoked.get("/api/v1/accounts/").status_code == 200
    api_key_revoke(key=key)
    unknown = APIClient()
    unknown.credentials(HTTP_AUTHORIZATION="Api-Key csp_not-a-real-key")
    malformed = APIClient()
    malformed.credentials(HTTP_AUTHORIZATION="Api-Key")

    for client in (APIClient(), unknown, revoked, malformed):
        response = client.get("/api/v1/accounts/")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == 'Api-Key realm="api"'
        assert set(response.json()) == {"detail", "code"}
    assert revoked.get("/api/v1/accounts/").json()["code"] == "authentication_failed"


def test_an_inactive_users_key_gets_401(alice):
    _key, raw = api_key_create(user=alice, name="x")
    alice.is_active = False
    alice.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")

    assert client.get("/api/v1/accounts/").status_code == 401


def test_anonymous_writes_get_401_and_change_nothing(alice_account):
    response = APIClient().post("/api/v1/accounts/", {"name": "Anon"}, format="json")

    assert response.status_code == 401
    assert not Account.objects.filter(name="Anon").exists()


@pytest.mark.parametrize("name", RESOURCES)
def test_an_unknown_record_is_404(name, alice):
    client = api_client(alice)
    url = f"/api/v1/{RESOURCES[name].url}/999999/"

    got = client.get(url)
    patched = client.patch(url, {}, format="json")

    assert got.status_code == patched.status_code == 404
    assert got.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_body_over_the_upload_limit_gets_413_and_changes_nothing(settings, alice):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = json.dumps({"name": "Big", "industry": "x" * 2000})

    response = api_client(alice).post(
        "/api/v1/accounts/", data=body, content_type="application/json"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert "1024 bytes" in response.json()["detail"]
    assert not Account.objects.filter(name="Big").exists()


def test_a_form_body_over_the_upload_limit_gets_413(settings, alice):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = api_client(alice).post(
        "/api/v1/accounts/", {"name": "Big", "industry": "x" * 2000}, format="multipart"
    )

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not Account.objects.filter(name="Big").exists()


def test_too_many_requests_get_429_with_retry_after(settings, alice):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute"},
    }
    cache.clear()
    client = api_client(alice)

    statuses = [client.get("/api/v1/accounts/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/accounts/")
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert int(response["Retry-After"]) > 0


def test_anonymous_requests_are_throttled_by_the_anon_rate(settings, client):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1/minute", "user": "100/minute"},
    }
    cache.clear()

    # The schema is open to everyone, so it shows the anonymous rate at work.
    first = client.get("/api/schema/")
    second = client.get("/api/schema/")

    assert first.status_code == 200
    assert second.status_code == 429


# Filters, ordering, pagination ---------------------------------------------------------


def test_accounts_filter_by_owner_tier_and_search(alice, bob):
    AccountFactory(owner=alice, name="Acme", tier=Tier.ENTERPRISE)
    AccountFactory(owner=alice, name="Globex", tier=Tier.SMB)
    AccountFactory(owner=bob, name="Initech", tier=Tier.ENTERPRISE)
    client = api_client(bob)

    def names(**params):
        response = client.get("/api/v1/accounts/", params)
        assert response.status_code == 200, response.content
        return [row["name"] for row in response.json()["results"]]

    assert names(owner=alice.pk) == ["Acme", "Globex"]
    assert names(tier="enterprise") == ["Acme", "Initech"]
    assert names(owner=alice.pk, tier="enterprise") == ["Acme"]
    assert names(q="glob") == ["Globex"]
    assert names(ordering="-name") == ["Initech", "Globex", "Acme"]


def test_accounts_order_by_mrr_and_paginate(alice):
    for i, price in enumerate(["10", "30", "20"]):
        SubscriptionFactory(
            account=AccountFactory(owner=alice, name=f"A{i}"),
            unit_price=Decimal(price),
            quantity=1,
        )
    client = api_client(alice)

    page1 = client.get("/api/v1/accounts/", {"ordering": "-mrr", "page_size": 2}).json()
    page2 = client.get(page1["next"]).json()

    assert page1["count"] == 3
    assert [r["mrr"] for r in page1["results"]] == ["30.0000", "20.0000"]
    assert [r["mrr"] for r in page2["results"]] == ["10.0000"]
    assert page2["next"] is None
    assert page2["previous"]


def test_tasks_filter_by_overdue_assignee_and_status(alice, bob, alice_account):
    late = TaskFactory(account=alice_account, due_date=TODAY() - dt.timedelta(days=3))
    TaskFactory(account=alice_account, due_date=TODAY() + dt.timedelta(days=3))
    bobs = TaskFactory(account=alice_account, assignee=bob)
    client = api_client(alice)

    overdue = client.get("/api/v1/tasks/", {"overdue": "true"}).json()["results"]
    for_bob = client.get("/api/v1/tasks/", {"assignee": bob.pk}).json()["results"]
    done = client.get("/api/v1/tasks/", {"status": "done"}).json()["results"]

    assert [t["id"] for t in overdue] == [late.pk]
    assert overdue[0]["is_overdue"] is True
    assert [t["id"] for t in for_bob] == [bobs.pk]
    assert done == []


def test_contacts_subscriptions_activities_goals_filter_by_account(
    alice, alice_account, bob_account
):
    mine = {
        "contacts": ContactFactory(account=alice_account),
        "subscriptions": SubscriptionFactory(account=alice_account),
        "activities": ActivityFactory(account=alice_account, kind="call"),
        "goals": GoalFactory(account=alice_account),
    }
    ContactFactory(account=bob_account)
    SubscriptionFactory(account=bob_account)
    ActivityFactory(account=bob_account, kind="call")
    GoalFactory(account=bob_account)
    client = api_client(alice)

    for url, obj in mine.items():
        # Adding a subscription also logs a system activity; ask for the calls only.
        params = {"account": alice_account.pk, **({"kind": "call"} if url == "activities" else {})}
        response = client.get(f"/api/v1/{url}/", params)
        ids = [row["id"] for row in response.json()["results"]]
        assert ids == [obj.pk], url
    calls = client.get("/api/v1/activities/", {"kind": "call", "account": bob_account.pk})
    assert calls.json()["count"] == 1


def test_ordering_query_parameter_sorts_other_lists(alice, alice_account):
    TaskFactory(account=alice_account, title="b", due_date=TODAY())
    TaskFactory(account=alice_account, title="a", due_date=TODAY() + dt.timedelta(days=1))
    client = api_client(alice)

    by_title = client.get("/api/v1/tasks/", {"ordering": "title"}).json()["results"]
    by_due_desc = client.get("/api/v1/tasks/", {"ordering": "-due_date"}).json()["results"]

    assert [t["title"] for t in by_title] == ["a", "b"]
    assert [t["title"] for t in by_due_desc] == ["a", "b"]


# Money and computed fields -------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "months", "price", "discount_type", "discount", "expected"),
    [
        ("monthly", None, "100.00", "none", "0", "100.0000"),
        ("annual", None, "1000.00", "none", "0", "83.3333"),
        ("custom", 18, "1800.00", "none", "0", "100.0000"),
        ("quarterly", None, "300.00", "percent", "10", "90.0000"),
        ("semi_annual", None, "600.00", "amount", "60", "90.0000"),
    ],
)
def test_mrr_returned_by_the_api_matches_the_services(
    alice, alice_account, period, months, price, discount_type, discount, expected
):
    payload = {
        "account": alice_account.pk,
        "plan_name": "Pro",
        "quantity": 1,
        "unit_price": price,
        "discount_type": discount_type,
        "discount_value": discount,
        "billing_period": period,
        "one_time_fees": "5000.00",
        "start_date": (TODAY() - dt.timedelta(days=10)).isoformat(),
        "end_date": (TODAY() + dt.timedelta(days=100)).isoformat(),
        "notice_period_days": 30,
        "mrr": "999999",  # read-only: ignored
    }
    if months:
        payload["billing_period_months"] = months
    client = api_client(alice)

    response = client.post("/api/v1/subscriptions/", payload, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    computed = services.subscription_mrr(
        unit_price=Decimal(price),
        quantity=1,
        discount_type=DiscountType(discount_type),
        discount_value=Decimal(discount),
        billing_period=BillingPeriod(period),
        billing_period_months=months,
    )
    assert body["mrr"] == expected == str(computed)
    assert Decimal(body["arr"]) == computed * 12
    assert body["cancellation_deadline"] == (TODAY() + dt.timedelta(days=70)).isoformat()
    assert Subscription.objects.get(pk=body["id"]).mrr == computed
    account = client.get(f"/api/v1/accounts/{alice_account.pk}/").json()
    assert account["mrr"] == expected
    assert Decimal(account["arr"]) == computed * 12
    assert account["renewal_date"] == (TODAY() + dt.timedelta(days=100)).isoformat()


def test_changing_and_deleting_a_subscription_moves_the_account_mrr(alice, alice_account):
    sub = SubscriptionFactory(account=alice_account, unit_price=Decimal("50"), quantity=10)
    client = api_client(alice)

    patched = client.patch(f"/api/v1/subscriptions/{sub.pk}/", {"quantity": 20}, format="json")
    alice_account.refresh_from_db()
    assert patched.json()["mrr"] == "1000.0000"
    assert alice_account.mrr == Decimal("1000")

    client.delete(f"/api/v1/subscriptions/{sub.pk}/")
    alice_account.refresh_from_db()
    assert alice_account.mrr == Decimal("0")


def test_cancelling_a_subscription_without_its_end_date_is_a_400_that_changes_nothing(
    alice, alice_account
):
    sub = SubscriptionFactory(account=alice_account, end_date=None)
    response = api_client(alice).patch(
        f"/api/v1/subscriptions/{sub.pk}/", {"status": "cancelled"}, format="json"
    )
    assert response.status_code == 400
    assert "end_date" in response.json()["errors"]
    assert Subscription.objects.get(pk=sub.pk).status == "active"


def test_computed_account_fields_are_read_only(alice, alice_account):
    response = api_client(alice).patch(
        f"/api/v1/accounts/{alice_account.pk}/",
        {"mrr": "5000", "renewal_date": "2030-01-01", "arr": "1"},
        format="json",
    )

    alice_account.refresh_from_db()
    assert response.status_code == 200
    assert alice_account.mrr == Decimal("0")
    assert alice_account.renewal_date is None


def test_account_tags_are_names_and_created_on_demand(alice):
    client = api_client(alice)

    created = client.post(
        "/api/v1/accounts/", {"name": "Tagged", "tags": ["beta", "strategic"]}, format="json"
    )
    updated = client.patch(
        f"/api/v1/accounts/{created.json()['id']}/", {"tags": ["beta"]}, format="json"
    )

    assert created.json()["tags"] == ["beta", "strategic"]
    assert updated.json()["tags"] == ["beta"]
    assert list(Account.objects.get(name="Tagged").tags.values_list("name", flat=True)) == ["beta"]


def test_goal_changes_are_kept_as_revisions(alice, alice_account):
    client = api_client(alice)
    created = client.post(
        "/api/v1/goals/",
        {"account": alice_account.pk, "title": "Adoption", "target": "50%"},
        format="json",
    ).json()

    response = client.patch(
        f"/api/v1/goals/{created['id']}/",
        {"status": "at_risk", "target": "40%", "note": "Re-agreed at QBR"},
        format="json",
    )

    assert response.status_code == 200
    assert [r["target"] for r in response.json()["revisions"]] == ["40%", "50%"]
    assert GoalRevision.objects.filter(goal_id=created["id"], note="Re-agreed at QBR").exists()


def test_created_records_carry_their_author(alice, alice_account):
    client = api_client(alice)

    activity = client.post(
        "/api/v1/activities/",
        {"account": alice_account.pk, "subject": "Kick-off", "kind": "meeting"},
        format="json",
    ).json()
    task = client.post(
        "/api/v1/tasks/", {"account": alice_account.pk, "title": "Send notes"}, format="json"
    ).json()

    assert activity["author"] == alice.pk
    assert activity["author_name"] == "Alice"
    assert task["created_by"] == alice.pk
    assert task["assignee"] == alice.pk  # defaults to the account owner


# OpenAPI -------------------------------------------------------------------------------


def test_schema_declares_the_api_key_scheme_and_a_tag_per_resource(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["components"]["securitySchemes"]["ApiKey"]["type"] == "apiKey"
    tags = {tag for path in schema["paths"].values() for op in path.values() for tag in op["tags"]}
    # Other apps add their own tags (metrics, surveys, ...); the accounts resources are all here.
    assert {"accounts", "contacts", "subscriptions", "activities", "tasks", "goals"} <= tags
    assert "/api/v1/tasks/{id}/complete/" in schema["paths"]
    create = schema["paths"]["/api/v1/accounts/"]["post"]["responses"]
    assert create["400"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ValidationError"
    )
    assert {"401", "403", "413", "429"} <= set(create)
    assert "404" in schema["paths"]["/api/v1/accounts/{id}/"]["get"]["responses"]


def test_swagger_ui_is_served_without_a_cdn(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html
    assert "unpkg" not in html
