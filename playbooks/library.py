"""The starter library: seven plays a CS team runs from day one (SPEC §5).

`library_load` creates the playbooks and rules that are missing (by name), so it can run
on a fresh install, after seed_demo, or again after an upgrade without duplicating any.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.choices import TaskKind, TaskPriority
from csplatform.models import User
from playbooks.choices import ActionKind, AssigneeRole, RuleMode
from playbooks.models import PlaybookStep, PlaybookTemplate, Rule, RuleAction


@dataclass(frozen=True)
class Step:
    title: Any
    due_days: int
    kind: str = TaskKind.FOLLOW_UP
    priority: str = TaskPriority.NORMAL
    assignee_role: str = AssigneeRole.OWNER
    description: Any = ""


@dataclass(frozen=True)
class Play:
    rule: Any
    description: Any
    trigger: str
    params: dict[str, Any]
    cooldown_days: int
    playbook: Any = None
    steps: tuple[Step, ...] = ()
    task: dict[str, Any] | None = None
    email_owner: bool = True
    notify_lead: bool = False
    scope: dict[str, Any] = field(default_factory=dict)


LIBRARY: tuple[Play, ...] = (
    Play(
        _("Risk save play"),
        _("The account turned red: call, align with the sponsor, agree a recovery plan."),
        "health_color",
        {"to": "red"},
        30,
        playbook=_("Save play"),
        steps=(
            Step(
                _("Call the account owner's main contact: what changed?"),
                1,
                TaskKind.CALL,
                TaskPriority.URGENT,
            ),
            Step(
                _("Review usage, tickets and survey answers of the last 90 days"),
                2,
                TaskKind.REVIEW,
                TaskPriority.HIGH,
            ),
            Step(_("Meet the executive sponsor"), 7, TaskKind.MEETING, TaskPriority.HIGH),
            Step(
                _("Agree a recovery plan and put it in the success plan"),
                10,
                TaskKind.FOLLOW_UP,
                TaskPriority.HIGH,
            ),
            Step(
                _("Review the save play with the CS Lead"),
                14,
                TaskKind.REVIEW,
                assignee_role=AssigneeRole.CS_LEAD,
            ),
        ),
        notify_lead=True,
    ),
    Play(
        _("Renewal prep"),
        _("Four months before the renewal: value review, executive meeting, proposal."),
        "renewal_in",
        {"days": 120},
        90,
        playbook=_("Renewal preparation"),
        steps=(
            Step(_("Prepare a value review: usage, goals met, ROI"), 7, TaskKind.RENEWAL),
            Step(_("Hold a business review with the decision maker"), 30, TaskKind.MEETING),
            Step(_("Send the renewal proposal"), 60, TaskKind.RENEWAL, TaskPriority.HIGH),
            Step(
                _("Confirm the renewal, or escalate the risk"),
                90,
                TaskKind.RENEWAL,
                TaskPriority.HIGH,
            ),
        ),
        email_owner=False,
    ),
    Play(
        _("Onboarding stuck"),
        _("The onboarding plan is stuck: find what blocks it and unblock it this week."),
        "onboarding_stuck",
        {},
        14,
        task={
            "title": _("Unblock the onboarding"),
            "kind": TaskKind.ONBOARDING,
            "priority": TaskPriority.HIGH,
            "due_days": 2,
        },
    ),
    Play(
        _("Detractor follow-up"),
        _("A contact answered the NPS survey with 0–6: call within two days, close the loop."),
        "nps_detractor",
        {"max_score": 6, "within_days": 2},
        7,
        task={
            "title": _("Call the detractor and close the loop"),
            "kind": TaskKind.CALL,
            "priority": TaskPriority.URGENT,
            "due_days": 2,
        },
    ),
    Play(
        _("No login for 14 days"),
        _("Nobody at the account used the product for two weeks: check in and re-engage."),
        "no_login",
        {"days": 14},
        14,
        task={
            "title": _("Check in: nobody has used the product for two weeks"),
            "kind": TaskKind.EMAIL,
            "priority": TaskPriority.HIGH,
            "due_days": 3,
        },
    ),
    Play(
        _("Advocate ask"),
        _("A very healthy promoter: ask for a reference, a case study or a referral."),
        "advocate",
        {"min_score": 80, "days": 30, "min_nps": 9},
        90,
        task={
            "title": _("Ask for a reference, a case study or a referral"),
            "kind": TaskKind.CALL,
            "priority": TaskPriority.NORMAL,
            "due_days": 14,
        },
        email_owner=False,
    ),
    Play(
        _("Regret-risk new account"),
        _("A new customer with the purchase-regret profile: reassure early and often."),
        "regret_risk",
        {},
        90,
        playbook=_("Early reassurance"),
        steps=(
            Step(_("Welcome call with the decision maker"), 2, TaskKind.CALL, TaskPriority.HIGH),
            Step(_("Share a quick win within the first two weeks"), 14, TaskKind.EMAIL),
            Step(_("Thirty-day check-in: is it what they bought?"), 30, TaskKind.MEETING),
        ),
    ),
)


def library_load(*, actor: User | None = None, mode: str = RuleMode.ENABLED) -> list[Rule]:
    """Create the playbooks and rules of the library that do not exist yet (by name)."""
    created = []
    with transaction.atomic():
        for play in LIBRARY:
            if Rule.objects.filter(name=str(play.rule)).exists():
                continue
            playbook = None
            if play.playbook:
                playbook, new = PlaybookTemplate.objects.get_or_create(
                    name=str(play.playbook), defaults={"description": str(play.description)}
                )
                if new:
                    PlaybookStep.objects.bulk_create(
                        [
                            PlaybookStep(
                                playbook=playbook,
                                title=str(s.title),
                                description=str(s.description),
                                kind=s.kind,
                                priority=s.priority,
                                due_days=s.due_days,
                                assignee_role=s.assignee_role,
                                position=i,
                            )
                            for i, s in enumerate(play.steps)
                        ]
                    )
            rule = Rule.objects.create(
                name=str(play.rule),
                description=str(play.description),
                trigger=play.trigger,
                params=play.params,
                cooldown_days=play.cooldown_days,
                mode=mode,
                created_by=actor,
                **play.scope,
            )
            actions = []
            if playbook is not None:
                actions.append(
                    RuleAction(rule=rule, kind=ActionKind.START_PLAYBOOK, playbook=playbook)
                )
            if play.task:
                task = {k: str(v) if k == "title" else v for k, v in play.task.items()}
                actions.append(RuleAction(rule=rule, kind=ActionKind.CREATE_TASK, params=task))
            if play.email_owner:
                actions.append(RuleAction(rule=rule, kind=ActionKind.EMAIL_OWNER))
            if play.notify_lead:
                actions.append(RuleAction(rule=rule, kind=ActionKind.NOTIFY_LEAD))
            for i, action in enumerate(actions):
                action.position = i
            RuleAction.objects.bulk_create(actions)
            created.append(rule)
    return created
