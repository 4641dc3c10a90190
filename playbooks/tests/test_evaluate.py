"""Evaluating rules: dry runs, exactly-once firing, cooldowns, crashes, the run log."""

from __future__ import annotations

import datetime as dt
import threading
from unittest import mock

import pytest
from django.conf import settings
from django.db import connections

from accounts.choices import Tier
from accounts.models import Activity, Tag, Task
from accounts.tests.factories import AccountFactory
from csplatform.models import OutboundEmail
from playbooks.choices import MatchOutcome, RunSource
from playbooks.models import RuleCooldown, RuleMatch, RuleRun
from playbooks.services import evaluate
from playbooks.services.evaluate import rule_evaluate, rules_evaluate
from playbooks.tests.helpers import NOW, health, rule_with

pytestmark = pytest.mark.django_db

TASK = ("create_task", {"title": "Call them", "priority": "high", "due_days": 2})
EMAIL = ("email_owner", {})


@pytest.fixture
def red(alice):
    """Two of Alice's accounts below 50, one healthy."""
    low = [AccountFactory(name=f"Low {i}", owner=alice) for i in range(2)]
    for account in low:
        health(account, 40, "red")
    health(AccountFactory(name="Fine", owner=alice), 80, "green")
    return low


def test_a_dry_run_records_the_matches_and_does_nothing(red):
    rule = rule_with("health_below", TASK, EMAIL, mode="dry_run", params={"score": 50})
    result = rule_evaluate(rule=rule, now=NOW)
    assert {m.account_id for m in result.matches} == {a.pk for a in red}
    assert result.fired == []
    run = RuleRun.objects.get()
    assert (run.dry_run, run.matched, run.fired) == (True, 2, 0)
    assert set(RuleMatch.objects.values_list("outcome", flat=True)) == {MatchOutcome.DRY_RUN}
    assert not Task.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert not RuleCooldown.objects.exists()


def test_a_disabled_rule_is_not_evaluated(red):
    rule = rule_with("health_below", TASK, mode="disabled")
    assert rule_evaluate(rule=rule, now=NOW).skipped
    assert not RuleRun.objects.exists()


def test_an_enabled_rule_fires_once_per_account_and_then_cools_down(red, alice):
    rule = rule_with("health_below", TASK, EMAIL, params={"score": 50}, cooldown_days=14)
    first = rule_evaluate(rule=rule, now=NOW)
    assert {m.account_id for m in first.fired} == {a.pk for a in red}
    tasks = Task.objects.filter(source="playbooks")
    assert tasks.count() == 2
    task = tasks.get(account=red[0])
    assert (task.title, task.priority, task.assignee, task.due_date) == (
        "Call them",
        "high",
        alice,
        NOW.date() + dt.timedelta(days=2),
    )
    assert "Health score 40, below 50" in task.description
    # One email for Alice listing both accounts.
    assert OutboundEmail.objects.count() == 1
    assert Activity.objects.filter(source="playbooks").count() == 2

    again = rule_evaluate(rule=rule, now=NOW + dt.timedelta(hours=1))
    assert len(again.matches) == 2 and again.fired == []
    run = RuleRun.objects.order_by("-pk").first()
    assert (run.matched, run.fired, run.cooled) == (2, 0, 2)
    assert set(run.matches.values_list("outcome", flat=True)) == {MatchOutcome.COOLDOWN}
    assert Task.objects.count() == 2
    assert OutboundEmail.objects.count() == 1


def test_after_the_cooldown_the_open_task_of_the_same_reason_is_updated_not_duplicated(red):
    rule = rule_with("health_below", TASK, EMAIL, params={"score": 50}, cooldown_days=7)
    rule_evaluate(rule=rule, now=NOW)
    later = NOW + dt.timedelta(days=8)
    fired = rule_evaluate(rule=rule, now=later).fired
    assert len(fired) == 2
    assert Task.objects.count() == 2
    assert set(Task.objects.values_list("due_date", flat=True)) == {
        later.date() + dt.timedelta(days=2)
    }
    # The email of the same occasion is not sent again.
    assert OutboundEmail.objects.count() == 1


def test_a_completed_task_is_not_reopened_a_new_occasion_makes_a_new_one(red):
    rule = rule_with("health_below", TASK, params={"score": 50}, cooldown_days=1)
    rule_evaluate(rule=rule, now=NOW)
    Task.objects.update(status="done")
    rule_evaluate(rule=rule, now=NOW + dt.timedelta(days=2))
    assert Task.objects.filter(status="open").count() == 2
    assert Task.objects.count() == 4


def test_segment_scope_and_conditions_narrow_the_matches(alice):
    big = AccountFactory(tier=Tier.ENTERPRISE, owner=alice)
    small = AccountFactory(tier=Tier.SMB, owner=alice)
    for account in (big, small):
        health(account, 30, "red")
    tagged = AccountFactory(tier=Tier.ENTERPRISE)
    health(tagged, 30, "red")
    tagged.tags.add(Tag.objects.create(name="strategic"))
    rule = rule_with("health_below", TASK, mode="dry_run", tiers=[Tier.ENTERPRISE])
    assert {m.account_id for m in rule_evaluate(rule=rule, now=NOW).matches} == {
        big.pk,
        tagged.pk,
    }
    rule.tags = ["strategic"]
    rule.save()
    assert [m.account_id for m in rule_evaluate(rule=rule, now=NOW).matches] == [tagged.pk]


