"""Template helpers of the qbr app: document blocks, charts, logo, badges."""

from __future__ import annotations

import base64
import functools
import mimetypes
from pathlib import Path
from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from qbr.choices import BatchStatus, Cadence, CadenceReason, QbrStatus
from qbr.documents import Document, fmt_short_date
from qbr.documents.svg import chart_svg
from renewals.choices import ForecastCategory

register = template.Library()


@register.filter
def block_type(block: Any) -> str:
    return type(block).__name__.lower()


@register.simple_tag
def chart(block: Any, doc: Document) -> SafeString:
    return chart_svg(block, doc.primary, doc.accent)


@functools.lru_cache(maxsize=8)
def _data_uri(path: str) -> str:
    file = Path(path)
    if not path or not file.is_file():
        return ""
    mime = mimetypes.guess_type(file.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(file.read_bytes()).decode()}"


@register.filter
def data_uri(path: str) -> str:
    """The logo inline, so the preview, the PDF and an email need no file access."""
    return _data_uri(path)


@register.filter
def css_str(value: Any) -> SafeString:
    """Text for a CSS string (the PDF's page footer): every character other than a letter,
    digit or space as a CSS escape, so a customer's name cannot end the string."""
    out = "".join(c if c.isalnum() or c == " " else f"\\{ord(c):06x}" for c in str(value))
    return mark_safe(out)  # only letters, digits, spaces and escapes


@register.filter
def qbr_colour(value: str, kind: str = "status") -> str:
    try:
        if kind == "batch":
            return BatchStatus(value).colour
        return QbrStatus(value).colour
    except ValueError:
        return "secondary"


@register.filter
def iso_date(value: str | None) -> str:
    """A date the prep pack keeps as ISO text, in the user's short format."""
    return fmt_short_date(value) if value else "—"


@register.filter
def forecast_label(value: str) -> str:
    try:
        return str(ForecastCategory(value).label)
    except ValueError:
        return value


@register.filter
def cadence_label(value: str) -> str:
    try:
        return str(Cadence(value).label)
    except ValueError:
        return value


@register.filter
def reason_label(value: str) -> str:
    try:
        return str(CadenceReason(value).label)
    except ValueError:
        return value
