"""Celery tasks of the health app: take ids and dates, call one service."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

from health.services.overrides import overrides_expire
from health.services.scores import health_recalculate

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def health_recalculate_all(as_of: str | None = None) -> None:
    """Every customer (after a scorecard is published, or on demand)."""
    day = dt.date.fromisoformat(as_of) if as_of else None
    run = health_recalculate(as_of=day)
    logger.info("health scored for %s accounts in %.1f s", run.scored, run.seconds)


@shared_task(ignore_result=True)
def health_recalculate_nightly() -> None:
    """Nightly, after the metric engine's run: every customer on yesterday's final figures."""
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    run = health_recalculate(as_of=yesterday)
    logger.info(
        "health scored for %s accounts on %s in %.1f s (%s changed)",
        run.scored,
        yesterday,
        run.seconds,
        len(run.changes),
    )


@shared_task(ignore_result=True)
def health_overrides_expire() -> None:
    """Daily: overrides and sentiments past their expiry end, and their accounts are rescored."""
    ended = overrides_expire()
    if ended:
        logger.info("health overrides and sentiments expired on %s accounts", len(ended))
