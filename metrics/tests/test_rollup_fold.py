"""Deferred rollups: the HTTP APIs leave usage waiting, the fold counts it exactly once."""

from __future__ import annotations

import json
import threading
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client

from accounts.tests.factories import AccountFactory
from metrics.models import AccountChange, AccountDailyUsage, Event, PendingUsage
from metrics.services import ingestion as services
from metrics.signals import usage_recorded
from metrics.tests.ingestion_helpers import make_source, post, rollups
from metrics.tests.test_ingestion import (
    DAY1,
    DAY2,
    NOW,
    group,
    ingest,
    track,
    usage_batch,
)
from metrics.tracking import batch_parse


def ingest_deferred(batch: list[dict]) -> services.IngestResult:
    messages, errors, _ = batch_parse(batch, received_at=NOW, max_bytes=32 * 1024)
    assert not errors
    return services.events_ingest(messages=messages, received_at=NOW, defer_rollups=True)


def later_batches() -> list[list[dict]]:
    # ann is active again on day 1 (counted once), cat joins, ben uses a feature he has
    # already used that day (one user, more events).
    return [
        usage_batch(),
        [track("t7", "ann", "Exported", DAY1, 18), group("g3", "cat", "CRM-1")],
        [track("t8", "cat", "Report Built", DAY1, 19), track("t9", "ben", "Exported", DAY1)],
        [track("t10", "ann", "Report Built", DAY2, 10)],
    ]


def test_the_tracking_api_leaves_usage_waiting_until_the_fold_counts_it(catalogue, northwind):
    _, key = make_source()
    assert post(Client(), "/v1/batch", {"batch": usage_batch()}, key).status_code == 200
    assert Event.objects.count() == 8
    assert not AccountDailyUsage.objects.exists()
    # Six usage events of users linked to an account; the two group calls are not usage.
    assert PendingUsage.objects.count() == 6

    result = services.rollups_fold(now=NOW)

    assert (result.events, result.account_ids, result.skipped) == (6, [northwind.pk], False)
    assert not PendingUsage.objects.exists()
    day1 = AccountDailyUsage.objects.get(account=northwind, date=DAY1)
    assert (day1.events, day1.core_events, day1.active_users) == (5, 2, 2)
    assert services.rollups_fold(now=NOW).events == 0
    assert AccountDailyUsage.objects.get(account=northwind, date=DAY1).events == 5


def inline_then_deferred() -> dict[str, list[tuple]]:
    """Ingest `later_batches` inline and return the rollups; then forget every event and
    rollup and ingest the same batches deferred (their usage waits for a fold)."""
    for batch in later_batches():
        ingest(batch)
    inline = rollups()
    Event.objects.all().delete()
    with connection.cursor() as cursor:
        for table in (
            "accountdailyusage",
            "enduserdailyactivity",
            "enduserfeaturedaily",
            "accountfeaturedailyusage",
        ):
            cursor.execute(f"DELETE FROM metrics_{table}")
    for batch in later_batches():
        ingest_deferred(batch)
    return inline


def test_folding_gives_the_rollups_inline_ingestion_gives(catalogue, northwind):
    inline = inline_then_deferred()
    # One fold for the four batches, as when they arrive within the same few seconds.
    assert rollups() == inline
    assert inline["account"] == [
        (northwind.pk, DAY1, 8, 3, 3),
        (northwind.pk, DAY2, 2, 1, 1),
    ]


def test_small_chunks_count_the_same(catalogue, northwind):
    inline = inline_then_deferred()

    assert services.rollups_fold(chunk=3, now=NOW).events == 10
    assert rollups() == inline


def test_a_retried_batch_waits_once(catalogue, northwind):
    ingest_deferred(usage_batch())
    again = ingest_deferred(usage_batch())
    assert (again.inserted, again.duplicates) == (0, 8)
    assert PendingUsage.objects.count() == 6


def test_the_fold_queues_the_accounts_and_announces_their_usage(
    catalogue, northwind, django_capture_on_commit_callbacks
):
    other = AccountFactory(external_id="CRM-2")
    ingest_deferred([*usage_batch(), group("g9", "zoe", "CRM-2"), track("z1", "zoe", "Exported")])
    assert not AccountChange.objects.exists()  # the batch itself queues nothing
    heard: list[Any] = []

    def receiver(sender: Any, account_ids: Any = None, **kwargs: Any) -> None:
        heard.append(account_ids)

    usage_recorded.connect(receiver, dispatch_uid="test-fold")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.rollups_fold(now=NOW)
    finally:
        usage_recorded.disconnect(dispatch_uid="test-fold")
    assert heard == [sorted([northwind.pk, other.pk])]
    assert set(AccountChange.objects.values_list("account_id", flat=True)) == {
        northwind.pk,
        other.pk,
    }


def test_a_group_call_through_the_api_rolls_up_earlier_events_at_once_and_announces_it(
    catalogue, northwind, django_capture_on_commit_callbacks
):
    ingest_deferred([track("t1", "ann", "Exported")])  # ann has no account yet: waits
    assert not PendingUsage.objects.exists()
    heard: list[Any] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        heard.append(sender)

    usage_recorded.connect(receiver, dispatch_uid="test-attach")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = ingest_deferred([group("g1", "ann", "CRM-1")])
    finally:
        usage_recorded.disconnect(dispatch_uid="test-attach")
    assert result.attached == 1
    assert heard == [Event]
    assert AccountDailyUsage.objects.get(account=northwind, date=DAY1).events == 1


