"""Writes for what customers tell us: support tickets, survey answers and emailed surveys.

Emailed surveys. Each SurveySend carries a random token (256 bits) that only the email
holds; the database keeps its SHA-256 (`token_hash`) and an expiry (`expires_at`), so a
stolen database cannot answer surveys and an old link stops working. Each score in the
email is its own link, /metrics/survey/<token>/<score>/.

Link scanners. Mail gateways fetch every GET link in a message to check it. Following a
score link therefore never records anything: it shows a page that submits the chosen
score with a POST by itself (one click for a person, nothing for a scanner). The first
POST wins: an UPDATE … WHERE answered_at IS NULL claims the send and creates the response
in the same transaction, so a double click or two tabs never create two responses. Later
clicks show "already answered" and lead to the comment page, where the comment can be
added or changed until the link expires (SURVEY_LINK_MAX_AGE_DAYS); the score cannot.

Quiet period. No contact gets two surveys within the quiet period: a schedule's own
`quiet_period_days` for scheduled sends, SURVEY_QUIET_PERIOD_DAYS (default 60) for sends
by hand, which fail with a clear error instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    DateField,
    Exists,
    Expression,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.dispatch import Signal
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import AccountStatus, ActivityKind
from accounts.models import Account, Activity, Contact
from accounts.services import activity_record
from csplatform.choices import NotificationCategory
from csplatform.models import User
from csplatform.services import api_key_hash, email_enqueue, secret_token_new
from csplatform.signals import announce_on_commit
from metrics.choices import ResponseSource, SurveyKind
from metrics.models import SurveyResponse, SurveySchedule, SurveySend, Ticket

# Kinds the platform emails; CES is collected through the API and CSV only.
EMAILED_KINDS = (SurveyKind.NPS, SurveyKind.CSAT)


logger = logging.getLogger(__name__)

# Sent after commit whenever tickets or survey responses are created or changed (API, CSV,
# an emailed answer), with `ids` and `account_ids`, so that apps further right (health,
# playbooks) can react to a detractor or a ticket spike for just those accounts.
tickets_recorded = Signal()
survey_responses_recorded = Signal()


def feedback_recorded_announce(
    *, model: type[Ticket] | type[SurveyResponse], ids: list[int], account_ids: list[int]
) -> None:
    """Send tickets_recorded or survey_responses_recorded once the transaction commits."""
    if not ids:
        return
    signal = tickets_recorded if model is Ticket else survey_responses_recorded
    announce_on_commit(signal, sender=model, ids=ids, account_ids=sorted(set(account_ids)))


# Validation ------------------------------------------------------------------------------


def survey_score_error(*, kind: str, score: int | None) -> str | None:
    """The message for a score outside its survey's scale, else None."""
    if kind not in SurveyKind.values or score is None:
        return None
    low, high = SurveyKind(kind).score_range
    if low <= score <= high:
        return None
    return _("A %(kind)s score is a whole number from %(low)d to %(high)d.") % {
        "kind": SurveyKind(kind).name,
        "low": low,
        "high": high,
    }


def ticket_errors(
    *, opened_at: datetime | None, first_response_at: datetime | None, resolved_at: datetime | None
) -> dict[str, list[str]]:
    """Field errors for ticket times that are out of order."""
    errors: dict[str, list[str]] = {}
    if opened_at is None:
        return errors
    if first_response_at is not None and first_response_at < opened_at:
        errors["first_response_at"] = [_("The first response cannot be before the ticket opened.")]
    if resolved_at is not None and resolved_at < opened_at:
        errors["resolved_at"] = [_("A ticket cannot be resolved before it opened.")]
    return errors


