from celery import shared_task
from django.conf import settings

from csplatform import services


@shared_task(
    bind=True,
    autoretry_for=(services.OutboxDeliveryError,),
    retry_backoff=2,
    retry_backoff_max=600,
    retry_jitter=False,
    max_retries=10,
)
def outbox_send(self, email_id: int) -> bool:
    return services.email_deliver(email_id=email_id)


@shared_task
def outbox_sweep() -> int:
    ids = services.outbox_pending_ids(older_than_seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    for email_id in ids:
        outbox_send.delay(email_id)
    return len(ids)
