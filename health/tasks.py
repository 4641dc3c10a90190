"""Celery tasks of the health app: take ids and dates, call one service."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings

from health.services.overrides import overrides_expire
from health.services.scores import health_backfill, health_recalculate

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def health_recalculate_all(as_of: str | None = None) -> None:
    """Every customer (after a scorecard is published, or on demand)."""
    day = dt.date.fromisoformat(as_of) if as_of else None
    run = health_recalculate(as_of=day)
    logger.info("health scored for %s accounts in %.1f s", run.scored, run.seconds)


@shared_task(ignore_result=True)
def health_after_metrics(start: str, end: str) -> None:
    """After a metric recalculation: every customer on each day it covered (the last
    HEALTH_HISTORY_DAYS of a long backfill), so history and today's scores follow it."""
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    first = max(first, last - dt.timedelta(days=settings.HEALTH_HISTORY_DAYS - 1))
    days = health_backfill(start=first, end=last)
    logger.info("health scored for %s days (%s to %s)", days, first, last)


@shared_task(ignore_result=True)
def health_overrides_expire() -> None:
    """Daily: overrides and sentiments past their expiry end, and their accounts are rescored."""
    ended = overrides_expire()
    if ended:
        logger.info("health overrides and sentiments expired on %s accounts", len(ended))
