"""Template helpers of the playbooks pages, and the notification bell of the navigation bar."""

from __future__ import annotations

import json
from typing import Any

from django import template

from playbooks.choices import ActionKind, DeliveryStatus, MatchOutcome, RuleMode
from playbooks.services.notify import unread_count

register = template.Library()

_COLOURS: dict[str, dict[str, str]] = {
    "mode": {m.value: m.colour for m in RuleMode},
    "outcome": {
        MatchOutcome.FIRED: "success",
        MatchOutcome.COOLDOWN: "secondary",
        MatchOutcome.DRY_RUN: "info",
        MatchOutcome.FAILED: "danger",
    },
    "delivery": {
        DeliveryStatus.PENDING: "secondary",
        DeliveryStatus.SENT: "success",
        DeliveryStatus.RETRYING: "warning",
        DeliveryStatus.FAILED: "danger",
        DeliveryStatus.SKIPPED: "dark",
    },
}


@register.filter
def pb_colour(value: str, kind: str) -> str:
    """The Bootstrap colour of a rule's mode, a match's outcome or a delivery's status."""
    return _COLOURS.get(kind, {}).get(value, "secondary")


@register.filter
def duration(run: Any) -> str:
    """How long a run took, e.g. "0.4 s" or "2 min 5 s"."""
    if not getattr(run, "finished_at", None):
        return "—"
    seconds = (run.finished_at - run.started_at).total_seconds()
    if seconds < 60:
        return f"{max(seconds, 0):.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


@register.filter
def action_label(kind: str) -> str:
    """The label of an action kind as recorded in a match's log."""
    try:
        return str(ActionKind(kind).label)
    except ValueError:
        return kind


@register.inclusion_tag("playbooks/partials/mode_badge.html")
def mode_badge(mode: str, large: bool = False) -> dict[str, Any]:
    return {"mode": mode, "colour": pb_colour(mode, "mode"), "large": large}


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


@register.inclusion_tag("playbooks/partials/bell.html", takes_context=True)
def notification_bell(context: template.Context) -> dict[str, Any]:
    """The bell with the number of unread notifications: one query, signed-in users only."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"show": False}
    return {"show": True, "unread": unread_count(user=user)}