def survey_response_errors(
    *, kind: str, score: int | None, account_id: int | None, contact: Contact | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    message = survey_score_error(kind=kind, score=score)
    if message:
        errors["score"] = [message]
    if contact is not None and account_id is not None and contact.account_id != account_id:
        errors["contact"] = [_("This contact belongs to another account.")]
    return errors


def _save_unique(obj: Ticket | SurveyResponse, message: str) -> None:
    """Save; a taken external_id (checked here, not before, so no race) is a field error."""
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:
        if "external_id" not in str(exc):
            raise
        raise ValidationError({"external_id": [message]}) from exc


# Tickets ---------------------------------------------------------------------------------


def ticket_save(*, ticket: Ticket) -> Ticket:
    """Check and save a ticket (new or changed). Raises ValidationError with field errors."""
    errors = ticket_errors(
        opened_at=ticket.opened_at,
        first_response_at=ticket.first_response_at,
        resolved_at=ticket.resolved_at,
    )
    if errors:
        raise ValidationError(errors)
    if ticket.external_id == "":
        ticket.external_id = None
    ticket.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(ticket, _("Another ticket already has this external id."))
    feedback_recorded_announce(model=Ticket, ids=[ticket.pk], account_ids=[ticket.account_id])
    return ticket


def ticket_upsert(*, data: Mapping[str, Any]) -> tuple[Ticket, bool]:
    """Create a ticket, or update the one with the same external_id. Returns (ticket, created)."""
    external_id = data.get("external_id") or None
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update().filter(external_id=external_id).first()
            if external_id
            else None
        )
        created = ticket is None
        if ticket is None:
            ticket = Ticket()
        for name, value in data.items():
            setattr(ticket, name, value)
        return ticket_save(ticket=ticket), created


# Survey responses ------------------------------------------------------------------------


def survey_response_save(*, response: SurveyResponse) -> SurveyResponse:
    """Check and save a response; a new one without a stage takes the account's current one."""
    contact = response.contact if response.contact_id else None
    errors = survey_response_errors(
        kind=response.kind,
        score=response.score,
        account_id=response.account_id,
        contact=contact,
    )
    if errors:
        raise ValidationError(errors)
    if response.external_id == "":
        response.external_id = None
    if not response.lifecycle_stage and response.account_id:
        response.lifecycle_stage = (
            Account.objects.filter(pk=response.account_id)
            .values_list("lifecycle_stage", flat=True)
            .first()
            or ""
        )
    response.full_clean(validate_unique=False, validate_constraints=False)
    _save_unique(response, _("Another response already has this external id."))
    feedback_recorded_announce(
        model=SurveyResponse, ids=[response.pk], account_ids=[response.account_id]
    )
    return response


def survey_response_upsert(
    *, data: Mapping[str, Any], source: str = ResponseSource.API
) -> tuple[SurveyResponse, bool]:
    """Create a response, or update the one with the same external_id (a re-sent record)."""
    external_id = data.get("external_id") or None
    with transaction.atomic():
        response = (
            SurveyResponse.objects.select_for_update().filter(external_id=external_id).first()
            if external_id
            else None
        )
        created = response is None
        if response is None:
            response = SurveyResponse(source=source)
        for name, value in data.items():
            setattr(response, name, value)
        return survey_response_save(response=response), created


# Emailed surveys: tokens -----------------------------------------------------------------


def survey_token_hash(token: str) -> str:
    # The token carries 256 random bits, so a fast hash is enough (as for API keys).
    return api_key_hash(token)


def _new_token() -> tuple[str, str]:
    return secret_token_new()


class SurveyLinkInvalid(Exception):
    """The link is unknown or was tampered with."""


class SurveyLinkExpired(Exception):
    """The link is genuine but too old."""


def survey_send_for_token(*, token: str, now: datetime | None = None) -> SurveySend:
    """The send a link belongs to. Raises SurveyLinkInvalid or SurveyLinkExpired."""
    if not token or len(token) > 100:
        raise SurveyLinkInvalid(token)
    send = (
        SurveySend.objects.select_related("account", "contact", "response")
        .filter(token_hash=survey_token_hash(token))
        .first()
    )
    if send is None:
        raise SurveyLinkInvalid(token)
    if send.expires_at <= (now or timezone.now()):
        raise SurveyLinkExpired(token)
    return send


# Emailed surveys: answering --------------------------------------------------------------


