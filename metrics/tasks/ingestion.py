"""Celery tasks: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from metrics.services import ingestion as services


@shared_task(name="metrics.tasks.ingestion.events_purge_expired")
def events_purge_expired() -> int:
    """Delete raw events past the retention window (daily); rollups stay."""
    return services.events_purge_expired()


@shared_task(name="metrics.tasks.ingestion.events_attach_account")
def events_attach_account(account_id: int) -> int:
    """Attach the events waiting for an account that just got its external id."""
    return services.events_attach_pending(account_ids=[account_id])


@shared_task(name="metrics.tasks.ingestion.events_attach_pending")
def events_attach_pending() -> int:
    """Sweep: attach events of every account that appeared without a signal (bulk imports)."""
    return services.events_attach_pending()


@shared_task(name="metrics.tasks.ingestion.rollups_fold", ignore_result=True)
def rollups_fold() -> int:
    """Every few seconds: add the usage the tracking API stored to the daily rollups."""
    return services.rollups_fold(wait=False).events
