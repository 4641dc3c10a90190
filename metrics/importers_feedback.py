"""CSV import of support tickets and survey responses: check every row, then all or nothing.

The same flow and file rules as the accounts importer (whose parsing, account matching and
report it reuses): plan → preview → apply, lookups batched, a stored job re-planned inside
the commit transaction.

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

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.choices import ImportStatus
from accounts.importers import (
    _ACCOUNT_REF,
    Column,
    ImportPlan,
    ImportRejected,
    ImportSummary,
    RowResult,
    _chunks,
    _is_restricted,
    _resolve_accounts,
    import_decode,
    rows_parse,
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
    "ImportRejected",
    "feedback_apply",
    "feedback_import_commit",
    "feedback_import_create",
    "feedback_plan",
    "feedback_template_csv",
    "import_decode",
    "survey_responses_csv_rows",
    "tickets_csv_rows",
]

TICKETS = FeedbackImport.Kind.TICKETS.value
RESPONSES = FeedbackImport.Kind.SURVEY_RESPONSES.value
BATCH = 500

COLUMNS: dict[str, tuple[Column, ...]] = {
    TICKETS: (
        *_ACCOUNT_REF,
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
        *_ACCOUNT_REF,
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


def feedback_template_csv(*, kind: str) -> str:
    """A CSV with every column of `kind` and one example row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in COLUMNS[kind]])
    writer.writerow([c.example for c in COLUMNS[kind]])
    return out.getvalue()


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
    parsed = rows_parse(
        plan=plan,
        content=content,
        form_class=ROW_FORMS[kind],
        check_header=_check_header,
        progress=progress,
    )
    if parsed is None:
        return plan

    resolved = _resolve_accounts(plan, parsed, actor)
    if kind == TICKETS:
        _plan_tickets(plan, resolved, actor)
    else:
        _plan_responses(plan, resolved, actor)
    for row in plan.rows:
        if row.errors:
            row.action = "error"
    if plan.has_errors:
        plan.creates, plan.updates = [], []
    return plan


def _check_header(plan: ImportPlan, line: int) -> bool:
    columns = COLUMNS[plan.kind]
    known = {c.name for c in columns}
    seen: set[str] = set()
    ok = True
    for name in plan.headers:
        if name in seen:
            plan.file_errors.append(
                (line, _("Column “%(column)s” appears twice.") % {"column": name})
            )
            ok = False
        seen.add(name)
        if name not in known:
            plan.file_errors.append(
                (
                    line,
                    _("Unknown column “%(column)s”. Known columns: %(known)s.")
                    % {"column": name, "known": ", ".join(c.name for c in columns)},
                )
            )
            ok = False
    for column in columns:
        if column.required and column.name not in seen:
            plan.file_errors.append(
                (line, _("Required column “%(column)s” is missing.") % {"column": column.name})
            )
            ok = False
    if not seen.intersection({"account_external_id", "account_name"}):
        plan.file_errors.append(
            (
                line,
                _("The file needs a column %(columns)s to say which account each row is for.")
                % {"columns": _(" or ").join(("account_external_id", "account_name"))},
            )
        )
        ok = False
    return ok


