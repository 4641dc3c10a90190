"""Celery tasks of the playbooks app: take ids, call one service."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from playbooks.choices import RunSource
from playbooks.services import evaluate, notify, webhooks
from playbooks.services.evaluate import rules_evaluate

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def rules_evaluate_scheduled() -> None:
    """Hourly: every rule over every customer (time-based triggers, and a safety net)."""
    runs = rules_evaluate(source=RunSource.SCHEDULE)
    logger.info("%s rules evaluated", len(runs))


@shared_task(ignore_result=True, acks_late=True)
def rules_evaluate_event(event: str, account_ids: list[int]) -> None:
    """At once, for the accounts an event is about: the rules whose trigger listens to it."""
    rules_evaluate(source=RunSource.EVENT, event=event, account_ids=account_ids)


@shared_task(bind=True, ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def webhook_deliver(self, delivery_id: int) -> None:  # type: ignore[no-untyped-def]
    """Post one webhook delivery; schedules its own retry with backoff after a failure."""
    wait = webhooks.webhook_deliver(delivery_id=delivery_id)
    if wait is not None:
        transaction.on_commit(
            lambda: webhook_deliver.apply_async((delivery_id,), countdown=wait), robust=True
        )


@shared_task(ignore_result=True)
def webhooks_sweep() -> None:
    """Every minute: deliveries whose task was lost or whose retry is due."""
    for pk in webhooks.deliveries_due():
        webhook_deliver.delay(pk)


@shared_task(ignore_result=True)
def runs_purge() -> None:
    """Nightly: the run log keeps PLAYBOOK_RUN_RETENTION_DAYS."""
    evaluate.runs_purge()


@shared_task(ignore_result=True)
def digests_send() -> None:
    """Every 15 minutes: the digests of the users for whom it is DIGEST_HOUR now."""
    sent = notify.digests_send_due()
    if sent:
        logger.info("digests sent to %s users", len(sent))
