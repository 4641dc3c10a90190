"""The rule pages read like the role matrix: everyone reads rules and runs, CS Leads and
Admins change them; bad input is a 400 with the error next to its field and saves nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import AccountStatus, TaskStatus, Tier
from accounts.models import Account, Task
from accounts.tests.factories import AccountFactory
from playbooks import views
from playbooks.choices import ActionKind, EndpointFormat, MatchOutcome, RuleMode, RunSource
from playbooks.models import Rule, RuleAction, RuleRun
from playbooks.services.evaluate import rule_evaluate
from playbooks.tests.factories import (
    EndpointFactory,
    PlaybookFactory,
    RuleFactory,
    StepFactory,
    TaskActionFactory,
    health_score,
)

TODAY = timezone.localdate


@dataclass
class World:
    rule: Rule
    run: RuleRun
    low: list[Account]


def low_health_accounts(alice, bob) -> list[Account]:
    """Two customers with a health score below 50, and five a "below 50, mid-market and
    enterprise" rule must not match."""

    def account(name: str, owner, score: int | None, **fields: Any) -> Account:
        created = AccountFactory(name=name, owner=owner, **fields)
        if score is not None:
            health_score(created, score)
        return created

    low = [account("Acme Rockets", alice, 35), account("Bolt Labs", bob, 45)]
    account("Fine Inc", alice, 80)
    account("Mid Co", alice, 55)
    account("Unscored Ltd", alice, None)
    account("Gone Ltd", alice, 20, status=AccountStatus.CHURNED)
    account("Small Fry", bob, 30, tier=Tier.SMB)
    return low


@pytest.fixture
def world(alice, bob, lead, vic, admin_user) -> World:
    low = low_health_accounts(alice, bob)
    rule = RuleFactory(
        name="Low health",
        trigger="health_below",
        params={"score": 50},
        tiers=[Tier.MID_MARKET, Tier.ENTERPRISE],
    )
    TaskActionFactory(rule=rule, params={"title": "Call the sponsor", "due_days": 3})
    run = rule_evaluate(rule=rule, source=RunSource.MANUAL).run
    return World(rule=rule, run=run, low=low)


def _persona(request: pytest.FixtureRequest, name: str) -> Any:
    return request.getfixturevalue(name)


# The role matrix -----------------------------------------------------------------------------

READ_PAGES = {
    "rules": lambda w: reverse("playbooks:rules"),
    "rules_filtered": lambda w: reverse("playbooks:rules") + "?mode=dry_run&trigger=health_below",
    "rules_csv": lambda w: reverse("playbooks:rules") + "?format=csv",
    "rule": lambda w: reverse("playbooks:rule", args=[w.rule.pk]),
    "preview": lambda w: reverse("playbooks:rule_preview", args=[w.rule.pk]),
    "runs": lambda w: reverse("playbooks:runs", args=[w.rule.pk]),
    "run": lambda w: reverse("playbooks:run", args=[w.run.pk]),
    "run_csv": lambda w: reverse("playbooks:run", args=[w.run.pk]) + "?format=csv",
    "trigger_params": lambda w: reverse("playbooks:trigger_params") + "?trigger=no_login",
}


@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize("persona", ["alice", "bob", "lead", "vic", "admin_user"])
def test_everyone_logged_in_reads_rules_and_runs(request, client_for, world, page, persona):
    response = client_for(_persona(request, persona)).get(READ_PAGES[page](world))
    assert response.status_code == 200


@pytest.mark.parametrize("page", ["rules", "rule", "run"])
def test_anonymous_is_sent_to_the_login_page(client, world, page):
    response = client.get(READ_PAGES[page](world))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def _write_requests(w: World) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("get", reverse("playbooks:rule_create"), {}),
        ("post", reverse("playbooks:rule_create"), rule_data(name="Sneaky")),
        ("get", reverse("playbooks:rule_edit", args=[w.rule.pk]), {}),
        ("post", reverse("playbooks:rule_edit", args=[w.rule.pk]), rule_data(name="Renamed")),
        ("post", reverse("playbooks:rule_preview_draft", args=[w.rule.pk]), rule_data()),
        ("post", reverse("playbooks:rule_mode", args=[w.rule.pk]), {"mode": "enabled"}),
        ("post", reverse("playbooks:rule_run", args=[w.rule.pk]), {}),
        ("post", reverse("playbooks:rule_delete", args=[w.rule.pk]), {}),
    ]


