"""Decks for many accounts in the background: a BatchJob row, a Celery task that renders
each account's document and counts progress, and a zip in MEDIA storage at the end."""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import zipfile
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account
from csplatform.models import User
from qbr.choices import BatchStatus, ExportFormat, QbrKind
from qbr.models import BatchJob
from qbr.services.export import account_document, file_name, render

logger = logging.getLogger(__name__)


def _queue_on_commit(batch_id: int) -> None:
    def queue() -> None:
        from qbr.tasks import qbr_batch_run  # tasks import this module

        try:
            qbr_batch_run.delay(batch_id)
        except Exception:  # the broker is down: the batch page offers to run it again
            logger.exception("could not queue QBR batch %s", batch_id)

    transaction.on_commit(queue)


def batch_create(
    *,
    actor: User | None,
    account_ids: Sequence[int],
    fmt: str = ExportFormat.PDF,
    kind: str = QbrKind.QBR,
) -> BatchJob:
    """Record a batch and queue its task once the transaction commits."""
    ids = sorted(set(Account.objects.filter(pk__in=list(account_ids)).values_list("pk", flat=True)))
    if not ids:
        raise ValidationError({"accounts": [_("Choose at least one account.")]})
    if len(ids) > settings.QBR_BATCH_MAX_ACCOUNTS:
        raise ValidationError(
            {
                "accounts": [
                    _("At most %(n)s accounts in one batch.")
                    % {"n": settings.QBR_BATCH_MAX_ACCOUNTS}
                ]
            }
        )
    batch = BatchJob.objects.create(
        created_by=actor,
        format=ExportFormat(fmt),
        kind=QbrKind(kind),
        account_ids=ids,
        total=len(ids),
    )

    _queue_on_commit(batch.pk)
    return batch


def batch_run(*, batch_id: int, today: dt.date | None = None) -> BatchJob:
    """Render every account's deck into a zip. Claimed with a conditional UPDATE, so a
    duplicated task does nothing; an account that fails is noted and the rest go on."""
    claimed = BatchJob.objects.filter(pk=batch_id, status=BatchStatus.QUEUED).update(
        status=BatchStatus.RUNNING, started_at=timezone.now(), done=0, errors={}
    )
    batch = BatchJob.objects.get(pk=batch_id)
    if not claimed:
        return batch
    formats: list[str] = (
        [ExportFormat.PDF.value, ExportFormat.PPTX.value]
        if batch.format == ExportFormat.BOTH
        else [batch.format]
    )
    errors: dict[str, str] = {}
    try:
        with tempfile.TemporaryFile() as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                names: set[str] = set()
                for account in (
                    Account.objects.filter(pk__in=batch.account_ids)
                    .select_related("owner")
                    .order_by("name", "pk")
                ):
                    try:
                        doc, period_end = account_document(
                            account=account, kind=batch.kind, today=today
                        )
                        for fmt in formats:
                            name = file_name(
                                account_name=account.name,
                                kind=batch.kind,
                                period_end=period_end,
                                fmt=fmt,
                            )
                            if name in names:
                                name = f"{account.pk}-{name}"
                            names.add(name)
                            archive.writestr(name, render(doc, fmt))
                    except Exception as exc:  # one account's failure must not sink the batch
                        logger.exception("QBR deck of account %s failed", account.pk)
                        errors[str(account.pk)] = (
                            f"{account.name}: {exc.__class__.__name__}: {exc}"[:500]
                        )
                        BatchJob.objects.filter(pk=batch.pk).update(errors=errors)
                    BatchJob.objects.filter(pk=batch.pk).update(done=F("done") + 1)
            tmp.seek(0)
            batch.refresh_from_db()
            stamp = timezone.now().strftime("%Y%m%d-%H%M")
            batch.zip_file.save(f"qbr-decks-{batch.pk}-{stamp}.zip", File(tmp), save=False)
        batch.status = BatchStatus.DONE
    except Exception:
        logger.exception("QBR batch %s failed", batch.pk)
        batch.refresh_from_db()
        batch.status = BatchStatus.FAILED
    batch.errors = errors
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "errors", "finished_at", "zip_file"])
    return batch


def batch_retry(*, batch: BatchJob) -> BatchJob:
    """Queue a batch again whose task never ran (the broker was down) or that failed."""
    if batch.status not in (BatchStatus.QUEUED, BatchStatus.FAILED):
        raise ValidationError(_("Only a queued or failed batch can be run again."))
    BatchJob.objects.filter(pk=batch.pk).update(status=BatchStatus.QUEUED, done=0, errors={})
    batch.refresh_from_db()

    _queue_on_commit(batch.pk)
    return batch


def batches_purge(*, older_than_days: int | None = None) -> int:
    """Delete finished batches and their zips after QBR_BATCH_RETENTION_DAYS."""
    days = settings.QBR_BATCH_RETENTION_DAYS if older_than_days is None else older_than_days
    old = BatchJob.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=days))
    count = 0
    for batch in old.only("pk", "zip_file"):
        if batch.zip_file:
            batch.zip_file.delete(save=False)
        count += 1
    old.delete()
    return count
