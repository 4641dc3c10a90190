"""What every CSV import shares: reading a file into checked rows, the report its preview
page shows, matching rows to accounts, and the life of a stored upload.

A stored upload (a BaseImportJob) is checked and kept with its report for preview, then
committed once: re-checked inside the commit transaction against the data as it is now,
and written all or nothing. What rows mean, and how they are written, is each importer's
own (accounts.importers, metrics.importers_feedback, the events import of
metrics.services.ingestion).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.choices import ImportStatus
from accounts.models import Account, BaseImportJob
from csplatform.choices import Role
from csplatform.models import User
from csplatform.roles import can_edit_owned

# IN (...) lists are cut to this size: SQLite allows a limited number of variables per query.
LOOKUP_CHUNK = 500
BATCH = 500
# What the stored report keeps for the preview page; the commands print every row.
REPORT_MAX_ERRORS = 1000
REPORT_MAX_PREVIEW = 100


class Checked(Protocol):
    """What a stored upload keeps of any importer's check of its file."""

    @property
    def has_errors(self) -> bool: ...

    @property
    def row_count(self) -> int: ...

    def report(self) -> dict[str, Any]: ...


class ImportRejected(Exception):
    """The file cannot be committed: it has errors, or the job is not in a committable state."""

    def __init__(self, message: str, plan: Checked | None = None) -> None:
        super().__init__(message)
        self.plan = plan


# Columns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    help: Any
    example: str = ""


ACCOUNT_REF_COLUMNS = (
    Column(
        "account_external_id",
        False,
        gettext_lazy("The account's external (CRM) id. Either this or account_name is needed."),
        "CRM-0001",
    ),
    Column(
        "account_name",
        False,
        gettext_lazy("The account's name, used when no external id is given; must be unique."),
        "",
    ),
)
ACCOUNT_REF = ("account_external_id", "account_name")


def template_csv(columns: Sequence[Column]) -> str:
    """A CSV with every column and one example row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    writer.writerow([c.example for c in columns])
    return out.getvalue()


# Plan -----------------------------------------------------------------------------------


@dataclass
class RowResult:
    line: int
    action: str = ""  # "create", "update" or "error"
    errors: list[str] = field(default_factory=list)
    label: str = ""
    values: dict[str, str] = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.action = "error"
        self.errors.append(message)

    def fail_fields(self, errors: Mapping[str, Iterable[Any]]) -> None:
        """Fail with each message, named by its field (a whole-row message stands alone)."""
        for name, messages in errors.items():
            for message in messages:
                self.fail(str(message) if name == NON_FIELD_ERRORS else f"{name}: {message}")


@dataclass
class ImportPlan:
    kind: str
    headers: list[str] = field(default_factory=list)
    file_errors: list[tuple[int | None, str]] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    creates: list[models.Model] = field(default_factory=list)
    updates: list[models.Model] = field(default_factory=list)
    update_fields: set[str] = field(default_factory=set)

    @property
    def row_errors(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]

    @property
    def has_errors(self) -> bool:
        return bool(self.file_errors or self.row_errors)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"rows": len(self.rows), "create": 0, "update": 0, "error": 0}
        for r in self.rows:
            counts[r.action or "error"] += 1
        return counts

    def add(self, row: RowResult, instance: models.Model) -> None:
        """Plan to write `instance` as its row says: create it or update it."""
        (self.updates if row.action == "update" else self.creates).append(instance)

    def discard_writes(self) -> None:
        """Forget what the plan would write: a file with any error writes nothing."""
        self.creates, self.updates = [], []

    def report(self) -> dict[str, Any]:
        """The JSON kept on the job for its preview page."""
        errors = [{"line": line, "column": "", "message": msg} for line, msg in self.file_errors]
        for r in self.row_errors:
            errors += [{"line": r.line, "message": m} for m in r.errors]
        return {
            "headers": self.headers,
            "counts": self.counts,
            "error_count": len(errors),
            "errors": errors[:REPORT_MAX_ERRORS],
            "preview": [
                {"line": r.line, "action": r.action, "label": r.label, "values": r.values}
                for r in self.rows
                if not r.errors
            ][:REPORT_MAX_PREVIEW],
        }


# A valid row: its result, its cleaned cells, and the columns it filled.
Parsed = tuple[RowResult, dict[str, Any], set[str]]
PlanT = TypeVar("PlanT", bound=ImportPlan)


def import_decode(*, raw: bytes) -> tuple[str | None, str | None, int | None]:
    """Bytes → text. Returns (text, error, line of the error). UTF-8, a BOM is dropped."""
    if not raw.strip():
        return None, _("The file is empty."), None
    try:
        return raw.decode("utf-8-sig"), None, None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return (
            None,
            _(
                "The file is not UTF-8 text (byte 0x%(byte)02x at line %(line)d). "
                "Save it as “CSV UTF-8” and upload it again."
            )
            % {"byte": raw[exc.start], "line": line},
            line,
        )


def file_plan(
    *, raw: bytes, kind: str, plan: Callable[[str], ImportPlan]
) -> tuple[str, ImportPlan]:
    """(text, plan) of an uploaded file; a file that is not text gets a plan saying why."""
    content, error, line = import_decode(raw=raw)
    if content is None:
        return "", ImportPlan(kind=kind, file_errors=[(line, error or "")])
    return content, plan(content)


def _delimiter(first_line: str) -> str:
    # Spreadsheets in many locales save ";"-separated CSV; pick what splits the header most.
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _records(content: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells); blank lines are skipped."""
    first_line = content.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=_delimiter(first_line))
    previous_end = 0
    for cells in reader:
        start = previous_end + 1
        previous_end = reader.line_num
        if not cells or all(not c.strip() for c in cells):
            continue
        yield start, cells


