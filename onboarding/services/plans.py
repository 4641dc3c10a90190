"""Writes of onboarding plans: start (one, many, automatically), tick tasks, complete, cancel.

A plan is copied from its template when it starts. Our side's tasks become CSM tasks in the
accounts app (source "onboarding"), so they appear in "My book"; completing either one
completes the other (accounts.signals.task_completed). Every change lands on the account's
timeline. After each change `plan_progress_sync` moves the milestones on, checks the
criteria, completes the plan when its last milestone is reached and refreshes its health.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import (
    AccountStatus,
    ActivityKind,
    LifecycleStage,
    TaskKind,
    TaskStatus,
)
from accounts.models import Account, Activity, Contact, Task
from accounts.services import activity_record, task_complete, task_create, task_update
from csplatform.models import User
from csplatform.signals import announce_on_commit
from onboarding import signals
from onboarding.choices import CancelReason, CriterionRole, PlanHealth, PlanStatus, TaskSide
from onboarding.models import (
    OnboardingPlan,
    OnboardingTemplate,
    PlanCriterion,
    PlanMilestone,
    PlanSettings,
    PlanShareLink,
    PlanTask,
    TemplateMilestone,
    TemplateTask,
)
from onboarding.services.detection import plans_detect, plans_health_refresh

SOURCE = "onboarding"
FIRST_QBR_KEY = "qbr:first"
# How far a plan may be back- or forward-dated when it is started by hand.
MAX_BACKDATE_DAYS = 365
MAX_FORWARD_DAYS = 90
BATCH = 1000

SETTINGS_FIELDS = [f.name for f in PlanSettings._meta.get_fields()]


def due_on(start: dt.date, days: int) -> dt.date:
    """A relative due day as a date: calendar days, so month ends and leap days just count."""
    return start + dt.timedelta(days=days)


def _today() -> dt.date:
    return timezone.localdate()


# Starting plans ------------------------------------------------------------------------


@dataclass
class PlanDraft:
    """A plan and its children, built in memory from a template and not yet written."""

    plan: OnboardingPlan
    milestones: list[PlanMilestone] = field(default_factory=list)
    tasks: list[PlanTask] = field(default_factory=list)
    criteria: list[PlanCriterion] = field(default_factory=list)
    # Our side's tasks, by their index in `tasks`: the CSM task each one gets.
    csm_tasks: dict[int, Task] = field(default_factory=dict)


def _templates_loaded(ids: set[int]) -> dict[int, OnboardingTemplate]:
    milestones = TemplateMilestone.objects.order_by("position", "pk").prefetch_related(
        Prefetch("tasks", queryset=TemplateTask.objects.order_by("position", "due_day", "pk"))
    )
    return {
        t.pk: t
        for t in OnboardingTemplate.objects.filter(pk__in=ids).prefetch_related(
            Prefetch("milestones", queryset=milestones), "criteria"
        )
    }


def plan_drafts_build(
    *,
    starts: Sequence[tuple[Account, OnboardingTemplate, dt.date]],
    actor: User | None = None,
) -> list[PlanDraft]:
    """Copy each (account, template, start date) into an unsaved plan with its children."""
    templates = _templates_loaded({t.pk for _a, t, _d in starts})
    drafts = []
    for account, chosen, started_on in starts:
        template = templates[chosen.pk]
        milestones = list(template.milestones.all())
        last_day = max(
            [m.due_day for m in milestones]
            + [t.due_day for m in milestones for t in m.tasks.all()],
            default=0,
        )
        plan = OnboardingPlan(
            account=account,
            template=template,
            name=template.name,
            started_on=started_on,
            target_on=due_on(started_on, last_day),
            created_by=actor,
            **{name: getattr(template, name) for name in SETTINGS_FIELDS},
        )
        draft = PlanDraft(plan=plan)
        by_template_milestone = {}
        for m in milestones:
            pm = PlanMilestone(
                plan=plan,
                name=m.name,
                description=m.description,
                position=m.position,
                due_on=due_on(started_on, m.due_day),
            )
            by_template_milestone[m.pk] = pm
            draft.milestones.append(pm)
            for t in m.tasks.all():
                pt = PlanTask(
                    plan=plan,
                    milestone=pm,
                    title=t.title,
                    description=t.description,
                    side=t.side,
                    # One order across the plan: milestone by milestone, then the task's.
                    position=len(draft.tasks),
                    due_on=due_on(started_on, t.due_day),
                )
                if t.side == TaskSide.US:
                    draft.csm_tasks[len(draft.tasks)] = _csm_task(plan=plan, plan_task=pt)
                draft.tasks.append(pt)
        if draft.milestones:
            draft.milestones[0].started_on = started_on
        for c in template.criteria.all():
            draft.criteria.append(
                PlanCriterion(
                    plan=plan,
                    role=c.role,
                    kind=c.kind,
                    feature_id=c.feature_id,
                    threshold=c.threshold,
                    milestone=by_template_milestone.get(c.milestone_id) if c.milestone_id else None,
                )
            )
        drafts.append(draft)
    return drafts


def _csm_task(*, plan: OnboardingPlan, plan_task: PlanTask) -> Task:
    return Task(
        account=plan.account,
        title=plan_task.title,
        description=plan_task.description,
        kind=TaskKind.ONBOARDING,
        due_date=plan_task.due_on,
        assignee_id=plan.account.owner_id,
        created_by=plan.created_by,
        source=SOURCE,
    )


def plan_drafts_write(*, drafts: Sequence[PlanDraft], record: bool = True) -> list[OnboardingPlan]:
    """Write drafts with one INSERT per kind of row (and batch), whatever their number."""
    plans = OnboardingPlan.objects.bulk_create([d.plan for d in drafts], batch_size=BATCH)
    PlanMilestone.objects.bulk_create([m for d in drafts for m in d.milestones], batch_size=BATCH)
    Task.objects.bulk_create([t for d in drafts for t in d.csm_tasks.values()], batch_size=BATCH)
    for d in drafts:
        for index, csm in d.csm_tasks.items():
            d.tasks[index].task = csm
    PlanTask.objects.bulk_create([t for d in drafts for t in d.tasks], batch_size=BATCH)
    PlanCriterion.objects.bulk_create([c for d in drafts for c in d.criteria], batch_size=BATCH)
    if record:
        Activity.objects.bulk_create(
            [
                Activity(
                    account_id=p.account_id,
                    kind=ActivityKind.SYSTEM,
                    author=p.created_by,
                    subject=(_("Onboarding started: %(name)s") % {"name": p.name})[:255],
                    summary=_("Target completion %(date)s.") % {"date": p.target_on.isoformat()},
                    source=SOURCE,
                    metadata={"plan_id": p.pk},
                )
                for p in plans
            ],
            batch_size=BATCH,
        )
        announce_on_commit(
            signals.plan_started,
            plan_ids=[p.pk for p in plans],
            account_ids=[p.account_id for p in plans],
        )
    return plans


def plan_start(
    *,
    account: Account,
    template: OnboardingTemplate,
    actor: User | None = None,
    started_on: dt.date | None = None,
) -> OnboardingPlan:
    """Start a plan for one account from a template; ValidationError says why not."""
    today = _today()
    started_on = started_on or today
    if not template.is_active:
        raise ValidationError({"template": [_("This template is archived.")]})
    if started_on < today - dt.timedelta(days=MAX_BACKDATE_DAYS):
        raise ValidationError({"started_on": [_("A plan can start at most a year in the past.")]})
    if started_on > today + dt.timedelta(days=MAX_FORWARD_DAYS):
        raise ValidationError({"started_on": [_("A plan can start at most 90 days from today.")]})
    if account.status == AccountStatus.CHURNED:
        raise ValidationError(_("This account has churned."))
    try:
        with transaction.atomic():
            # The account row is the lock that keeps two starts (or a start and the
            # automatic start) from both creating a plan.
            account = Account.objects.select_for_update().get(pk=account.pk)
            if OnboardingPlan.objects.filter(account=account, status=PlanStatus.ACTIVE).exists():
                raise ValidationError(_("This account already has an onboarding plan in progress."))
            drafts = plan_drafts_build(starts=[(account, template, started_on)], actor=actor)
            (plan,) = plan_drafts_write(drafts=drafts)
            if started_on < today:
                # A back-dated plan may already be late, or already activated.
                plans_detect(plan_ids=[plan.pk])
                plans_health_refresh(plan_ids=[plan.pk])
    except IntegrityError as exc:
        raise ValidationError(
            _("This account already has an onboarding plan in progress.")
        ) from exc
    plan.refresh_from_db()
    return plan


def plans_autostart(
    *, account_ids: Sequence[int] | None = None, today: dt.date | None = None
) -> list[OnboardingPlan]:
    """Start a plan for new accounts in the onboarding stage that have none, set-based.

    New = created within ONBOARDING_AUTO_START_WINDOW_DAYS. The template is the best match
    among active templates that start automatically (see selectors.template_matching_q).
    Accounts locked by a concurrent start are skipped; the next sweep finds them.
    """
    from onboarding.selectors import best_template_subquery

    if not settings.ONBOARDING_AUTO_START:
        return []
    today = today or _today()
    since = timezone.now() - dt.timedelta(days=settings.ONBOARDING_AUTO_START_WINDOW_DAYS)
    candidates = (
        Account.objects.filter(lifecycle_stage=LifecycleStage.ONBOARDING, created_at__gte=since)
        .exclude(status=AccountStatus.CHURNED)
        .exclude(Exists(OnboardingPlan.objects.filter(account=OuterRef("pk"))))
        .annotate(template_id=best_template_subquery(auto_start_only=True))
        .filter(template_id__isnull=False)
    )
    if account_ids is not None:
        candidates = candidates.filter(pk__in=list(account_ids))
    with transaction.atomic():
        accounts = list(candidates.select_for_update(skip_locked=True, of=("self",)).order_by("pk"))
        if not accounts:
            return []
        templates = {
            t.pk: t
            for t in OnboardingTemplate.objects.filter(pk__in={a.template_id for a in accounts})
        }
        drafts = plan_drafts_build(
            starts=[(a, templates[a.template_id], today) for a in accounts]  # type: ignore[attr-defined]
        )
        return plan_drafts_write(drafts=drafts)


# Ticking tasks -------------------------------------------------------------------------


def _locked_active_plan(plan_id: int) -> OnboardingPlan:
    plan = OnboardingPlan.objects.select_for_update().select_related("account").get(pk=plan_id)
    if plan.status != PlanStatus.ACTIVE:
        raise ValidationError(_("This onboarding plan is no longer in progress."))
    return plan


def plan_task_set_done(
    *,
    plan_task: PlanTask,
    done: bool,
    actor: User | None = None,
    contact: Contact | None = None,
    link: PlanShareLink | None = None,
) -> PlanTask:
    """Tick (or untick) a plan task and log it on the timeline. Idempotent.

    `actor` is the user who did it; a customer through a share link has no user, so the
    link (and its contact, when it was issued to one) is recorded instead.
    """
    with transaction.atomic():
        plan = _locked_active_plan(plan_task.plan_id)
        task = (
            PlanTask.objects.select_for_update(of=("self",))
            .select_related("task")
            .get(pk=plan_task.pk)
        )
        if task.is_done == done:
            return task
        now = timezone.now()
        if done:
            task.completed_at = now
            task.completed_by = actor
            task.completed_by_contact = contact
            task.completed_via = link
        else:
            task.completed_at = None
            task.completed_by = task.completed_by_contact = task.completed_via = None
        task.save(
            update_fields=["completed_at", "completed_by", "completed_by_contact", "completed_via"]
        )
        _record_tick(plan=plan, task=task, done=done, actor=actor, contact=contact, link=link)
        plan_progress_sync(plan=plan, actor=actor)
    return task


def _record_tick(
    *,
    plan: OnboardingPlan,
    task: PlanTask,
    done: bool,
    actor: User | None,
    contact: Contact | None,
    link: PlanShareLink | None,
) -> None:
    csm = task.task
    if task.side == TaskSide.US:
        if done and csm is not None and csm.status == TaskStatus.OPEN:
            # Logs "Task completed" on the timeline; its signal finds this task done.
            task_complete(task=csm, actor=actor, outcome=_("Done in the onboarding plan"))
            return
        if done and csm is not None:
            return  # completed from "My book": accounts has logged it already
        if not done:
            task.task = task_create(
                account=plan.account,
                title=task.title,
                actor=actor,
                source=SOURCE,
                kind=TaskKind.ONBOARDING,
                due_date=task.due_on,
                description=task.description,
            )
            task.save(update_fields=["task"])
    if done:
        who = contact.full_name if contact else _("the customer")
        subject = (
            _("%(who)s ticked off: %(title)s") % {"who": who, "title": task.title}
            if link is not None
            else _("Onboarding task done: %(title)s") % {"title": task.title}
        )
    else:
        subject = _("Onboarding task reopened: %(title)s") % {"title": task.title}
    activity_record(
        account_id=plan.account_id,
        subject=subject,
        summary=_("Through the shared plan link %(prefix)s…") % {"prefix": link.token_prefix}
        if link is not None
        else "",
        kind=ActivityKind.SYSTEM,
        author=actor,
        source=SOURCE,
        metadata={"plan_id": plan.pk, "plan_task_id": task.pk, "done": done},
        contact_ids=[contact.pk] if contact else (),
    )


def plan_task_done_from_csm_task(*, task: Task, actor: User | None) -> None:
    """A CSM task of a plan was completed in the accounts app: tick the plan task too."""
    plan_task = (
        PlanTask.objects.filter(task=task, completed_at__isnull=True)
        .filter(plan__status=PlanStatus.ACTIVE)
        .first()
    )
    if plan_task is not None:
        plan_task_set_done(plan_task=plan_task, done=True, actor=actor)


def plan_task_save(
    *,
    plan_task: PlanTask,
    actor: User | None = None,
) -> PlanTask:
    """Add a task to a running plan, or change one; our side's CSM task follows."""
    created = plan_task.pk is None
    with transaction.atomic():
        plan = _locked_active_plan(plan_task.plan_id)
        if plan_task.milestone.plan_id != plan.pk:
            raise ValidationError({"milestone": [_("Choose a milestone of this plan.")]})
        plan_task.full_clean()
        plan_task.save()
        csm = plan_task.task
        if plan_task.side == TaskSide.US and not plan_task.is_done:
            if csm is None or csm.status != TaskStatus.OPEN:
                plan_task.task = task_create(
                    account=plan.account,
                    title=plan_task.title,
                    actor=actor,
                    source=SOURCE,
                    kind=TaskKind.ONBOARDING,
                    due_date=plan_task.due_on,
                    description=plan_task.description,
                )
                plan_task.save(update_fields=["task"])
            else:
                task_update(
                    task=csm,
                    title=plan_task.title,
                    description=plan_task.description,
                    due_date=plan_task.due_on,
                )
        elif csm is not None and csm.status == TaskStatus.OPEN:
            # Moved to the customer's side: it is no longer our to-do.
            task_update(task=csm, status=TaskStatus.CANCELLED)
        if created:
            activity_record(
                account_id=plan.account_id,
                subject=_("Onboarding task added: %(title)s") % {"title": plan_task.title},
                kind=ActivityKind.SYSTEM,
                author=actor,
                source=SOURCE,
                metadata={"plan_id": plan.pk, "plan_task_id": plan_task.pk},
            )
        plan_progress_sync(plan=plan, actor=actor)
    return plan_task