@dataclass(frozen=True)
class SurveyAnswer:
    send: SurveySend
    response: SurveyResponse
    created: bool  # False: the survey had been answered already; nothing was written


def survey_answer(*, token: str, score: int, now: datetime | None = None) -> SurveyAnswer:
    """Record the score of an emailed survey, once.

    Raises SurveyLinkInvalid, SurveyLinkExpired, or ValidationError for a score off the
    survey's scale; none of them writes anything.
    """
    now = now or timezone.now()
    send = survey_send_for_token(token=token, now=now)
    message = survey_score_error(kind=send.kind, score=score)
    if message:
        raise ValidationError({"score": [message]})
    with transaction.atomic():
        # The conditional UPDATE is the claim: of two concurrent answers exactly one sees
        # answered_at IS NULL; the other waits for its row lock, then updates nothing.
        claimed = SurveySend.objects.filter(pk=send.pk, answered_at__isnull=True).update(
            answered_at=now
        )
        if claimed:
            stage = (
                Account.objects.filter(pk=send.account_id)
                .values_list("lifecycle_stage", flat=True)
                .first()
            )
            response = SurveyResponse.objects.create(
                account_id=send.account_id,
                contact_id=send.contact_id,
                kind=send.kind,
                score=score,
                lifecycle_stage=stage or "",
                responded_at=now,
                source=ResponseSource.EMAIL,
                survey_send=send,
            )
            send.answered_at = now
            activity_record(
                account_id=send.account_id,
                subject=_("%(survey)s answer from %(name)s: %(score)d")
                % {"survey": SurveyKind(send.kind).name, "name": send.contact, "score": score},
                kind=ActivityKind.SYSTEM,
                occurred_at=now,
                source="metrics",
                metadata={"survey_response": response.pk},
            )
            feedback_recorded_announce(
                model=SurveyResponse, ids=[response.pk], account_ids=[send.account_id]
            )
            return SurveyAnswer(send=send, response=response, created=True)
    send = SurveySend.objects.select_related("account", "contact").get(pk=send.pk)
    existing = SurveyResponse.objects.filter(survey_send=send).first()
    if existing is None:
        # Answered, then the response was deleted by an operator; nothing to show or change.
        raise SurveyLinkInvalid(token)
    return SurveyAnswer(send=send, response=existing, created=False)


def survey_comment_save(*, token: str, comment: str, now: datetime | None = None) -> SurveyResponse:
    """Add or change the comment of an answered survey while its link is valid."""
    send = survey_send_for_token(token=token, now=now)
    response = SurveyResponse.objects.filter(survey_send=send).first()
    if response is None:
        raise ValidationError(_("Choose a score first."))
    response.comment = comment.strip()[:5000]
    response.save(update_fields=["comment"])
    return response


# Emailed surveys: sending ----------------------------------------------------------------


def survey_quiet_period_days() -> int:
    return int(settings.SURVEY_QUIET_PERIOD_DAYS)


def _email_survey(*, send: SurveySend, token: str, contact: Contact, account_name: str) -> None:
    low, high = SurveyKind(send.kind).score_range
    links = [
        {
            "score": score,
            "path": reverse("metrics:survey_answer", kwargs={"token": token, "score": score}),
        }
        for score in range(low, high + 1)
    ]
    email_enqueue(
        idempotency_key=f"survey:{send.pk}",
        template="survey_request",
        context={
            "kind": send.kind,
            "contact_name": contact.first_name,
            "account_name": account_name,
            "links": links,
            "expires_at": send.expires_at,
        },
        to=[contact.email],
        category=NotificationCategory.REMINDERS,
    )


