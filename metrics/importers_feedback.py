"""CSV import of support tickets and survey responses: check every row, then all or nothing.

The same flow and file rules as the accounts importer (accounts.csv_import: parsing,
account matching, the report and the job's life): plan → preview → apply, lookups batched,
a stored job re-planned inside the commit transaction.

Matching rules:
- every row names its account by account_external_id, or by account_name when exactly one
  account has that name; a CSM may import only for accounts they own;
- tickets and responses upsert on external_id when it is given (a re-import updates rather
  than duplicates), otherwise they are created;
- on an update, an empty cell keeps the current value;
- a response's contact_email must be a contact of that account; its lifecycle_stage
  defaults to the account's current stage;
- times are ISO 8601; without an offset they are UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.csv_import import (
    ACCOUNT_REF,
    ACCOUNT_REF_COLUMNS,
    BATCH,
    Column,
    ImportPlan,
    ImportSummary,
    RowResult,
    accounts_resolve,
    chunks,
    external_id_repeated,
    file_plan,
    is_restricted,
    job_commit,
    job_create,
    plan_apply,
    plan_build,
)
from accounts.models import Contact
from csplatform.exports import csv_lines
from csplatform.models import User
from csplatform.roles import can_edit_owned
from metrics.choices import ResponseSource, TicketChannel, TicketPriority, TicketStatus
from metrics.forms_feedback import SurveyResponseRowForm, TicketRowForm
from metrics.models.feedback import FeedbackImport, SurveyResponse, Ticket
from metrics.services.feedback import (
    feedback_recorded_announce,
    survey_response_errors,
    ticket_errors,
)

__all__ = [
    "COLUMNS",
    "feedback_apply",
    "feedback_import_commit",
    "feedback_import_create",
    "feedback_plan",
    "survey_responses_csv_rows",
    "tickets_csv_rows",
]

TICKETS = FeedbackImport.Kind.TICKETS.value
RESPONSES = FeedbackImport.Kind.SURVEY_RESPONSES.value

COLUMNS: dict[str, tuple[Column, ...]] = {
    TICKETS: (
        *ACCOUNT_REF_COLUMNS,
        Column(
            "external_id",
            False,
            gettext_lazy("The help desk's ticket id; a ticket with this id is updated."),
            "ZD-10231",
        ),
        Column("subject", True, gettext_lazy("Subject line."), "Cannot export report"),
        Column("requester_email", False, gettext_lazy("Who raised it."), "ada@northwind.example"),
        Column("channel", False, gettext_lazy("email, chat, phone, social or web."), "email"),
        Column("priority", False, gettext_lazy("p1, p2, p3 or p4; default p3."), "p2"),
        Column(
            "status", False, gettext_lazy("open, pending, resolved or closed; default open."), ""
        ),
        Column("is_escalation", False, gettext_lazy("yes or no."), "no"),
        Column(
            "opened_at",
            True,
            gettext_lazy("When it was opened: YYYY-MM-DD HH:MM (UTC) or ISO 8601."),
            "2025-03-01 09:30",
        ),
        Column(
            "first_response_at",
            False,
            gettext_lazy("First reply; not before opened_at."),
            "2025-03-01 10:05",
        ),
        Column(
            "resolved_at", False, gettext_lazy("Resolution; not before opened_at."), "2025-03-02"
        ),
    ),
    RESPONSES: (
        *ACCOUNT_REF_COLUMNS,
        Column(
            "external_id",
            False,
            gettext_lazy("The survey tool's response id; a response with this id is updated."),
            "TF-88812",
        ),
        Column(
            "contact_email",
            False,
            gettext_lazy("Email of a contact at the account who answered."),
            "ada@northwind.example",
        ),
        Column("kind", True, gettext_lazy("nps (0–10), csat (1–5) or ces (1–7)."), "nps"),
        Column("score", True, gettext_lazy("A whole number on the survey's scale."), "9"),
        Column("comment", False, gettext_lazy("The reason given for the score."), "Great support"),
        Column(
            "lifecycle_stage",
            False,
            gettext_lazy("The account's stage when they answered; default its stage now."),
            "adoption",
        ),
        Column(
            "responded_at",
            True,
            gettext_lazy("When they answered: YYYY-MM-DD HH:MM (UTC) or ISO 8601."),
            "2025-03-05 14:00",
        ),
    ),
}

ROW_FORMS = {TICKETS: TicketRowForm, RESPONSES: SurveyResponseRowForm}

_TICKET_FIELDS = (
    "subject",
    "requester_email",
    "channel",
    "priority",
    "status",
    "is_escalation",
    "opened_at",
    "first_response_at",
    "resolved_at",
)
_TICKET_DEFAULTS: dict[str, Any] = {
    "channel": TicketChannel.EMAIL,
    "priority": TicketPriority.P3,
    "status": TicketStatus.OPEN,
    "is_escalation": False,
}
_RESPONSE_FIELDS = ("kind", "score", "comment", "lifecycle_stage", "responded_at")


def tickets_csv_rows(*, tickets: QuerySet[Ticket]) -> Iterator[str]:
    """Tickets as CSV in the import's own columns, so an export can be edited and re-imported."""
    names = [c.name for c in COLUMNS[TICKETS]]

    def rows() -> Iterator[list[Any]]:
        for ticket in tickets.iterator(chunk_size=2000):
            values = {
                "account_external_id": ticket.account.external_id,
                "account_name": ticket.account.name,
                **{n: getattr(ticket, n) for n in ("external_id", *_TICKET_FIELDS)},
            }
            yield [values[n] for n in names]

    return csv_lines(names, rows())


