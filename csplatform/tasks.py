"""Celery tasks of the platform core: deliver outbox emails and sweep up lost ones."""

from celery import shared_task
from django.conf import settings

from csplatform import services


@shared_task(
    bind=True,
    autoretry_for=(services.OutboxDeliveryError,),
    # Exponential: OUTBOX_RETRY_BACKOFF × 2^n seconds, capped, no jitter so it is predictable.
    retry_backoff=settings.OUTBOX_RETRY_BACKOFF,
    retry_backoff_max=settings.OUTBOX_RETRY_BACKOFF_MAX,
    retry_jitter=False,
    # The row's attempt counter is the real limit (OUTBOX_MAX_ATTEMPTS); this only stops a
    # runaway loop. Should it run out first, the row stays pending and the sweeper resumes.
    max_retries=settings.OUTBOX_MAX_ATTEMPTS,
)
def outbox_send(self, email_id: int) -> bool:
    return services.email_deliver(email_id=email_id)


@shared_task
def outbox_sweep() -> int:
    ids = services.outbox_claim_stale(older_than_seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    for email_id in ids:
        outbox_send.delay(email_id)
    return len(ids)