@pytest.mark.parametrize("persona", ["alice", "vic"])
def test_csms_and_viewers_read_rules_but_may_change_nothing(request, client_for, world, persona):
    client = client_for(_persona(request, persona))
    before = (Rule.objects.count(), RuleRun.objects.count(), RuleAction.objects.count())
    for method, url, data in _write_requests(world):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url)
    world.rule.refresh_from_db()
    assert world.rule.name == "Low health" and world.rule.mode == RuleMode.DRY_RUN
    assert (Rule.objects.count(), RuleRun.objects.count(), RuleAction.objects.count()) == before


def test_only_editors_see_the_buttons_that_change_a_rule(client_for, world, alice, lead):
    url = reverse("playbooks:rule", args=[world.rule.pk])
    edit = reverse("playbooks:rule_edit", args=[world.rule.pk]).encode()
    run = reverse("playbooks:rule_run", args=[world.rule.pk]).encode()
    csm = client_for(alice).get(url).content
    assert edit not in csm and run not in csm
    assert b'data-testid="preview-button"' in csm  # reading includes the preview
    leads = client_for(lead).get(url).content
    assert edit in leads and run in leads
    assert (
        b'data-testid="new-rule"' not in client_for(alice).get(reverse("playbooks:rules")).content
    )


# The rule list -------------------------------------------------------------------------------


def test_rule_list_shows_mode_trigger_scope_actions_and_the_last_runs_counts(
    client_for, world, vic
):
    rows = client_for(vic).get(reverse("playbooks:rules")).context["rows"]
    (row,) = rows
    assert row["rule"] == world.rule
    assert row["trigger"] == "Health score below a value"
    assert row["settings"] == "Below: 50"
    assert row["scope"] == ["Enterprise / Mid-market"]
    assert [text for _icon, text in row["actions"]] == ["Task “Call the sponsor”"]
    assert row["rule"].last_run == world.run
    assert (world.run.matched, world.run.fired) == (2, 0)


def test_rule_list_filters_by_mode_and_trigger(client_for, world, vic):
    RuleFactory(name="Quiet", trigger="no_login", params={"days": 14}, mode=RuleMode.DISABLED)
    c = client_for(vic)

    def names(query: dict[str, str]) -> list[str]:
        return [r["rule"].name for r in c.get(reverse("playbooks:rules"), query).context["rows"]]

    assert names({}) == ["Low health", "Quiet"]
    assert names({"mode": "disabled"}) == ["Quiet"]
    assert names({"trigger": "health_below"}) == ["Low health"]
    assert names({"mode": "enabled"}) == []
    # A value the filter does not know shows the form's error and every rule, never a 500.
    assert names({"trigger": "nonsense"}) == ["Low health", "Quiet"]


# The editor ----------------------------------------------------------------------------------


def management(prefix: str, total: int, initial: int = 0) -> dict[str, Any]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def action_data(index: int, kind: str, order: int | None = None, **settings: Any) -> dict:
    data = {
        f"actions-{index}-kind": kind,
        f"actions-{index}-ORDER": str(order if order is not None else index + 1),
    }
    data.update({f"actions-{index}-{k}": v for k, v in settings.items()})
    return data


def rule_data(actions: list[dict] | None = None, initial: int = 0, **overrides: Any) -> dict:
    """The editor's POST: a low-health rule with one task action unless told otherwise."""
    if actions is None:
        actions = [
            action_data(
                0,
                "create_task",
                title="Call the sponsor",
                task_kind="call",
                priority="high",
                due_days="5",
                assignee_role="owner",
            )
        ]
    data: dict[str, Any] = {
        "name": "Save play (new)",
        "description": "Call before it is too late.",
        "trigger": "health_below",
        "param-score": "50",
        "mode": "dry_run",
        "cooldown_days": "30",
        "tiers": ["enterprise", "mid_market"],
        "min_mrr": "",
        "max_mrr": "",
        **management("actions", len(actions), initial),
    }
    for a in actions:
        data.update(a)
    data.update(overrides)
    return data


