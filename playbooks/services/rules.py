"""Writes of rules (CS Leads): the rule, its trigger's settings, its scope and its actions.

Everything a rule stores in JSON (the trigger's parameters, the segment scope, each
action's settings) is checked here against what reads it: the trigger's declared
`Param`s (playbooks.triggers), the account choices, and what each action kind needs
(playbooks.services.actions). A rule is saved with its actions in one transaction, or not
at all. Errors are ValidationErrors keyed by the setting they are about, so a form shows
each next to its field; the same checks serve any future API.

Actions keep their id across edits (a task's dedupe key and a webhook's idempotency key
name the action), so an edit updates the actions it keeps rather than recreating them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.choices import BusinessModel, LifecycleStage, TaskKind, TaskPriority, Tier, TouchModel
from csplatform.models import User
from metrics.models import Feature
from playbooks.choices import ActionKind, AssigneeRole, EndpointFormat, RuleMode
from playbooks.models import PlaybookTemplate, Rule, RuleAction, WebhookEndpoint
from playbooks.triggers import METRICS, Param, trigger

# Bounds of whole-number settings: day counts beyond a century overflow date arithmetic.
INT_MAX = 36_500
DUE_DAYS_MAX = 3_650
TEXT_MAX = 500
NOTE_MAX = 2_000

SCOPE_CHOICES: dict[str, Any] = {
    "tiers": Tier,
    "touch_models": TouchModel,
    "business_models": BusinessModel,
    "lifecycle_stages": LifecycleStage,
}


@dataclass
class ActionSpec:
    """One action as an editor describes it: its kind, settings and what it points to."""

    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    playbook_id: int | None = None
    endpoint_id: int | None = None
    id: int | None = None


# Trigger settings ---------------------------------------------------------------------------


def _param_value(param: Param, raw: Any) -> Any:
    """One parameter, typed and checked; raises ValidationError with a message for people."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        # Left empty: the default (which the trigger would use anyway), or none at all.
        if param.default in (None, ""):
            return param.default
        return _param_value(param, param.default)
    if param.kind == "int":
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise ValidationError(_("Enter a whole number.")) from None
        if not 0 <= value <= INT_MAX:
            raise ValidationError(_("Enter a number from 0 to %(max)s.") % {"max": f"{INT_MAX:,}"})
        return value
    if param.kind == "decimal":
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValidationError(_("Enter a number.")) from None
        if not number.is_finite() or abs(number) >= Decimal("1e12"):
            raise ValidationError(_("Enter a number."))
        # Stored as text (JSON would make it a float), in plain digits ("10", not "1E+1").
        return format(number, "f")
    if param.kind == "choice":
        allowed = [str(c[0]) for c in param.choices]
        if str(raw) not in allowed:
            raise ValidationError(
                _("Choose one of: %(choices)s.")
                % {"choices": ", ".join(str(c[1]) for c in param.choices)}
            )
        return str(raw)
    text = str(raw).strip()
    if len(text) > TEXT_MAX:
        raise ValidationError(_("Keep it under %(n)s characters.") % {"n": TEXT_MAX})
    return text


def _check_metric(params: dict[str, Any]) -> dict[str, list[str]]:
    metric = str(params.get("metric") or "")
    if metric.startswith("feature:"):
        if not Feature.objects.filter(key=metric.split(":", 1)[1]).exists():
            return {"metric": [_("No feature has the key “%(key)s”.") % {"key": metric[8:]}]}
        return {}
    if metric not in dict(METRICS):
        return {
            "metric": [
                _("Unknown metric: use one of %(keys)s, or feature:<key>.")
                % {"keys": ", ".join(k for k, _label in METRICS)}
            ]
        }
    return {}


# Checks a trigger needs beyond its parameters' kinds.
TRIGGER_CHECKS = {"metric_threshold": _check_metric}


