"""Celery tasks of the onboarding app: take ids, call one service."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from onboarding.services import detection, plans

logger = logging.getLogger(__name__)

DETECT_SOON_KEY = "onboarding:detect-soon"


@shared_task(name="onboarding.tasks.plans_detect_all")
def plans_detect_all() -> int:
    """Every 10 minutes, and soon after new usage: criteria, activation, value (set-based)."""
    found = detection.plans_detect()
    return len(found.activated) + len(found.valued)


@shared_task(name="onboarding.tasks.plans_health_refresh_all")
def plans_health_refresh_all() -> int:
    """Hourly: re-rate every active plan (lateness grows with the date alone)."""
    return len(detection.plans_health_refresh())


@shared_task(name="onboarding.tasks.plans_autostart_sweep")
def plans_autostart_sweep() -> int:
    """Start plans for new onboarding accounts that arrived without a signal (CSV imports)."""
    return len(plans.plans_autostart())


@shared_task(name="onboarding.tasks.plan_autostart_account")
def plan_autostart_account(account_id: int) -> int:
    """Start the plan of one account that was just created, if a template matches."""
    return len(plans.plans_autostart(account_ids=[account_id]))


@shared_task(name="onboarding.tasks.plans_stop_churned")
def plans_stop_churned(account_id: int) -> int:
    """Cancel the plan in progress of an account that churned."""
    return len(plans.plans_cancel_for_churned(account_ids=[account_id]))


_asked_at = 0.0


def plans_detect_soon() -> None:
    """Ask for one detection run in ONBOARDING_DETECT_DELAY_SECONDS, however often called.

    Called for every ingested batch: a process asks the cache at most once every few
    seconds (no I/O in between), and a cache ADD lets one run be queued per delay for all
    processes; batches that arrive while a run is pending are covered by it. Without a
    cache or broker the scheduled run (every 10 minutes) still comes.
    """
    global _asked_at
    delay = settings.ONBOARDING_DETECT_DELAY_SECONDS
    now = time.monotonic()
    if now - _asked_at < min(5, delay):
        return
    _asked_at = now
    try:
        first = cache.add(DETECT_SOON_KEY, 1, timeout=delay)
    except Exception:
        logger.warning("cache unavailable: onboarding detection waits for its schedule")
        return
    if first:
        transaction.on_commit(
            lambda: plans_detect_all.apply_async(countdown=delay, expires=delay + 600),
            robust=True,
        )
