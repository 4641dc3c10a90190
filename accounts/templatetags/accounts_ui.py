"""Small template helpers of the accounts pages: money, sortable headers, task permissions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.html import format_html

from accounts import selectors
from accounts.choices import AccountStatus, ActivityKind, GoalStatus, TaskPriority, TaskStatus

register = template.Library()


@register.filter
def money(value: Decimal | None, currency: str = "") -> str:
    """12345.6 → "12,345.60 USD" (two places, grouped; the account's currency)."""
    if value is None:
        return "—"
    amount = intcomma(floatformat(value, 2))
    return f"{amount} {currency}".strip()


@register.filter
def can_change_task(task: Any, user: Any) -> bool:
    return selectors.task_can_change(user=user, task=task)


@register.simple_tag(takes_context=True)
def sort_header(context: template.Context, key: str, label: str) -> str:
    """A column header link that sorts by `key`, toggling ascending/descending."""
    request = context["request"]
    current = request.GET.get("ordering", "")
    if current == key:
        new, icon = f"-{key}", "bi-sort-up"
    elif current == f"-{key}":
        new, icon = key, "bi-sort-down"
    else:
        new, icon = key, ""
    params = request.GET.copy()
    params["ordering"] = new
    params.pop("page", None)
    params.pop("format", None)
    return format_html(
        '<a class="sort" href="?{}" data-sort="{}">{} <i class="bi {}"></i></a>',
        params.urlencode(),
        key,
        label,
        icon,
    )


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, page: int) -> str:
    """The current URL's query string with another page number (filters kept)."""
    params = context["request"].GET.copy()
    params["page"] = page
    params.pop("format", None)
    return "?" + params.urlencode()


@register.simple_tag(takes_context=True)
def csv_url(context: template.Context) -> str:
    params = context["request"].GET.copy()
    params.pop("page", None)
    params["format"] = "csv"
    return "?" + params.urlencode()


@register.filter
def days_class(days: int | None) -> str:
    """Bootstrap text colour for a days-to-renewal number."""
    if days is None:
        return "text-secondary"
    if days < 0:
        return "text-danger fw-semibold"
    if days <= 30:
        return "text-danger"
    if days <= 90:
        return "text-warning-emphasis"
    return ""


_COLOUR_CHOICES = {
    "account_status": AccountStatus,
    "goal_status": GoalStatus,
    "priority": TaskPriority,
}
_POWER_ROLE_COLOURS = {
    "executive_sponsor": "dark",
    "decision_maker": "primary",
    "champion": "success",
    "influencer": "info",
    "user": "secondary",
    "detractor": "danger",
}


@register.filter
def colour(value: str, kind: str) -> str:
    """The Bootstrap colour of a choice value: {{ account.status|colour:"account_status" }}."""
    if kind == "power_role":
        return _POWER_ROLE_COLOURS.get(value, "secondary")
    try:
        return _COLOUR_CHOICES[kind](value).colour
    except (KeyError, ValueError):
        return "secondary"


@register.filter
def activity_icon(kind: str) -> str:
    try:
        return ActivityKind(kind).icon
    except ValueError:
        return "dot"


@register.filter
def due_state(task: Any) -> str:
    """ "overdue", "today", "snoozed" or "" for an open task's due date."""
    if task.status != TaskStatus.OPEN or task.due_date is None:
        return ""
    today = timezone.localdate()
    if task.snoozed_until and task.snoozed_until > today:
        return "snoozed"
    if task.due_date < today:
        return "overdue"
    if task.due_date == today:
        return "today"
    return ""