def plan_milestone_complete(*, milestone: PlanMilestone, actor: User | None = None) -> None:
    """Mark a milestone without tasks as reached (one with tasks is reached by its tasks)."""
    with transaction.atomic():
        plan = _locked_active_plan(milestone.plan_id)
        if milestone.tasks.exists():
            raise ValidationError(_("This milestone is reached when its tasks are done."))
        today = _today()
        PlanMilestone.objects.filter(pk=milestone.pk, completed_on__isnull=True).update(
            completed_on=today, started_on=milestone.started_on or today
        )
        _milestone_reached_record(plan=plan, name=milestone.name, actor=actor)
        plan_progress_sync(plan=plan, actor=actor)


def _milestone_reached_record(*, plan: OnboardingPlan, name: str, actor: User | None) -> None:
    activity_record(
        account_id=plan.account_id,
        subject=_("Onboarding milestone reached: %(name)s") % {"name": name},
        kind=ActivityKind.SYSTEM,
        author=actor,
        source=SOURCE,
        metadata={"plan_id": plan.pk},
    )


def plan_progress_sync(
    *, plan: OnboardingPlan, actor: User | None = None, today: dt.date | None = None
) -> OnboardingPlan:
    """Move milestones on from their tasks, check the criteria, complete or re-rate the plan.

    A milestone with tasks is reached when all of them are done (and reopened when one is
    reopened); the current step is the first milestone not reached, and it starts the day
    it becomes current. Runs a fixed number of queries for one plan.
    """
    today = today or _today()
    milestones = list(
        plan.milestones.annotate(
            total=Count("tasks"), open=Count("tasks", filter=Q(tasks__completed_at__isnull=True))
        ).order_by("position", "pk")
    )
    changed = []
    for m in milestones:
        if not m.total:  # type: ignore[attr-defined]
            continue
        if m.open == 0 and m.completed_on is None:  # type: ignore[attr-defined]
            m.completed_on = today
            m.started_on = m.started_on or today
            changed.append(m)
            _milestone_reached_record(plan=plan, name=m.name, actor=actor)
        elif m.open and m.completed_on is not None:  # type: ignore[attr-defined]
            m.completed_on = None
            changed.append(m)
    current = next((m for m in milestones if m.completed_on is None), None)
    if current is not None and current.started_on is None:
        current.started_on = today
        changed.append(current)
    if changed:
        PlanMilestone.objects.bulk_update(set(changed), ["started_on", "completed_on"])
    plans_detect(plan_ids=[plan.pk], today=today)
    if current is None and milestones and plan.status == PlanStatus.ACTIVE:
        return plan_complete(plan=plan, actor=actor, today=today)
    plans_health_refresh(plan_ids=[plan.pk], today=today)
    return plan


