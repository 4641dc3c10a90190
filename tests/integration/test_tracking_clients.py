"""The official Segment and RudderStack Python libraries, pointed at the platform by their host.

Events go through the real HTTP stack of a live server; the same messageIds sent again
(a client retrying after a lost response) are counted once.
"""

from __future__ import annotations

import datetime as dt

import pytest
from segment.analytics import Client

from accounts.tests.factories import AccountFactory
from metrics.models import AccountDailyUsage, EndUser, Event, Feature
from metrics.services import ingestion as services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_segment_python_library_events_are_counted_once(live_server):
    account = AccountFactory(external_id="CRM-42")
    services.feature_save(
        feature=Feature(key="reports", name="Reports"), event_names=["Report Built"]
    )
    _, write_key = services.source_create(name="segment-python")
    errors: list[Exception] = []
    client = Client(
        write_key,
        host=live_server.url,
        sync_mode=True,
        max_retries=0,
        on_error=lambda error, _items: errors.append(error),
    )
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def send_all() -> None:
        client.identify("ann", {"email": "ann@customer.example", "name": "Ann"}, message_id="id-1")
        client.group("ann", "CRM-42", {"name": "Northwind"}, message_id="grp-1")
        for i in range(3):
            client.track(
                "ann", "Report Built", {"rows": i}, timestamp=when, message_id=f"track-{i}"
            )
        client.page("ann", "Docs", "Pricing", timestamp=when, message_id="page-1")

    send_all()
    send_all()  # the retry: same messageIds

    # And the batching mode of the library, flushing a queued batch.
    batching = Client(write_key, host=live_server.url, upload_size=10, max_retries=0)
    for i in range(3):
        batching.track("bob", "Report Built", timestamp=when, message_id=f"track-{i}")
    batching.track("bob", "Report Built", timestamp=when, message_id="bob-1")
    batching.flush()
    batching.join()

    assert errors == []
    assert Event.objects.count() == 7
    user = EndUser.objects.get(external_id="ann")
    assert (user.account, user.email) == (account, "ann@customer.example")
    services.rollups_fold()  # what the periodic fold does within seconds
    usage = AccountDailyUsage.objects.get(account=account, date=when.date())
    assert (usage.events, usage.active_users) == (4, 1)
    assert Event.objects.get(message_id="track-0").context["library"]["name"] == "analytics-python"


def test_rudderstack_python_library_events_are_counted_once(live_server):
    from rudderstack.analytics import Client as RudderClient

    account = AccountFactory(external_id="CRM-7")
    _, write_key = services.source_create(name="rudderstack-python")
    errors: list[Exception] = []
    # Its defaults: gzip bodies, `originalTimestamp` rather than `timestamp`.
    client = RudderClient(
        write_key,
        host=live_server.url,
        sync_mode=True,
        max_retries=0,
        on_error=lambda error, _items: errors.append(error),
    )
    when = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def send_all() -> None:
        client.group("cy", "CRM-7", {"name": "Contoso"}, message_id="rs-grp-1")
        for i in range(2):
            client.track("cy", "Exported", {"n": i}, timestamp=when, message_id=f"rs-track-{i}")
        client.screen("cy", "App", "Home", timestamp=when, message_id="rs-screen-1")

    send_all()
    send_all()

    assert errors == []
    assert Event.objects.filter(message_id__startswith="rs-").count() == 4
    assert EndUser.objects.get(external_id="cy").account == account
    services.rollups_fold()
    usage = AccountDailyUsage.objects.get(account=account, date=when.date())
    assert (usage.events, usage.active_users) == (3, 1)
    # Clock skew is corrected by the client's sentAt, as Segment does: a few ms at most here.
    stored = Event.objects.get(message_id="rs-track-0").timestamp
    assert abs(stored - when) < dt.timedelta(seconds=5)
