"""Evaluating rules: match set-based, claim exactly once, act, and record everything.

One evaluation of a rule is one transaction:

1. the rule's trigger matches the accounts in its segment scope (one query; for an event,
   only the accounts the event is about);
2. a dry-run rule records the matches and stops there;
3. an enabled rule *claims* the matched accounts in RuleCooldown with one upsert that only
   succeeds where the rule has not fired for the account within its cooldown; the claim
   and everything the actions write (tasks, outbox emails, notifications, webhook
   deliveries, timeline entries, the run log) commit together;
4. emails and webhooks go out after commit, through their outboxes.

So two evaluators running at once (they also take a per-rule advisory lock), or an
evaluation retried after a crash, act on each account exactly once: the claim of the one
that commits first makes the other's fail, and a crash before commit leaves nothing
behind to act on twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.models import Account
from playbooks.choices import MatchOutcome, RuleMode, RunSource
from playbooks.models import Rule, RuleMatch, RuleRun
from playbooks.services.actions import actions_run
from playbooks.triggers import Trigger, trigger, triggers

logger = logging.getLogger(__name__)

# Matches kept per run in the log; the counts are always complete. Accounts left alone
# because of the cooldown are the bulk of every hourly run: a sample of them is enough.
LOG_MATCHES = 2000
LOG_COOLED = 100
CLAIM_CHUNK = 2000


@dataclass(frozen=True)
class Match:
    account_id: int
    name: str
    owner_id: int | None
    reason_key: str
    reason: str


@dataclass
class Evaluation:
    run: RuleRun | None
    matches: list[Match] = field(default_factory=list)
    fired: list[Match] = field(default_factory=list)
    skipped: bool = False


def scope_queryset(rule: Rule) -> QuerySet[Account]:
    """The customers in the rule's segment scope and conditions."""
    qs = Account.objects.exclude(status=AccountStatus.CHURNED)
    for name, field_name in (
        ("tiers", "tier"),
        ("touch_models", "touch_model"),
        ("business_models", "business_model"),
        ("lifecycle_stages", "lifecycle_stage"),
    ):
        values = getattr(rule, name) or []
        if values:
            qs = qs.filter(**{f"{field_name}__in": values})
    if rule.min_mrr is not None:
        qs = qs.filter(mrr__gte=rule.min_mrr)
    if rule.max_mrr is not None:
        qs = qs.filter(mrr__lte=rule.max_mrr)
    if rule.tags:
        qs = qs.filter(tags__name__in=rule.tags).distinct()
    return qs


def rule_matches(
    *, rule: Rule, now: dt.datetime | None = None, account_ids: Sequence[int] | None = None
) -> list[Match]:
    """The accounts the rule matches now (the preview), with the reason for each."""
    found = trigger(rule.trigger)
    if found is None:
        return []
    now = now or timezone.now()
    settings = found.settings(rule.params)
    qs = scope_queryset(rule)
    if account_ids is not None:
        qs = qs.filter(pk__in=list(account_ids))
    rows = (
        found.match(settings, now, qs)
        .order_by("pk")
        .values("pk", "name", "owner_id", "reason_key", *found.fields)
    )
    return [
        Match(
            account_id=row["pk"],
            name=row["name"],
            owner_id=row["owner_id"],
            reason_key=str(row["reason_key"])[:200],
            reason=str(found.reason(settings, row))[:255],
        )
        for row in rows
    ]