def survey_send(
    *,
    contact: Contact,
    kind: str = SurveyKind.NPS,
    actor: User | None = None,
    now: datetime | None = None,
) -> SurveySend:
    """Email a survey to one contact by hand. Raises ValidationError when it may not go."""
    now = now or timezone.now()
    if kind not in EMAILED_KINDS:
        raise ValidationError({"kind": [_("Only NPS and CSAT surveys can be emailed.")]})
    if not contact.email:
        raise ValidationError({"contact": [_("This contact has no email address.")]})
    quiet = survey_quiet_period_days()
    with transaction.atomic():
        # Locking the contact serialises two CSMs pressing "send" for the same person.
        Contact.objects.select_for_update().filter(pk=contact.pk).first()
        last = (
            SurveySend.objects.filter(contact_id=contact.pk)
            .order_by("-sent_at")
            .values_list("sent_at", flat=True)
            .first()
        )
        if last is not None and last > now - timedelta(days=quiet):
            next_date = timezone.localdate(last + timedelta(days=quiet))
            raise ValidationError(
                {
                    "contact": [
                        _(
                            "%(name)s was surveyed on %(date)s; to respect the %(days)d-day quiet "
                            "period, the next survey can go on %(next)s."
                        )
                        % {
                            "name": contact,
                            "date": timezone.localdate(last).isoformat(),
                            "days": quiet,
                            "next": next_date.isoformat(),
                        }
                    ]
                }
            )
        token, token_hash = _new_token()
        send = SurveySend.objects.create(
            contact=contact,
            account_id=contact.account_id,
            kind=kind,
            token_hash=token_hash,
            sent_at=now,
            expires_at=now + timedelta(days=settings.SURVEY_LINK_MAX_AGE_DAYS),
        )
        _email_survey(send=send, token=token, contact=contact, account_name=contact.account.name)
        activity_record(
            account_id=contact.account_id,
            subject=_("%(survey)s survey emailed to %(name)s")
            % {"survey": SurveyKind(kind).name, "name": contact},
            kind=ActivityKind.SYSTEM,
            author=actor,
            occurred_at=now,
            source="metrics",
            metadata={"survey_send": send.pk},
        )
    return send


# Schedules -------------------------------------------------------------------------------

# The date a customer started, for "first survey N days after the start". Apps further
# right (onboarding) know when an account's onboarding began; they add an expression here
# in AppConfig.ready(), evaluated on Contact rows (e.g. a Subquery on OuterRef("account_id")).
# The first non-null one wins; the account's customer_since is the fallback.
SURVEY_START_EXPRESSIONS: list[Callable[[], Expression]] = []


