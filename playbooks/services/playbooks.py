"""Writes of playbooks (task-list templates, CS Leads): the playbook and its ordered steps.

Steps keep their id across edits: the tasks a rule started carry the step's id in their
dedupe key, so a kept step goes on updating its open tasks instead of adding new ones.
A playbook that a rule starts cannot be deleted (the rule would have nothing to start).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from accounts.choices import TaskKind, TaskPriority
from playbooks.choices import ActionKind, AssigneeRole
from playbooks.models import PlaybookStep, PlaybookTemplate, Rule

DUE_DAYS_MAX = 3_650


@dataclass
class StepSpec:
    title: str
    description: str = ""
    kind: str = TaskKind.FOLLOW_UP
    priority: str = TaskPriority.NORMAL
    due_days: int = 0
    assignee_role: str = AssigneeRole.OWNER
    assignee_id: int | None = None
    id: int | None = None


def step_clean(*, spec: StepSpec) -> StepSpec:
    """Check one step; raises ValidationError keyed by field."""
    errors: dict[str, list[str]] = {}
    if not spec.title.strip():
        errors["title"] = [_("Give the step a title.")]
    if spec.kind not in TaskKind.values:
        errors["kind"] = [_("Choose a task type from the list.")]
    if spec.priority not in TaskPriority.values:
        errors["priority"] = [_("Choose a priority from the list.")]
    if not 0 <= spec.due_days <= DUE_DAYS_MAX:
        errors["due_days"] = [_("Enter a number from 0 to %(max)s.") % {"max": DUE_DAYS_MAX}]
    if spec.assignee_role not in AssigneeRole.values:
        errors["assignee_role"] = [_("Choose who gets the task.")]
    elif spec.assignee_role == AssigneeRole.USER:
        if (
            spec.assignee_id is None
            or not get_user_model().objects.filter(pk=spec.assignee_id, is_active=True).exists()
        ):
            errors["assignee"] = [_("Choose the person who gets the task.")]
    else:
        spec.assignee_id = None
    if errors:
        raise ValidationError(errors)
    spec.title = spec.title.strip()
    return spec


def playbook_save(*, playbook: PlaybookTemplate, steps: Sequence[StepSpec]) -> PlaybookTemplate:
    """Create or update a playbook with its steps in this order, in one transaction."""
    errors: dict[str, list[str]] = {}
    try:
        playbook.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    cleaned = []
    for index, spec in enumerate(steps):
        try:
            cleaned.append(step_clean(spec=spec))
        except ValidationError as exc:
            errors.setdefault("steps", []).extend(
                _("Step %(n)s: %(error)s") % {"n": index + 1, "error": m} for m in exc.messages
            )
    if not steps:
        errors.setdefault("steps", []).append(_("A playbook needs at least one step."))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        playbook.save()
        existing = {
            s.pk: s for s in PlaybookStep.objects.select_for_update().filter(playbook=playbook)
        }
        keep: list[PlaybookStep] = []
        new: list[PlaybookStep] = []
        for position, spec in enumerate(cleaned):
            step = existing.pop(spec.id, None) if spec.id is not None else None
            if step is None:
                step = PlaybookStep(playbook=playbook)
                new.append(step)
            else:
                keep.append(step)
            step.title = spec.title
            step.description = spec.description
            step.kind = spec.kind
            step.priority = spec.priority
            step.due_days = spec.due_days
            step.assignee_role = spec.assignee_role
            step.assignee_id = spec.assignee_id
            step.position = position
        if existing:
            PlaybookStep.objects.filter(pk__in=list(existing)).delete()
        if keep:
            PlaybookStep.objects.bulk_update(
                keep,
                [
                    "title",
                    "description",
                    "kind",
                    "priority",
                    "due_days",
                    "assignee_role",
                    "assignee",
                    "position",
                ],
            )
        if new:
            PlaybookStep.objects.bulk_create(new)
    return playbook


def playbook_rules(*, playbook: PlaybookTemplate) -> list[Rule]:
    """The rules with an action that starts this playbook."""
    return list(
        Rule.objects.filter(
            actions__kind=ActionKind.START_PLAYBOOK, actions__playbook=playbook
        ).distinct()
    )


def playbook_delete(*, playbook: PlaybookTemplate) -> None:
    """Delete a playbook no rule starts; the tasks it made stay."""
    with transaction.atomic():
        used = playbook_rules(playbook=playbook)
        if used:
            raise ValidationError(
                _("“%(name)s” is started by %(rules)s: remove it from those rules first.")
                % {"name": playbook.name, "rules": ", ".join(f"“{r.name}”" for r in used)}
            )
        try:
            playbook.delete()
        except ProtectedError:  # a rule took it up meanwhile
            raise ValidationError(
                _("“%(name)s” is started by a rule: remove it from that rule first.")
                % {"name": playbook.name}
            ) from None
