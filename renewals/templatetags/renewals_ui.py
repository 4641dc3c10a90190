"""Small template helpers of the renewals pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

from health.choices import Color
from renewals.choices import (
    CounterOfferStatus,
    ForecastCategory,
    Outcome,
    RenewalStage,
    RiskFlag,
    WinBackStatus,
)

register = template.Library()

_CHOICES: dict[str, Any] = {
    "stage": RenewalStage,
    "forecast": ForecastCategory,
    "outcome": Outcome,
    "win_back": WinBackStatus,
    "offer": CounterOfferStatus,
}


@register.filter
def rn_colour(value: str, kind: str) -> str:
    """The Bootstrap colour of a renewal's stage, forecast, outcome, win-back or offer."""
    if kind == "health":
        try:
            return Color(value).bootstrap
        except ValueError:
            return "secondary"
    try:
        return _CHOICES[kind](value).colour
    except (KeyError, ValueError):
        return "secondary"


@register.filter
def risk_label(key: str) -> str:
    try:
        return str(RiskFlag(key).label)
    except ValueError:
        return key


@register.filter
def arr_of(mrr: Decimal | None) -> Decimal | None:
    return None if mrr is None else mrr * 12


@register.filter
def lookup(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None