def survey_responses_csv_rows(*, responses: QuerySet[SurveyResponse]) -> Iterator[str]:
    """Responses as CSV in the import's own columns (re-importable)."""
    names = [c.name for c in COLUMNS[RESPONSES]]

    def rows() -> Iterator[list[Any]]:
        for response in responses.iterator(chunk_size=2000):
            values = {
                "account_external_id": response.account.external_id,
                "account_name": response.account.name,
                "contact_email": response.contact.email if response.contact else "",
                **{n: getattr(response, n) for n in ("external_id", *_RESPONSE_FIELDS)},
            }
            yield [values[n] for n in names]

    return csv_lines(names, rows())


# Plan -----------------------------------------------------------------------------------


def feedback_plan(
    *,
    kind: str,
    content: str,
    actor: User | None,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Check every row and work out what importing the file would do. Writes nothing.

    `actor` None means an operator at the command line (no ownership limits).
    """
    kind = FeedbackImport.Kind(kind).value
    plan = ImportPlan(kind=kind)
    resolve = _plan_tickets if kind == TICKETS else _plan_responses
    return plan_build(
        plan=plan,
        content=content,
        form_class=ROW_FORMS[kind],
        columns=COLUMNS[kind],
        one_of=ACCOUNT_REF,
        resolve=lambda parsed: resolve(plan, accounts_resolve(parsed, actor=actor), actor),
        progress=progress,
    )


def _existing_by_external_id(
    model: Any, resolved: list[tuple[RowResult, dict[str, Any], set[str], Any]]
) -> dict[str, Any]:
    ids = sorted({d["external_id"] for _r, d, _p, _a in resolved if d["external_id"]})
    found: dict[str, Any] = {}
    for chunk in chunks(ids):
        for obj in model.objects.select_related("account").filter(external_id__in=chunk):
            found[obj.external_id] = obj
    return found


def _claim_external_id(
    row: RowResult,
    ext: str | None,
    first_line: dict[str, int],
    existing: dict[str, Any],
    actor: Any,
) -> Any:
    """The record an external id updates (or None); fails the row on a repeat or a foreign one."""
    if not ext or external_id_repeated(row, ext, first_line):
        return None
    obj = existing.get(ext)
    if obj is not None and is_restricted(actor) and not can_edit_owned(actor, obj.account.owner_id):
        row.fail(_("external_id “%(id)s” is a record of another owner's account.") % {"id": ext})
    return obj


def _update(
    plan: ImportPlan, row: RowResult, record: Any, account: Any, fields: dict[str, Any]
) -> None:
    """A record the file updates: it may move to another account; empty cells keep values."""
    row.action = "update"
    record.account = account
    for name, value in fields.items():
        setattr(record, name, value)
    plan.update_fields.update(fields, {"account"})


def _plan_tickets(
    plan: ImportPlan,
    resolved: list[tuple[RowResult, dict[str, Any], set[str], Any]],
    actor: User | None,
) -> None:
    existing = _existing_by_external_id(Ticket, resolved)
    first_line: dict[str, int] = {}
    for row, data, present, account in resolved:
        ext = data["external_id"] or None
        ticket = _claim_external_id(row, ext, first_line, existing, actor)
        if row.errors:
            continue
        fields = {n: data[n] for n in _TICKET_FIELDS if n in present}
        if ticket is not None:
            _update(plan, row, ticket, account, fields)
        else:
            row.action = "create"
            ticket = Ticket(account=account, external_id=ext, **{**_TICKET_DEFAULTS, **fields})
        row.fail_fields(
            ticket_errors(
                opened_at=ticket.opened_at,
                first_response_at=ticket.first_response_at,
                resolved_at=ticket.resolved_at,
            )
        )
        if row.errors:
            continue
        row.label = f"{ticket.subject} · {account.name}"
        plan.add(row, ticket)


def _plan_responses(
    plan: ImportPlan,
    resolved: list[tuple[RowResult, dict[str, Any], set[str], Any]],
    actor: User | None,
) -> None:
    existing = _existing_by_external_id(SurveyResponse, resolved)
    keys = sorted(
        {(acc.pk, d["contact_email"].lower()) for _r, d, _p, acc in resolved if d["contact_email"]}
    )
    contacts: dict[tuple[int, str], Contact] = {}
    for chunk in chunks(keys):
        for found in Contact.objects.annotate(email_lower=Lower("email")).filter(
            account_id__in={a for a, _e in chunk}, email_lower__in={e for _a, e in chunk}
        ):
            contacts[(found.account_id, found.email.lower())] = found
    first_line: dict[str, int] = {}
    for row, data, present, account in resolved:
        ext = data["external_id"] or None
        response = _claim_external_id(row, ext, first_line, existing, actor)
        if row.errors:
            continue
        contact: Contact | None = None
        if data["contact_email"]:
            contact = contacts.get((account.pk, data["contact_email"].lower()))
            if contact is None:
                row.fail(
                    _("contact_email: “%(email)s” is not a contact of “%(name)s”.")
                    % {"email": data["contact_email"], "name": account.name}
                )
                continue
        fields = {n: data[n] for n in _RESPONSE_FIELDS if n in present}
        if response is not None:
            _update(plan, row, response, account, fields)
            if contact is not None:
                response.contact = contact
                plan.update_fields.add("contact")
        else:
            row.action = "create"
            fields.setdefault("lifecycle_stage", account.lifecycle_stage)
            response = SurveyResponse(
                account=account,
                contact=contact,
                external_id=ext,
                source=ResponseSource.CSV,
                **fields,
            )
        row.fail_fields(
            survey_response_errors(
                kind=response.kind, score=response.score, account_id=account.pk, contact=None
            )
        )
        if row.errors:
            continue
        row.label = f"{response.kind.upper()} {response.score} · {account.name}"
        plan.add(row, response)


# Apply ----------------------------------------------------------------------------------


def feedback_apply(
    *, plan: ImportPlan, actor: User | None, job: FeedbackImport | None = None
) -> ImportSummary:
    """Write a plan without errors, all or nothing."""
    model: Any = Ticket if plan.kind == TICKETS else SurveyResponse

    def write() -> set[int]:
        model.objects.bulk_create(plan.creates, batch_size=BATCH)
        if plan.updates and plan.update_fields:
            model.objects.bulk_update(plan.updates, sorted(plan.update_fields), batch_size=BATCH)
        written: list[Any] = [*plan.creates, *plan.updates]
        feedback_recorded_announce(
            model=model,
            ids=[o.pk for o in written],
            account_ids=[o.account_id for o in written],
        )
        return {o.account_id for o in written}

    return plan_apply(plan=plan, job=job, write=write)


# Jobs -----------------------------------------------------------------------------------


def feedback_import_create(
    *, kind: str, filename: str, raw: bytes, actor: User | None
) -> FeedbackImport:
    """Check an uploaded file and keep it with its report for preview (and later commit)."""
    content, plan = file_plan(
        raw=raw,
        kind=kind,
        plan=lambda content: feedback_plan(kind=kind, content=content, actor=actor),
    )
    return job_create(
        model=FeedbackImport, plan=plan, content=content, filename=filename, actor=actor, kind=kind
    )


def feedback_import_commit(*, job: FeedbackImport, actor: User | None) -> ImportSummary:
    """Commit a previewed job after re-checking it against the data as it is now."""
    return job_commit(
        job=job,
        replan=lambda job: feedback_plan(kind=job.kind, content=job.content, actor=actor),
        write=lambda plan, job: feedback_apply(plan=plan, actor=actor, job=job),
    )