def _existing_by_external_id(model: Any, ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in _chunks(sorted(set(ids))):
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
    if not ext:
        return None
    if ext in first_line:
        row.fail(
            _("external_id “%(id)s” already appears on line %(line)d.")
            % {"id": ext, "line": first_line[ext]}
        )
        return None
    first_line[ext] = row.line
    obj = existing.get(ext)
    if (
        obj is not None
        and _is_restricted(actor)
        and not can_edit_owned(actor, obj.account.owner_id)
    ):
        row.fail(_("external_id “%(id)s” is a record of another owner's account.") % {"id": ext})
    return obj


def _plan_tickets(
    plan: ImportPlan,
    resolved: list[tuple[RowResult, dict[str, Any], set[str], Any]],
    actor: User | None,
) -> None:
    existing = _existing_by_external_id(
        Ticket, [d["external_id"] for _r, d, _p, _a in resolved if d["external_id"]]
    )
    first_line: dict[str, int] = {}
    for row, data, present, account in resolved:
        ext = data["external_id"] or None
        ticket = _claim_external_id(row, ext, first_line, existing, actor)
        if row.errors:
            continue
        fields = {n: data[n] for n in _TICKET_FIELDS if n in present}
        if ticket is not None:
            row.action = "update"
            ticket.account = account
            for name, value in fields.items():
                setattr(ticket, name, value)
            plan.update_fields.update(fields, {"account"})
        else:
            row.action = "create"
            ticket = Ticket(account=account, external_id=ext, **{**_TICKET_DEFAULTS, **fields})
        for name, messages in ticket_errors(
            opened_at=ticket.opened_at,
            first_response_at=ticket.first_response_at,
            resolved_at=ticket.resolved_at,
        ).items():
            for message in messages:
                row.fail(f"{name}: {message}")
        if row.errors:
            continue
        row.label = f"{ticket.subject} · {account.name}"
        (plan.updates if row.action == "update" else plan.creates).append(ticket)


def _plan_responses(
    plan: ImportPlan,
    resolved: list[tuple[RowResult, dict[str, Any], set[str], Any]],
    actor: User | None,
) -> None:
    existing = _existing_by_external_id(
        SurveyResponse, [d["external_id"] for _r, d, _p, _a in resolved if d["external_id"]]
    )
    keys = sorted(
        {(acc.pk, d["contact_email"].lower()) for _r, d, _p, acc in resolved if d["contact_email"]}
    )
    contacts: dict[tuple[int, str], Contact] = {}
    for chunk in _chunks(keys):
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
            row.action = "update"
            response.account = account
            for name, value in fields.items():
                setattr(response, name, value)
            plan.update_fields.update(fields, {"account"})
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
        for name, messages in survey_response_errors(
            kind=response.kind, score=response.score, account_id=account.pk, contact=None
        ).items():
            for message in messages:
                row.fail(f"{name}: {message}")
        if row.errors:
            continue
        row.label = f"{response.kind.upper()} {response.score} · {account.name}"
        (plan.updates if row.action == "update" else plan.creates).append(response)


# Apply ----------------------------------------------------------------------------------


def feedback_apply(
    *, plan: ImportPlan, actor: User | None, job: FeedbackImport | None = None
) -> ImportSummary:
    """Write a plan without errors, all or nothing."""
    if plan.has_errors:
        raise ImportRejected(_("The file has errors; nothing was imported."), plan)
    model: Any = Ticket if plan.kind == TICKETS else SurveyResponse
    with transaction.atomic():
        model.objects.bulk_create(plan.creates, batch_size=BATCH)
        if plan.updates and plan.update_fields:
            model.objects.bulk_update(plan.updates, sorted(plan.update_fields), batch_size=BATCH)
        if job is not None:
            job.status = ImportStatus.COMMITTED
            job.committed_at = timezone.now()
            job.report = plan.report()
            job.save(update_fields=["status", "committed_at", "report"])
        written: list[Any] = [*plan.creates, *plan.updates]
        feedback_recorded_announce(
            model=model,
            ids=[o.pk for o in written],
            account_ids=[o.account_id for o in written],
        )
    accounts = {o.account_id for o in written}
    return ImportSummary(
        created=len(plan.creates), updated=len(plan.updates), accounts=len(accounts)
    )


# Jobs -----------------------------------------------------------------------------------


def feedback_import_create(
    *, kind: str, filename: str, raw: bytes, actor: User | None
) -> FeedbackImport:
    """Check an uploaded file and keep it with its report for preview (and later commit)."""
    content, error, line = import_decode(raw=raw)
    if content is None:
        plan = ImportPlan(kind=kind, file_errors=[(line, error or "")])
    else:
        plan = feedback_plan(kind=kind, content=content, actor=actor)
    return FeedbackImport.objects.create(
        kind=kind,
        uploaded_by=actor,
        filename=filename[:255],
        content=content or "",
        status=ImportStatus.INVALID if plan.has_errors else ImportStatus.PREVIEWED,
        row_count=len(plan.rows),
        report=plan.report(),
    )


def feedback_import_commit(*, job: FeedbackImport, actor: User | None) -> ImportSummary:
    """Commit a previewed job after re-checking it against the data as it is now."""
    with transaction.atomic():
        # The lock makes a double-clicked commit wait, then find the job committed.
        job = FeedbackImport.objects.select_for_update().get(pk=job.pk)
        if job.status == ImportStatus.COMMITTED:
            raise ImportRejected(_("This file was already imported."))
        if job.status != ImportStatus.PREVIEWED:
            raise ImportRejected(_("The file has errors; fix them and upload it again."))
        plan = feedback_plan(kind=job.kind, content=job.content, actor=actor)
        if not plan.has_errors:
            return feedback_apply(plan=plan, actor=actor, job=job)
        job.status = ImportStatus.INVALID
        job.report = plan.report()
        job.save(update_fields=["status", "report"])
    raise ImportRejected(
        _("The data changed since the preview and the file now has errors; nothing was imported."),
        plan,
    )