def trigger_params_clean(*, trigger_key: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The trigger's parameters from `params`, typed for JSON; unknown names are dropped.

    Raises ValidationError keyed by parameter name (or "trigger" for an unknown trigger).
    """
    found = trigger(trigger_key)
    if found is None:
        raise ValidationError({"trigger": [_("Choose a trigger from the list.")]})
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for param in found.params:
        try:
            value = _param_value(param, params.get(param.name, param.default))
        except ValidationError as exc:
            errors[param.name] = exc.messages
            continue
        if value is not None:
            out[param.name] = value
    if not errors and trigger_key in TRIGGER_CHECKS:
        errors = TRIGGER_CHECKS[trigger_key](out)
    if errors:
        raise ValidationError(errors)
    return out


# Scope ---------------------------------------------------------------------------------------


def _scope_clean(rule: Rule) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, choices in SCOPE_CHOICES.items():
        values = getattr(rule, name) or []
        if not isinstance(values, list) or any(v not in choices.values for v in values):
            errors[name] = [_("Choose from the list.")]
        else:
            setattr(rule, name, sorted(set(values), key=list(choices.values).index))
    tags = rule.tags or []
    if not isinstance(tags, list) or any(not isinstance(t, str) for t in tags):
        errors["tags"] = [_("Tags are a list of names.")]
    else:
        rule.tags = sorted({t.strip() for t in tags if t.strip()})
    if rule.min_mrr is not None and rule.max_mrr is not None and rule.min_mrr > rule.max_mrr:
        errors["max_mrr"] = [_("The upper bound is below the lower one.")]
    for name in ("min_mrr", "max_mrr"):
        value = getattr(rule, name)
        if value is not None and value < 0:
            errors[name] = [_("MRR is never negative.")]
    if rule.mode not in RuleMode.values:
        errors["mode"] = [_("Choose a mode from the list.")]
    return errors


# Actions -------------------------------------------------------------------------------------


def _active_user(pk: Any) -> User | None:
    try:
        return get_user_model().objects.filter(pk=int(pk), is_active=True).first()
    except (TypeError, ValueError):
        return None


def _int_setting(raw: Any, default: int, high: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationError(_("Enter a whole number.")) from None
    if not 0 <= value <= high:
        raise ValidationError(_("Enter a number from 0 to %(max)s.") % {"max": high})
    return value


def action_clean(*, spec: ActionSpec) -> ActionSpec:
    """Check an action against what its kind needs; returns it with only those settings.

    Raises ValidationError keyed by setting: title, kind, priority, due_days,
    assignee_role, assignee, note, stage, user, playbook, endpoint (or "action").
    """
    p = spec.params or {}
    errors: dict[str, list[str]] = {}
    params: dict[str, Any] = {}
    playbook_id = endpoint_id = None
    kind = spec.kind
    if kind not in ActionKind.values:
        raise ValidationError({"action": [_("Choose an action from the list.")]})
    if kind == ActionKind.CREATE_TASK:
        title = str(p.get("title") or "").strip()
        if not title:
            errors["title"] = [_("Give the task a title.")]
        elif len(title) > 255:
            errors["title"] = [_("Keep the title under 255 characters.")]
        params["title"] = title
        description = str(p.get("description") or "").strip()
        if description:
            params["description"] = description[:NOTE_MAX]
        task_kind = p.get("kind") or TaskKind.FOLLOW_UP
        if task_kind not in TaskKind.values:
            errors["kind"] = [_("Choose a task type from the list.")]
        params["kind"] = task_kind
        priority = p.get("priority") or TaskPriority.NORMAL
        if priority not in TaskPriority.values:
            errors["priority"] = [_("Choose a priority from the list.")]
        params["priority"] = priority
        try:
            params["due_days"] = _int_setting(p.get("due_days"), 0, DUE_DAYS_MAX)
        except ValidationError as exc:
            errors["due_days"] = exc.messages
        role = p.get("assignee_role") or AssigneeRole.OWNER
        if role not in AssigneeRole.values:
            errors["assignee_role"] = [_("Choose who gets the task.")]
        params["assignee_role"] = role
        if role == AssigneeRole.USER:
            user = _active_user(p.get("assignee")) if p.get("assignee") else None
            if user is None:
                errors["assignee"] = [_("Choose the person who gets the task.")]
            else:
                params["assignee"] = user.pk
    elif kind == ActionKind.START_PLAYBOOK:
        if (
            not spec.playbook_id
            or not PlaybookTemplate.objects.filter(pk=spec.playbook_id).exists()
        ):
            errors["playbook"] = [_("Choose the playbook to start.")]
        playbook_id = spec.playbook_id
    elif kind in (ActionKind.EMAIL_OWNER, ActionKind.NOTIFY_LEAD):
        note = str(p.get("note") or "").strip()
        if len(note) > NOTE_MAX:
            errors["note"] = [_("Keep the note under %(n)s characters.") % {"n": NOTE_MAX}]
        if note:
            params["note"] = note
    elif kind == ActionKind.CHANGE_STAGE:
        stage = p.get("stage") or ""
        if stage not in LifecycleStage.values:
            errors["stage"] = [_("Choose the stage to move the account to.")]
        params["stage"] = stage
    elif kind == ActionKind.REASSIGN:
        user = _active_user(p.get("user")) if p.get("user") else None
        if user is None:
            errors["user"] = [_("Choose the active user who takes the accounts over.")]
        else:
            params["user"] = user.pk
    else:  # webhook or slack
        wanted = EndpointFormat.SLACK if kind == ActionKind.SLACK else EndpointFormat.JSON
        endpoint = (
            WebhookEndpoint.objects.filter(pk=spec.endpoint_id).first()
            if spec.endpoint_id
            else None
        )
        if endpoint is None:
            errors["endpoint"] = [_("Choose the webhook to call.")]
        elif endpoint.format != wanted:
            errors["endpoint"] = [
                _("This action needs a webhook of the format “%(format)s”.")
                % {"format": wanted.label}
            ]
        endpoint_id = spec.endpoint_id
    if errors:
        raise ValidationError(errors)
    return ActionSpec(
        kind=kind,
        params=params,
        playbook_id=playbook_id,
        endpoint_id=endpoint_id,
        id=spec.id,
    )


# The rule ------------------------------------------------------------------------------------


def rule_clean(*, rule: Rule, actions: Sequence[ActionSpec]) -> list[ActionSpec]:
    """Check the rule and its actions (see the module doc); returns the cleaned actions."""
    errors: dict[str, list[str]] = {}
    try:
        rule.params = trigger_params_clean(trigger_key=rule.trigger, params=rule.params or {})
    except ValidationError as exc:
        errors.update(exc.message_dict)
    errors.update(_scope_clean(rule))
    try:
        rule.full_clean(exclude=["created_by"], validate_unique=True)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, messages)
    cleaned: list[ActionSpec] = []
    for index, spec in enumerate(actions):
        try:
            cleaned.append(action_clean(spec=spec))
        except ValidationError as exc:
            errors.setdefault("actions", []).extend(
                _("Action %(n)s: %(error)s") % {"n": index + 1, "error": message}
                for message in exc.messages
            )
    if rule.mode == RuleMode.ENABLED and not actions:
        errors.setdefault("mode", []).append(
            _("An enabled rule needs at least one action: add one, or keep it in dry run.")
        )
    if errors:
        raise ValidationError(errors)
    return cleaned


def rule_save(*, rule: Rule, actions: Sequence[ActionSpec], actor: User | None = None) -> Rule:
    """Create or update a rule and its ordered actions, in one transaction.

    Actions whose id belongs to the rule are updated, the others created; the rule's
    actions not listed are deleted.
    """
    cleaned = rule_clean(rule=rule, actions=actions)
    with transaction.atomic():
        if rule.pk is None:
            rule.created_by = actor
        rule.save()
        existing = {a.pk: a for a in RuleAction.objects.select_for_update().filter(rule=rule)}
        keep: list[RuleAction] = []
        new: list[RuleAction] = []
        for position, spec in enumerate(cleaned):
            action = existing.pop(spec.id, None) if spec.id is not None else None
            if action is None:
                action = RuleAction(rule=rule)
                new.append(action)
            else:
                keep.append(action)
            action.kind = spec.kind
            action.position = position
            action.params = spec.params
            action.playbook_id = spec.playbook_id
            action.endpoint_id = spec.endpoint_id
        if existing:
            RuleAction.objects.filter(pk__in=list(existing)).delete()
        if keep:
            RuleAction.objects.bulk_update(
                keep, ["kind", "position", "params", "playbook", "endpoint"]
            )
        if new:
            RuleAction.objects.bulk_create(new)
    return rule


def rule_set_mode(*, rule: Rule, mode: str) -> Rule:
    """Enable, dry-run or disable a rule (an enabled rule needs an action)."""
    if mode not in RuleMode.values:
        raise ValidationError(_("Choose a mode from the list."))
    if mode == RuleMode.ENABLED and not rule.actions.exists():
        raise ValidationError(
            _("An enabled rule needs at least one action: add one, or keep it in dry run.")
        )
    Rule.objects.filter(pk=rule.pk).update(mode=mode)
    rule.mode = mode
    return rule


def rule_delete(*, rule: Rule) -> None:
    """Delete a rule with its actions, runs and cooldowns; the tasks it made stay."""
    rule.delete()
