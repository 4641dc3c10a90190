"""Playbooks (task lists): everyone reads them, CS Leads edit their ordered steps, and a
playbook a rule starts cannot be deleted from under it."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from playbooks.choices import ActionKind
from playbooks.models import PlaybookStep, PlaybookTemplate, RuleAction
from playbooks.tests.factories import PlaybookFactory, RuleFactory, StepFactory


@pytest.fixture
def playbook(alice, bob, lead, vic, admin_user) -> PlaybookTemplate:
    playbook = PlaybookFactory(name="Save play", description="When an account turns red.")
    StepFactory(playbook=playbook, title="Call the sponsor", due_days=1, position=0)
    StepFactory(playbook=playbook, title="Agree a recovery plan", due_days=10, position=1)
    return playbook


def management(total: int, initial: int = 0) -> dict[str, str]:
    return {
        "steps-TOTAL_FORMS": str(total),
        "steps-INITIAL_FORMS": str(initial),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
    }


def step(index: int, title: str, order: int, **fields: Any) -> dict[str, Any]:
    data = {
        "title": title,
        "description": "",
        "kind": "call",
        "priority": "normal",
        "due_days": "3",
        "assignee_role": "owner",
        "assignee": "",
        "ORDER": str(order),
        **fields,
    }
    return {f"steps-{index}-{k}": v for k, v in data.items()}


def playbook_data(steps: list[dict], initial: int = 0, **fields: Any) -> dict[str, Any]:
    data = {"name": "Renewal preparation", "description": "", **management(len(steps), initial)}
    for s in steps:
        data.update(s)
    data.update(fields)
    return data


@pytest.mark.parametrize("persona", ["alice", "bob", "lead", "vic", "admin_user"])
def test_everyone_reads_playbooks(request, client_for, playbook, persona):
    client = client_for(request.getfixturevalue(persona))
    listing = client.get(reverse("playbooks:playbooks"))
    assert listing.status_code == 200 and b"Save play" in listing.content
    detail = client.get(playbook.get_absolute_url())
    assert detail.status_code == 200 and b"Agree a recovery plan" in detail.content


@pytest.mark.parametrize("persona", ["alice", "vic"])
def test_csms_and_viewers_may_not_change_playbooks(request, client_for, playbook, persona):
    client = client_for(request.getfixturevalue(persona))
    edit = reverse("playbooks:playbook_edit", args=[playbook.pk])
    delete = reverse("playbooks:playbook_delete", args=[playbook.pk])
    data = playbook_data([step(0, "Sneaky", 1)], name="Hijacked")
    for method, url, body in [
        ("get", reverse("playbooks:playbook_create"), {}),
        ("post", reverse("playbooks:playbook_create"), data),
        ("get", edit, {}),
        ("post", edit, data),
        ("post", delete, {}),
    ]:
        assert getattr(client, method)(url, body).status_code == 403, (method, url)
    assert PlaybookTemplate.objects.get().name == "Save play"
    assert PlaybookStep.objects.count() == 2


def test_a_lead_creates_a_playbook_with_ordered_steps(client_for, lead, bob):
    data = playbook_data(
        [
            step(0, "Send the proposal", 3, due_days="60"),
            step(1, "Value review", 1, kind="review", assignee_role="cs_lead"),
            step(2, "Exec meeting", 2, kind="meeting", assignee_role="user", assignee=bob.pk),
            # A new row left as it came (the page numbers its ORDER all the same) is ignored.
            step(3, "", 4, kind="other", due_days="0"),
        ]
    )
    data["steps-TOTAL_FORMS"] = "4"
    response = client_for(lead).post(reverse("playbooks:playbook_create"), data)
    playbook = PlaybookTemplate.objects.get(name="Renewal preparation")
    assert response.status_code == 302 and response["Location"] == playbook.get_absolute_url()
    steps = list(playbook.steps.order_by("position"))
    assert [(s.title, s.position) for s in steps] == [
        ("Value review", 0),
        ("Exec meeting", 1),
        ("Send the proposal", 2),
    ]
    assert steps[0].assignee_role == "cs_lead" and steps[0].assignee is None
    assert steps[1].assignee == bob and steps[2].due_days == 60


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"assignee_role": "user", "assignee": ""}, "assignee"),
        ({"title": ""}, "title"),
        ({"due_days": "-1"}, "due_days"),
        ({"kind": "dance"}, "kind"),
    ],
)
def test_an_invalid_step_is_a_400_and_saves_nothing(client_for, lead, fields, error_field):
    data = playbook_data([step(0, "Fine", 1), step(1, "Broken", 2)])
    data.update({f"steps-1-{k}": v for k, v in fields.items()})
    response = client_for(lead).post(reverse("playbooks:playbook_create"), data)
    assert response.status_code == 400
    assert error_field in response.context["steps"].forms[1].errors
    assert not PlaybookTemplate.objects.exists() and not PlaybookStep.objects.exists()


def test_a_playbook_needs_a_step(client_for, lead):
    response = client_for(lead).post(reverse("playbooks:playbook_create"), playbook_data([]))
    assert response.status_code == 400
    assert b"A playbook needs at least one step." in response.content
    assert not PlaybookTemplate.objects.exists()


def test_editing_keeps_step_ids_reorders_and_removes(client_for, playbook, lead):
    first, second = playbook.steps.order_by("position")
    data = playbook_data(
        [
            {**step(0, "Call the sponsor today", 2), "steps-0-id": first.pk},
            {
                **step(1, "Agree a recovery plan", 3),
                "steps-1-id": second.pk,
                "steps-1-DELETE": "on",
            },
            step(2, "Review the account", 1, kind="review"),
        ],
        initial=2,
        name="Save play",
    )
    for key in ("steps-0-playbook", "steps-1-playbook"):
        data[key] = playbook.pk
    response = client_for(lead).post(reverse("playbooks:playbook_edit", args=[playbook.pk]), data)
    assert response.status_code == 302
    steps = list(playbook.steps.order_by("position").values_list("pk", "title"))
    assert [t for _pk, t in steps] == ["Review the account", "Call the sponsor today"]
    assert steps[1][0] == first.pk  # kept: the tasks it made go on being updated
    assert not PlaybookStep.objects.filter(pk=second.pk).exists()


def test_the_playbook_page_lists_the_rules_that_start_it(client_for, playbook, vic):
    rule = RuleFactory(name="Risk save play")
    RuleAction.objects.create(rule=rule, kind=ActionKind.START_PLAYBOOK, playbook=playbook)
    response = client_for(vic).get(playbook.get_absolute_url())
    assert response.context["rules"] == [rule]
    listing = client_for(vic).get(reverse("playbooks:playbooks"))
    (row,) = listing.context["page"].object_list
    assert (row.step_count, row.rule_count) == (2, 1)


def test_a_playbook_a_rule_starts_cannot_be_deleted(client_for, playbook, lead):
    rule = RuleFactory(name="Risk save play")
    RuleAction.objects.create(rule=rule, kind=ActionKind.START_PLAYBOOK, playbook=playbook)
    url = reverse("playbooks:playbook_delete", args=[playbook.pk])
    confirm = client_for(lead).get(url)
    assert (
        b"Risk save play" in confirm.content and b'data-testid="delete-blocked"' in confirm.content
    )
    response = client_for(lead).post(url, follow=True)
    assert PlaybookTemplate.objects.filter(pk=playbook.pk).exists()
    assert "is started by “Risk save play”: remove it from those rules first" in (
        response.content.decode()
    )


def test_an_unused_playbook_is_deleted(client_for, playbook, lead):
    response = client_for(lead).post(reverse("playbooks:playbook_delete", args=[playbook.pk]))
    assert response.status_code == 302
    assert not PlaybookTemplate.objects.exists() and not PlaybookStep.objects.exists()