# Completing and cancelling -------------------------------------------------------------


def _cancel_open_csm_tasks(plan: OnboardingPlan) -> None:
    Task.objects.filter(onboarding_task__plan=plan, status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED, updated_at=timezone.now()
    )


def plan_complete(
    *, plan: OnboardingPlan, actor: User | None = None, today: dt.date | None = None
) -> OnboardingPlan:
    """Close the plan: stamp completion, time to value and the first QBR, move the stage on.

    Without value criteria the value point is the completion itself. Open tasks stay open
    in the plan (the record of what was skipped) but leave "My book". Idempotent: a plan
    that is not in progress is returned unchanged.
    """
    today = today or _today()
    with transaction.atomic():
        has_value_criteria = PlanCriterion.objects.filter(
            plan=plan, role=CriterionRole.VALUE
        ).exists()
        first_qbr = due_on(today, plan.first_qbr_after_days)
        claimed = OnboardingPlan.objects.filter(pk=plan.pk, status=PlanStatus.ACTIVE).update(
            status=PlanStatus.COMPLETED,
            completed_on=today,
            first_qbr_due_on=first_qbr,
            health=PlanHealth.ON_TRACK,
            updated_at=timezone.now(),
        )
        if not claimed:
            plan.refresh_from_db()
            return plan
        if not has_value_criteria:
            OnboardingPlan.objects.filter(pk=plan.pk, value_on__isnull=True).update(value_on=today)
        plan.refresh_from_db()
        _cancel_open_csm_tasks(plan)
        account = plan.account
        moved = Account.objects.filter(
            pk=account.pk, lifecycle_stage=LifecycleStage.ONBOARDING
        ).update(lifecycle_stage=plan.next_stage, updated_at=timezone.now())
        ttv = plan.time_to_value_days
        activity_record(
            account_id=account.pk,
            subject=_("Onboarding completed in %(days)s days") % {"days": plan.onboarding_days},
            summary=_("Time to value: %(ttv)s days.") % {"ttv": ttv}
            if ttv is not None
            else _("The time-to-value point has not been reached yet."),
            kind=ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
            metadata={"plan_id": plan.pk, "time_to_value_days": ttv},
        )
        if moved:
            activity_record(
                account_id=account.pk,
                subject=_("Lifecycle stage moved on to %(stage)s")
                % {"stage": LifecycleStage(plan.next_stage).label},
                kind=ActivityKind.SYSTEM,
                author=actor,
                source=SOURCE,
                metadata={"plan_id": plan.pk},
            )
        activity_record(
            account_id=account.pk,
            subject=_("First QBR due by %(date)s") % {"date": first_qbr.isoformat()},
            kind=ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
            metadata={"plan_id": plan.pk, "first_qbr_due_on": first_qbr.isoformat()},
        )
        task_create(
            account=account,
            title=_("Hold the first QBR"),
            actor=actor,
            source=SOURCE,
            dedupe_key=FIRST_QBR_KEY,
            kind=TaskKind.MEETING,
            due_date=first_qbr,
            description=_("Onboarding is complete; review the results with the customer."),
        )
        announce_on_commit(
            signals.onboarding_completed,
            plan_id=plan.pk,
            account_id=account.pk,
            completed_on=today,
            time_to_value_days=ttv,
            first_qbr_due_on=first_qbr,
        )
    return plan


