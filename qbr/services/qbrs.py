"""A QBR from planning to follow-up: create, prepare (the prep pack), edit the narrative,
hold (the timeline, the first-QBR task, the cadence), follow up (next steps become tasks,
the follow-up email), invite, cancel; and the cadence an account gets by hand."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.choices import ActivityKind, TaskKind, TaskStatus
from accounts.models import Account, Contact, Task
from accounts.services import TaskSpec, activity_record, task_complete, tasks_upsert
from csplatform.choices import NotificationCategory
from csplatform.models import OutboundEmail, User
from csplatform.services import email_enqueue
from onboarding.models import OnboardingPlan
from onboarding.services.plans import FIRST_QBR_KEY
from qbr import selectors
from qbr.choices import (
    OPTIONAL_SECTIONS,
    Cadence,
    ExportFormat,
    InvitationKind,
    QbrKind,
    QbrStatus,
    Section,
    StepSide,
)
from qbr.documents import draft_narrative
from qbr.models import CadenceOverride, Qbr, QbrNextStep

SOURCE = "qbr"
DUE_TASK_KEY = "qbr:due"
NARRATIVE_MAX_CHARS = 10_000
MAX_STEPS = 20
DECK_SALT = "qbr.deck-link"
# Control characters other than newline and tab never belong in a narrative (and XML,
# hence PowerPoint, refuses them).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def step_task_key(qbr_id: int, position: int) -> str:
    return f"qbr:{qbr_id}:step:{position}"


def _clean_text(value: str) -> str:
    return _CONTROL.sub("", value.replace("\r\n", "\n")).strip()


# Creating and editing ------------------------------------------------------------------


def qbr_create(
    *,
    account: Account,
    actor: User | None,
    kind: str = QbrKind.QBR,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    scheduled_at: dt.datetime | None = None,
    contact_ids: Iterable[int] = (),
    user_ids: Iterable[int] = (),
    optional_sections: Sequence[str] = (),
) -> Qbr:
    """Plan a QBR. The first one of a new customer answers onboarding's "Hold the first
    QBR" task, which it is linked to (and which holding it completes)."""
    default_start, default_end = selectors.default_period()
    qbr = Qbr(
        account=account,
        kind=kind,
        period_start=period_start or default_start,
        period_end=period_end or default_end,
        scheduled_at=scheduled_at,
        owner=account.owner or actor,
        created_by=actor,
        optional_sections=[s for s in OPTIONAL_SECTIONS if s in optional_sections],
    )
    first_task = selectors.open_first_qbr_task(account_id=account.pk)
    with transaction.atomic():
        qbr.is_first = not Qbr.objects.filter(
            account=account, status__in=[QbrStatus.HELD, QbrStatus.FOLLOWED_UP]
        ).exists()
        qbr.first_qbr_task = first_task
        qbr.full_clean()
        qbr.save()
        _attendees_set(qbr, contact_ids, user_ids)
        when = (
            date_format(timezone.localtime(scheduled_at), "SHORT_DATETIME_FORMAT")
            if scheduled_at
            else _("a date to agree")
        )
        activity_record(
            account_id=account.pk,
            subject=_("%(kind)s planned for %(when)s")
            % {"kind": qbr.get_kind_display(), "when": when},
            kind=ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
            metadata={"qbr_id": qbr.pk},
        )
    return qbr


def _attendees_set(qbr: Qbr, contact_ids: Iterable[int], user_ids: Iterable[int]) -> None:
    contacts = list(Contact.objects.filter(account_id=qbr.account_id, pk__in=list(contact_ids)))
    qbr.attendee_contacts.set(contacts)
    qbr.attendee_users.set(list(User.objects.filter(pk__in=list(user_ids), is_active=True)))


def qbr_update(
    *,
    qbr: Qbr,
    actor: User | None,
    contact_ids: Iterable[int] | None = None,
    user_ids: Iterable[int] | None = None,
    **fields: Any,
) -> Qbr:
    """Change the type, period, date or attendees. A new period drops the stored prep pack
    (the figures belong to the old one): the QBR is planned again until re-prepared."""
    period_changed = any(
        name in fields and fields[name] != getattr(qbr, name)
        for name in ("period_start", "period_end")
    )
    for name, value in fields.items():
        setattr(qbr, name, value)
    if period_changed and qbr.prep:
        qbr.prep = {}
        qbr.prepared_at = None
        if qbr.status == QbrStatus.PREPARED:
            qbr.status = QbrStatus.PLANNED
    with transaction.atomic():
        qbr.full_clean()
        qbr.save()
        if contact_ids is not None or user_ids is not None:
            _attendees_set(
                qbr,
                contact_ids
                if contact_ids is not None
                else qbr.attendee_contacts.values_list("pk", flat=True),
                user_ids
                if user_ids is not None
                else qbr.attendee_users.values_list("pk", flat=True),
            )
    return qbr