def test_usage_of_an_account_deleted_before_the_fold_is_dropped(catalogue, northwind):
    other = AccountFactory(external_id="CRM-2")
    ingest_deferred([group("g9", "zoe", "CRM-2"), track("z1", "zoe", "Exported")])
    ingest_deferred(usage_batch())
    other.delete()

    result = services.rollups_fold(now=NOW)

    assert (result.events, result.account_ids) == (7, [northwind.pk])
    assert not PendingUsage.objects.exists()
    assert set(AccountDailyUsage.objects.values_list("account_id", flat=True)) == {northwind.pk}


def test_a_rebuild_counts_waiting_usage_once(catalogue, northwind, settings):
    settings.EVENT_RETENTION_DAYS = 30
    ingest(usage_batch())
    expected = rollups()
    AccountDailyUsage.objects.all().delete()
    Event.objects.all().delete()
    ingest_deferred(usage_batch())

    services.metrics_rollups_rebuild(since=DAY1, now=NOW)

    # The rebuild counted the waiting rows from the raw events and dropped them.
    assert not PendingUsage.objects.exists()
    assert rollups() == expected


def test_a_fold_that_finds_another_running_does_nothing(catalogue, northwind):
    ingest_deferred(usage_batch())
    params = connection.get_connection_params()
    with psycopg.connect(
        dbname=params["dbname"],
        user=params.get("user"),
        host=params.get("host"),
        port=params.get("port"),
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [services.FOLD_LOCK])
        result = services.rollups_fold(wait=False, now=NOW)
        other.execute("SELECT pg_advisory_unlock(%s)", [services.FOLD_LOCK])
    assert (result.events, result.skipped) == (0, True)
    assert PendingUsage.objects.count() == 6
    assert services.rollups_fold(wait=False, now=NOW).events == 6


def test_the_periodic_task_folds(catalogue, northwind):
    from metrics.tasks.ingestion import rollups_fold

    ingest_deferred(usage_batch())
    assert rollups_fold.apply().get() == 6
    assert AccountDailyUsage.objects.get(account=northwind, date=DAY1).events == 5


def test_a_recalculation_counts_usage_still_waiting(catalogue, northwind):
    from metrics.models import AccountDailyMetrics
    from metrics.services.engine import metrics_recalculate

    ingest_deferred(usage_batch())
    metrics_recalculate(start=DAY1, end=DAY1, today=DAY2)
    assert not PendingUsage.objects.exists()
    assert AccountDailyMetrics.objects.get(account=northwind, date=DAY1).events_30d == 5


@pytest.mark.django_db(transaction=True)
def test_batches_and_folds_at_the_same_time_count_every_event_once():
    AccountFactory(external_id="CRM-1")
    _, key = make_source()
    users = 12
    post(
        Client(),
        "/v1/batch",
        {"batch": [group(f"g{u}", f"u{u}", "CRM-1") for u in range(users)]},
        key,
    )
    senders, batches, per_batch = 3, 8, 25
    stop = threading.Event()
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            client = Client()
            for b in range(batches):
                body = {
                    "batch": [
                        track(
                            f"s{n}-{b}-{i}",
                            f"u{(n + b + i) % users}",
                            "Exported",
                            DAY1 if i % 2 else DAY2,
                        )
                        for i in range(per_batch)
                    ]
                }
                assert post(client, "/v1/batch", body, key).status_code == 200
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    def fold(wait: bool) -> None:
        try:
            while not stop.is_set():
                services.rollups_fold(wait=wait)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    folders = [threading.Thread(target=fold, args=(wait,)) for wait in (True, False)]
    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for t in folders + threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in folders:
        t.join()
    services.rollups_fold()

    assert not errors
    total = senders * batches * per_batch
    assert Event.objects.filter(type="track").count() == total
    assert not PendingUsage.objects.exists()
    rows = AccountDailyUsage.objects.order_by("date").values_list("date", "events", "active_users")
    assert sum(events for _, events, _ in rows) == total
    # Every user sent on both days, and counts once a day.
    assert [(d, n) for d, _, n in rows] == [(DAY1, users), (DAY2, users)]


def _nested_loops_over_two_ctes(plan: dict) -> list[str]:
    found = []
    children = plan.get("Plans", [])
    if plan["Node Type"] == "Nested Loop" and all(
        child["Node Type"] == "CTE Scan" for child in children
    ):
        found.append(" × ".join(child.get("CTE Name", "?") for child in children))
    for child in children:
        found.extend(_nested_loops_over_two_ctes(child))
    return found


@pytest.mark.parametrize("sql", ["fold", "inline"])
def test_no_plan_joins_two_ctes_row_by_row_whatever_the_estimates(db, sql):
    # An empty, analyzed queue makes the planner expect one row from every CTE; a join of
    # two CTEs then became a loop over one for every row of the other (46 s for a fold of
    # 100,000 events). The rollups are built from grouped UNION ALLs instead.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE metrics_pendingusage")
        text = services._fold_sql() if sql == "fold" else services._ingest_sql(deferred=False)
        params = {
            "chunk": 1000,
            "active_events": [],
            "now": NOW,
            "users": "[]",
            "messages": "[]",
            "source_id": None,
            "key_hash": None,
            "last_seen_resolution": services.LAST_SEEN_RESOLUTION,
        }
        cursor.execute("EXPLAIN (FORMAT JSON) " + text, params)
        plan = cursor.fetchone()[0]
    plan = plan if isinstance(plan, list) else json.loads(plan)
    assert _nested_loops_over_two_ctes(plan[0]["Plan"]) == []
