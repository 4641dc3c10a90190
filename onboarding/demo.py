"""Demo onboarding: three templates and a plan for every demo account that would have one.

Connected to `accounts.demo.demo_seeded` in `OnboardingConfig.ready()` (after metrics, so
the demo features and usage rollups exist) and run inside `seed_demo`'s transaction for
exactly the accounts it created:

- accounts in the onboarding stage get a plan in progress, started on their customer-since
  day (trials: in the last weeks), and so do some customers of the last six months whose
  onboarding overran (they move back to the onboarding stage). Most are on track; some are
  behind (recent tasks left late) and some stuck (nothing done for longer than the stuck
  threshold, work overdue), so every step of every template has plans in it;
- accounts that became customers in the last 18 months and are past onboarding get a
  completed plan, with activation and time to value (a share never activated);
- accounts that churned within their first five months get a cancelled plan, and so do a
  few customers that needed no onboarding after all.

Everything is drawn from one `random.Random` per account (seed and the account's demo
index), so the same seed gives the same plans. Rows are written with bulk_create; activation
of the plans in progress is then detected from the demo usage and every plan rated, both
set-based, so 20,000 accounts take seconds.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import Max
from django.utils import timezone

from accounts.choices import AccountStatus, ActivityKind, LifecycleStage, TaskStatus, TouchModel
from accounts.models import Account, Activity, Contact
from metrics.models import Feature
from onboarding.choices import CancelReason, CriterionKind, CriterionRole, PlanStatus, TaskSide
from onboarding.models import (
    OnboardingPlan,
    OnboardingTemplate,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)
from onboarding.services.detection import plans_detect, plans_health_refresh
from onboarding.services.plans import PlanDraft, due_on, plan_drafts_build, plan_drafts_write

US, CUSTOMER = TaskSide.US, TaskSide.CUSTOMER
# Accounts that became customers longer ago than this onboarded before the platform.
HISTORY_DAYS = 540
# A customer this recent may still be onboarding, long after the plan's target.
OVERRUN_DAYS = 180
# Plans are built and written per round of accounts, to keep memory flat.
CHUNK = 2000

# name, touch model, (behind, stuck) days, milestones: (name, due day, tasks), criteria
_TEMPLATES: tuple[tuple[str, str, tuple[int, int], tuple[Any, ...], tuple[Any, ...]], ...] = (
    (
        "Enterprise high-touch onboarding",
        TouchModel.HIGH,
        (3, 14),
        (
            ("Kick-off", 7, (("Kick-off call with the project team", US, 2),
                             ("Agree the success plan and goals", US, 5),
                             ("Name your admins and project lead", CUSTOMER, 5))),
            ("Technical set-up", 21, (("Configure single sign-on", CUSTOMER, 14),
                                      ("Connect your CRM integration", CUSTOMER, 18),
                                      ("Review the data mapping together", US, 20))),
            ("Training", 35, (("Admin training session", US, 28),
                              ("Train your team on dashboards", CUSTOMER, 35))),
            ("Go-live", 45, (("Go-live check-in", US, 42),
                             ("Executive sponsor review", US, 45))),
        ),
        (
            (CriterionRole.ACTIVATION, CriterionKind.FEATURE_USERS, "dashboards", 3),
            (CriterionRole.ACTIVATION, CriterionKind.ACTIVE_DAYS, None, 10),
            (CriterionRole.VALUE, CriterionKind.MILESTONE, "Go-live", 1),
        ),
    ),
    (
        "Low-touch onboarding",
        TouchModel.LOW,
        (3, 10),
        (
            ("Welcome", 7, (("Welcome call", US, 3),
                            ("Invite your team", CUSTOMER, 7))),
            ("Set-up", 21, (("Import your data", CUSTOMER, 14),
                            ("Build your first dashboard", CUSTOMER, 18),
                            ("Set-up review call", US, 21))),
            ("First results", 35, (("Schedule a weekly report", CUSTOMER, 30),
                                   ("30-day check-in", US, 35))),
        ),
        (
            (CriterionRole.ACTIVATION, CriterionKind.FEATURE_USERS, "reports", 2),
            (CriterionRole.VALUE, CriterionKind.FEATURE_EVENTS, "reports", 25),
        ),
    ),
    (
        "Tech-touch self-service onboarding",
        TouchModel.TECH,
        (5, 21),
        (
            ("Get started", 7, (("Welcome email sequence", US, 1),
                                ("Invite a colleague", CUSTOMER, 3))),
            ("First value", 21, (("Create your first dashboard", CUSTOMER, 10),
                                 ("Connect an integration", CUSTOMER, 21),
                                 ("Nudge email if no dashboard yet", US, 14))),
        ),
        (
            (CriterionRole.ACTIVATION, CriterionKind.ACTIVE_USERS, None, 2),
            (CriterionRole.ACTIVATION, CriterionKind.ACTIVE_DAYS, None, 3),
            (CriterionRole.VALUE, CriterionKind.FEATURE_EVENTS, "dashboards", 15),
        ),
    ),
)  # fmt: skip


def demo_templates_ensure() -> dict[str, OnboardingTemplate]:
    """The demo templates by touch model, created where missing (by name)."""
    features = dict(Feature.objects.values_list("key", "pk"))
    out = {}
    for name, touch, (behind, stuck), milestones, criteria in _TEMPLATES:
        template, created = OnboardingTemplate.objects.get_or_create(
            name=name,
            defaults={
                "touch_model": touch,
                "description": f"Demo: {len(milestones)} milestones.",
                "behind_after_days": behind,
                "stuck_after_days": stuck,
            },
        )
        out[touch] = template
        if not created:
            continue
        by_name = {}
        for position, (m_name, due_day, tasks) in enumerate(milestones):
            milestone = TemplateMilestone.objects.create(
                template=template, name=m_name, position=position, due_day=due_day
            )
            by_name[m_name] = milestone
            TemplateTask.objects.bulk_create(
                TemplateTask(milestone=milestone, title=t, side=side, due_day=d, position=i)
                for i, (t, side, d) in enumerate(tasks)
            )
        TemplateCriterion.objects.bulk_create(
            TemplateCriterion(
                template=template,
                role=role,
                kind=kind,
                threshold=threshold,
                feature_id=features.get(ref) if kind != CriterionKind.MILESTONE else None,
                milestone=by_name.get(ref) if kind == CriterionKind.MILESTONE else None,
            )
            for role, kind, ref, threshold in criteria
            if kind == CriterionKind.MILESTONE
            or not CriterionKind(kind).needs_feature
            or ref in features
        )
    return out


@dataclass
class DemoOnboardingResult:
    plans: int = 0
    active: int = 0
    completed: int = 0
    cancelled: int = 0


def demo_seeded_receiver(
    sender: Any, *, account_ids: list[int], seed: int, today: dt.date, **kwargs: Any
) -> None:
    demo_plans_create(account_ids=account_ids, seed=seed, today=today)


def _at(day: dt.date, rng: random.Random) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(rng.randint(8, 18), rng.randint(0, 59)), dt.UTC)


def _index(account: Account) -> int:
    return int("".join(c for c in (account.external_id or "0") if c.isdigit()) or 0)


def _fate(account: Account, today: dt.date, rng: random.Random) -> tuple[str, dt.date] | None:
    """What happened to this account's onboarding, and when it started (None: no plan)."""
    since = account.customer_since
    if account.status == AccountStatus.TRIAL:
        return "active", today - dt.timedelta(days=_index(account) % 26)
    if (
        account.lifecycle_stage == LifecycleStage.ONBOARDING
        and account.status != AccountStatus.CHURNED
    ):
        # A won-back customer onboards again from its new contract.
        recent = [
            d for d in (since, account.last_start) if d and d >= today - dt.timedelta(days=120)
        ]  # type: ignore[attr-defined]
        return "active", min(recent) if recent else today - dt.timedelta(days=30)
    if since is None or since < today - dt.timedelta(days=HISTORY_DAYS):
        return None
    if account.status == AccountStatus.CHURNED:
        churned = account.churned_at or today
        return ("cancelled", since) if (churned - since).days <= 150 else ("completed", since)
    # Onboarding that overran: the account is still onboarding months after it started.
    if (today - since).days <= OVERRUN_DAYS and rng.random() < 0.5:
        return "overrun", since
    # Some customers needed no onboarding after all (they set themselves up).
    return ("cancelled", since) if rng.random() < 0.1 else ("completed", since)


