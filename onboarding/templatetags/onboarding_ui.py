"""Small template helpers of the onboarding pages."""

from __future__ import annotations

from django import template

from onboarding.choices import PlanHealth, PlanStatus, TaskSide

register = template.Library()

_CHOICES = {"health": PlanHealth, "status": PlanStatus, "side": TaskSide}


@register.filter
def ob_colour(value: str, kind: str) -> str:
    """The Bootstrap colour of a plan's health, status or a task's side."""
    try:
        return _CHOICES[kind](value).colour
    except (KeyError, ValueError):
        return "secondary"


@register.filter
def days_since(day: object, today: object) -> int | None:
    """Whole days from `day` to `today` (None when either is missing)."""
    try:
        return (today - day).days  # type: ignore[operator]
    except TypeError:
        return None