def test_a_lead_creates_a_rule_with_typed_settings_and_ordered_actions(client_for, lead, bob):
    playbook = PlaybookFactory(name="Save play")
    json_hook = EndpointFactory(name="CRM", format=EndpointFormat.JSON)
    slack = EndpointFactory(name="Team channel", format=EndpointFormat.SLACK)
    actions = [
        action_data(0, "notify_lead", order=8, note="Heads up"),
        action_data(1, "start_playbook", order=1, playbook=playbook.pk),
        action_data(
            2,
            "create_task",
            order=2,
            title="Call the sponsor",
            task_kind="call",
            priority="urgent",
            due_days="2",
            assignee_role="user",
            assignee=bob.pk,
        ),
        action_data(3, "email_owner", order=3, note="Please look"),
        action_data(4, "change_stage", order=4, stage="renewal"),
        action_data(5, "reassign", order=5, user=bob.pk),
        action_data(6, "webhook", order=6, endpoint=json_hook.pk),
        action_data(7, "slack", order=7, endpoint=slack.pk),
    ]
    data = rule_data(actions, **{"param-score": "45", "min_mrr": "100", "max_mrr": "5000"})
    response = client_for(lead).post(reverse("playbooks:rule_create"), data)

    rule = Rule.objects.get(name="Save play (new)")
    assert response.status_code == 302 and response["Location"] == rule.get_absolute_url()
    assert rule.params == {"score": 45}
    assert rule.tiers == ["enterprise", "mid_market"] and rule.created_by == lead
    assert (str(rule.min_mrr), str(rule.max_mrr)) == ("100.00", "5000.00")
    saved = list(rule.actions.order_by("position"))
    assert [a.kind for a in saved] == [
        "start_playbook",
        "create_task",
        "email_owner",
        "change_stage",
        "reassign",
        "webhook",
        "slack",
        "notify_lead",
    ]
    assert saved[0].playbook == playbook and saved[0].params == {}
    assert saved[1].params == {
        "title": "Call the sponsor",
        "kind": "call",
        "priority": "urgent",
        "due_days": 2,
        "assignee_role": "user",
        "assignee": bob.pk,
    }
    assert saved[2].params == {"note": "Please look"}
    assert saved[3].params == {"stage": "renewal"}
    assert saved[4].params == {"user": bob.pk}
    assert saved[5].endpoint == json_hook and saved[6].endpoint == slack
    assert saved[7].params == {"note": "Heads up"}


ACTION_ERRORS = [
    # (kind, its settings, the field with the error)
    ("create_task", {"title": "", "assignee_role": "owner"}, "title"),
    ("create_task", {"title": "Call", "assignee_role": "user", "assignee": ""}, "assignee"),
    ("create_task", {"title": "Call", "due_days": "-3"}, "due_days"),
    ("start_playbook", {"playbook": ""}, "playbook"),
    ("email_owner", {"note": "x" * 2001}, "note"),
    ("notify_lead", {"note": "x" * 2001}, "note"),
    ("change_stage", {"stage": ""}, "stage"),
    ("change_stage", {"stage": "heaven"}, "stage"),
    ("reassign", {"user": ""}, "user"),
    ("webhook", {"endpoint": ""}, "endpoint"),
    ("webhook", {"endpoint": "SLACK"}, "endpoint"),
    ("slack", {"endpoint": "JSON"}, "endpoint"),
    ("no_such_action", {}, "kind"),
]


@pytest.mark.parametrize(("kind", "values", "field"), ACTION_ERRORS)
def test_an_invalid_action_is_a_400_with_its_field_error_and_saves_nothing(
    client_for, lead, kind, values, field
):
    endpoints = {
        "SLACK": EndpointFactory(format=EndpointFormat.SLACK).pk,
        "JSON": EndpointFactory(format=EndpointFormat.JSON).pk,
    }
    values = {k: endpoints.get(v, v) if isinstance(v, str) else v for k, v in values.items()}
    data = rule_data([action_data(0, kind, **values)])
    response = client_for(lead).post(reverse("playbooks:rule_create"), data)
    assert response.status_code == 400
    errors = response.context["actions"].forms[0].errors
    assert field in errors, errors
    assert b"Nothing was saved" in response.content
    assert not Rule.objects.exists() and not RuleAction.objects.exists()


def test_the_error_messages_say_what_to_do(client_for, lead):
    data = rule_data(
        [
            action_data(0, "create_task", title="", assignee_role="user"),
            action_data(1, "change_stage"),
        ]
    )
    response = client_for(lead).post(reverse("playbooks:rule_create"), data)
    forms = response.context["actions"].forms
    assert forms[0].errors["title"] == ["Give the task a title."]
    assert forms[0].errors["assignee"] == ["Choose the person who gets the task."]
    assert forms[1].errors["stage"] == ["Choose the stage to move the account to."]


