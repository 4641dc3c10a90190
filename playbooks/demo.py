"""Demo data of the playbooks app: the starter library, enabled, and its first run.

Connected to `accounts.demo.demo_seeded` in `PlaybooksConfig.ready()`. The rules need the
demo's figures and health scores: when the metric backfill runs in the worker after
`seed_demo` (the usual case), the health backfill that follows it announces
`health_backfilled` and every rule is evaluated then (see playbooks.apps); when the figures
are computed in-process (eager Celery, or no backfill), the rules run here. Either way the
demo opens with the tasks, emails, notifications and run log of a first morning.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from playbooks.choices import RuleMode, RunSource
from playbooks.library import library_load
from playbooks.services.evaluate import rules_evaluate


def demo_playbooks_create(*, today: dt.date) -> int:
    """Load the library (enabled) and evaluate every rule once; returns the runs made."""
    lead = get_user_model().objects.filter(username="lead").first()
    library_load(actor=lead, mode=RuleMode.ENABLED)
    if not settings.CELERY_TASK_ALWAYS_EAGER and settings.DEMO_METRICS_BACKFILL_DAYS:
        return 0  # after the backfill, through health_backfilled
    now = timezone.now()
    if now.date() != today:
        now = dt.datetime.combine(today, dt.time(9), tzinfo=dt.UTC)
    return len(rules_evaluate(source=RunSource.MANUAL, now=now))


def demo_seeded_receiver(sender: Any, *, today: dt.date, **kwargs: Any) -> None:
    demo_playbooks_create(today=today)