def _normalise_header(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_")


def header_check(
    plan: ImportPlan, line: int, columns: Sequence[Column], one_of: Sequence[str] = ()
) -> bool:
    """Every column known and named once, every required one there, and one of `one_of`."""
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
    if one_of and not seen.intersection(one_of):
        plan.file_errors.append(
            (
                line,
                _("The file needs a column %(columns)s to say which account each row is for.")
                % {"columns": _(" or ").join(one_of)},
            )
        )
        ok = False
    return ok


def rows_parse(
    *,
    plan: ImportPlan,
    content: str,
    form_class: type[Any],
    columns: Sequence[Column],
    one_of: Sequence[str] = (),
    progress: Callable[[int], None] | None = None,
) -> list[Parsed] | None:
    """Read a CSV file into `plan.rows`, validating each row with `form_class`.

    Returns the valid rows with their cleaned data and the columns they filled, or None when
    the file itself is unusable (not CSV, empty, bad header, too many rows): `plan` then
    holds the reason.
    """
    try:
        records = list(_records(content))
    except csv.Error as exc:
        plan.file_errors.append((None, _("The file is not valid CSV: %(error)s") % {"error": exc}))
        return None
    if not records:
        plan.file_errors.append((None, _("The file is empty.")))
        return None
    header_line, header = records[0]
    plan.headers = [_normalise_header(h) for h in header]
    if not header_check(plan, header_line, columns, one_of):
        return None
    data = records[1:]
    if not data:
        plan.file_errors.append((None, _("The file has a header but no rows.")))
        return None
    limit = settings.CSV_IMPORT_MAX_ROWS
    if len(data) > limit:
        plan.file_errors.append(
            (
                None,
                _("The file has %(count)d rows; at most %(limit)d can be imported at once.")
                % {"count": len(data), "limit": limit},
            )
        )
        return None

    parsed: list[Parsed] = []
    width = len(plan.headers)
    for line, cells in data:
        row = RowResult(line=line)
        plan.rows.append(row)
        if len(cells) != width:
            row.fail(
                _("Expected %(expected)d cells, found %(found)d.")
                % {"expected": width, "found": len(cells)}
            )
        else:
            values = {h: c.strip() for h, c in zip(plan.headers, cells, strict=True)}
            row.values = {k: v for k, v in values.items() if v}
            form = form_class(data=values)
            if form.is_valid():
                parsed.append((row, form.cleaned_data, set(row.values)))
            else:
                row.fail_fields(form.errors)
        if progress:
            progress(1)
    return parsed


def plan_build(
    *,
    plan: PlanT,
    content: str,
    form_class: type[Any],
    columns: Sequence[Column],
    one_of: Sequence[str] = (),
    resolve: Callable[[list[Parsed]], None],
    progress: Callable[[int], None] | None = None,
) -> PlanT:
    """Check every row of a file, then let `resolve` plan the valid ones. Writes nothing.

    `resolve` matches rows against the database, fails the rows it cannot take and fills
    `plan.creates` and `plan.updates`; if any row failed, nothing of the plan is kept.
    """
    parsed = rows_parse(
        plan=plan,
        content=content,
        form_class=form_class,
        columns=columns,
        one_of=one_of,
        progress=progress,
    )
    if parsed is None:
        return plan
    resolve(parsed)
    for row in plan.rows:
        if row.errors:
            row.action = "error"
    if plan.has_errors:
        plan.discard_writes()
    return plan


# Matching -------------------------------------------------------------------------------


def chunks(values: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def accounts_by(field_name: str, values: Iterable[str]) -> dict[str, list[Account]]:
    """Accounts whose `field_name` is one of `values`, by that value (names may repeat)."""
    found: dict[str, list[Account]] = defaultdict(list)
    wanted = sorted(set(values))
    for chunk in chunks(wanted):
        for account in Account.objects.filter(**{f"{field_name}__in": chunk}):
            found[getattr(account, field_name)].append(account)
    return found


def is_restricted(actor: User | None) -> bool:
    """Is the actor limited to their own accounts (a CSM)?"""
    return actor is not None and actor.role not in (Role.ADMIN, Role.CS_LEAD)


def external_id_repeated(row: RowResult, external_id: str, first_line: dict[str, int]) -> bool:
    """Fail a row whose external_id an earlier row of the file has; remember it otherwise."""
    if external_id in first_line:
        row.fail(
            _("external_id “%(id)s” already appears on line %(line)d.")
            % {"id": external_id, "line": first_line[external_id]}
        )
        return True
    first_line[external_id] = row.line
    return False


def accounts_resolve(
    parsed: list[Parsed], *, actor: User | None
) -> list[tuple[RowResult, dict[str, Any], set[str], Account]]:
    """The account each row names (account_external_id, or a unique account_name).

    Rows naming no account, an ambiguous name, or (for a CSM) another owner's account fail.
    """
    by_ext = accounts_by(
        "external_id",
        (d["account_external_id"] for _r, d, _p in parsed if d["account_external_id"]),
    )
    by_name = accounts_by(
        "name",
        (
            d["account_name"]
            for _r, d, _p in parsed
            if d["account_name"] and not d["account_external_id"]
        ),
    )
    restricted = is_restricted(actor)
    out = []
    for row, data, present in parsed:
        if data["account_external_id"]:
            matches = by_ext.get(data["account_external_id"], [])
            if not matches:
                row.fail(
                    _("No account with external_id “%(id)s”.") % {"id": data["account_external_id"]}
                )
                continue
        else:
            matches = by_name.get(data["account_name"], [])
            if not matches:
                row.fail(_("No account named “%(name)s”.") % {"name": data["account_name"]})
                continue
            if len(matches) > 1:
                row.fail(
                    _("%(count)d accounts are named “%(name)s”; use account_external_id.")
                    % {"count": len(matches), "name": data["account_name"]}
                )
                continue
        account = matches[0]
        if restricted and not can_edit_owned(actor, account.owner_id):
            row.fail(
                _(
                    "Account “%(name)s” belongs to someone else; you may import only for accounts you own."
                )
                % {"name": account.name}
            )
            continue
        out.append((row, data, present, account))
    return out


# Apply ----------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    created: int
    updated: int
    accounts: int


def plan_apply(
    *,
    plan: ImportPlan,
    job: BaseImportJob | None,
    write: Callable[[], Collection[int]],
    now: datetime | None = None,
) -> ImportSummary:
    """Write a plan without errors, all or nothing, and mark its job (if any) committed.

    `write` does the importer's writes and returns the ids of the accounts they touched;
    `now` is when the job says it was committed (an importer may stamp its rows with it).
    """
    if plan.has_errors:
        raise ImportRejected(_("The file has errors; nothing was imported."), plan)
    with transaction.atomic():
        account_ids = write()
        if job is not None:
            job_mark_committed(job=job, report=plan.report(), now=now)
    return ImportSummary(
        created=len(plan.creates), updated=len(plan.updates), accounts=len(account_ids)
    )


# Jobs -----------------------------------------------------------------------------------

JobT = TypeVar("JobT", bound=BaseImportJob)
CheckedT = TypeVar("CheckedT", bound=Checked)
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class Refusals:
    """What a commit says when it writes nothing (each flow may word it its own way)."""

    committed: str | Promise
    # The file had errors when it was uploaded.
    not_previewed: str | Promise
    # The file was fine when it was uploaded, but is not against the data as it is now.
    now_invalid: str | Promise


REFUSALS = Refusals(
    committed=gettext_lazy("This file was already imported."),
    not_previewed=gettext_lazy("The file has errors; fix them and upload it again."),
    now_invalid=gettext_lazy(
        "The data changed since the preview and the file now has errors; nothing was imported."
    ),
)


def job_create(
    *,
    model: type[JobT],
    plan: Checked,
    content: str,
    filename: str,
    actor: User | None,
    **fields: Any,
) -> JobT:
    """Keep a checked file with its report for the preview page (and a later commit)."""
    return model._default_manager.create(
        uploaded_by=actor,
        filename=filename[:255],
        content=content,
        status=ImportStatus.INVALID if plan.has_errors else ImportStatus.PREVIEWED,
        row_count=plan.row_count,
        report=plan.report(),
        **fields,
    )


def job_commit(
    *,
    job: JobT,
    replan: Callable[[JobT], CheckedT],
    write: Callable[[CheckedT, JobT], ResultT],
    refusals: Refusals = REFUSALS,
) -> ResultT:
    """Commit a previewed job: check its file again against the data as it is now, then
    let `write` write it all (and mark the job committed).

    Raises ImportRejected, writing nothing, if the job has errors (then or now) or was
    already committed. A job that went bad since its preview keeps its new report.
    """
    with transaction.atomic():
        # The lock makes a double-clicked commit wait, then find the job committed.
        job = type(job)._default_manager.select_for_update().get(pk=job.pk)
        if job.status == ImportStatus.COMMITTED:
            raise ImportRejected(str(refusals.committed))
        if job.status != ImportStatus.PREVIEWED:
            raise ImportRejected(str(refusals.not_previewed))
        plan = replan(job)
        if not plan.has_errors:
            return write(plan, job)
        job.status = ImportStatus.INVALID
        job.report = plan.report()
        job.save(update_fields=["status", "report"])
    raise ImportRejected(str(refusals.now_invalid), plan)


def job_mark_committed(
    *, job: BaseImportJob, report: dict[str, Any], now: datetime | None = None
) -> None:
    job.status = ImportStatus.COMMITTED
    job.committed_at = now or timezone.now()
    job.report = report
    job.save(update_fields=["status", "committed_at", "report"])
