"""Celery tasks of the metric engine: take dates, call one service."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.utils import timezone

from metrics.services.engine import account_figures_refresh_changed as refresh_changed
from metrics.services.engine import metrics_recalculate

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def metrics_recalculate_yesterday() -> None:
    """Nightly: yesterday's final figures (waits for a backfill or a "today" run to finish)."""
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    result = metrics_recalculate(start=yesterday, end=yesterday)
    logger.info("metrics recalculated for %s: %s account rows", yesterday, result.account_rows)


@shared_task(ignore_result=True)
def metrics_recalculate_today() -> None:
    """Every 15 minutes: today's figures so far; skips when another run holds the engine."""
    today = timezone.now().date()
    result = metrics_recalculate(start=today, end=today, wait=False)
    if result.skipped:
        logger.info("metrics for %s skipped: another recalculation is running", today)


@shared_task(ignore_result=True)
def metrics_backfill(days: int) -> None:
    """The last `days` days, e.g. after demo data was loaded; waits for other runs."""
    today = timezone.now().date()
    result = metrics_recalculate(start=today - dt.timedelta(days=days - 1), end=today)
    logger.info("metrics backfilled for %s days: %s account rows", days, result.account_rows)


@shared_task(ignore_result=True)
def account_figures_refresh_changed() -> None:
    """Every few seconds: today's figures of the accounts whose signals just changed."""
    refreshed = refresh_changed()
    if refreshed:
        logger.info("figures refreshed for %s changed accounts", len(refreshed))
