"""A score moves within a minute of the data: an event through /v1/track reaches the
account's health through the real scheduler, a real worker and Redis, with no nightly run.

The worker runs beat inside it with the fold of waiting usage every second
(ROLLUP_FOLD_SECONDS) and the refresh of changed accounts every two (ACCOUNT_REFRESH_SECONDS),
so the whole path is the production one: ingestion stores the event, beat's fold adds it
to the rollups and queues the account, beat's refresh rebuilds its figures and announces
them, health rescores it.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from health.models import HealthScore
from health.services.scores import health_recalculate
from health.tests.factories import build_scorecard, linear
from metrics.models import Feature
from metrics.services import ingestion
from metrics.services.engine import metrics_recalculate
from metrics.tests.ingestion_helpers import post
from tests.integration.support import wait_for

pytestmark = pytest.mark.integration


def test_an_event_through_the_tracking_api_moves_the_score_without_the_nightly_run(
    start_worker,
):
    ingestion.feature_save(
        feature=Feature(key="reports", name="Reports", is_core=True),
        event_names=["Report Built"],
    )
    build_scorecard([("Usage", 100, [("core_adoption", 100, linear(0, 80))])])
    account = AccountFactory(external_id="CRM-9")
    today = timezone.now().date()
    metrics_recalculate(start=today, end=today)
    health_recalculate(as_of=today)
    before = HealthScore.objects.get(account=account)
    assert (before.score, before.color) == (Decimal("0.00"), "red")  # no core feature used

    start_worker(
        IT_BEAT="1",
        ROLLUP_FOLD_SECONDS="1",
        ACCOUNT_REFRESH_SECONDS="2",
        ACCOUNT_REFRESH_DEBOUNCE_SECONDS="1",
    )
    _, key = ingestion.source_create(name="app")
    client = Client()
    sent = time.monotonic()
    assert post(client, "/v1/group", {"userId": "u1", "groupId": "CRM-9"}, key).status_code == 200
    body = {"userId": "u1", "event": "Report Built", "timestamp": timezone.now().isoformat()}
    assert post(client, "/v1/track", body, key).status_code == 200

    def moved() -> HealthScore | None:
        health = HealthScore.objects.get(account=account)
        return health if health.score != before.score else None

    after = wait_for(moved, "the score to move", timeout=60)
    assert isinstance(after, HealthScore)
    # One core feature of one used in 30 days: 100 % adoption, 100 points.
    assert (after.score, after.color, after.as_of) == (Decimal("100.00"), "green", today)
    print(f"event to score: {time.monotonic() - sent:.1f} s")
    assert after.computed_at > before.computed_at
