"""The starter library: seven plays, loadable twice without duplicates, every one valid."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from playbooks.library import LIBRARY, library_load
from playbooks.models import PlaybookTemplate, Rule, RuleAction
from playbooks.triggers import trigger

pytestmark = pytest.mark.django_db


def test_the_library_loads_once_with_valid_triggers_and_actions(lead):
    created = library_load(actor=lead)
    assert len(created) == len(LIBRARY) == 7
    assert library_load() == []
    assert Rule.objects.count() == 7
    for rule in Rule.objects.all():
        assert trigger(rule.trigger) is not None, rule.trigger
        assert rule.actions.exists()
        assert rule.mode == "enabled" and rule.created_by == lead
    save = Rule.objects.get(name="Risk save play")
    assert (save.trigger, save.params) == ("health_color", {"to": "red"})
    kinds = list(save.actions.values_list("kind", flat=True))
    assert kinds == ["start_playbook", "email_owner", "notify_lead"]
    assert PlaybookTemplate.objects.get(name="Save play").steps.count() == 5
    assert not RuleAction.objects.filter(kind="start_playbook", playbook__isnull=True).exists()


def test_the_command_loads_dry_run_rules_by_default():
    call_command("playbooks_load_library", verbosity=0)
    assert set(Rule.objects.values_list("mode", flat=True)) == {"dry_run"}
