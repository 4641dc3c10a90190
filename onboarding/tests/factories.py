"""factory_boy factories for the onboarding app."""

from __future__ import annotations

import factory

from onboarding.choices import CriterionKind, CriterionRole, TaskSide
from onboarding.models import (
    OnboardingTemplate,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OnboardingTemplate

    name = factory.Sequence(lambda n: f"Onboarding {n:03d}")
    description = "Kick-off, set-up, first value."


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemplateMilestone

    template = factory.SubFactory(TemplateFactory)
    name = factory.Sequence(lambda n: f"Milestone {n}")
    position = factory.Sequence(lambda n: n)
    due_day = 14


class TemplateTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemplateTask

    milestone = factory.SubFactory(MilestoneFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    side = TaskSide.US
    due_day = 7
    position = factory.Sequence(lambda n: n)


class CriterionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TemplateCriterion

    template = factory.SubFactory(TemplateFactory)
    role = CriterionRole.ACTIVATION
    kind = CriterionKind.ACTIVE_USERS
    threshold = 3


def standard_template(**fields) -> OnboardingTemplate:
    """Two milestones: "Kick-off" (our call on day 2, the customer's admin invite on day 5)
    and "Go-live" (the customer's data import on day 20, our training on day 30)."""
    template = TemplateFactory(**fields)
    kickoff = MilestoneFactory(template=template, name="Kick-off", position=0, due_day=7)
    golive = MilestoneFactory(template=template, name="Go-live", position=1, due_day=30)
    TemplateTaskFactory(
        milestone=kickoff, title="Kick-off call", side=TaskSide.US, due_day=2, position=0
    )
    TemplateTaskFactory(
        milestone=kickoff, title="Invite your admins", side=TaskSide.CUSTOMER, due_day=5, position=1
    )
    TemplateTaskFactory(
        milestone=golive, title="Import your data", side=TaskSide.CUSTOMER, due_day=20, position=0
    )
    TemplateTaskFactory(
        milestone=golive, title="Train the team", side=TaskSide.US, due_day=30, position=1
    )
    return template
