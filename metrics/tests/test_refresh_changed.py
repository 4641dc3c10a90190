"""Figures of the accounts whose signals changed, refreshed between the scheduled runs."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from metrics.models import AccountChange, AccountDailyMetrics
from metrics.services import engine
from metrics.services import ingestion as services
from metrics.services.engine import account_figures_refresh_changed
from metrics.services.feedback import ticket_upsert
from metrics.signals import account_figures_refreshed
from metrics.tracking import batch_parse

pytestmark = pytest.mark.django_db


def ingest(batch: list[dict], *, at: dt.datetime) -> services.IngestResult:
    messages, errors, _ = batch_parse(batch, received_at=at, max_bytes=32 * 1024)
    assert not errors
    return services.events_ingest(messages=messages, received_at=at)


def usage(user: str, account: str, n: int, at: dt.datetime, prefix: str = "m") -> list[dict]:
    stamp = at.isoformat()
    return [{"type": "group", "userId": user, "groupId": account, "messageId": f"{prefix}-g"}] + [
        {
            "type": "track",
            "userId": user,
            "event": "Report Built",
            "timestamp": stamp,
            "messageId": f"{prefix}-{i}",
        }
        for i in range(n)
    ]


@pytest.fixture
def now():
    # Noon of today: the tests add minutes to it, which must not cross midnight.
    return timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)


def test_ingestion_queues_each_account_it_touched_once(now):
    a = AccountFactory(external_id="A")
    b = AccountFactory(external_id="B")
    ingest(usage("ann", "A", 3, now, "x") + usage("bob", "B", 2, now, "y"), at=now)
    ingest(usage("ann", "A", 5, now, "z"), at=now + dt.timedelta(seconds=3))
    queued = dict(AccountChange.objects.values_list("account_id", "since"))
    # The first change stays: later ones do not push the account back in the queue.
    assert queued == {a.pk: now, b.pk: now}


def test_a_burst_is_refreshed_once_its_changes_are_old_enough(now, settings):
    settings.ACCOUNT_REFRESH_DEBOUNCE_SECONDS = 10
    account = AccountFactory(external_id="A")
    ingest(usage("ann", "A", 4, now), at=now)
    # Five seconds later the burst may not be over: nothing happens yet.
    assert account_figures_refresh_changed(now=now + dt.timedelta(seconds=5)) == []
    assert not AccountDailyMetrics.objects.exists()
    assert account_figures_refresh_changed(now=now + dt.timedelta(seconds=11)) == [account.pk]
    row = AccountDailyMetrics.objects.get(account=account)
    assert (row.date, row.dau, row.events_30d) == (now.date(), 1, 4)
    assert not AccountChange.objects.exists()


def test_the_refresh_is_announced_after_commit(now, django_capture_on_commit_callbacks):
    account = AccountFactory(external_id="A")
    ingest(usage("ann", "A", 1, now), at=now)
    announced = []

    def receiver(sender, *, account_ids, day, **kwargs):
        announced.append((account_ids, day))

    account_figures_refreshed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            account_figures_refresh_changed(now=now + dt.timedelta(minutes=1))
    finally:
        account_figures_refreshed.disconnect(receiver)
    assert announced == [([account.pk], now.date())]


def test_while_a_full_run_holds_the_engine_the_accounts_stay_queued(now):
    account = AccountFactory(external_id="A")
    ingest(usage("ann", "A", 1, now), at=now)
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    )
    try:
        other.execute("SELECT pg_advisory_lock(%s)", [engine.LOCK_KEY])
        assert account_figures_refresh_changed(now=now + dt.timedelta(minutes=1)) == []
        assert list(AccountChange.objects.values_list("account_id", flat=True)) == [account.pk]
        other.execute("SELECT pg_advisory_unlock(%s)", [engine.LOCK_KEY])
        assert account_figures_refresh_changed(now=now + dt.timedelta(minutes=1)) == [account.pk]
    finally:
        other.close()


def test_new_tickets_queue_their_account(django_capture_on_commit_callbacks):
    account = AccountFactory(external_id="A")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_upsert(
            data={
                "account": account,
                "external_id": "T-1",
                "subject": "Export fails",
                "opened_at": timezone.now(),
            }
        )
    assert list(AccountChange.objects.values_list("account_id", flat=True)) == [account.pk]
