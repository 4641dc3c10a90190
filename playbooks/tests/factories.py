"""factory_boy factories for the playbooks app."""

from __future__ import annotations

import factory

from accounts.choices import TaskKind, TaskPriority
from playbooks.choices import ActionKind, AssigneeRole, EndpointFormat, RuleMode
from playbooks.models import (
    Notification,
    PlaybookStep,
    PlaybookTemplate,
    Rule,
    RuleAction,
    WebhookEndpoint,
)


class PlaybookFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaybookTemplate

    name = factory.Sequence(lambda n: f"Playbook {n:03d}")
    description = "Call, review, agree a plan."


class StepFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlaybookStep

    playbook = factory.SubFactory(PlaybookFactory)
    title = factory.Sequence(lambda n: f"Step {n}")
    kind = TaskKind.CALL
    priority = TaskPriority.HIGH
    due_days = 2
    assignee_role = AssigneeRole.OWNER
    position = factory.Sequence(lambda n: n)


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    name = factory.Sequence(lambda n: f"Rule {n:03d}")
    trigger = "health_below"
    params = factory.LazyFunction(lambda: {"score": 50})
    mode = RuleMode.DRY_RUN
    cooldown_days = 14


class TaskActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleAction

    rule = factory.SubFactory(RuleFactory)
    kind = ActionKind.CREATE_TASK
    params = factory.LazyFunction(
        lambda: {
            "title": "Call the sponsor",
            "kind": TaskKind.CALL,
            "priority": TaskPriority.HIGH,
            "due_days": 2,
            "assignee_role": AssigneeRole.OWNER,
        }
    )


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint

    name = factory.Sequence(lambda n: f"Endpoint {n}")
    url = "https://hooks.example.com/csp"
    format = EndpointFormat.JSON
    secret = factory.Sequence(lambda n: f"whsec_test_{n}")


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    title = factory.Sequence(lambda n: f"Notification {n}")
    idempotency_key = factory.Sequence(lambda n: f"test:{n}")


def health_score(account, score: int) -> None:
    """The account's current health score (the health app computes it in real life)."""
    from decimal import Decimal

    from django.utils import timezone

    from health.models import HealthScore

    color = "red" if score <= 50 else "yellow" if score <= 75 else "green"
    HealthScore.objects.create(
        account=account,
        as_of=timezone.localdate(),
        score=Decimal(score),
        computed_score=Decimal(score),
        color=color,
        computed_color=color,
    )