def survey_schedule_due_contacts(
    *, schedule: SurveySchedule, now: datetime | None = None
) -> QuerySet[Contact]:
    """Contacts the schedule should survey now, in one query.

    Due: the account is active, the contact has an email, the customer started at least
    `first_after_days` ago, the schedule has not surveyed them within `repeat_every_days`,
    and nobody has surveyed them (any survey) within `quiet_period_days`.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    starts = [make() for make in SURVEY_START_EXPRESSIONS]
    start: Coalesce | F = (
        Coalesce(*starts, F("account__customer_since"), output_field=DateField())
        if starts
        else F("account__customer_since")
    )
    last_by_schedule = (
        SurveySend.objects.filter(contact_id=OuterRef("pk"), schedule_id=schedule.pk)
        .order_by()
        .values("contact_id")
        .annotate(last=Max("sent_at"))
        .values("last")
    )
    recent = SurveySend.objects.filter(
        contact_id=OuterRef("pk"), sent_at__gt=now - timedelta(days=schedule.quiet_period_days)
    )
    return (
        Contact.objects.filter(account__status=AccountStatus.ACTIVE)
        .exclude(email="")
        .annotate(
            survey_start=start,
            last_scheduled=Subquery(last_by_schedule),
        )
        .filter(survey_start__lte=today - timedelta(days=schedule.first_after_days))
        .filter(
            Q(last_scheduled__isnull=True)
            # At least a day, so that a batch never picks a contact it has just surveyed.
            | Q(last_scheduled__lte=now - timedelta(days=max(1, schedule.repeat_every_days)))
        )
        .exclude(Exists(recent))
        .select_related("account")
        .order_by("pk")
    )


@dataclass(frozen=True)
class ScheduleRun:
    schedule_id: int
    sent: int


def survey_schedule_run(
    *, schedule: SurveySchedule, now: datetime | None = None, batch_size: int = 1000
) -> ScheduleRun:
    """Send one schedule's due surveys, in batches: each batch is one query to pick, one
    bulk insert and one outbox email per contact, committed together.

    The schedule row is locked with SKIP LOCKED for each batch, so two runs at once never
    send the same survey: the other run skips the busy schedule, and a batch only picks
    contacts that no committed batch has surveyed. A run that stops halfway loses nothing;
    the next run sends the rest.
    """
    now = now or timezone.now()
    total = 0
    while True:
        sent = _survey_schedule_batch(schedule_id=schedule.pk, now=now, limit=batch_size)
        total += sent
        if sent < batch_size:
            return ScheduleRun(schedule_id=schedule.pk, sent=total)


def _survey_schedule_batch(*, schedule_id: int, now: datetime, limit: int) -> int:
    with transaction.atomic():
        locked = (
            SurveySchedule.objects.select_for_update(skip_locked=True)
            .filter(pk=schedule_id, enabled=True)
            .first()
        )
        if locked is None:
            return 0
        contacts = list(survey_schedule_due_contacts(schedule=locked, now=now)[:limit])
        expires_at = now + timedelta(days=settings.SURVEY_LINK_MAX_AGE_DAYS)
        tokens: list[str] = []
        sends: list[SurveySend] = []
        for contact in contacts:
            token, token_hash = _new_token()
            tokens.append(token)
            sends.append(
                SurveySend(
                    contact=contact,
                    account_id=contact.account_id,
                    kind=locked.kind,
                    schedule=locked,
                    token_hash=token_hash,
                    sent_at=now,
                    expires_at=expires_at,
                )
            )
        SurveySend.objects.bulk_create(sends, batch_size=500)
        for send, token, contact in zip(sends, tokens, contacts, strict=True):
            _email_survey(
                send=send, token=token, contact=contact, account_name=contact.account.name
            )
        survey = SurveyKind(locked.kind).name
        Activity.objects.bulk_create(
            [
                Activity(
                    account_id=send.account_id,
                    kind=ActivityKind.SYSTEM,
                    occurred_at=now,
                    subject=(
                        _("%(survey)s survey emailed to %(name)s")
                        % {"survey": survey, "name": contact}
                    )[:255],
                    summary=locked.name,
                    source="metrics",
                    metadata={"survey_send": send.pk, "survey_schedule": locked.pk},
                )
                for send, contact in zip(sends, contacts, strict=True)
            ],
            batch_size=500,
        )
    return len(sends)


def surveys_send_scheduled(*, now: datetime | None = None) -> list[ScheduleRun]:
    """Run every enabled schedule once (the hourly beat job)."""
    now = now or timezone.now()
    return [
        survey_schedule_run(schedule=schedule, now=now)
        for schedule in SurveySchedule.objects.filter(enabled=True).order_by("pk")
    ]


def survey_schedule_save(*, schedule: SurveySchedule) -> SurveySchedule:
    if schedule.kind not in EMAILED_KINDS:
        raise ValidationError({"kind": [_("Only NPS and CSAT surveys can be emailed.")]})
    if schedule.repeat_every_days < 1:
        raise ValidationError({"repeat_every_days": [_("Repeat at least every day.")]})
    schedule.full_clean()
    schedule.save()
    return schedule


__all__ = [
    "SURVEY_START_EXPRESSIONS",
    "ScheduleRun",
    "SurveyAnswer",
    "SurveyLinkExpired",
    "SurveyLinkInvalid",
    "feedback_recorded_announce",
    "survey_answer",
    "survey_comment_save",
    "survey_response_errors",
    "survey_response_save",
    "survey_response_upsert",
    "survey_responses_recorded",
    "survey_schedule_due_contacts",
    "survey_schedule_run",
    "survey_schedule_save",
    "survey_score_error",
    "survey_send",
    "survey_send_for_token",
    "survey_token_hash",
    "surveys_send_scheduled",
    "ticket_errors",
    "ticket_save",
    "ticket_upsert",
    "tickets_recorded",
]
