"""Celery tasks of the qbr app: take ids, call one service (schedules: settings)."""

from __future__ import annotations

from celery import shared_task

from qbr.services import batch, cadence


@shared_task(name="qbr.tasks.qbr_batch_run")
def qbr_batch_run(batch_id: int) -> int:
    """Render the decks of a batch into its zip, counting progress as it goes."""
    return batch.batch_run(batch_id=batch_id).done


@shared_task(name="qbr.tasks.qbr_cadence_run")
def qbr_cadence_run() -> int:
    """Daily: tasks for the QBRs falling due, temperature checks of quiet accounts."""
    run = cadence.qbr_cadence_run()
    return run.tasks + run.temperature_checks


@shared_task(name="qbr.tasks.qbr_batches_purge")
def qbr_batches_purge() -> int:
    return batch.batches_purge()