def test_an_event_evaluates_only_the_listening_rules_for_the_accounts_concerned(red):
    listening = rule_with("health_below", TASK, params={"score": 50})
    deaf = rule_with("renewal_in", TASK)
    rules_evaluate(source=RunSource.EVENT, event="health", account_ids=[red[0].pk], now=NOW)
    run = RuleRun.objects.get()
    assert run.rule == listening and run.source == RunSource.EVENT
    assert (run.considered, run.matched, run.fired) == (1, 1, 1)
    assert list(Task.objects.values_list("account", flat=True)) == [red[0].pk]
    assert not RuleRun.objects.filter(rule=deaf).exists()


def test_a_failing_action_is_recorded_and_the_others_still_run(red):
    rule = rule_with("health_below", ("change_stage", {"stage": "nonsense"}), TASK)
    rule_evaluate(rule=rule, now=NOW)
    run = RuleRun.objects.get()
    assert (run.fired, run.failed) == (2, 2)
    match = run.matches.first()
    assert match.outcome == MatchOutcome.FAILED
    assert [(a["action"], a["ok"]) for a in match.actions] == [
        ("change_stage", False),
        ("create_task", True),
    ]
    assert Task.objects.count() == 2


def test_a_broken_rule_is_logged_and_does_not_stop_the_others(red):
    broken = rule_with("health_below", TASK, name="Broken")
    fine = rule_with("health_below", EMAIL, name="Fine")
    real = evaluate.rule_matches

    def flaky(*, rule, **kwargs):
        if rule.pk == broken.pk:
            raise RuntimeError("boom")
        return real(rule=rule, **kwargs)

    with mock.patch.object(evaluate, "rule_matches", flaky):
        rules_evaluate(now=NOW)
    assert RuleRun.objects.get(rule=broken).error == "RuntimeError: boom"
    assert RuleRun.objects.get(rule=fine).fired == 2
    assert not RuleCooldown.objects.filter(rule=broken).exists()


def test_a_crash_before_commit_leaves_nothing_and_the_retry_acts_once(red):
    rule = rule_with("health_below", TASK, EMAIL, params={"score": 50})
    with (
        mock.patch.object(RuleMatch.objects, "bulk_create", side_effect=OSError("killed")),
        pytest.raises(OSError),
    ):
        rule_evaluate(rule=rule, now=NOW)
    assert not Task.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert not RuleCooldown.objects.exists()
    assert not RuleRun.objects.exists()
    rule_evaluate(rule=rule, now=NOW)
    rule_evaluate(rule=rule, now=NOW)
    assert Task.objects.count() == 2
    assert OutboundEmail.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"], reason="needs PostgreSQL's locking"
)
@pytest.mark.parametrize("with_lock", [True, False], ids=["advisory-lock", "claim-only"])
def test_two_evaluators_at_once_create_each_task_and_email_once(alice, with_lock):
    accounts = [AccountFactory(owner=alice) for _ in range(30)]
    for account in accounts:
        health(account, 20, "red")
    rule = rule_with("health_below", TASK, EMAIL, params={"score": 50})
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    fired: list[int] = []

    def evaluator() -> None:
        try:
            start.wait()
            fired.append(len(rule_evaluate(rule=rule, now=NOW).fired))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    patch = (
        mock.patch.object(evaluate, "_lock", lambda rule: None)
        if not with_lock
        else mock.patch.object(evaluate, "_lock", evaluate._lock)
    )
    with patch:
        threads = [threading.Thread(target=evaluator) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert not errors
    assert sorted(fired) == [0, 30]
    assert Task.objects.count() == 30
    assert OutboundEmail.objects.count() == 1
    assert RuleRun.objects.count() == 2


def test_the_log_keeps_every_acted_match_and_a_sample_of_the_cooled(alice, monkeypatch):
    monkeypatch.setattr(evaluate, "LOG_COOLED", 2)
    for _ in range(5):
        health(AccountFactory(owner=alice), 20, "red")
    rule = rule_with("health_below", TASK)
    rule_evaluate(rule=rule, now=NOW)
    rule_evaluate(rule=rule, now=NOW + dt.timedelta(hours=1))
    first, second = RuleRun.objects.order_by("pk")
    assert first.matches.count() == 5
    assert (second.matched, second.cooled, second.matches.count()) == (5, 5, 2)


def test_runs_older_than_the_retention_are_purged(red, settings):
    settings.PLAYBOOK_RUN_RETENTION_DAYS = 30
    rule = rule_with("health_below", TASK)
    rule_evaluate(rule=rule, now=NOW - dt.timedelta(days=31))
    rule_evaluate(rule=rule, now=NOW)
    assert evaluate.runs_purge(now=NOW) == 3  # the run and its two matches
    assert list(RuleRun.objects.values_list("started_at", flat=True)) == [NOW]


def test_the_evaluate_command_runs_the_rules_given(red, capsys):
    from django.core.management import call_command

    wanted = rule_with("health_below", TASK, name="Wanted")
    rule_with("health_below", EMAIL, name="Other")
    call_command("playbooks_evaluate", rule=[wanted.pk], verbosity=0)
    assert list(RuleRun.objects.values_list("rule__name", "source")) == [("Wanted", "manual")]
    assert "1 rules evaluated" in capsys.readouterr().out


def test_a_rebuilt_health_history_evaluates_every_rule_at_once(
    red, django_capture_on_commit_callbacks
):
    from health.services.scores import health_backfill

    rule = rule_with("renewal_in", TASK, mode="dry_run")
    today = NOW.date()
    with django_capture_on_commit_callbacks(execute=True):
        health_backfill(start=today, end=today)
    assert not RuleRun.objects.filter(rule=rule).exists()
    with django_capture_on_commit_callbacks(execute=True):
        health_backfill(start=today - dt.timedelta(days=1), end=today)
    assert RuleRun.objects.filter(rule=rule, source="schedule").count() == 1