def qbr_prepare(*, qbr: Qbr, actor: User | None, today: dt.date | None = None) -> Qbr:
    """Fill the prep pack from the platform's records (again, if it was prepared before)
    and draft the narrative sections still empty; a planned QBR becomes prepared."""
    if qbr.status == QbrStatus.CANCELLED:
        raise ValidationError(_("A cancelled QBR cannot be prepared."))
    prep = selectors.prep_pack(
        account=qbr.account,
        period_start=qbr.period_start,
        period_end=qbr.period_end,
        qbr=qbr,
        today=today,
    )
    narrative = dict(qbr.narrative)
    for key, text in draft_narrative(prep).items():
        if not narrative.get(key, "").strip() and text:
            narrative[key] = text
    with transaction.atomic():
        first_time = qbr.prepared_at is None
        qbr.prep = prep
        qbr.narrative = narrative
        qbr.prepared_at = timezone.now()
        if qbr.status == QbrStatus.PLANNED:
            qbr.status = QbrStatus.PREPARED
        qbr.save()
        if first_time:
            activity_record(
                account_id=qbr.account_id,
                subject=_("%(kind)s prepared") % {"kind": qbr.get_kind_display()},
                kind=ActivityKind.SYSTEM,
                author=actor,
                source=SOURCE,
                metadata={"qbr_id": qbr.pk},
            )
    return qbr


def qbr_narrative_save(
    *,
    qbr: Qbr,
    actor: User | None,
    narrative: dict[str, str],
    optional_sections: Sequence[str] | None = None,
) -> Qbr:
    """Save narrative sections as plain text (escaped wherever shown) and the chosen
    optional sections. Unknown sections and over-long texts are refused."""
    if not qbr.is_open and qbr.status != QbrStatus.HELD:
        raise ValidationError(_("The document of a followed-up or cancelled QBR is final."))
    errors: dict[str, list[str]] = {}
    cleaned = dict(qbr.narrative)
    for key, text in narrative.items():
        if key not in Section.values:
            errors.setdefault("narrative", []).append(
                _("Unknown section: %(key)s") % {"key": key[:40]}
            )
            continue
        value = _clean_text(text or "")
        if len(value) > NARRATIVE_MAX_CHARS:
            errors[key] = [
                _("Keep a section under %(n)s characters.") % {"n": f"{NARRATIVE_MAX_CHARS:,}"}
            ]
            continue
        cleaned[key] = value
    chosen = list(qbr.optional_sections)
    if optional_sections is not None:
        unknown = [s for s in optional_sections if s not in OPTIONAL_SECTIONS]
        if unknown:
            errors["optional_sections"] = [
                _("Not an optional section: %(s)s") % {"s": ", ".join(unknown)[:80]}
            ]
        chosen = [s for s in OPTIONAL_SECTIONS if s in optional_sections]
    if errors:
        raise ValidationError(errors)
    qbr.narrative = cleaned
    qbr.optional_sections = chosen
    qbr.save(update_fields=["narrative", "optional_sections", "updated_at"])
    return qbr


# Holding and following up ------------------------------------------------------------------


