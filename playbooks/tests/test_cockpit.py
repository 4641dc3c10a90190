"""The tasks cockpit (accounts:tasks) as playbooks use it: overdue first, reassign, the team
view for CS Leads only, and the rule a task came from."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import ActivityKind
from accounts.models import Activity, Task
from accounts.tests.factories import AccountFactory, TaskFactory
from playbooks.choices import RuleMode, RunSource
from playbooks.services.evaluate import rule_evaluate
from playbooks.tests.factories import RuleFactory, TaskActionFactory, health_score

TODAY = timezone.localdate


@pytest.fixture
def tasks(alice, bob, lead):
    today = TODAY()
    mine = AccountFactory(name="Acme Rockets", owner=alice)
    bobs = AccountFactory(name="Bolt Labs", owner=bob)
    return {
        "later": TaskFactory(account=mine, title="Later", due_date=today + dt.timedelta(9)),
        "today": TaskFactory(account=mine, title="Today", due_date=today),
        "late": TaskFactory(account=mine, title="Late", due_date=today - dt.timedelta(4)),
        "later_urgent": TaskFactory(
            account=mine, title="Later, urgent", due_date=today + dt.timedelta(9), priority="urgent"
        ),
        "bobs": TaskFactory(account=bobs, title="Bob's call", assignee=bob),
    }


def titles(response) -> list[str]:
    return [t.title for t in response.context["page"].object_list]


def test_my_tasks_come_overdue_first_then_by_due_date_and_priority(client_for, tasks, alice):
    response = client_for(alice).get(reverse("accounts:tasks"))
    assert titles(response) == ["Late", "Today", "Later, urgent", "Later"]
    any_status = client_for(alice).get(reverse("accounts:tasks"), {"status": ""})
    assert titles(any_status) == ["Late", "Today", "Later, urgent", "Later"]


def test_a_csm_asking_for_the_team_sees_their_own_tasks(client_for, tasks, alice, bob, lead):
    for query in ({"scope": "team"}, {"assignee": bob.pk}, {"scope": "team", "assignee": bob.pk}):
        response = client_for(alice).get(reverse("accounts:tasks"), query)
        assert "Bob's call" not in titles(response), query
        assert response.context["team"] is False
    html = client_for(alice).get(reverse("accounts:tasks")).content.decode()
    assert 'data-testid="team-toggle"' not in html
    assert 'id="id_assignee"' not in html  # no assignee filter
    assert 'id="id_assignee"' in client_for(lead).get(reverse("accounts:tasks")).content.decode()
    team = client_for(lead).get(reverse("accounts:tasks"), {"scope": "team"})
    assert "Bob's call" in titles(team) and team.context["team"] is True
    assert titles(client_for(lead).get(reverse("accounts:tasks"), {"assignee": bob.pk})) == [
        "Bob's call"
    ]


def test_a_csm_reassigns_their_own_task_and_the_timeline_says_so(client_for, tasks, alice, bob):
    task = tasks["late"]
    url = reverse("accounts:task_reassign", args=[task.pk])
    response = client_for(alice).post(url, {"assignee": bob.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.assignee == bob
    html = response.content.decode()
    assert f'id="task-{task.pk}"' in html and "Task reassigned." in html and "Bob" in html
    entry = Activity.objects.get(account=task.account, kind=ActivityKind.SYSTEM)
    assert entry.subject == "Task reassigned to Bob: Late" and entry.author == alice
    assert entry.metadata == {"task_id": task.pk}


def test_a_csm_may_not_reassign_someone_elses_task(client_for, tasks, alice, bob, vic):
    url = reverse("accounts:task_reassign", args=[tasks["bobs"].pk])
    assert client_for(alice).post(url, {"assignee": alice.pk}).status_code == 403
    mine = reverse("accounts:task_reassign", args=[tasks["late"].pk])
    assert client_for(vic).post(mine, {"assignee": vic.pk}).status_code == 403
    assert Task.objects.get(pk=tasks["bobs"].pk).assignee == bob
    assert Task.objects.get(pk=tasks["late"].pk).assignee == alice


def test_a_lead_reassigns_any_task(client_for, tasks, lead, alice):
    url = reverse("accounts:task_reassign", args=[tasks["bobs"].pk])
    response = client_for(lead).post(url, {"assignee": alice.pk, "next": "/tasks/?scope=team"})
    assert response.status_code == 302 and response["Location"] == "/tasks/?scope=team"
    assert Task.objects.get(pk=tasks["bobs"].pk).assignee == alice


def test_reassigning_to_nobody_or_an_inactive_user_is_a_400(client_for, tasks, alice, bob):
    bob.is_active = False
    bob.save()
    url = reverse("accounts:task_reassign", args=[tasks["late"].pk])
    for data in ({}, {"assignee": bob.pk}, {"assignee": "abc"}):
        response = client_for(alice).post(url, data, HTTP_HX_REQUEST="true")
        assert response.status_code == 400
    assert Task.objects.get(pk=tasks["late"].pk).assignee == alice
    assert not Activity.objects.exists()


def test_the_cockpit_offers_reassign_only_where_the_user_may_change_the_task(
    client_for, tasks, lead, alice
):
    html = client_for(lead).get(reverse("accounts:tasks"), {"scope": "team"}).content.decode()
    assert reverse("accounts:task_reassign", args=[tasks["bobs"].pk]) in html
    mine = client_for(alice).get(reverse("accounts:tasks")).content.decode()
    assert reverse("accounts:task_reassign", args=[tasks["late"].pk]) in mine


def test_a_task_from_a_rule_links_to_that_rule(client_for, alice):
    account = AccountFactory(name="Acme Rockets", owner=alice)
    health_score(account, 30)
    rule = RuleFactory(name="Save play", trigger="health_below", params={"score": 50})
    TaskActionFactory(rule=rule, params={"title": "Call the sponsor"})
    rule.mode = RuleMode.ENABLED
    rule.save()
    rule_evaluate(rule=rule, source=RunSource.MANUAL)
    task = Task.objects.get(account=account, source="playbooks")
    assert task.dedupe_key.startswith(f"rule:{rule.pk}:")

    html = client_for(alice).get(reverse("accounts:tasks")).content.decode()
    assert f'href="{rule.get_absolute_url()}" data-testid="task-source"' in html
    assert "Rule: Save play" in html
    # The htmx row after an action keeps the link.
    row = client_for(alice).post(
        reverse("accounts:task_snooze", args=[task.pk]),
        {"until": (TODAY() + dt.timedelta(days=3)).isoformat()},
        HTTP_HX_REQUEST="true",
    )
    assert "Rule: Save play" in row.content.decode()
    # A task whose rule was deleted simply has no link.
    rule.delete()
    assert (
        'data-testid="task-source"'
        not in client_for(alice).get(reverse("accounts:tasks")).content.decode()
    )
