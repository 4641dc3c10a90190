"""The Celery tasks call their service, and every schedule names a task that exists."""

from __future__ import annotations

import datetime as dt

import pytest
from celery import current_app
from django.conf import settings
from django.utils import timezone

from accounts.choices import SubscriptionStatus
from accounts.models import Subscription
from accounts.tests.factories import AccountFactory
from renewals import tasks
from renewals.models import Renewal, RenewalReminder
from renewals.tests.factories import annual_line

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def test_every_renewals_schedule_names_a_registered_task_with_an_expiry():
    import renewals.tasks  # noqa: F401  (registers the tasks)

    schedules = {k: v for k, v in settings.CELERY_BEAT_SCHEDULE.items() if k.startswith("renewals")}
    assert len(schedules) == 8
    for entry in schedules.values():
        assert entry["task"] in current_app.tasks
        assert entry["options"]["expires"] > 0


def test_the_sweep_gives_bulk_written_lines_their_renewals(alice):
    line = annual_line(AccountFactory(owner=alice))
    Renewal.objects.all().delete()

    assert tasks.renewals_sync_all.delay().get() == 1
    assert Renewal.objects.filter(subscription=line, outcome="").exists()


def test_the_daily_jobs_run_their_service(alice):
    account = AccountFactory(owner=alice, lifecycle_stage="adoption")
    due = annual_line(account, renews_on=TODAY())
    annual_line(
        account, product="Soon", renews_on=TODAY() + dt.timedelta(days=25), notice_period_days=10
    )

    assert tasks.renewals_auto_renew_due.delay().get() == 1
    assert Renewal.objects.get(subscription=due).outcome == "renewed"
    assert tasks.renewal_reminders_send.delay().get() == 2  # 30 days before, and the deadline
    assert RenewalReminder.objects.count() == 2
    assert tasks.renewals_risk_refresh_all.delay().get() == 0
    assert tasks.renewal_cadence_tasks.delay().get() == 1
    assert tasks.win_backs_detect.delay().get() == 0
    assert tasks.accounts_churn_due.delay().get() == 0
    assert tasks.accounts_renewal_stage_sync.delay().get() == 1
    assert Subscription.objects.get(pk=due.pk).status == SubscriptionStatus.EXPIRED
    account.refresh_from_db()
    assert account.lifecycle_stage == "renewal"  # the other line renews in 25 days
