"""Ingestion: de-duplication, unknown accounts, rollups, first/last seen, retention."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client

from accounts import services as account_services
from accounts.tests.factories import AccountFactory
from metrics.models import (
    AccountDailyUsage,
    AccountFeatureDailyUsage,
    EndUser,
    EndUserDailyActivity,
    EndUserFeatureDaily,
    Event,
)
from metrics.services import ingestion as services
from metrics.tests.ingestion_helpers import make_source, post, rollups
from metrics.tracking import batch_parse

DAY1 = dt.date(2026, 3, 2)
DAY2 = dt.date(2026, 3, 3)
NOW = dt.datetime(2026, 3, 4, 12, tzinfo=dt.UTC)


def ts(day: dt.date, hour: int = 10) -> str:
    return f"{day.isoformat()}T{hour:02d}:00:00Z"


def track(mid: str, user: str, event: str, day: dt.date = DAY1, hour: int = 10) -> dict:
    return {
        "type": "track",
        "userId": user,
        "event": event,
        "timestamp": ts(day, hour),
        "messageId": mid,
    }


def group(mid: str, user: str, account_external_id: str, day: dt.date = DAY1) -> dict:
    return {
        "type": "group",
        "userId": user,
        "groupId": account_external_id,
        "timestamp": ts(day, 9),
        "messageId": mid,
    }


def ingest(batch: list[dict]) -> services.IngestResult:
    messages, errors, _ = batch_parse(batch, received_at=NOW, max_bytes=32 * 1024)
    assert not errors
    return services.events_ingest(messages=messages, received_at=NOW)


def usage_batch() -> list[dict]:
    return [
        group("g1", "ann", "CRM-1"),
        group("g2", "ben", "CRM-1"),
        track("t1", "ann", "Report Built", DAY1, 10),
        track("t2", "ann", "Report Built", DAY1, 11),
        track("t3", "ann", "Exported", DAY1, 12),
        track("t4", "ben", "Exported", DAY1, 13),
        track("t5", "ben", "Signed In", DAY1, 14),
        track("t6", "ann", "Signed In", DAY2, 9),
    ]


# Rollups, checked by hand ---------------------------------------------------------------


def test_rollups_count_events_core_events_and_distinct_users_per_day(catalogue, northwind):
    ingest(usage_batch())
    day1 = AccountDailyUsage.objects.get(account=northwind, date=DAY1)
    # Day 1: five usage events (groups are not usage), two of them core, two users.
    assert (day1.events, day1.core_events, day1.active_users) == (5, 2, 2)
    day2 = AccountDailyUsage.objects.get(account=northwind, date=DAY2)
    assert (day2.events, day2.core_events, day2.active_users) == (1, 0, 1)


def test_rollups_count_events_and_distinct_users_per_feature(catalogue, northwind):
    reports, export = catalogue
    ingest(usage_batch())
    rows = {
        r.feature_id: (r.events, r.users)
        for r in AccountFeatureDailyUsage.objects.filter(account=northwind, date=DAY1)
    }
    assert rows == {reports.pk: (2, 1), export.pk: (2, 2)}
    ann = EndUser.objects.get(external_id="ann")
    assert EndUserFeatureDaily.objects.get(end_user=ann, feature=reports, date=DAY1).events == 2


def test_per_user_daily_activity_counts_each_users_events(catalogue, northwind):
    ingest(usage_batch())
    ann = EndUser.objects.get(external_id="ann")
    row = EndUserDailyActivity.objects.get(end_user=ann, date=DAY1)
    assert (row.account_id, row.events, row.core_events) == (northwind.pk, 3, 2)


def test_a_later_batch_adds_to_the_rollups_and_counts_a_user_once_per_day(catalogue, northwind):
    ingest(usage_batch())
    ingest([track("t7", "ann", "Exported", DAY1, 18), track("t8", "cat", "Exported", DAY1)])
    day1 = AccountDailyUsage.objects.get(account=northwind, date=DAY1)
    # cat has no account yet: her event waits; ann was already active on day 1.
    assert (day1.events, day1.active_users) == (6, 2)
    export = AccountFeatureDailyUsage.objects.get(
        account=northwind, date=DAY1, feature__key="export"
    )
    assert (export.events, export.users) == (3, 2)


def test_active_events_setting_decides_who_is_active(catalogue, northwind, settings):
    settings.ACTIVE_EVENTS = ["Exported"]
    ingest(usage_batch())
    day1 = AccountDailyUsage.objects.get(account=northwind, date=DAY1)
    # Only "Exported" counts as core/active: ann and ben both exported on day 1.
    assert (day1.events, day1.core_events, day1.active_users) == (5, 2, 2)
    day2 = AccountDailyUsage.objects.get(account=northwind, date=DAY2)
    assert (day2.core_events, day2.active_users) == (0, 0)


def test_a_user_becomes_active_in_a_later_batch_of_the_same_day_and_counts_once(
    catalogue, northwind, settings
):
    settings.ACTIVE_EVENTS = ["Exported"]
    ingest([group("g1", "dan", "CRM-1", DAY1), track("t1", "dan", "Report Built", DAY1, 9)])
    day1 = AccountDailyUsage.objects.get(account=northwind, date=DAY1)
    assert (day1.events, day1.core_events, day1.active_users) == (1, 0, 0)  # not yet active
    ingest([track("t2", "dan", "Exported", DAY1, 10), track("t3", "dan", "Exported", DAY1, 11)])
    day1.refresh_from_db()
    assert (day1.events, day1.core_events, day1.active_users) == (3, 2, 1)
    ingest([track("t4", "dan", "Exported", DAY1, 12)])  # already active that day
    day1.refresh_from_db()
    assert (day1.events, day1.core_events, day1.active_users) == (4, 3, 1)


# De-duplication -------------------------------------------------------------------------


def test_a_retried_batch_is_counted_once_and_leaves_the_rollups_unchanged(catalogue, northwind):
    first = ingest(usage_batch())
    before = rollups()
    again = ingest(usage_batch())
    assert (first.inserted, again.inserted, again.duplicates) == (8, 0, 8)
    assert Event.objects.count() == 8
    assert rollups() == before


def test_a_batch_retried_through_the_http_api_is_counted_once(client, catalogue, northwind):
    _, key = make_source()
    body = {"batch": usage_batch()}
    assert post(client, "/v1/batch", body, key).status_code == 200
    before = rollups()
    assert post(client, "/v1/batch", body, key).json() == {"success": True}
    assert Event.objects.count() == 8
    assert rollups() == before


def test_repeats_of_a_message_id_inside_one_batch_count_once(catalogue, northwind):
    result = ingest([group("g", "ann", "CRM-1"), track("same", "ann", "Exported")] * 3)
    assert result.inserted == 2
    assert AccountDailyUsage.objects.get(account=northwind, date=DAY1).events == 1


@pytest.mark.django_db(transaction=True)
def test_two_identical_batches_at_once_are_counted_once():
    AccountFactory(external_id="CRM-1")
    _, key = make_source()
    batch = {
        "batch": [group("g", "ann", "CRM-1")]
        + [track(f"c{i}", f"u{i % 5}", "Exported") for i in range(50)]
        + [group(f"g{i}", f"u{i}", "CRM-1") for i in range(5)]
    }
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def send() -> None:
        try:
            barrier.wait()
            statuses.append(post(Client(), "/v1/batch", batch, key).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200, 200]
    assert Event.objects.filter(type="track").count() == 50
    services.rollups_fold()
    usage = AccountDailyUsage.objects.get(date=DAY1)
    assert (usage.events, usage.active_users) == (50, 5)


# Unknown accounts ----------------------------------------------------------------------


def test_events_of_a_user_without_account_are_kept_not_dropped(catalogue):
    ingest([track("t1", "ann", "Exported")])
    event = Event.objects.get()
    assert event.account_id is None
    assert event.end_user.external_id == "ann"
    assert not AccountDailyUsage.objects.exists()


def test_group_after_the_events_attaches_them_and_rolls_them_up(catalogue, northwind):
    ingest([track("t1", "ann", "Exported", DAY1), track("t2", "ann", "Report Built", DAY2)])
    result = ingest([group("g1", "ann", "CRM-1", DAY2)])
    assert result.attached == 2  # both tracks (the group call is stored already linked)
    assert set(Event.objects.values_list("account_id", flat=True)) == {northwind.pk}
    assert AccountDailyUsage.objects.get(account=northwind, date=DAY1).events == 1
    day2 = AccountDailyUsage.objects.get(account=northwind, date=DAY2)
    assert (day2.events, day2.core_events, day2.active_users) == (1, 1, 1)


def test_group_naming_an_unknown_account_waits_for_it(catalogue):
    ingest([group("g1", "ann", "CRM-9"), track("t1", "ann", "Exported")])
    user = EndUser.objects.get(external_id="ann")
    assert (user.account_id, user.group_external_id) == (None, "CRM-9")
    assert Event.objects.get(type="track").account_id is None


def test_an_account_created_later_with_that_external_id_gets_the_events(
    catalogue, django_capture_on_commit_callbacks
):
    ingest([group("g1", "ann", "CRM-9"), track("t1", "ann", "Exported")])
    with django_capture_on_commit_callbacks(execute=True):
        account = account_services.account_create(name="Late Corp", external_id="CRM-9")
    assert EndUser.objects.get(external_id="ann").account == account
    assert Event.objects.get(type="track").account == account
    usage = AccountDailyUsage.objects.get(account=account, date=DAY1)
    assert (usage.events, usage.active_users) == (1, 1)


def test_the_sweep_attaches_events_of_accounts_created_without_signals(catalogue):
    ingest([group("g1", "ann", "CRM-9"), track("t1", "ann", "Exported")])
    from accounts.models import Account

    (account,) = Account.objects.bulk_create([Account(name="Imported", external_id="CRM-9")])
    assert services.events_attach_pending() == 2
    assert AccountDailyUsage.objects.get(account=account, date=DAY1).events == 1
    assert services.events_attach_pending() == 0  # idempotent


# End users -----------------------------------------------------------------------------


def test_first_and_last_seen_follow_the_usage_events_in_any_order(db):
    ingest([track("t2", "ann", "E", DAY2, 8), track("t1", "ann", "E", DAY1, 7)])
    ingest([track("t0", "ann", "E", DAY1, 6)])
    user = EndUser.objects.get(external_id="ann")
    assert user.first_seen_at == dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)
    assert user.last_seen_at == dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC)


def test_last_seen_moves_only_by_more_than_its_resolution(db):
    ingest([track("t1", "ann", "E", DAY1, 10)])
    first = EndUser.objects.get(external_id="ann").last_seen_at
    # Four minutes later: not worth rewriting the row.
    ingest([{**track("t2", "ann", "E", DAY1, 10), "timestamp": "2026-03-02T10:04:00Z"}])
    assert EndUser.objects.get(external_id="ann").last_seen_at == first
    # Six minutes after the stored value: it moves.
    ingest([{**track("t3", "ann", "E", DAY1, 10), "timestamp": "2026-03-02T10:06:00Z"}])
    assert EndUser.objects.get(external_id="ann").last_seen_at == dt.datetime(
        2026, 3, 2, 10, 6, tzinfo=dt.UTC
    )
    assert dt.timedelta(minutes=5) == services.LAST_SEEN_RESOLUTION


# Retention and rebuild -----------------------------------------------------------------


def test_purge_deletes_raw_events_past_retention_and_keeps_rollups(catalogue, northwind, settings):
    settings.EVENT_RETENTION_DAYS = 1
    ingest(usage_batch())
    before = rollups()
    deleted = services.events_purge_expired(
        now=dt.datetime(2026, 3, 4, 0, tzinfo=dt.UTC), batch_size=2
    )
    assert deleted == 7  # everything on day 1; the day-2 event stays
    assert list(Event.objects.values_list("message_id", flat=True)) == ["t6"]
    assert rollups() == before


def test_rebuild_recounts_the_same_rollups_from_raw_events(catalogue, northwind, settings):
    settings.EVENT_RETENTION_DAYS = 30
    ingest(usage_batch())
    expected = rollups()
    AccountDailyUsage.objects.update(events=999, active_users=0)
    AccountFeatureDailyUsage.objects.all().delete()
    services.metrics_rollups_rebuild(since=DAY1, now=NOW)
    assert rollups() == expected


def test_the_purge_task_deletes_expired_events(catalogue, northwind, settings):
    from metrics.tasks.ingestion import events_purge_expired

    settings.EVENT_RETENTION_DAYS = 1
    ingest(usage_batch())  # every event is from March 2026, long before "now"
    assert events_purge_expired.delay().get() == 8
    assert not Event.objects.exists()
    assert AccountDailyUsage.objects.filter(account=northwind).count() == 2
