"""Demo QBRs for seed_demo: a year of held QBRs with notes, next steps (their tasks, some
done) and the goals as they were reviewed, plus upcoming ones in the CSMs' books.

Deterministic from the seed; written with bulk_create per chunk of accounts, so 20,000
accounts take seconds. Prep packs are not stored: a demo QBR's document is filled from
live data when opened or exported.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.utils import timezone

from accounts.choices import (
    AccountStatus,
    ActivityKind,
    GoalStatus,
    TaskKind,
    TaskStatus,
    Tier,
    TouchModel,
)
from accounts.models import Account, Activity, Goal, GoalRevision, Task
from onboarding.demo import _index
from qbr.choices import OPTIONAL_SECTIONS, QbrKind, QbrStatus, StepSide
from qbr.models import Qbr, QbrNextStep
from qbr.selectors import default_period
from qbr.services.qbrs import SOURCE, step_task_key

CHUNK = 2000

_NOTES = (
    "Reviewed adoption by team; the finance team is now fully live. Sponsor asked for a "
    "quarterly usage report and a roadmap preview.",
    "Went through the support backlog; two reporting issues fixed, one still open. Agreed "
    "to a training session for new hires.",
    "Customer is expanding to a second region next quarter; discussed seats and timing. "
    "Executive sponsor happy with time saved on month-end close.",
    "Usage dipped over the holidays and recovered. Champion is moving roles: we need a new "
    "day-to-day contact.",
    "Renewal conversation opened; pricing concerns on the add-on. Agreed to share ROI "
    "figures before the next meeting.",
)
_STEPS = (
    ("Send the usage report by team", StepSide.OURS),
    ("Run a training session for new users", StepSide.OURS),
    ("Share the product roadmap preview", StepSide.OURS),
    ("Introduce the new day-to-day contact", StepSide.CUSTOMER),
    ("Confirm seat count for the second region", StepSide.CUSTOMER),
    ("Review ROI figures with finance", StepSide.CUSTOMER),
    ("Schedule the integration health check", StepSide.OURS),
    ("Enable single sign-on for all teams", StepSide.CUSTOMER),
)
_SUMMARY = (
    "Adoption grew across teams this quarter and the main goals are on track. The open "
    "point is reporting speed, which support is working on.",
    "A steady quarter: usage held, support was quiet, and the team is ready to roll out "
    "to the next department.",
)


def demo_seeded_receiver(
    sender: Any, *, account_ids: list[int], seed: int, today: dt.date, **kwargs: Any
) -> None:
    demo_qbrs_create(account_ids=account_ids, seed=seed, today=today)


def _rng(seed: int, account: Account) -> random.Random:
    return random.Random(seed * 1_000_033 + _index(account) * 104_729 + 8)


def _chance(account: Account) -> float:
    if account.touch_model == TouchModel.TECH:
        return 0.15
    if account.tier == Tier.ENTERPRISE or account.touch_model == TouchModel.HIGH:
        return 0.85
    return 0.55


def demo_qbrs_create(*, account_ids: list[int], seed: int, today: dt.date) -> int:
    """Held QBRs (notes, next steps, goals reviewed) and upcoming ones. Returns the count."""
    ids = sorted(account_ids)
    created = 0
    for start in range(0, len(ids), CHUNK):
        part = ids[start : start + CHUNK]
        accounts = list(
            Account.objects.filter(pk__in=part, owner__isnull=False)
            .exclude(status=AccountStatus.TRIAL)
            .order_by("pk")
        )
        goals: dict[int, list[Goal]] = {}
        for goal in Goal.objects.filter(account_id__in=[a.pk for a in accounts]).order_by("pk"):
            goals.setdefault(goal.account_id, []).append(goal)
        created += _chunk(accounts, goals, seed, today)
    return created


def _chunk(accounts: list[Account], goals: dict[int, list[Goal]], seed: int, today: dt.date) -> int:
    held: list[tuple[Qbr, list[tuple[str, str]], bool, int]] = []
    upcoming: list[Qbr] = []
    revisions: list[GoalRevision] = []
    for account in accounts:
        rng = _rng(seed, account)
        since = account.customer_since
        if (
            since is None
            or since > today - dt.timedelta(days=120)
            or rng.random() > _chance(account)
        ):
            continue
        interval = 182 if account.touch_model == TouchModel.TECH else 91
        last = today - dt.timedelta(days=rng.randint(5, interval - 5))
        if account.status == AccountStatus.CHURNED and account.churned_at:
            last = min(last, account.churned_at - dt.timedelta(days=20))
        dates = [last]
        if rng.random() < 0.6 and last - dt.timedelta(days=interval) > since:
            dates.append(last - dt.timedelta(days=interval))
        for n, day in enumerate(sorted(dates)):
            latest = day == last
            period_start, period_end = default_period(today=day)
            kind = (
                QbrKind.EBR
                if account.tier == Tier.ENTERPRISE and rng.random() < 0.3
                else QbrKind.QBR
            )
            qbr = Qbr(
                account=account,
                kind=kind,
                period_start=period_start,
                period_end=period_end,
                scheduled_at=dt.datetime.combine(day, dt.time(15), dt.UTC),
                status=QbrStatus.FOLLOWED_UP
                if not latest or rng.random() < 0.8
                else QbrStatus.HELD,
                owner_id=account.owner_id,
                created_by_id=account.owner_id,
                held_on=day,
                notes=rng.choice(_NOTES),
                narrative={"summary": rng.choice(_SUMMARY)},
                optional_sections=rng.sample(OPTIONAL_SECTIONS, k=rng.randint(0, 2)),
                is_first=n == 0 and len(dates) == 1 and since > today - dt.timedelta(days=400),
                followed_up_at=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(9), dt.UTC),
            )
            steps = rng.sample(_STEPS, k=rng.randint(2, 4))
            # The steps' own draws: from the seed and the account, never from a row id.
            held.append((qbr, steps, latest, rng.randrange(1 << 30)))
            if latest:
                for goal in goals.get(account.pk, []):
                    before = (
                        GoalStatus.ON_TRACK
                        if goal.status in (GoalStatus.ACHIEVED, GoalStatus.AT_RISK)
                        else goal.status
                    )
                    revisions.append(
                        GoalRevision(
                            goal=goal,
                            author_id=account.owner_id,
                            changed_at=dt.datetime.combine(day, dt.time(16), dt.UTC),
                            status=before,
                            target=goal.target,
                            note="Reviewed at the QBR",
                        )
                    )
        if account.status != AccountStatus.CHURNED and rng.random() < 0.3:
            when = today + dt.timedelta(days=rng.randint(3, 25))
            period_start, period_end = default_period(today=when)
            upcoming.append(
                Qbr(
                    account=account,
                    kind=QbrKind.QBR,
                    period_start=period_start,
                    period_end=period_end,
                    scheduled_at=dt.datetime.combine(when, dt.time(14), dt.UTC),
                    status=QbrStatus.PLANNED,
                    owner_id=account.owner_id,
                    created_by_id=account.owner_id,
                )
            )
    saved = Qbr.objects.bulk_create([q for q, _s, _l, _r in held] + upcoming, batch_size=1000)
    del saved
    tasks: list[Task] = []
    steps_rows: list[QbrNextStep] = []
    activities: list[Activity] = []
    now = timezone.now()
    for qbr, steps, latest, step_seed in held:
        rng = random.Random(step_seed)
        for position, (text, side) in enumerate(steps, 1):
            assert qbr.held_on is not None
            due = qbr.held_on + dt.timedelta(days=14 + 7 * position)
            done = not latest or (due < today and rng.random() < 0.7)
            task = Task(
                account_id=qbr.account_id,
                title=(
                    "QBR next step: " if side == StepSide.OURS else "Follow up with the customer: "
                )
                + text,
                kind=TaskKind.FOLLOW_UP,
                status=TaskStatus.DONE if done else TaskStatus.OPEN,
                due_date=due,
                assignee_id=qbr.owner_id,
                created_by_id=qbr.owner_id,
                completed_at=dt.datetime.combine(due, dt.time(10), dt.UTC) if done else None,
                source=SOURCE,
                dedupe_key=step_task_key(qbr.pk, position),
            )
            tasks.append(task)
            steps_rows.append(
                QbrNextStep(
                    qbr=qbr,
                    position=position,
                    text=text,
                    side=side,
                    assignee_id=qbr.owner_id,
                    due_date=due,
                    task=task,
                )
            )
        activities.append(
            Activity(
                account_id=qbr.account_id,
                kind=ActivityKind.QBR,
                author_id=qbr.owner_id,
                occurred_at=dt.datetime.combine(qbr.held_on, dt.time(15), dt.UTC)
                if qbr.held_on
                else now,
                subject=f"{qbr.get_kind_display()} held",
                summary=qbr.notes,
                source=SOURCE,
                metadata={"qbr_id": qbr.pk},
            )
        )
    Task.objects.bulk_create(tasks, batch_size=1000)
    QbrNextStep.objects.bulk_create(steps_rows, batch_size=1000)
    Activity.objects.bulk_create(activities, batch_size=1000)
    GoalRevision.objects.bulk_create(revisions, batch_size=1000)
    return len(held) + len(upcoming)