def _lock(rule: Rule) -> None:
    """One evaluation of a rule at a time (PostgreSQL; SQLite has a single writer)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [zlib.crc32(b"playbooks.rule") - 2**31, rule.pk],
            )


def _claim(rule: Rule, matches: list[Match], now: dt.datetime) -> set[int]:
    """Accounts the rule may fire for: not within its cooldown. Claims them (upsert)."""
    # Raw SQL: datetimes as the ORM would store them (SQLite compares them as text).
    adapt = connection.ops.adapt_datetimefield_value
    cutoff = adapt(now - dt.timedelta(days=max(rule.cooldown_days, 1)))
    stamp = adapt(now)
    claimed: set[int] = set()
    upsert = (
        " ON CONFLICT (rule_id, account_id) DO UPDATE SET"
        " fired_at = excluded.fired_at, reason_key = excluded.reason_key"
        " WHERE playbooks_rulecooldown.fired_at <= %s RETURNING account_id"
    )
    insert = "INSERT INTO playbooks_rulecooldown (rule_id, account_id, fired_at, reason_key)"
    for start in range(0, len(matches), CLAIM_CHUNK):
        chunk = matches[start : start + CLAIM_CHUNK]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    insert + " SELECT %s, a, %s, k FROM unnest(CAST(%s AS bigint[]),"
                    " CAST(%s AS text[])) AS x(a, k)" + upsert,
                    [
                        rule.pk,
                        stamp,
                        [m.account_id for m in chunk],
                        [m.reason_key for m in chunk],
                        cutoff,
                    ],
                )
            else:
                params: list[Any] = []
                for m in chunk:
                    params += [rule.pk, m.account_id, stamp, m.reason_key]
                cursor.execute(
                    insert + " VALUES " + ", ".join(["(%s, %s, %s, %s)"] * len(chunk)) + upsert,
                    [*params, cutoff],
                )
            claimed.update(int(row[0]) for row in cursor.fetchall())
    return claimed


def rule_evaluate(
    *,
    rule: Rule,
    source: str = RunSource.SCHEDULE,
    now: dt.datetime | None = None,
    account_ids: Sequence[int] | None = None,
) -> Evaluation:
    """Evaluate one rule (see the module doc); returns what matched and what fired."""
    now = now or timezone.now()
    if rule.mode == RuleMode.DISABLED:
        return Evaluation(run=None, skipped=True)
    with transaction.atomic():
        _lock(rule)
        run = RuleRun.objects.create(
            rule=rule, source=source, dry_run=rule.mode == RuleMode.DRY_RUN, started_at=now
        )
        matches = rule_matches(rule=rule, now=now, account_ids=account_ids)
        evaluation = Evaluation(run=run, matches=matches)
        outcomes: dict[int, tuple[str, list[dict[str, Any]]]] = {}
        if rule.mode == RuleMode.DRY_RUN:
            outcomes = {m.account_id: (MatchOutcome.DRY_RUN, []) for m in matches}
        else:
            claimed = _claim(rule, matches, now)
            evaluation.fired = [m for m in matches if m.account_id in claimed]
            results = actions_run(rule=rule, fired=evaluation.fired, now=now, run=run)
            for m in matches:
                if m.account_id not in claimed:
                    outcomes[m.account_id] = (MatchOutcome.COOLDOWN, [])
                else:
                    done = results.get(m.account_id, [])
                    ok = all(r["ok"] for r in done)
                    outcomes[m.account_id] = (
                        MatchOutcome.FIRED if ok else MatchOutcome.FAILED,
                        done,
                    )
        acted = [m for m in matches if outcomes[m.account_id][0] != MatchOutcome.COOLDOWN]
        cooled = [m for m in matches if outcomes[m.account_id][0] == MatchOutcome.COOLDOWN]
        RuleMatch.objects.bulk_create(
            [
                RuleMatch(
                    run=run,
                    account_id=m.account_id,
                    reason_key=m.reason_key,
                    reason=m.reason,
                    outcome=outcomes[m.account_id][0],
                    actions=outcomes[m.account_id][1],
                )
                for m in acted[:LOG_MATCHES] + cooled[:LOG_COOLED]
            ],
            batch_size=500,
        )
        counts = [o for o, _r in outcomes.values()]
        run.considered = len(account_ids) if account_ids is not None else 0
        run.matched = len(matches)
        run.fired = counts.count(MatchOutcome.FIRED) + counts.count(MatchOutcome.FAILED)
        run.cooled = counts.count(MatchOutcome.COOLDOWN)
        run.failed = counts.count(MatchOutcome.FAILED)
        run.finished_at = timezone.now()
        run.save(
            update_fields=["considered", "matched", "fired", "cooled", "failed", "finished_at"]
        )
        Rule.objects.filter(pk=rule.pk).update(last_run_at=now)
    return evaluation


def rules_evaluate(
    *,
    source: str = RunSource.SCHEDULE,
    event: str | None = None,
    account_ids: Sequence[int] | None = None,
    rule_ids: Sequence[int] | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Evaluation]:
    """Every enabled or dry-run rule (for an event, those whose trigger listens to it; or
    the `rule_ids` given). `progress(done, total)` is called after each rule.

    A rule that fails is logged on its run and does not stop the others.
    """
    wanted: dict[str, Trigger] = {
        key: t for key, t in triggers().items() if event is None or event in t.events
    }
    rules = Rule.objects.filter(trigger__in=list(wanted)).filter(
        Q(mode=RuleMode.ENABLED) | Q(mode=RuleMode.DRY_RUN)
    )
    if rule_ids is not None:
        rules = rules.filter(pk__in=list(rule_ids))
    todo = list(rules.order_by("pk"))
    out = []
    for done, rule in enumerate(todo, start=1):
        try:
            out.append(rule_evaluate(rule=rule, source=source, now=now, account_ids=account_ids))
        except Exception as exc:  # one broken rule must not silence the others
            logger.exception("rule %s failed", rule.pk)
            RuleRun.objects.create(
                rule=rule,
                source=source,
                started_at=now or timezone.now(),
                finished_at=timezone.now(),
                error=f"{type(exc).__name__}: {exc}"[:2000],
            )
        if progress is not None:
            progress(done, len(todo))
    return out


def runs_purge(*, now: dt.datetime | None = None) -> int:
    """Forget runs older than PLAYBOOK_RUN_RETENTION_DAYS (their matches go with them)."""
    from django.conf import settings

    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.PLAYBOOK_RUN_RETENTION_DAYS)
    deleted, _ = RuleRun.objects.filter(started_at__lt=cutoff).delete()
    return deleted