def qbr_hold(
    *,
    qbr: Qbr,
    actor: User | None,
    held_on: dt.date,
    notes: str = "",
    contact_ids: Iterable[int] | None = None,
) -> Qbr:
    """Record that the meeting took place: on the timeline (with the contacts who attended),
    the first-QBR and "QBR due" tasks done, and the cadence counted from this day."""
    if not qbr.is_open:
        raise ValidationError(_("Only a planned or prepared QBR can be held."))
    if held_on > timezone.localdate():
        raise ValidationError({"held_on": [_("A QBR cannot be held in the future.")]})
    with transaction.atomic():
        if not qbr.prep:
            qbr.prep = selectors.prep_pack(
                account=qbr.account,
                period_start=qbr.period_start,
                period_end=qbr.period_end,
                qbr=qbr,
            )
            qbr.prepared_at = timezone.now()
        qbr.status = QbrStatus.HELD
        qbr.held_on = held_on
        qbr.notes = _clean_text(notes)
        qbr.save()
        if contact_ids is not None:
            qbr.attendee_contacts.set(
                Contact.objects.filter(account_id=qbr.account_id, pk__in=list(contact_ids))
            )
        attendees = list(qbr.attendee_contacts.values_list("pk", flat=True))
        activity_record(
            account_id=qbr.account_id,
            subject=_("%(kind)s held") % {"kind": qbr.get_kind_display()},
            summary=qbr.notes,
            kind=ActivityKind.QBR,
            author=actor,
            occurred_at=timezone.make_aware(dt.datetime.combine(held_on, dt.time(12)))
            if held_on != timezone.localdate()
            else None,
            source=SOURCE,
            metadata={"qbr_id": qbr.pk, "held_on": held_on.isoformat()},
            contact_ids=attendees,
        )
        tasks = Task.objects.filter(account_id=qbr.account_id, status=TaskStatus.OPEN).filter(
            dedupe_key__in=[DUE_TASK_KEY, FIRST_QBR_KEY]
        )
        for task in tasks.select_related("account"):
            task_complete(
                task=task,
                actor=actor,
                outcome=_("QBR held on %(date)s") % {"date": held_on.isoformat()},
            )
    return qbr


@dataclass(frozen=True)
class StepInput:
    text: str
    side: str = StepSide.OURS
    due_date: dt.date | None = None
    assignee_id: int | None = None


def qbr_follow_up(
    *,
    qbr: Qbr,
    actor: User | None,
    steps: Sequence[StepInput],
    send_email: bool = True,
    include_notes: bool = True,
    deck: str = "link",
    contact_ids: Iterable[int] | None = None,
    today: dt.date | None = None,
) -> Qbr:
    """Agree the next steps: each becomes a task (ours for the assignee, the customer's
    for the owner to chase), numbered in the follow-up email sent to the customer's
    attendees (with or without the meeting notes, with a link to the deck).

    Running it again updates the same tasks instead of adding new ones."""
    today = today or timezone.localdate()
    if qbr.status not in (QbrStatus.HELD, QbrStatus.FOLLOWED_UP):
        raise ValidationError(_("Hold the QBR before following it up."))
    steps = [s for s in steps if s.text.strip()]
    if not steps:
        raise ValidationError({"steps": [_("Write at least one next step.")]})
    if len(steps) > MAX_STEPS:
        raise ValidationError({"steps": [_("At most %(n)s next steps.") % {"n": MAX_STEPS}]})
    recipients = list(
        Contact.objects.filter(
            account_id=qbr.account_id,
            pk__in=list(contact_ids)
            if contact_ids is not None
            else qbr.attendee_contacts.values("pk"),
        )
        .exclude(email="")
        .order_by("pk")
    )
    if send_email and not recipients:
        raise ValidationError(
            {"contacts": [_("Choose at least one contact with an email address.")]}
        )
    owner_id = qbr.owner_id or qbr.account.owner_id
    default_due = today + dt.timedelta(days=14)
    with transaction.atomic():
        qbr.next_steps.all().delete()
        rows = QbrNextStep.objects.bulk_create(
            [
                QbrNextStep(
                    qbr=qbr,
                    position=n,
                    text=_clean_text(s.text)[:255],
                    side=s.side,
                    due_date=s.due_date,
                    assignee_id=(s.assignee_id or owner_id)
                    if s.side == StepSide.OURS
                    else owner_id,
                )
                for n, s in enumerate(steps, 1)
            ]
        )
        tasks_upsert(
            tasks=[
                TaskSpec(
                    account_id=qbr.account_id,
                    title=(
                        _("QBR next step: %(text)s")
                        if row.side == StepSide.OURS
                        else _("Follow up with the customer: %(text)s")
                    )
                    % {"text": row.text},
                    dedupe_key=step_task_key(qbr.pk, row.position),
                    source=SOURCE,
                    description=_("Agreed at the %(kind)s of %(date)s.")
                    % {
                        "kind": qbr.get_kind_display(),
                        "date": qbr.held_on.isoformat() if qbr.held_on else "",
                    },
                    kind=TaskKind.FOLLOW_UP,
                    due_date=row.due_date or default_due,
                    assignee_id=row.assignee_id,
                    created_by_id=actor.pk if actor else None,
                )
                for row in rows
            ]
        )
        keys = {step_task_key(qbr.pk, row.position): row for row in rows}
        for task in Task.objects.filter(
            account_id=qbr.account_id, status=TaskStatus.OPEN, dedupe_key__in=list(keys)
        ):
            keys[task.dedupe_key].task = task
        QbrNextStep.objects.bulk_update(rows, ["task"])
        first_follow_up = qbr.followed_up_at is None
        qbr.status = QbrStatus.FOLLOWED_UP
        qbr.followed_up_at = timezone.now()
        qbr.save(update_fields=["status", "followed_up_at", "updated_at"])
        summary = "\n".join(f"{row.position}. {row.text}" for row in rows)
        activity_record(
            account_id=qbr.account_id,
            subject=_("%(kind)s followed up: %(n)s next steps")
            % {"kind": qbr.get_kind_display(), "n": len(rows)},
            summary=summary,
            kind=ActivityKind.EMAIL if send_email else ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
            metadata={"qbr_id": qbr.pk, "steps": len(rows)},
            contact_ids=[c.pk for c in recipients] if send_email else (),
        )
        if send_email:
            stamp = qbr.followed_up_at.strftime("%Y%m%d%H%M%S") if not first_follow_up else "1"
            for contact in recipients:
                email_enqueue(
                    idempotency_key=f"qbr:{qbr.pk}:follow-up:{stamp}:{contact.pk}",
                    template="qbr_follow_up",
                    context={
                        "contact_name": contact.first_name,
                        "account_name": qbr.account.name,
                        "kind": qbr.get_kind_display(),
                        "held_on": qbr.held_on,
                        "steps": [
                            {
                                "n": r.position,
                                "text": r.text,
                                "ours": r.side == StepSide.OURS,
                                "due": r.due_date,
                            }
                            for r in rows
                        ],
                        "notes": qbr.notes if include_notes else "",
                        "deck_links": deck_links(qbr) if deck == "link" else [],
                        "sender": _sender_name(actor, qbr),
                    },
                    to=[contact.email],
                    category=NotificationCategory.ASSIGNMENTS,
                    headers=_reply_to(actor, qbr),
                )
    return qbr


