"""Documents as files: the PDF and the PowerPoint of a QBR, or of an account from live data
(batches, the bench), kept in MEDIA storage, never in the repository."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Account
from qbr import selectors
from qbr.choices import ExportFormat, QbrKind, QbrStatus
from qbr.documents import Document, build_document, draft_narrative, qbr_document
from qbr.documents.pdf import render_pdf
from qbr.documents.slides import render_pptx
from qbr.models import Qbr

CONTENT_TYPES = {
    ExportFormat.PDF: "application/pdf",
    ExportFormat.PPTX: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def render(doc: Document, fmt: str) -> bytes:
    if fmt == ExportFormat.PDF:
        return render_pdf(doc)
    if fmt == ExportFormat.PPTX:
        return render_pptx(doc)
    raise ValueError(f"unknown format {fmt!r}")


def file_name(*, account_name: str, kind: str, period_end: str | dt.date, fmt: str) -> str:
    stem = slugify(account_name)[:60] or "account"
    day = period_end if isinstance(period_end, str) else period_end.isoformat()
    return f"{stem}-{kind}-{re.sub(r'[^0-9-]', '', day)}.{fmt}"


def qbr_prep_ensure(*, qbr: Qbr) -> dict[str, Any]:
    """The QBR's stored prep pack, or a live one when it has not been prepared yet."""
    if qbr.prep:
        return qbr.prep
    return selectors.prep_pack(
        account=qbr.account, period_start=qbr.period_start, period_end=qbr.period_end, qbr=qbr
    )


def qbr_export(*, qbr: Qbr, fmt: str, keep: bool = True) -> tuple[str, bytes]:
    """Render the QBR's document and return (name, bytes); with `keep`, the file is kept
    on the QBR (a reader's download leaves the QBR as it was)."""
    doc = qbr_document(qbr, qbr_prep_ensure(qbr=qbr))
    data = render(doc, fmt)
    name = file_name(
        account_name=qbr.account.name, kind=qbr.kind, period_end=qbr.period_end, fmt=fmt
    )
    if not keep:
        return name, data
    field = qbr.pdf if fmt == ExportFormat.PDF else qbr.pptx
    old = field.name
    field.save(name, ContentFile(data), save=False)
    if old and old != field.name:
        field.storage.delete(old)
    qbr.exported_at = timezone.now()
    qbr.save(update_fields=[field.field.name, "exported_at", "updated_at"])
    return name, data


def account_document(
    *,
    account: Account,
    kind: str = QbrKind.QBR,
    period: tuple[dt.date, dt.date] | None = None,
    today: dt.date | None = None,
) -> tuple[Document, str]:
    """The document of an account from live data: its open QBR's narrative and next steps
    when it has one, else a draft from the figures. Returns it with its period end."""
    start, end = period or selectors.default_period(today=today)
    open_qbr = (
        Qbr.objects.filter(account=account, status__in=[QbrStatus.PLANNED, QbrStatus.PREPARED])
        .prefetch_related("next_steps", "attendee_contacts", "attendee_users")
        .select_related("owner")
        .order_by("-period_end", "-pk")
        .first()
    )
    if open_qbr is not None and open_qbr.prep:
        return qbr_document(open_qbr), open_qbr.period_end.isoformat()
    prep = selectors.prep_pack(account=account, period_start=start, period_end=end, today=today)
    doc = build_document(prep=prep, kind=kind, narrative=draft_narrative(prep))
    return doc, end.isoformat()
