"""The playbooks API: rules, preview, run now, the run log, triggers, my notifications."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.tests.factories import AccountFactory
from playbooks.models import Notification, RuleRun
from playbooks.tests.helpers import health, rule_with

pytestmark = pytest.mark.django_db


def api(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def rule(alice):
    for i in range(3):
        health(AccountFactory(name=f"Low {i}", owner=alice), 30, "red")
    health(AccountFactory(name="Fine", owner=alice), 90, "green")
    return rule_with(
        "health_below", ("create_task", {"title": "Call"}), params={"score": 50}, name="Low"
    )


def test_everyone_reads_rules_and_nobody_anonymous(rule, alice, vic):
    assert api().get("/api/v1/playbooks/rules/").status_code == 401
    for user in (alice, vic):
        body = api(user).get("/api/v1/playbooks/rules/").json()
        assert [r["name"] for r in body["results"]] == ["Low"]
    detail = api(vic).get(f"/api/v1/playbooks/rules/{rule.pk}/").json()
    assert detail["params"] == {"score": 50}
    assert [a["kind"] for a in detail["actions"]] == ["create_task"]


def test_preview_lists_the_matches_and_changes_nothing(rule, vic):
    body = api(vic).get(f"/api/v1/playbooks/rules/{rule.pk}/preview/").json()
    assert body["count"] == 3
    assert {m["name"] for m in body["matches"]} == {"Low 0", "Low 1", "Low 2"}
    assert body["matches"][0]["reason"] == "Health score 30, below 50"
    assert not RuleRun.objects.exists()


def test_only_leads_run_a_rule_now(rule, alice, lead):
    assert api(alice).post(f"/api/v1/playbooks/rules/{rule.pk}/evaluate/").status_code == 403
    assert not RuleRun.objects.exists()
    response = api(lead).post(f"/api/v1/playbooks/rules/{rule.pk}/evaluate/")
    assert response.status_code == 201
    assert (response.json()["matched"], response.json()["fired"]) == (3, 3)
    run = api(alice).get(f"/api/v1/playbooks/runs/{response.json()['id']}/").json()
    assert {m["outcome"] for m in run["matches"]} == {"fired"}
    assert run["matches"][0]["actions"][0]["action"] == "create_task"
    listed = api(alice).get(f"/api/v1/playbooks/runs/?rule={rule.pk}").json()
    assert listed["count"] == 1


def test_a_disabled_rule_is_not_run(rule, lead):
    rule.mode = "disabled"
    rule.save()
    response = api(lead).post(f"/api/v1/playbooks/rules/{rule.pk}/evaluate/")
    assert response.status_code == 400 and "mode" in response.json()["errors"]


def test_the_trigger_catalogue(alice):
    body = api(alice).get("/api/v1/playbooks/triggers/").json()
    keys = {t["key"] for t in body}
    assert len(keys) == 16 and {"health_color", "nps_detractor", "advocate"} <= keys
    drop = next(t for t in body if t["key"] == "health_drop")
    assert [(p["name"], p["default"]) for p in drop["params"]] == [("points", 15), ("days", 14)]


def test_notifications_are_my_own_and_mark_read(alice, bob):
    for i in range(3):
        Notification.objects.create(user=alice, title=f"n{i}", idempotency_key=f"a{i}")
    Notification.objects.create(user=bob, title="bob's", idempotency_key="b")
    mine = api(alice).get("/api/v1/notifications/").json()
    assert mine["count"] == 3 and all(n["unread"] for n in mine["results"])
    first = mine["results"][-1]["id"]
    marked = api(alice).post("/api/v1/notifications/read/", {"ids": [first]}, format="json")
    assert marked.json() == {"marked": 1, "unread": 2}
    assert api(alice).get("/api/v1/notifications/?unread=true").json()["count"] == 2
    bad = api(alice).post("/api/v1/notifications/read/", {"ids": ["x"]}, format="json")
    assert bad.status_code == 400 and "ids" in bad.json()["errors"]
    assert api(alice).post("/api/v1/notifications/read/", {}, format="json").json() == {
        "marked": 2,
        "unread": 0,
    }
    assert Notification.objects.get(user=bob).read_at is None


def test_the_run_log_costs_the_same_for_many_matches(rule, lead, alice):
    api(lead).post(f"/api/v1/playbooks/rules/{rule.pk}/evaluate/")
    run = RuleRun.objects.get()
    with CaptureQueriesContext(connection) as few:
        api(alice).get(f"/api/v1/playbooks/runs/{run.pk}/")
    for i in range(20):
        health(AccountFactory(name=f"More {i}", owner=alice), 10, "red")
    api(lead).post(f"/api/v1/playbooks/rules/{rule.pk}/evaluate/")
    latest = RuleRun.objects.order_by("-pk").first()
    assert latest.matches.count() == 23
    with CaptureQueriesContext(connection) as many:
        api(alice).get(f"/api/v1/playbooks/runs/{latest.pk}/")
    assert len(many) == len(few)


def test_a_lead_writes_a_rule_with_its_actions_in_one_request(lead, alice):
    body = {
        "name": "Quiet accounts",
        "trigger": "no_login",
        "params": {"days": 21},
        "mode": "enabled",
        "tiers": ["enterprise"],
        "cooldown_days": 30,
        "actions": [
            {"kind": "create_task", "params": {"title": "Check in", "due_days": 2}},
            {"kind": "email_owner", "params": {"note": "Nobody logged in for 3 weeks."}},
        ],
    }
    assert api(alice).post("/api/v1/playbooks/rules/", body, format="json").status_code == 403
    created = api(lead).post("/api/v1/playbooks/rules/", body, format="json")
    assert created.status_code == 201, created.json()
    rule = created.json()
    assert rule["params"] == {"days": 21}
    assert [a["kind"] for a in rule["actions"]] == ["create_task", "email_owner"]
    url = f"/api/v1/playbooks/rules/{rule['id']}/"
    # A PATCH without actions keeps them (and their ids).
    patched = api(lead).patch(url, {"mode": "dry_run"}, format="json").json()
    assert patched["mode"] == "dry_run"
    assert [a["id"] for a in patched["actions"]] == [a["id"] for a in rule["actions"]]
    kept = rule["actions"][1]["id"]
    replaced = (
        api(lead)
        .patch(url, {"actions": [{"id": kept, "kind": "email_owner", "params": {}}]}, format="json")
        .json()
    )
    assert [a["id"] for a in replaced["actions"]] == [kept]
    assert api(alice).delete(url).status_code == 403
    assert api(lead).delete(url).status_code == 204
    assert not RuleRun.objects.exists()


def test_a_bad_rule_is_a_400_with_field_errors_and_saves_nothing(lead):
    from playbooks.models import Rule

    body = {
        "name": "Broken",
        "trigger": "health_drop",
        "params": {"points": "many"},
        "mode": "enabled",
        "tiers": ["galactic"],
        "actions": [{"kind": "change_stage", "params": {"stage": "nowhere"}}],
    }
    response = api(lead).post("/api/v1/playbooks/rules/", body, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {"actions", "tiers"} <= set(errors), errors
    assert any("points" in key for key in errors) or "params" in errors, errors
    no_actions = {**body, "params": {}, "tiers": [], "actions": []}
    response = api(lead).post("/api/v1/playbooks/rules/", no_actions, format="json")
    assert response.status_code == 400 and "mode" in response.json()["errors"]
    assert not Rule.objects.exists()