def _sender_name(actor: User | None, qbr: Qbr) -> str:
    person = actor or qbr.owner
    return (person.get_full_name() or person.username) if person else settings.COMPANY_NAME


def _reply_to(actor: User | None, qbr: Qbr) -> dict[str, str]:
    person = actor or qbr.owner
    return {"Reply-To": person.email} if person and person.email else {}


def qbr_invite(
    *,
    qbr: Qbr,
    actor: User | None,
    contact_ids: Iterable[int],
    kind: str = InvitationKind.EXISTING,
    message: str = "",
) -> int:
    """Invite the customer's contacts (an existing customer, or a new one whose onboarding
    just finished). One email per contact and QBR: inviting again sends nothing twice."""
    if not qbr.is_open:
        raise ValidationError(_("Only a planned or prepared QBR takes invitations."))
    contacts = list(
        Contact.objects.filter(account_id=qbr.account_id, pk__in=list(contact_ids))
        .exclude(email="")
        .order_by("pk")
    )
    if not contacts:
        raise ValidationError(
            {"contacts": [_("Choose at least one contact with an email address.")]}
        )
    kind = InvitationKind(kind)
    when = timezone.localtime(qbr.scheduled_at) if qbr.scheduled_at else None
    keys = {contact.pk: f"qbr:{qbr.pk}:invite:{contact.pk}" for contact in contacts}
    already = set(
        OutboundEmail.objects.filter(idempotency_key__in=list(keys.values())).values_list(
            "idempotency_key", flat=True
        )
    )
    with transaction.atomic():
        for contact in contacts:
            email_enqueue(
                idempotency_key=keys[contact.pk],
                template="qbr_invitation",
                context={
                    "contact_name": contact.first_name,
                    "account_name": qbr.account.name,
                    "kind": qbr.get_kind_display(),
                    "executive": qbr.kind == QbrKind.EBR,
                    "new_customer": kind == InvitationKind.NEW,
                    "when": when,
                    "period_start": qbr.period_start,
                    "period_end": qbr.period_end,
                    "message": _clean_text(message)[:2000],
                    "sender": _sender_name(actor, qbr),
                },
                to=[contact.email],
                category=NotificationCategory.ASSIGNMENTS,
                headers=_reply_to(actor, qbr),
            )
        qbr.attendee_contacts.add(*contacts)
        activity_record(
            account_id=qbr.account_id,
            subject=_("%(kind)s invitation sent") % {"kind": qbr.get_kind_display()},
            summary=", ".join(f"{c.first_name} {c.last_name}".strip() for c in contacts),
            kind=ActivityKind.EMAIL,
            author=actor,
            source=SOURCE,
            metadata={"qbr_id": qbr.pk},
            contact_ids=[c.pk for c in contacts],
        )
    return len(set(keys.values()) - already)