@pytest.mark.parametrize(
    ("overrides", "form", "field"),
    [
        ({"param-score": "soon"}, "params_form", "score"),
        ({"param-score": "-1"}, "params_form", "score"),
        ({"param-score": "99999999"}, "params_form", "score"),
        ({"trigger": "health_color", "param-to": "purple"}, "params_form", "to"),
        (
            {"trigger": "metric_threshold", "param-metric": "happiness", "param-op": "lt"},
            "params_form",
            "metric",
        ),
        ({"trigger": "feelings"}, "form", "trigger"),
        ({"tiers": ["gigantic"]}, "form", "tiers"),
        ({"min_mrr": "500", "max_mrr": "100"}, "form", "max_mrr"),
        ({"name": ""}, "form", "name"),
        ({"mode": "enabled", **management("actions", 0)}, "form", "mode"),
    ],
)
def test_invalid_trigger_settings_or_scope_are_a_400_and_save_nothing(
    client_for, lead, overrides, form, field
):
    response = client_for(lead).post(reverse("playbooks:rule_create"), rule_data(**overrides))
    assert response.status_code == 400
    assert field in response.context[form].errors, response.context[form].errors
    assert not Rule.objects.exists()


def test_a_name_already_taken_is_refused(client_for, world, lead):
    response = client_for(lead).post(
        reverse("playbooks:rule_create"), rule_data(name=world.rule.name)
    )
    assert response.status_code == 400 and "name" in response.context["form"].errors
    assert Rule.objects.count() == 1


def test_an_empty_setting_takes_the_triggers_default(client_for, lead):
    data = rule_data(**{"trigger": "ticket_spike", "param-min_tickets": "", "param-factor": "2.5"})
    client_for(lead).post(reverse("playbooks:rule_create"), data)
    assert Rule.objects.get().params == {"min_tickets": 5, "factor": "2.5"}


def test_editing_keeps_kept_actions_reorders_and_removes(client_for, world, lead):
    rule = world.rule
    task = rule.actions.get()
    email = RuleAction.objects.create(rule=rule, kind=ActionKind.EMAIL_OWNER, position=1)
    data = rule_data(
        [
            {
                **action_data(0, "create_task", order=2, title="Call them now", due_days="1"),
                "actions-0-id": task.pk,
                "actions-0-rule": rule.pk,
            },
            {
                **action_data(1, "email_owner", order=3),
                "actions-1-id": email.pk,
                "actions-1-rule": rule.pk,
                "actions-1-DELETE": "on",
            },
            action_data(2, "notify_lead", order=1, note="FYI"),
        ],
        initial=2,
        name="Low health",
    )
    response = client_for(lead).post(reverse("playbooks:rule_edit", args=[rule.pk]), data)
    assert response.status_code == 302
    kinds = list(rule.actions.order_by("position").values_list("kind", "pk"))
    assert [k for k, _pk in kinds] == ["notify_lead", "create_task"]
    assert kinds[1][1] == task.pk  # the kept action keeps its id (task dedupe keys name it)
    assert not RuleAction.objects.filter(pk=email.pk).exists()
    task.refresh_from_db()
    assert task.params["title"] == "Call them now" and task.params["due_days"] == 1


def test_the_editor_shows_the_rules_settings_and_actions(client_for, world, lead):
    response = client_for(lead).get(reverse("playbooks:rule_edit", args=[world.rule.pk]))
    html = response.content.decode()
    assert 'name="param-score"' in html and 'value="50"' in html
    assert 'value="Call the sponsor"' in html
    assert f'hx-get="{reverse("playbooks:trigger_params")}"' in html


