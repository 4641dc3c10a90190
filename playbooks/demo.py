"""Demo data of the playbooks app: the starter library, enabled, and its first run.

Connected to `accounts.demo.demo_seeded` in `PlaybooksConfig.ready()`; it runs after the
metrics and health demos (the apps' order), so the rules see the demo's health colours,
renewals, survey answers and onboarding plans, and the demo opens with the tasks, emails,
notifications and run log a CS team would find on its first morning.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from playbooks.choices import RuleMode, RunSource
from playbooks.library import library_load
from playbooks.services.evaluate import rules_evaluate


def demo_playbooks_create(*, today: dt.date) -> int:
    """Load the library (enabled) and evaluate every rule once; returns the runs made."""
    lead = get_user_model().objects.filter(username="lead").first()
    library_load(actor=lead, mode=RuleMode.ENABLED)
    now = timezone.now()
    if now.date() != today:
        now = dt.datetime.combine(today, dt.time(9), tzinfo=dt.UTC)
    return len(rules_evaluate(source=RunSource.MANUAL, now=now))


def demo_seeded_receiver(sender: Any, *, today: dt.date, **kwargs: Any) -> None:
    demo_playbooks_create(today=today)