def demo_plans_create(
    *, account_ids: Sequence[int], seed: int, today: dt.date | None = None
) -> DemoOnboardingResult:
    """Write the demo templates and the plans of these accounts; see the module docstring."""
    today = today or timezone.localdate()
    result = DemoOnboardingResult()
    ids = sorted(account_ids)
    if not ids:
        return result
    templates = demo_templates_ensure()
    accounts = [
        a
        for a in Account.objects.filter(pk__range=(ids[0], ids[-1]))
        .annotate(last_start=Max("subscriptions__start_date"))
        .order_by("external_id", "pk")
        if a.pk in set(ids)
    ]
    overrun: list[int] = []
    for start in range(0, len(accounts), CHUNK):
        starts, fates, rngs = [], [], []
        for account in accounts[start : start + CHUNK]:
            rng = random.Random(seed * 1_000_003 + _index(account) * 7919 + 61)
            fate = _fate(account, today, rng)
            if fate is None:
                continue
            if fate[0] == "overrun":
                overrun.append(account.pk)
                fate = ("active", fate[1])
            starts.append((account, templates[account.touch_model], fate[1]))
            fates.append(fate[0])
            rngs.append(rng)
        drafts = plan_drafts_build(starts=starts)
        contacts = _first_contacts([a.pk for a, _t, _d in starts])
        for draft, fate, rng in zip(drafts, fates, rngs, strict=True):
            _play(draft, fate, rng, today, contacts.get(draft.plan.account.pk))
        plans = plan_drafts_write(drafts=drafts, record=False)
        _timeline_write(plans)
        result.plans += len(plans)
        for fate in fates:
            setattr(result, fate, getattr(result, fate) + 1)
    for i in range(0, len(overrun), CHUNK):
        Account.objects.filter(pk__in=overrun[i : i + CHUNK]).update(
            lifecycle_stage=LifecycleStage.ONBOARDING
        )
    # Plans in progress: activation and value from the demo usage, then their health.
    plans_detect(record=False)
    plans_health_refresh(record=False, today=today)
    return result


