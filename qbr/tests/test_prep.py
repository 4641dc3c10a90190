"""The prep pack against the account's own records, in every app."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from qbr.selectors import prep_pack
from qbr.tests.builders import full_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(alice):
    return full_account(alice)


def pack_of(world):
    start, end = world.period
    return prep_pack(account=world.account, period_start=start, period_end=end, today=world.today)


def test_contract_figures_come_from_the_subscriptions(world):
    c = pack_of(world)["contract"]
    today = world.today
    assert c["licenses"] == 30  # 25 + 5
    assert c["plan_tier"] == "Enterprise" and c["plans"] == ["Analytics add-on", "Enterprise"]
    assert c["discounts"] == [
        {"plan": "Enterprise", "type": "percent", "value": "10.00"},
        {"plan": "Analytics add-on", "type": "amount", "value": "10.00"},
    ]
    assert c["annual_billing"] is True
    assert c["signed_on"] == (today - dt.timedelta(days=120)).isoformat()
    assert c["renewal_date"] == (today + dt.timedelta(days=225)).isoformat()
    # The earliest renewing line's end minus its 60-day notice period.
    assert c["cancellation_deadline"] == (today + dt.timedelta(days=165)).isoformat()
    # 25 × 1,200 a year less 10 % = 2,250 a month; 5 × 20 less 10 = 90 a month.
    assert (c["mrr"], c["arr"]) == ("2340.00", "28080.00")
    assert (c["next_tier_threshold"], c["next_tier_gap"]) == ("40000.00", "11920.00")
    assert world.account.mrr * 12 == 28080


def test_renewal_onboarding_and_goals(world):
    pack = pack_of(world)
    renewal = pack["renewal"]
    assert renewal["date"] == world.main.end_date.isoformat()
    assert renewal["notice_deadline"] == (world.main.end_date - dt.timedelta(days=60)).isoformat()
    onboarding = pack["onboarding"]
    assert onboarding["name"] == "Enterprise onboarding" and onboarding["progress"] == 100
    assert [m["name"] for m in onboarding["milestones"]] == ["Kick-off", "Go-live"]
    assert onboarding["launch_on"] == (world.today - dt.timedelta(days=95)).isoformat()
    goals = {g["title"]: g for g in pack["goals"]}
    kept = goals["Month-end close in 3 days"]
    # Its status at the last QBR (on track then), and now.
    assert (kept["status_at_last_qbr"], kept["status"], kept["new_since_last_qbr"]) == (
        "on_track",
        "achieved",
        False,
    )
    new = goals["Every region live"]
    assert (new["status_at_last_qbr"], new["new_since_last_qbr"]) == (None, True)
    last = pack["last_qbr"]
    assert last["held_on"] == world.last_qbr.held_on.isoformat()
    assert [s["text"] for s in last["next_steps"]] == ["Roll out to finance"]


def test_kpis_health_support_and_sentiment_of_the_period(world):
    pack = pack_of(world)
    kpis = {k["key"]: k for k in pack["kpis"]}
    assert (kpis["mau"]["start"], kpis["mau"]["end"]) == ("40", "52")
    assert (kpis["dau"]["start"], kpis["dau"]["end"]) == ("10", "18")
    assert kpis["stickiness"]["end"] == "34.62"  # 18 ÷ 52
    assert pack["usage"]["mau"][-1] == 52 and pack["usage"]["mau"][0] == 40
    health = pack["health"]
    assert (health["start"], health["end"], health["score"], health["color"]) == (
        "60.00",
        "72.00",
        "74.00",
        "yellow",
    )
    support = pack["support"]
    assert (support["opened"], support["open_now"], support["p1"], support["escalations"]) == (
        2,
        2,
        1,
        1,
    )
    assert support["first_response_hours"] == "3.00"  # 2 h and 4 h
    assert [t["subject"] for t in support["notable"]] == ["Export fails for large files"]
    s = pack["sentiment"]
    # NPS: 2 promoters, 1 detractor of 3; CSAT: 2 of 3 answered 4 or 5.
    assert (s["nps"], s["promoters"], s["detractors"], s["csat"]) == ("33.33", 2, 1, "66.67")
    assert [c["comment"] for c in s["comments"]] == ["Reports are slow"]
    # Users of the feature ÷ active users over the last 30 days (SPEC §3).
    assert [(f["feature"], f["users"], f["adoption"], f["core"]) for f in pack["adoption"]] == [
        ("Reports", 3, "75.00", True),
        ("Exports", 1, "25.00", False),
    ]


def test_risks_and_recommendations_follow_the_figures(world):
    pack = pack_of(world)
    risks = {r["code"] for r in pack["risks"]}
    assert {"health", "escalations", "detractor_nps"} <= risks
    assert "no_sponsor" not in risks  # Erika is the executive sponsor
    recs = {r["code"]: r for r in pack["recommendations"]}
    # 52 monthly users of 30 licenses: over 90 %, time to talk about seats.
    assert recs["expansion"]["params"]["licenses"] == 30
    assert recs["next_tier"]["params"]["gap"] == "11920.00"
    assert "incident_review" in recs


def test_the_pack_is_json_and_costs_a_fixed_number_of_queries(world):
    with CaptureQueriesContext(connection) as ctx:
        pack = pack_of(world)
    json.dumps(pack)  # stored on the QBR as it is
    assert len(ctx.captured_queries) <= 20
