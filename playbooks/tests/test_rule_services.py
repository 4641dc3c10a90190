"""playbooks.services.rules: what the editor stores is what the triggers and actions read."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from metrics.models import Feature
from playbooks.choices import ActionKind, RuleMode
from playbooks.models import Rule, RuleAction
from playbooks.services.rules import (
    ActionSpec,
    action_clean,
    rule_save,
    rule_set_mode,
    trigger_params_clean,
)
from playbooks.triggers import trigger

pytestmark = pytest.mark.django_db


def test_settings_are_typed_for_json_and_read_back_by_the_trigger():
    params = trigger_params_clean(
        trigger_key="metric_threshold",
        params={"metric": "mau", "op": "lt", "value": "12.50", "wait_days": ""},
    )
    assert params == {"metric": "mau", "op": "lt", "value": "12.50"}
    settings = trigger("metric_threshold").settings(params)
    assert str(settings["value"]) == "12.50" and settings["wait_days"] is None


@pytest.mark.parametrize(("given", "stored"), [("10", "10"), ("1e3", "1000"), ("-2.5", "-2.5")])
def test_decimals_are_stored_as_plain_digits(given, stored):
    params = trigger_params_clean(trigger_key="metric_threshold", params={"value": given})
    assert params["value"] == stored


def test_unknown_names_are_dropped_and_empty_ones_take_the_default():
    params = trigger_params_clean(trigger_key="usage_drop", params={"percent": "", "evil": 1})
    assert params == {"percent": 30, "min_users": 5}


@pytest.mark.parametrize(
    ("key", "params", "field"),
    [
        ("health_below", {"score": "fifty"}, "score"),
        ("health_below", {"score": 10**9}, "score"),
        ("health_color", {"to": "blue"}, "to"),
        ("ticket_spike", {"factor": "NaN"}, "factor"),
        ("metric_threshold", {"metric": "feature:nope"}, "metric"),
        ("nonsense", {}, "trigger"),
    ],
)
def test_bad_settings_are_refused_by_name(key, params, field):
    with pytest.raises(ValidationError) as exc:
        trigger_params_clean(trigger_key=key, params=params)
    assert field in exc.value.message_dict


def test_a_feature_metric_needs_a_known_feature():
    Feature.objects.create(key="reports", name="Reports")
    params = trigger_params_clean(
        trigger_key="metric_threshold", params={"metric": "feature:reports"}
    )
    assert params["metric"] == "feature:reports"


def test_an_action_keeps_only_the_settings_of_its_kind(alice):
    spec = action_clean(
        spec=ActionSpec(
            kind=ActionKind.REASSIGN,
            params={"user": alice.pk, "title": "left over", "note": "also"},
            playbook_id=99,
        )
    )
    assert spec.params == {"user": alice.pk} and spec.playbook_id is None


def test_an_inactive_user_cannot_take_accounts_over(alice):
    alice.is_active = False
    alice.save()
    with pytest.raises(ValidationError) as exc:
        action_clean(spec=ActionSpec(kind=ActionKind.REASSIGN, params={"user": alice.pk}))
    assert "user" in exc.value.message_dict


def test_a_rule_with_a_bad_action_saves_nothing(lead):
    rule = Rule(name="Half", trigger="no_login", params={"days": "7"})
    with pytest.raises(ValidationError) as exc:
        rule_save(
            rule=rule,
            actions=[
                ActionSpec(kind=ActionKind.EMAIL_OWNER),
                ActionSpec(kind=ActionKind.CHANGE_STAGE, params={"stage": "nowhere"}),
            ],
            actor=lead,
        )
    assert exc.value.message_dict["actions"] == [
        "Action 2: Choose the stage to move the account to."
    ]
    assert not Rule.objects.exists() and not RuleAction.objects.exists()


def test_modes_and_the_action_an_enabled_rule_needs(lead):
    rule = rule_save(rule=Rule(name="Idle", trigger="no_login"), actions=[], actor=lead)
    assert rule.params == {"days": 14} and rule.created_by == lead
    with pytest.raises(ValidationError):
        rule_set_mode(rule=rule, mode=RuleMode.ENABLED)
    RuleAction.objects.create(rule=rule, kind=ActionKind.EMAIL_OWNER)
    rule_set_mode(rule=rule, mode=RuleMode.ENABLED)
    rule.refresh_from_db()
    assert rule.mode == RuleMode.ENABLED