def _first_contacts(account_ids: list[int]) -> dict[int, int]:
    """Each account's primary (else first) contact, in one query."""
    if not account_ids:
        return {}
    first: dict[int, int] = {}
    for account_id, contact_id in (
        Contact.objects.filter(account_id__in=account_ids)
        .order_by("account_id", "-is_primary", "pk")
        .values_list("account_id", "pk")
    ):
        first.setdefault(account_id, contact_id)
    return first


def _timeline_write(plans: list[OnboardingPlan]) -> None:
    """The start and the end of each plan on its account's timeline, on the day they were."""
    rng = random.Random(len(plans))
    entries = []
    for p in plans:
        entries.append(
            Activity(
                account_id=p.account_id,
                kind=ActivityKind.SYSTEM,
                occurred_at=_at(p.started_on, rng),
                subject=f"Onboarding started: {p.name}",
                source="onboarding",
                metadata={"plan_id": p.pk},
            )
        )
        if p.completed_on:
            entries.append(
                Activity(
                    account_id=p.account_id,
                    kind=ActivityKind.SYSTEM,
                    occurred_at=_at(p.completed_on, rng),
                    subject=f"Onboarding completed in {p.onboarding_days} days",
                    source="onboarding",
                    metadata={"plan_id": p.pk},
                )
            )
    Activity.objects.bulk_create(entries, batch_size=1000)


