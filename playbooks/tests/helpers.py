"""Shared pieces of the playbooks tests: a fixed clock and quick ways to state facts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from health.models import HealthScore
from metrics.models import AccountDailyMetrics
from playbooks.models import Rule
from playbooks.services.evaluate import rule_matches

NOW = dt.datetime(2026, 3, 20, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def matches(trigger: str, now: dt.datetime = NOW, **params):
    rule = Rule(name=f"r-{trigger}", trigger=trigger, params=params)
    return {m.account_id: m for m in rule_matches(rule=rule, now=now)}


def health(account, score, color, *, previous=None, previous_color="", as_of=TODAY):
    return HealthScore.objects.create(
        account=account,
        as_of=as_of,
        score=Decimal(score),
        computed_score=Decimal(score),
        color=color,
        computed_color=color,
        previous_as_of=as_of - dt.timedelta(days=1) if previous is not None else None,
        previous_score=Decimal(previous) if previous is not None else None,
        previous_color=previous_color,
    )


def figures(account, day, **values):
    defaults = {"mrr": 0, "dau": 0, "wau": 0, "mau": 0, "events_30d": 0}
    return AccountDailyMetrics.objects.create(account=account, date=day, **{**defaults, **values})


def rule_with(trigger: str, *actions: tuple[str, dict], mode: str = "enabled", **fields):
    """A saved rule with these (kind, params) actions, in order."""
    from playbooks.models import RuleAction

    params = fields.pop("params", {})
    playbook = fields.pop("playbook", None)
    endpoint = fields.pop("endpoint", None)
    rule = Rule.objects.create(
        name=fields.pop("name", f"Rule {Rule.objects.count() + 1}"),
        trigger=trigger,
        params=params,
        mode=mode,
        **fields,
    )
    for i, (kind, action_params) in enumerate(actions):
        RuleAction.objects.create(
            rule=rule,
            kind=kind,
            position=i,
            params=action_params,
            playbook=playbook if kind == "start_playbook" else None,
            endpoint=endpoint if kind in ("webhook", "slack") else None,
        )
    return rule