def qbr_cancel(*, qbr: Qbr, actor: User | None, reason: str = "") -> Qbr:
    if not qbr.is_open:
        raise ValidationError(_("Only a planned or prepared QBR can be cancelled."))
    with transaction.atomic():
        qbr.status = QbrStatus.CANCELLED
        qbr.save(update_fields=["status", "updated_at"])
        activity_record(
            account_id=qbr.account_id,
            subject=_("%(kind)s cancelled") % {"kind": qbr.get_kind_display()},
            summary=_clean_text(reason),
            kind=ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
            metadata={"qbr_id": qbr.pk},
        )
    return qbr


# Deck links ---------------------------------------------------------------------------------


def deck_link_token(*, qbr: Qbr, fmt: str) -> str:
    return signing.dumps({"q": qbr.pk, "f": fmt}, salt=DECK_SALT, compress=True)


def deck_link_load(token: str) -> tuple[int, str] | None:
    """The QBR and format of a deck link, or None if forged or older than QBR_DECK_LINK_DAYS."""
    try:
        data = signing.loads(
            token, salt=DECK_SALT, max_age=dt.timedelta(days=settings.QBR_DECK_LINK_DAYS)
        )
    except signing.BadSignature:
        return None
    fmt = data.get("f")
    if fmt not in (ExportFormat.PDF, ExportFormat.PPTX) or not isinstance(data.get("q"), int):
        return None
    return data["q"], fmt


def deck_links(qbr: Qbr) -> list[dict[str, str]]:
    return [
        {
            "label": str(ExportFormat(fmt).label),
            "path": reverse("qbr:deck_link", args=[deck_link_token(qbr=qbr, fmt=fmt)]),
        }
        for fmt in (ExportFormat.PDF, ExportFormat.PPTX)
    ]


# Cadence by hand ------------------------------------------------------------------------------


def cadence_override_set(
    *,
    account: Account,
    actor: User | None,
    cadence: str | None,
    until: dt.date | None = None,
    reason: str = "",
) -> CadenceOverride | None:
    """Set the account's cadence by hand (None: back to the rules)."""
    with transaction.atomic():
        if not cadence:
            deleted, _rows = CadenceOverride.objects.filter(account=account).delete()
            if deleted:
                activity_record(
                    account_id=account.pk,
                    subject=_("QBR cadence back to the rules"),
                    kind=ActivityKind.SYSTEM,
                    author=actor,
                    source=SOURCE,
                )
            return None
        if until is not None and until < timezone.localdate():
            raise ValidationError({"until": [_("Choose a day from today on.")]})
        override, _created = CadenceOverride.objects.update_or_create(
            account=account,
            defaults={
                "cadence": Cadence(cadence),
                "until": until,
                "reason": _clean_text(reason)[:255],
                "set_by": actor,
            },
        )
        activity_record(
            account_id=account.pk,
            subject=_("QBR cadence set to %(cadence)s") % {"cadence": Cadence(cadence).label},
            summary=override.reason,
            kind=ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
        )
    return override


def first_qbr_plan(*, account_id: int, due_on: dt.date | None = None) -> Qbr | None:
    """Onboarding completed: plan the customer's first QBR over the onboarding period,
    linked to onboarding's "Hold the first QBR" task. Nothing if one is already planned."""
    account = Account.objects.select_related("owner").filter(pk=account_id).first()
    if (
        account is None
        or Qbr.objects.filter(
            account=account, status__in=[QbrStatus.PLANNED, QbrStatus.PREPARED]
        ).exists()
    ):
        return None
    plan = (
        OnboardingPlan.objects.filter(account=account, completed_on__isnull=False)
        .order_by("-completed_on", "-pk")
        .first()
    )
    end = plan.completed_on if plan and plan.completed_on else timezone.localdate()
    start = plan.started_on if plan else end - dt.timedelta(days=90)
    return qbr_create(account=account, actor=None, period_start=min(start, end), period_end=end)
