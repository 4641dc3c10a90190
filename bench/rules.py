#!/usr/bin/env python
"""Playbooks: evaluating 30 enabled rules over every account, and event-to-task latency.

Uses the database of bench/run.py (N accounts with signals, metrics and health scores; run
bench/recalc.py and bench/health.py first, as `make bench` does). It

1. creates 30 enabled rules covering every trigger (several twice with other settings),
   each creating a task and emailing the owner, a few starting a playbook, and times the
   scheduled evaluation (`rules_evaluate`, the hourly job) twice: the first pass fires
   (tasks, emails, notifications, timeline entries and the run log are written), the
   second finds everything in its cooldown, as most hours will;
2. starts gunicorn and a Celery worker with beat on a Redis database of its own, posts a
   detractor NPS answer through the REST API for each of LATENCY_EVENTS accounts, a second
   apart, and measures how long until each owner's task exists: p50, p95 and max.

The rules of the starter library are left as they were; the bench rules, their tasks and
emails are removed at the start of the next run.

    make bench                              # after run.py, recalc.py and health.py
    python bench/rules.py --accounts 2000   # quicker
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import prepare  # noqa: E402
from stack import platform_stack  # noqa: E402
from watch import Watcher  # noqa: E402

TARGET_SECONDS = 20.0
TARGET_LATENCY_P95 = 60.0
LATENCY_EVENTS = 20
PREFIX = "bench · "

# (trigger, params): 30 rules, every trigger at least once.
RULES: list[tuple[str, dict]] = [
    ("health_color", {"to": "red"}),
    ("health_color", {"to": "yellow"}),
    ("health_below", {"score": 40}),
    ("health_below", {"score": 60}),
    ("health_drop", {"points": 15, "days": 14}),
    ("health_drop", {"points": 25, "days": 30}),
    ("metric_threshold", {"metric": "mau", "op": "lt", "value": "5"}),
    ("metric_threshold", {"metric": "core_adoption_30d", "op": "lt", "value": "20"}),
    ("metric_threshold", {"metric": "tickets_open", "op": "gt", "value": "3"}),
    ("metric_threshold", {"metric": "feature:FEATURE", "op": "lt", "value": "1"}),
    ("renewal_in", {"days": 120}),
    ("renewal_in", {"days": 30}),
    ("deadline_in", {"days": 30}),
    ("deadline_in", {"days": 60}),
    ("nps_detractor", {"max_score": 6, "within_days": 2}),
    ("nps_detractor", {"max_score": 4, "within_days": 30}),
    ("no_login", {"days": 14}),
    ("no_login", {"days": 30}),
    ("usage_drop", {"percent": 30, "min_users": 5}),
    ("usage_drop", {"percent": 50, "min_users": 3}),
    ("onboarding_stuck", {}),
    ("onboarding_overdue", {"days": 3}),
    ("ticket_spike", {"min_tickets": 5, "factor": "2"}),
    ("ticket_spike", {"min_tickets": 3, "factor": "1.5"}),
    ("usage_limit", {"percent": 100}),
    ("usage_limit", {"percent": 90}),
    ("milestone_reached", {"within_days": 7}),
    ("regret_risk", {}),
    ("advocate", {"min_score": 80, "days": 30, "min_nps": 9}),
    ("advocate", {"min_score": 70, "days": 60, "min_nps": 9}),
]


def bench_rules_create() -> list:
    from accounts.models import Task
    from csplatform.models import OutboundEmail
    from metrics.models import Feature
    from playbooks.library import library_load
    from playbooks.models import PlaybookTemplate, Rule, RuleAction

    old = list(Rule.objects.filter(name__startswith=PREFIX).values_list("pk", flat=True))
    for pk in old:
        Task.objects.filter(source="playbooks", dedupe_key__startswith=f"rule:{pk}:").delete()
    Rule.objects.filter(pk__in=old).delete()
    OutboundEmail.objects.filter(idempotency_key__startswith="bench-").delete()
    library_load()  # the playbooks, if seed_demo predates them
    feature = Feature.objects.filter(is_key=True).first() or Feature.objects.first()
    playbook = PlaybookTemplate.objects.order_by("pk").first()
    rules = []
    for i, (trigger, params) in enumerate(RULES):
        params = dict(params)
        if params.get("metric") == "feature:FEATURE":
            params["metric"] = f"feature:{feature.key}" if feature else "mau"
        rule = Rule.objects.create(
            name=f"{PREFIX}{i + 1:02d} {trigger}",
            trigger=trigger,
            params=params,
            mode="enabled",
            cooldown_days=14,
        )
        actions = [
            RuleAction(rule=rule, kind="create_task", position=0, params={"title": rule.name}),
            RuleAction(rule=rule, kind="email_owner", position=1),
        ]
        if playbook is not None and i % 5 == 0:
            actions.append(
                RuleAction(rule=rule, kind="start_playbook", position=2, playbook=playbook)
            )
        RuleAction.objects.bulk_create(actions)
        rules.append(rule)
    return rules


def evaluation(accounts: int) -> None:
    from django.db import connection

    from csplatform.models import OutboundEmail
    from playbooks.models import Rule, RuleRun
    from playbooks.services.evaluate import rules_evaluate

    rules = bench_rules_create()
    # Only the bench rules are enabled while they are timed.
    others = dict(
        Rule.objects.exclude(name__startswith=PREFIX)
        .exclude(mode="disabled")
        .values_list("pk", "mode")
    )
    Rule.objects.filter(pk__in=list(others)).update(mode="disabled")
    try:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        started_at = time.time()
        passes = []
        for _ in range(2):
            started = time.perf_counter()
            runs = rules_evaluate()
            passes.append((time.perf_counter() - started, runs))
    finally:
        for pk, mode in others.items():
            Rule.objects.filter(pk=pk).update(mode=mode)
    # The bench's emails are never sent: mark them so the next run removes them.
    for row in OutboundEmail.objects.filter(created_at__gte=_aware(started_at)):
        OutboundEmail.objects.filter(pk=row.pk).update(
            idempotency_key=f"bench-{row.idempotency_key}"[:255], status="suppressed"
        )
    print()
    print(
        f"playbooks · scheduled evaluation of {len(rules)} enabled rules over {accounts:,} accounts"
    )
    for label, (seconds, runs) in zip(("first pass", "second pass"), passes, strict=True):
        matched = sum(e.run.matched for e in runs if e.run)
        fired = sum(e.run.fired for e in runs if e.run)
        print(
            f"  {label:11s} {seconds:6.1f} s  ({matched:,} matches, {fired:,} fired;"
            f" target < {TARGET_SECONDS:.0f} s) {'ok' if seconds < TARGET_SECONDS else 'SLOW'}"
        )
    durations = Counter()
    for run in RuleRun.objects.filter(rule__in=rules, started_at__gte=_aware(started_at)):
        if run.finished_at:
            durations[run.rule.name] = max(
                durations[run.rule.name], (run.finished_at - run.started_at).total_seconds()
            )
    slowest = ", ".join(f"{name[len(PREFIX) :]} {s:.2f} s" for name, s in durations.most_common(3))
    print(f"  slowest     {slowest}")


def _aware(stamp: float):
    import datetime as dt

    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC)


def latency(url: str) -> None:
    from accounts.models import Account, Task
    from csplatform.choices import Role
    from csplatform.models import User
    from csplatform.services import api_key_create, user_create
    from playbooks.models import Rule, RuleCooldown

    rule = Rule.objects.get(name__startswith=PREFIX, trigger="nps_detractor", params__within_days=2)
    with platform_stack(url, name="rules", redis_db=8, EMAIL_URL="dummymail://") as (
        base,
        queue,
    ):
        lead = User.objects.filter(username="bench-lead").first() or user_create(
            username="bench-lead", role=Role.CS_LEAD, email="bench-lead@example.com"
        )
        _, raw = api_key_create(user=lead, name=f"bench {queue}")
        cooling = RuleCooldown.objects.filter(rule=rule).values("account_id")
        targets = list(
            Account.objects.exclude(status="churned")
            .filter(owner__isnull=False)
            .exclude(pk__in=cooling)
            .order_by("?")
            .values_list("pk", flat=True)[:LATENCY_EVENTS]
        )
        headers = {"Authorization": f"Api-Key {raw}"}
        watcher = Watcher(
            lambda: Task.objects.filter(
                account_id__in=targets, dedupe_key__startswith=f"rule:{rule.pk}:"
            ).values_list("account_id", flat=True)
        )
        watcher.start()
        sent: dict[int, float] = {}
        for pk in targets:
            body = {"account": pk, "kind": "nps", "score": 2, "comment": "bench"}
            requests.post(
                f"{base}/api/v1/survey-responses/", json=body, headers=headers, timeout=10
            ).raise_for_status()
            sent[pk] = time.monotonic()
            time.sleep(1)
        seen = {pk: at - sent[pk] for pk, at in watcher.wait_for(sent, timeout=180).items()}
        waits = sorted(seen.values())
        print()
        print(
            f"playbooks · detractor answer to task, {len(sent)} answers a second apart"
            " through /api/v1/survey-responses/ · gunicorn 2 workers, Celery worker, Redis"
        )
        if not waits:
            print("  no task within 3 minutes ✗")
            return
        p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))]
        print(
            f"  p50 {statistics.median(waits):5.1f} s   p95 {p95:5.1f} s   max {waits[-1]:5.1f} s"
            f"   ({len(waits)} of {len(sent)} tasks; target p95 < {TARGET_LATENCY_P95:.0f} s)"
            f" {'ok' if p95 < TARGET_LATENCY_P95 and len(waits) == len(sent) else 'SLOW'}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csplatform_bench")
    queue = f"bench-rules-eval-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        # The evaluation's emails wait in a queue nobody reads (their rows are marked).
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/8",
        "CELERY_QUEUE": queue,
    }
    prepare(url, args.accounts, env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings")
    import django

    django.setup()
    try:
        evaluation(args.accounts)
    finally:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/8").delete(queue)
    if not args.skip_latency:
        latency(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
