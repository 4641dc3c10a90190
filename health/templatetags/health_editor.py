"""Template helpers of the scorecard editor and the backtest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import gettext as _

from accounts.choices import BusinessModel, LifecycleStage, Tier, TouchModel
from health.choices import Color
from metrics.definitions import Unit

register = template.Library()

CRITERIA = (
    ("tiers", Tier),
    ("touch_models", TouchModel),
    ("business_models", BusinessModel),
    ("lifecycle_stages", LifecycleStage),
)


@register.filter
def num(value: Decimal | float | int | None) -> str:
    """35.00 → "35", 33.30 → "33.3", None → "—" (weights, bounds and band starts)."""
    if value is None or value == "":
        return "—"
    d = value if isinstance(value, Decimal) else Decimal(str(value))
    text = f"{d.normalize():f}"
    return "0" if text == "-0" else text


@register.filter
def criteria(scorecard: Any) -> list[tuple[str, str]]:
    """[(field label, "Enterprise, SMB")] of the criteria a scorecard sets."""
    out = []
    for name, choices in CRITERIA:
        values = getattr(scorecard, name) or []
        if values:
            labels = {c.value: str(c.label) for c in choices}
            field = scorecard._meta.get_field(name).verbose_name
            out.append((str(field).capitalize(), ", ".join(labels.get(v, v) for v in values)))
    return out


@register.filter
def color_class(color: str | None) -> str:
    """The Bootstrap colour of a health colour ("" or None: no score)."""
    return Color(color).bootstrap if color in Color.values else "secondary"


@register.filter
def color_label(color: str | None) -> str:
    return str(Color(color).label) if color in Color.values else _("No score")


@register.filter
def unit_label(unit: str | None) -> str:
    labels = {
        Unit.PERCENT: "%",
        Unit.DAYS: _("days"),
        Unit.COUNT: _("count"),
        Unit.SCORE: _("points"),
        Unit.MONEY: _("money"),
        Unit.RATIO: _("ratio"),
    }
    return str(labels.get(unit, unit or "")) if unit else ""


@register.filter
def as_float(value: Any, places: int = 2) -> str:
    """A Fraction or Decimal shown with `places` decimals ("—" for None)."""
    if value is None:
        return "—"
    return f"{float(value):.{int(places)}f}"


@register.filter
def get(mapping: Any, key: Any) -> Any:
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def get_share(side: Any, color: str) -> str:
    """The share of a backtest side's accounts that were `color` ("40 %")."""
    share = side.color_share(color)
    return "—" if share is None else f"{share:.0f} %"
