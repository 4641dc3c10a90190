"""Formatting of metric values on the dashboard pages and the account usage panel."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils.translation import gettext as _

from metrics.definitions import Benchmark, Unit

register = template.Library()

# Decimal places and digit grouping per unit ("g" groups thousands for the locale).
_FORMATS = {
    Unit.MONEY: "2g",
    Unit.PERCENT: "1g",
    Unit.COUNT: "0g",
    Unit.SCORE: "1g",
    Unit.DAYS: "1g",
    Unit.RATIO: "1g",
}


@register.filter
def metric_value(value: Decimal | float | None, unit: str) -> str:
    """A value in its unit: 1234.5 money → "1,234.50", 12.34 percent → "12.3 %"."""
    if value is None:
        return "—"
    text = floatformat(value, _FORMATS.get(Unit(unit), "1g"))
    return f"{text} %" if unit == Unit.PERCENT else text


@register.filter
def metric_delta(delta: Decimal | None, unit: str) -> str:
    """A signed change: "+1.2 pp" for percentages (points, not percent), "−300.00" for money."""
    if delta is None:
        return ""
    sign = "+" if delta > 0 else ("−" if delta < 0 else "±")
    text = floatformat(abs(delta), _FORMATS.get(Unit(unit), "1g"))
    if unit == Unit.PERCENT:
        return _("%(sign)s%(value)s pp") % {"sign": sign, "value": text}
    return f"{sign}{text}"


@register.filter
def benchmark_text(benchmark: Benchmark, unit: str) -> str:
    """ "SaaS average, monthly: 10–14 %" or "good: ≥ 20"."""
    low, high = benchmark.low, benchmark.high
    suffix = " %" if unit == Unit.PERCENT else ""
    if low is not None and high is not None and low != high:
        value = f"{floatformat(low, -1)}–{floatformat(high, -1)}{suffix}"
    elif low is not None and high is not None:
        value = f"{floatformat(low, -1)}{suffix}"
    elif low is not None:
        value = f"≥ {floatformat(low, -1)}{suffix}"
    elif high is not None:
        value = f"≤ {floatformat(high, -1)}{suffix}"
    else:
        value = ""
    return f"{benchmark.label}: {value}" if value else str(benchmark.label)


@register.filter
def pct_alpha(value: Any) -> str:
    """A 0–100 % figure as a CSS alpha (unlocalised) for the cohort heat map.

    Capped at 0.6 so that dark text stays readable on the strongest cells.
    """
    if value is None:
        return "0"
    return f"{max(0.0, min(float(value), 100.0)) / 100 * 0.6:.2f}"