def plan_cancel(
    *, plan: OnboardingPlan, actor: User | None = None, reason: str, note: str = ""
) -> OnboardingPlan:
    """Stop a plan that will not be finished; its open CSM tasks are cancelled."""
    with transaction.atomic():
        claimed = OnboardingPlan.objects.filter(pk=plan.pk, status=PlanStatus.ACTIVE).update(
            status=PlanStatus.CANCELLED,
            cancelled_on=_today(),
            cancel_reason=reason,
            updated_at=timezone.now(),
        )
        plan.refresh_from_db()
        if not claimed:
            return plan
        _cancel_open_csm_tasks(plan)
        activity_record(
            account_id=plan.account_id,
            subject=_("Onboarding plan cancelled: %(name)s") % {"name": plan.name},
            summary="\n\n".join(p for p in (plan.get_cancel_reason_display(), note) if p),
            kind=ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
            metadata={"plan_id": plan.pk, "reason": reason},
        )
    return plan


def plans_cancel_for_churned(*, account_ids: Sequence[int]) -> list[OnboardingPlan]:
    """Cancel the plans in progress of these accounts that have churned (reason: churned)."""
    plans = OnboardingPlan.objects.filter(
        account_id__in=list(account_ids),
        account__status=AccountStatus.CHURNED,
        status=PlanStatus.ACTIVE,
    )
    return [
        plan_cancel(plan=plan, reason=CancelReason.CHURNED)
        for plan in plans.select_related("account")
    ]
