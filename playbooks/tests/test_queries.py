"""Every playbooks list page costs the same queries for 5 rows as for 50 (the onboarding
helper), and so does the cockpit when its tasks come from rules."""

from __future__ import annotations

from itertools import count

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import TaskStatus
from accounts.models import Account, Task
from onboarding.tests.test_queries import same_for_5_and_50
from playbooks.choices import ActionKind, MatchOutcome, RunSource
from playbooks.models import Notification, Rule, RuleAction, RuleMatch, RuleRun
from playbooks.tests.factories import EndpointFactory, PlaybookFactory

_seq = count()


def add_rules(n: int, user) -> None:
    """n rules, each with four kinds of action (a named assignee among them) and a run."""
    playbook = PlaybookFactory()
    endpoint = EndpointFactory()
    rules = Rule.objects.bulk_create(
        Rule(name=f"Rule {next(_seq):05d}", trigger="health_below", params={"score": 40})
        for _ in range(n)
    )
    RuleAction.objects.bulk_create(
        action
        for i, rule in enumerate(rules)
        for action in (
            RuleAction(
                rule=rule,
                kind=ActionKind.CREATE_TASK,
                params={"title": "Call", "assignee_role": "user", "assignee": user.pk},
                position=0,
            ),
            RuleAction(rule=rule, kind=ActionKind.START_PLAYBOOK, playbook=playbook, position=1),
            RuleAction(rule=rule, kind=ActionKind.WEBHOOK, endpoint=endpoint, position=2),
            RuleAction(rule=rule, kind=ActionKind.REASSIGN, params={"user": user.pk}, position=3),
        )
    )
    RuleRun.objects.bulk_create(
        RuleRun(rule=rule, source=RunSource.SCHEDULE, started_at=timezone.now(), matched=i)
        for i, rule in enumerate(rules)
    )


@pytest.mark.parametrize(
    "url",
    [
        reverse("playbooks:rules"),
        reverse("playbooks:rules") + "?mode=dry_run&trigger=health_below&q=Rule",
        reverse("playbooks:rules") + "?format=csv",
        reverse("playbooks:playbooks"),
    ],
)
def test_rule_and_playbook_lists(client_for, lead, url, django_assert_max_num_queries):
    same_for_5_and_50(
        client_for(lead), url, lambda n: add_rules(n, lead), django_assert_max_num_queries
    )


def test_run_page(client_for, lead, alice, django_assert_max_num_queries):
    rule = Rule.objects.create(name="Low", trigger="health_below")
    run = RuleRun.objects.create(rule=rule, source=RunSource.MANUAL, started_at=timezone.now())

    def grow(n: int) -> None:
        accounts = Account.objects.bulk_create(
            Account(name=f"Bulk {next(_seq):05d}", owner=alice) for _ in range(n)
        )
        RuleMatch.objects.bulk_create(
            RuleMatch(
                run=run,
                account=a,
                reason_key="k",
                reason="Health score 30, below 40",
                outcome=MatchOutcome.FIRED,
                actions=[{"action": "create_task", "ok": True, "detail": "task “Call”"}],
            )
            for a in accounts
        )

    for url in (
        reverse("playbooks:run", args=[run.pk]),
        reverse("playbooks:run", args=[run.pk]) + "?outcome=fired&format=csv",
    ):
        RuleMatch.objects.all().delete()
        same_for_5_and_50(client_for(lead), url, grow, django_assert_max_num_queries)


def test_run_log_and_rule_page(client_for, lead, django_assert_max_num_queries):
    rule = Rule.objects.create(name="Low", trigger="health_below")

    def grow(n: int) -> None:
        RuleRun.objects.bulk_create(
            RuleRun(rule=rule, source=RunSource.SCHEDULE, started_at=timezone.now())
            for _ in range(n)
        )
        RuleAction.objects.bulk_create(
            RuleAction(rule=rule, kind=ActionKind.EMAIL_OWNER, position=i) for i in range(n)
        )

    for url in (reverse("playbooks:runs", args=[rule.pk]), rule.get_absolute_url()):
        RuleRun.objects.all().delete()
        RuleAction.objects.all().delete()
        same_for_5_and_50(client_for(lead), url, grow, django_assert_max_num_queries)


def test_notification_list(client_for, alice, django_assert_max_num_queries):
    account = Account.objects.create(name="Acme")

    def grow(n: int) -> None:
        Notification.objects.bulk_create(
            Notification(
                user=alice,
                title=f"Note {i}",
                account=account if i % 2 else None,
                idempotency_key=f"q:{next(_seq)}",
            )
            for i in range(n)
        )

    for url in (reverse("playbooks:notifications"), reverse("playbooks:notification_menu")):
        Notification.objects.all().delete()
        same_for_5_and_50(client_for(alice), url, grow, django_assert_max_num_queries)


def test_webhook_pages(client_for, admin_user, django_assert_max_num_queries):
    from playbooks.models import WebhookDelivery

    endpoint = EndpointFactory()
    account = Account.objects.create(name="Acme")

    def grow(n: int) -> None:
        EndpointFactory.create_batch(n)
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                endpoint=endpoint,
                idempotency_key=f"q:{next(_seq)}",
                event="rule.fired",
                payload={"n": i},
                account=account,
            )
            for i in range(n)
        )

    for url in (reverse("playbooks:webhooks"), reverse("playbooks:webhook", args=[endpoint.pk])):
        same_for_5_and_50(client_for(admin_user), url, grow, django_assert_max_num_queries)


def test_cockpit_with_tasks_from_many_rules(client_for, lead, alice, django_assert_max_num_queries):
    def grow(n: int) -> None:
        rules = Rule.objects.bulk_create(
            Rule(name=f"Rule {next(_seq):05d}", trigger="no_login") for _ in range(n)
        )
        accounts = Account.objects.bulk_create(
            Account(name=f"Bulk {next(_seq):05d}", owner=alice) for _ in range(n)
        )
        Task.objects.bulk_create(
            Task(
                account=a,
                title="From a rule",
                assignee=alice if i % 2 else lead,
                status=TaskStatus.OPEN,
                due_date=timezone.localdate(),
                source="playbooks",
                dedupe_key=f"rule:{r.pk}:idle:{i}:a1",
            )
            for i, (a, r) in enumerate(zip(accounts, rules, strict=True))
        )

    for client, url in (
        (client_for(lead), reverse("accounts:tasks") + "?scope=team"),
        (client_for(alice), reverse("accounts:tasks")),
    ):
        Task.objects.all().delete()
        same_for_5_and_50(client, url, grow, django_assert_max_num_queries)