def _play(
    draft: PlanDraft, fate: str, rng: random.Random, today: dt.date, contact: int | None
) -> None:
    """Tick the draft's tasks and stamp its dates as this fate would have them by today.

    The customer's tasks are ticked by `contact` (the account's primary contact)."""
    plan = draft.plan
    start = plan.started_on
    if fate == "active":
        # Only a plan old enough can have fallen behind, or stalled for the stuck threshold.
        age = (today - start).days
        weights = (
            (50, 25, 25)
            if age > plan.stuck_after_days + 4
            else (70, 30, 0)
            if age > plan.behind_after_days + 4
            else (1, 0, 0)
        )
        style = rng.choices(("on_track", "behind", "stuck"), weights=weights)[0]
        if style == "stuck":
            stop = today - dt.timedelta(days=plan.stuck_after_days + rng.randint(1, 12))
        elif style == "behind":
            stop = today - dt.timedelta(days=plan.behind_after_days + rng.randint(2, 6))
        else:
            stop = today - dt.timedelta(days=rng.choice((0, 0, 1)))
        cutoff = max(start, stop)
    elif fate == "cancelled":
        churned = plan.account.churned_at
        cutoff = min(today, churned or today, start + dt.timedelta(days=rng.randint(10, 60)))
        plan.status, plan.cancelled_on = PlanStatus.CANCELLED, cutoff
        plan.cancel_reason = CancelReason.CHURNED if churned else CancelReason.NOT_NEEDED
    else:
        cutoff = today - dt.timedelta(days=1)
    late = 0 if fate != "completed" else rng.choice((0, 0, 3, 7, 14, 25))
    for index, task in enumerate(draft.tasks):
        done_day = task.due_on + dt.timedelta(days=rng.randint(-2, 1) + late)
        done_day = max(start, done_day)
        if fate == "completed":
            done_day = min(done_day, cutoff)
        if done_day > cutoff or (fate == "active" and task.due_on >= cutoff):
            if index in draft.csm_tasks and plan.status != PlanStatus.ACTIVE:
                draft.csm_tasks[index].status = TaskStatus.CANCELLED
            continue
        if fate == "active" and index == len(draft.tasks) - 1:
            continue  # a plan in progress has its last task still to do
        task.completed_at = _at(done_day, rng)
        if task.side == US:
            task.completed_by_id = plan.account.owner_id
        else:
            task.completed_by_contact_id = contact
        if index in draft.csm_tasks:
            csm = draft.csm_tasks[index]
            csm.status, csm.completed_at, csm.outcome = TaskStatus.DONE, task.completed_at, "Done"
    _milestones_play(draft)
    if fate == "completed":
        done = [t.completed_at.date() for t in draft.tasks if t.completed_at]
        plan.status = PlanStatus.COMPLETED
        plan.completed_on = min(today - dt.timedelta(days=1), max(done, default=start))
        plan.first_qbr_due_on = due_on(plan.completed_on, plan.first_qbr_after_days)
        _criteria_play(draft, rng, today)


def _milestones_play(draft: PlanDraft) -> None:
    previous = draft.plan.started_on
    current_found = False
    for milestone in draft.milestones:
        tasks = [t for t in draft.tasks if t.milestone is milestone]
        done = [t.completed_at.date() for t in tasks if t.completed_at]
        milestone.started_on = None if current_found else previous
        if tasks and len(done) == len(tasks):
            milestone.completed_on = max(max(done), previous)
            previous = milestone.completed_on
        elif not current_found:
            current_found = True


def _criteria_play(draft: PlanDraft, rng: random.Random, today: dt.date) -> None:
    """A completed plan's criteria: most activated within its onboarding, value after."""
    plan = draft.plan
    span = max(1, (plan.completed_on - plan.started_on).days)  # type: ignore[operator]
    activated = rng.random() < 0.85
    for c in draft.criteria:
        c.current = c.threshold
        if c.role == CriterionRole.ACTIVATION:
            if not activated:
                c.current = max(0, c.threshold - 1)
                continue
            c.met_on = plan.started_on + dt.timedelta(days=rng.randint(1, span))
        elif c.kind == CriterionKind.MILESTONE:
            c.met_on = c.milestone.completed_on if c.milestone is not None else None
        else:
            extra = rng.randint(-span // 2, 30)
            c.met_on = min(today, plan.started_on + dt.timedelta(days=max(1, span + extra)))
    activation = [c.met_on for c in draft.criteria if c.role == CriterionRole.ACTIVATION]
    if activation and all(activation):
        plan.activated_on = max(activation)  # type: ignore[type-var]
    value = [c.met_on for c in draft.criteria if c.role == CriterionRole.VALUE]
    if not value:
        plan.value_on = plan.completed_on
    elif all(value):
        plan.value_on = max(value)  # type: ignore[type-var]
