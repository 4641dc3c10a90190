"""Small helpers for the health pages: colours, trend arrows, scores."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from health.choices import Color, Sentiment

register = template.Library()


@register.filter
def health_bs(color: Any) -> str:
    """The Bootstrap colour of a health colour ("secondary" when there is none)."""
    try:
        return Color(color).bootstrap
    except ValueError:
        return "secondary"


@register.filter
def sentiment_bs(sentiment: Any) -> str:
    try:
        return Sentiment(sentiment).bootstrap
    except ValueError:
        return "secondary"


@register.filter
def health_label(color: Any) -> str:
    try:
        return str(Color(color).label)
    except ValueError:
        return _("No score")


@register.filter
def score(value: Any) -> str:
    if value is None:
        return "—"
    return f"{Decimal(value):.0f}"


@register.filter
def trend(delta: Any) -> SafeString:
    """↑ 7 / ↓ 3 / → 0 with a colour, or a dash."""
    if delta is None:
        return mark_safe('<span class="text-secondary">—</span>')
    delta = Decimal(delta)
    if delta > 0:
        return format_html('<span class="text-success">↑ {}</span>', f"{delta:.0f}")
    if delta < 0:
        return format_html('<span class="text-danger">↓ {}</span>', f"{-delta:.0f}")
    return mark_safe('<span class="text-secondary">→ 0</span>')


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """mapping[key] in a template (a Counter gives 0 for a missing key)."""
    try:
        return mapping[key]
    except (KeyError, TypeError):
        return None