def test_switching_the_trigger_renders_its_settings_with_defaults_and_help(client_for, lead):
    url = reverse("playbooks:trigger_params")
    response = client_for(lead).get(url, {"trigger": "usage_drop"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'name="param-percent"' in html and 'value="30"' in html
    assert 'name="param-min_users"' in html and "Default: 5" in html
    assert "Weekly active users fell" in html  # the trigger's description

    choice = client_for(lead).get(url, {"trigger": "health_color"}).content.decode()
    assert '<select name="param-to"' in choice and '<option value="red" selected>' in choice
    metric = client_for(lead).get(url, {"trigger": "metric_threshold"}).content.decode()
    assert 'list="suggest-metric"' in metric and '<option value="mau">' in metric
    none = client_for(lead).get(url, {"trigger": "onboarding_stuck"}).content.decode()
    assert "This trigger has no settings." in none
    assert "Choose a trigger" in client_for(lead).get(url, {"trigger": "x"}).content.decode()


# Preview, run now, modes --------------------------------------------------------------------


def _preview_names(response) -> list[str]:
    return [row.name for row in response.context["preview"].rows]


def test_preview_lists_exactly_the_accounts_the_rule_matches_now(client_for, world, alice):
    response = client_for(alice).get(
        reverse("playbooks:rule_preview", args=[world.rule.pk]), HTTP_HX_REQUEST="true"
    )
    assert _preview_names(response) == ["Acme Rockets", "Bolt Labs"]
    assert response.context["preview"].total == 2
    html = response.content.decode()
    assert "2 accounts match" in html and "Alice" in html and "Health score 35, below 50" in html
    assert RuleRun.objects.count() == 1  # a preview records nothing


def test_preview_of_the_unsaved_form_uses_its_trigger_and_scope(client_for, world, lead):
    url = reverse("playbooks:rule_preview_draft", args=[world.rule.pk])
    wider = client_for(lead).post(url, rule_data(**{"param-score": "60", "tiers": []}))
    assert _preview_names(wider) == ["Acme Rockets", "Bolt Labs", "Mid Co", "Small Fry"]
    assert b"not saved" in wider.content
    new = client_for(lead).post(
        reverse("playbooks:rule_preview_new"), rule_data(**{"tiers": ["smb"]})
    )
    assert _preview_names(new) == ["Small Fry"]
    bad = client_for(lead).post(url, rule_data(**{"param-score": "soon"}))
    assert bad.status_code == 400 and b"Enter a whole number" in bad.content
    world.rule.refresh_from_db()
    assert world.rule.params == {"score": 50}  # nothing saved


def test_preview_caps_the_list_and_says_how_many_match(client_for, world, vic, monkeypatch):
    monkeypatch.setattr(views, "PREVIEW_ROWS", 1)
    response = client_for(vic).get(reverse("playbooks:rule_preview", args=[world.rule.pk]))
    assert _preview_names(response) == ["Acme Rockets"]
    assert response.context["preview"].total == 2
    assert b"The first 1 of 2" in response.content


def test_run_now_records_a_run_and_redirects_to_it(client_for, world, lead):
    response = client_for(lead).post(reverse("playbooks:rule_run", args=[world.rule.pk]))
    run = RuleRun.objects.filter(source=RunSource.MANUAL).latest("pk")
    assert run.pk != world.run.pk and run.dry_run and run.matched == 2
    assert response.status_code == 302
    assert response["Location"] == reverse("playbooks:run", args=[run.pk])


def test_an_enabled_rule_fires_and_its_run_page_shows_what_was_done(client_for, world, lead):
    c = client_for(lead)
    assert c.post(reverse("playbooks:rule_mode", args=[world.rule.pk]), {"mode": "enabled"})
    world.rule.refresh_from_db()
    assert world.rule.mode == RuleMode.ENABLED
    response = c.post(reverse("playbooks:rule_run", args=[world.rule.pk]), follow=True)
    run = response.context["run"]
    assert (run.matched, run.fired, run.failed) == (2, 2, 0)
    assert [m.account.name for m in response.context["page"]] == ["Acme Rockets", "Bolt Labs"]
    assert {m.outcome for m in response.context["page"]} == {MatchOutcome.FIRED}
    html = response.content.decode()
    assert "Create a task" in html and "task “Call the sponsor”" in html
    tasks = Task.objects.filter(source="playbooks", status=TaskStatus.OPEN)
    assert sorted(t.account.name for t in tasks) == ["Acme Rockets", "Bolt Labs"]

    # Run again: both are in cooldown now, and the outcome filter finds them.
    again = c.post(reverse("playbooks:rule_run", args=[world.rule.pk]), follow=True)
    assert again.context["run"].cooled == 2
    cooled = c.get(again.request["PATH_INFO"], {"outcome": "cooldown"})
    assert len(cooled.context["page"].object_list) == 2
    assert len(c.get(again.request["PATH_INFO"], {"outcome": "fired"}).context["page"]) == 0


def test_a_disabled_rule_does_not_run(client_for, world, lead):
    Rule.objects.filter(pk=world.rule.pk).update(mode=RuleMode.DISABLED)
    response = client_for(lead).post(
        reverse("playbooks:rule_run", args=[world.rule.pk]), follow=True
    )
    assert RuleRun.objects.count() == 1
    assert b"The rule is disabled" in response.content


def test_enabling_needs_an_action_and_modes_switch_back_and_forth(client_for, lead):
    bare = RuleFactory(name="Bare", trigger="no_login")
    c = client_for(lead)
    response = c.post(
        reverse("playbooks:rule_mode", args=[bare.pk]), {"mode": "enabled"}, follow=True
    )
    bare.refresh_from_db()
    assert bare.mode == RuleMode.DRY_RUN and b"needs at least one action" in response.content
    c.post(reverse("playbooks:rule_mode", args=[bare.pk]), {"mode": "disabled"})
    bare.refresh_from_db()
    assert bare.mode == RuleMode.DISABLED
    c.post(reverse("playbooks:rule_mode", args=[bare.pk]), {"mode": "on fire"})
    bare.refresh_from_db()
    assert bare.mode == RuleMode.DISABLED


def test_the_run_log_pages_through_runs(client_for, world, vic):
    RuleRun.objects.bulk_create(
        RuleRun(rule=world.rule, source=RunSource.SCHEDULE, started_at=timezone.now(), matched=i)
        for i in range(60)
    )
    response = client_for(vic).get(reverse("playbooks:runs", args=[world.rule.pk]))
    assert response.context["page"].paginator.count == 61
    assert len(response.context["page"].object_list) == 50
    assert b"Page 1 of 2" in response.content


def test_a_failed_run_shows_its_error(client_for, world, vic):
    broken = RuleRun.objects.create(
        rule=world.rule,
        source=RunSource.SCHEDULE,
        started_at=timezone.now(),
        error="OperationalError: the database went away",
    )
    response = client_for(vic).get(reverse("playbooks:run", args=[broken.pk]))
    assert b"the database went away" in response.content


def test_deleting_a_rule_keeps_the_tasks_it_made(client_for, world, lead):
    Rule.objects.filter(pk=world.rule.pk).update(mode=RuleMode.ENABLED)
    world.rule.refresh_from_db()
    rule_evaluate(rule=world.rule, source=RunSource.MANUAL)
    url = reverse("playbooks:rule_delete", args=[world.rule.pk])
    assert client_for(lead).get(url).status_code == 200
    assert client_for(lead).post(url).status_code == 302
    assert not Rule.objects.exists() and Task.objects.filter(source="playbooks").count() == 2


def test_playbook_steps_are_listed_on_a_rule_that_starts_it(client_for, lead):
    playbook = PlaybookFactory(name="Save play")
    StepFactory(playbook=playbook, title="Call")
    rule = RuleFactory(name="Red")
    RuleAction.objects.create(rule=rule, kind=ActionKind.START_PLAYBOOK, playbook=playbook)
    html = client_for(lead).get(rule.get_absolute_url()).content.decode()
    assert "Start a playbook (a task list): Save play" in html


def test_a_new_action_row_left_as_it_came_is_ignored(client_for, lead):
    untouched = action_data(
        0,
        "create_task",
        title="",
        description="",
        task_kind="follow_up",
        priority="normal",
        due_days="2",
        assignee_role="owner",
        assignee="",
    )
    response = client_for(lead).post(reverse("playbooks:rule_create"), rule_data([untouched]))
    assert response.status_code == 302
    assert Rule.objects.get().actions.count() == 0


@pytest.mark.parametrize(
    "model",
    [
        "rule",
        "rulerun",
        "rulematch",
        "rulecooldown",
        "playbooktemplate",
        "webhookendpoint",
        "webhookdelivery",
        "notification",
    ],
)
def test_operators_find_every_playbooks_model_in_the_admin(client_for, world, admin_user, model):
    response = client_for(admin_user).get(reverse(f"admin:playbooks_{model}_changelist"))
    assert response.status_code == 200


def test_a_settings_help_text_is_shown_as_text(client_for, lead):
    url = reverse("playbooks:trigger_params")
    html = client_for(lead).get(url, {"trigger": "metric_threshold"}).content.decode()
    assert "A metric, or feature:&lt;key&gt;" in html
