"""Writes of onboarding templates (CS Leads): the template, its milestones, tasks, criteria.

Plans copy their template when they start, so nothing here touches a running plan.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from csplatform.models import User
from onboarding.choices import CriterionKind
from onboarding.models import (
    OnboardingTemplate,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)


def template_save(*, template: OnboardingTemplate, actor: User | None = None) -> OnboardingTemplate:
    if template.pk is None:
        template.created_by = actor
    template.full_clean()
    template.save()
    return template


def _next_position(queryset: object) -> int:
    top = queryset.aggregate(top=Max("position"))["top"]  # type: ignore[attr-defined]
    return 0 if top is None else top + 1


def template_milestone_save(*, milestone: TemplateMilestone) -> TemplateMilestone:
    if milestone.pk is None and not milestone.position:
        milestone.position = _next_position(milestone.template.milestones)
    milestone.full_clean()
    milestone.save()
    return milestone


def template_task_save(*, task: TemplateTask) -> TemplateTask:
    if task.pk is None and not task.position:
        task.position = _next_position(task.milestone.tasks)
    task.full_clean()
    task.save()
    return task


def template_criterion_save(*, criterion: TemplateCriterion) -> TemplateCriterion:
    """Check that a criterion names what its kind needs, and only that."""
    kind = CriterionKind(criterion.kind)
    errors: dict[str, list[str]] = {}
    if kind.needs_feature:
        if criterion.feature_id is None:
            errors["feature"] = [_("Choose the feature this criterion counts.")]
    else:
        criterion.feature = None
    if kind == CriterionKind.MILESTONE:
        if criterion.milestone_id is None:
            errors["milestone"] = [_("Choose the milestone.")]
        elif criterion.milestone.template_id != criterion.template_id:  # type: ignore[union-attr]
            errors["milestone"] = [_("Choose a milestone of this template.")]
        criterion.threshold = 1
    else:
        criterion.milestone = None
    if errors:
        raise ValidationError(errors)
    criterion.full_clean()
    criterion.save()
    return criterion


def template_part_delete(*, part: TemplateMilestone | TemplateTask | TemplateCriterion) -> None:
    """Delete a milestone (with its tasks and the criteria naming it), a task or a criterion."""
    part.delete()


def template_duplicate(
    *, template: OnboardingTemplate, name: str, actor: User | None = None
) -> OnboardingTemplate:
    """A copy of the template under a new name, archived and not starting plans on its own.

    The copy starts inactive so that two templates never compete for the same accounts
    until the CS Lead has adapted the copy and switched it on.
    """
    if OnboardingTemplate.objects.filter(name=name).exists():
        raise ValidationError({"name": [_("A template with this name already exists.")]})
    with transaction.atomic():
        milestones = list(template.milestones.prefetch_related("tasks"))
        criteria = list(template.criteria.all())
        copy = OnboardingTemplate.objects.get(pk=template.pk)
        copy.pk = None
        copy.name = name
        copy.is_active = False
        copy.auto_start = False
        copy.created_by = actor
        template_save(template=copy, actor=actor)
        new_milestones = {}
        for m in milestones:
            new_milestones[m.pk] = TemplateMilestone.objects.create(
                template=copy,
                name=m.name,
                description=m.description,
                position=m.position,
                due_day=m.due_day,
            )
        TemplateTask.objects.bulk_create(
            TemplateTask(
                milestone=new_milestones[m.pk],
                title=t.title,
                description=t.description,
                side=t.side,
                due_day=t.due_day,
                position=t.position,
            )
            for m in milestones
            for t in m.tasks.all()
        )
        TemplateCriterion.objects.bulk_create(
            TemplateCriterion(
                template=copy,
                role=c.role,
                kind=c.kind,
                feature_id=c.feature_id,
                threshold=c.threshold,
                milestone=new_milestones.get(c.milestone_id) if c.milestone_id else None,
            )
            for c in criteria
        )
    return copy
