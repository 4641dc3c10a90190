"""CSV import of accounts, contacts and subscriptions: validate every row, then all or nothing.

The flow is plan → (preview) → apply. `import_plan` parses and checks the whole file with a
bounded number of queries (lookups are batched, never one per row) and returns what it
would create or update with per-row errors; `import_apply` writes a plan without errors in
one transaction with bulk_create/bulk_update. A stored ImportJob is re-planned inside the
commit transaction, so a file that became wrong since its preview (an account deleted, an
external id taken) is rejected rather than half-written.

Matching rules (also shown on the upload page):
- accounts upsert on external_id when the cell is given, otherwise they are created;
- contacts and subscriptions name their account by account_external_id, or by
  account_name when exactly one account has that name;
- contacts upsert on (account, email) when the email is given, otherwise are created;
- subscriptions are always created (a contract line has no natural key);
- on update, an empty cell keeps the current value;
- owner is a username or an email address.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services
from accounts.choices import (
    AccountStatus,
    ActivityKind,
    BillingPeriod,
    DiscountType,
    ImportKind,
    ImportStatus,
    SubscriptionStatus,
)
from accounts.forms_import import ROW_FORMS
from accounts.models import Account, Activity, Contact, ImportJob, Subscription, Tag
from csplatform.choices import Role
from csplatform.models import User
from csplatform.roles import can_edit_owned

# IN (...) lists are cut to this size: SQLite allows a limited number of variables per query.
LOOKUP_CHUNK = 500
BATCH = 500
# What the stored report keeps for the preview page; the command prints every row.
REPORT_MAX_ERRORS = 1000
REPORT_MAX_PREVIEW = 100


class ImportRejected(Exception):
    """The file cannot be committed: it has errors, or the job is not in a committable state."""

    def __init__(self, message: str, plan: ImportPlan | None = None) -> None:
        super().__init__(message)
        self.plan = plan


# Columns --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    required: bool
    help: Any
    example: str = ""


_ACCOUNT_REF = (
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

COLUMNS: dict[str, tuple[Column, ...]] = {
    ImportKind.ACCOUNTS: (
        Column(
            "external_id",
            False,
            gettext_lazy("CRM id. An account with this id is updated; otherwise one is created."),
            "CRM-0001",
        ),
        Column("name", True, gettext_lazy("Company name."), "Northwind Traders"),
        Column("domain", False, gettext_lazy("Web domain."), "northwind.example"),
        Column("industry", False, gettext_lazy("Industry."), "Retail"),
        Column("country", False, gettext_lazy("Two-letter ISO country code."), "US"),
        Column("currency", False, gettext_lazy("Three-letter ISO currency code."), "USD"),
        Column("tier", False, gettext_lazy("enterprise, mid_market or smb."), "mid_market"),
        Column("touch_model", False, gettext_lazy("high, low or tech."), "low"),
        Column("business_model", False, gettext_lazy("b2b or b2c."), "b2b"),
        Column(
            "lifecycle_stage",
            False,
            gettext_lazy("onboarding, adoption, growth, renewal or churned."),
            "adoption",
        ),
        Column("status", False, gettext_lazy("trial, active or churned."), "active"),
        Column("customer_since", False, gettext_lazy("Date, YYYY-MM-DD."), "2023-04-01"),
        Column("churned_at", False, gettext_lazy("Date, YYYY-MM-DD."), ""),
        Column(
            "owner",
            False,
            gettext_lazy(
                "The CSM who owns it: username or email. A CSM's new accounts are their own."
            ),
            "alice",
        ),
        Column("years_in_business", False, gettext_lazy("Whole number."), "12"),
        Column("single_decision_maker", False, gettext_lazy("yes or no."), "no"),
        Column(
            "next_tier_price_threshold", False, gettext_lazy("Amount, e.g. 25000.00."), "25000.00"
        ),
        Column(
            "tags",
            False,
            gettext_lazy("Tags separated by semicolons; they are added, never removed."),
            "strategic;beta",
        ),
    ),
    ImportKind.CONTACTS: (
        *_ACCOUNT_REF,
        Column("first_name", True, gettext_lazy("First name."), "Ada"),
        Column("last_name", False, gettext_lazy("Last name."), "Lovelace"),
        Column(
            "email",
            False,
            gettext_lazy("Email. A contact with this email at the account is updated."),
            "ada@northwind.example",
        ),
        Column("phone", False, gettext_lazy("Phone number."), "+1 555 0100"),
        Column("title", False, gettext_lazy("Job title."), "VP Operations"),
        Column("department", False, gettext_lazy("Department."), "Operations"),
        Column(
            "power_role",
            False,
            gettext_lazy(
                "executive_sponsor, decision_maker, champion, influencer, user or detractor."
            ),
            "champion",
        ),
        Column(
            "is_primary",
            False,
            gettext_lazy("yes or no; one primary contact per account."),
            "yes",
        ),
        Column("birthday", False, gettext_lazy("Date, YYYY-MM-DD."), ""),
        Column("anniversary", False, gettext_lazy("Date, YYYY-MM-DD."), ""),
    ),
    ImportKind.SUBSCRIPTIONS: (
        *_ACCOUNT_REF,
        Column("plan_name", True, gettext_lazy("Plan or tier name."), "Business"),
        Column("product", False, gettext_lazy("Product."), "Platform"),
        Column("quantity", False, gettext_lazy("Licenses / seats; default 1."), "25"),
        Column(
            "unit_price",
            True,
            gettext_lazy("List price per unit per billing period, e.g. 600.00."),
            "600.00",
        ),
        Column("discount_type", False, gettext_lazy("none, percent or amount."), "percent"),
        Column(
            "discount_value",
            False,
            gettext_lazy("Percent (0–100) or amount per billing period."),
            "10",
        ),
        Column(
            "billing_period",
            True,
            gettext_lazy("monthly, quarterly, semi_annual, annual or custom."),
            "annual",
        ),
        Column(
            "billing_period_months",
            False,
            gettext_lazy("Months in the billing period; required for custom."),
            "",
        ),
        Column("currency", False, gettext_lazy("ISO currency code; default the account's."), "USD"),
        Column(
            "one_time_fees",
            False,
            gettext_lazy("Set-up or service fees; never part of MRR."),
            "1500.00",
        ),
        Column("signed_on", False, gettext_lazy("Date, YYYY-MM-DD."), "2025-01-20"),
        Column("start_date", True, gettext_lazy("Date, YYYY-MM-DD."), "2025-02-01"),
        Column("end_date", False, gettext_lazy("Renewal date, YYYY-MM-DD."), "2026-01-31"),
        Column("notice_period_days", False, gettext_lazy("Days; default 30."), "60"),
        Column("auto_renew", False, gettext_lazy("yes or no; default yes."), "yes"),
        Column(
            "status",
            False,
            gettext_lazy("trial, active, cancelled or expired; default active."),
            "active",
        ),
    ),
}

# Header rules beyond single required columns: at least one of these must be there.
_ONE_OF = {
    ImportKind.CONTACTS: ("account_external_id", "account_name"),
    ImportKind.SUBSCRIPTIONS: ("account_external_id", "account_name"),
}


def import_template_csv(*, kind: str) -> str:
    """A CSV with every column of `kind` and one example row."""
    columns = COLUMNS[ImportKind(kind)]
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


@dataclass
class ImportPlan:
    kind: str
    headers: list[str] = field(default_factory=list)
    file_errors: list[tuple[int | None, str]] = field(default_factory=list)
    rows: list[RowResult] = field(default_factory=list)
    creates: list[models.Model] = field(default_factory=list)
    updates: list[models.Model] = field(default_factory=list)
    update_fields: set[str] = field(default_factory=set)
    # account instance → tag names to add (accounts kind)
    tags: list[tuple[Account, list[str]]] = field(default_factory=list)
    # accounts that get a primary contact from the file (contacts kind)
    primary_account_ids: set[int] = field(default_factory=set)

    @property
    def row_errors(self) -> list[RowResult]:
        return [r for r in self.rows if r.errors]

    @property
    def has_errors(self) -> bool:
        return bool(self.file_errors or self.row_errors)

    @property
    def counts(self) -> dict[str, int]:
        counts = {"rows": len(self.rows), "create": 0, "update": 0, "error": 0}
        for r in self.rows:
            counts[r.action or "error"] += 1
        return counts

    def report(self) -> dict[str, Any]:
        """The JSON kept on the ImportJob for its preview page."""
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


def rows_parse(
    *,
    plan: ImportPlan,
    content: str,
    form_class: type[Any],
    check_header: Callable[[ImportPlan, int], bool],
    progress: Callable[[int], None] | None = None,
) -> list[tuple[RowResult, dict[str, Any], set[str]]] | None:
    """Read a CSV file into `plan.rows`, validating each row with `form_class`.

    Returns the valid rows with their cleaned data and the columns they filled, or None when
    the file itself is unusable (not CSV, empty, bad header, too many rows): `plan` then
    holds the reason. Shared by every importer; what rows mean is theirs to decide.
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
    if not check_header(plan, header_line):
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

    parsed: list[tuple[RowResult, dict[str, Any], set[str]]] = []
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
                for name, messages in form.errors.items():
                    for message in messages:
                        row.fail(str(message) if name == "__all__" else f"{name}: {message}")
        if progress:
            progress(1)
    return parsed


def import_plan(
    *,
    kind: str,
    content: str,
    actor: User | None,
    default_owner: User | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportPlan:
    """Check every row of a CSV and work out what importing it would do. Writes nothing.

    `actor` None means an operator at the command line (no ownership limits).
    """
    kind = ImportKind(kind)
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

    resolve = {
        ImportKind.ACCOUNTS: _plan_accounts,
        ImportKind.CONTACTS: _plan_contacts,
        ImportKind.SUBSCRIPTIONS: _plan_subscriptions,
    }[kind]
    resolve(plan, parsed, actor=actor, default_owner=default_owner)
    for row in plan.rows:
        if row.errors:
            row.action = "error"
    if plan.has_errors:
        plan.creates, plan.updates, plan.tags = [], [], []
    return plan


def _check_header(plan: ImportPlan, line: int) -> bool:
    known = {c.name for c in COLUMNS[plan.kind]}
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
                    % {"column": name, "known": ", ".join(c.name for c in COLUMNS[plan.kind])},
                )
            )
            ok = False
    for column in COLUMNS[plan.kind]:
        if column.required and column.name not in seen:
            plan.file_errors.append(
                (line, _("Required column “%(column)s” is missing.") % {"column": column.name})
            )
            ok = False
    one_of = _ONE_OF.get(plan.kind)
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


def _chunks(values: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _accounts_by(field_name: str, values: Iterable[str]) -> dict[str, list[Account]]:
    found: dict[str, list[Account]] = defaultdict(list)
    wanted = sorted(set(values))
    for chunk in _chunks(wanted):
        for account in Account.objects.filter(**{f"{field_name}__in": chunk}):
            found[getattr(account, field_name)].append(account)
    return found


def _users_by_login(values: Iterable[str]) -> dict[str, list[User]]:
    """Lower-cased username or email → active users that match it."""
    wanted = sorted({v.lower() for v in values if v})
    found: dict[str, list[User]] = defaultdict(list)
    for chunk in _chunks(wanted):
        users = User.objects.annotate(u=Lower("username"), e=Lower("email")).filter(
            models.Q(u__in=chunk) | models.Q(e__in=chunk), is_active=True
        )
        for user in users:
            if user.u in chunk:  # type: ignore[attr-defined]
                found[user.u].append(user)  # type: ignore[attr-defined]
            if user.e and user.e in chunk and user.e != user.u:  # type: ignore[attr-defined]
                found[user.e].append(user)  # type: ignore[attr-defined]
    return found


def _is_restricted(actor: User | None) -> bool:
    """Is the actor limited to their own accounts (a CSM)?"""
    return actor is not None and actor.role not in (Role.ADMIN, Role.CS_LEAD)


def _model_errors(row: RowResult, instance: models.Model, exclude: list[str]) -> None:
    try:
        instance.clean_fields(exclude=exclude)
        instance.clean()
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            for message in messages:
                row.fail(f"{name}: {message}")


# Accounts -------------------------------------------------------------------------------

_ACCOUNT_FIELDS = (
    "name",
    "domain",
    "industry",
    "country",
    "currency",
    "tier",
    "touch_model",
    "business_model",
    "lifecycle_stage",
    "status",
    "customer_since",
    "churned_at",
    "years_in_business",
    "single_decision_maker",
    "next_tier_price_threshold",
)


def _plan_accounts(
    plan: ImportPlan,
    parsed: list[tuple[RowResult, dict[str, Any], set[str]]],
    *,
    actor: User | None,
    default_owner: User | None,
) -> None:
    today = timezone.localdate()
    existing = _accounts_by(
        "external_id", (d["external_id"] for _r, d, _p in parsed if d["external_id"])
    )
    users = _users_by_login(d["owner"] for _r, d, _p in parsed)
    restricted = _is_restricted(actor)
    first_line: dict[str, int] = {}
    for row, data, present in parsed:
        ext = data["external_id"] or None
        if ext:
            if ext in first_line:
                row.fail(
                    _("external_id “%(id)s” already appears on line %(line)d.")
                    % {"id": ext, "line": first_line[ext]}
                )
                continue
            first_line[ext] = row.line
        owner: User | None = None
        if data["owner"]:
            matches = users.get(data["owner"].lower(), [])
            if not matches:
                row.fail(_("owner: no active user “%(owner)s”.") % {"owner": data["owner"]})
                continue
            if len(matches) > 1:
                row.fail(
                    _("owner: “%(owner)s” matches several users; use the username.")
                    % {"owner": data["owner"]}
                )
                continue
            owner = matches[0]
        account = existing[ext][0] if ext and ext in existing else None
        if account is not None:
            if restricted and not can_edit_owned(actor, account.owner_id):
                row.fail(
                    _(
                        "Account “%(name)s” belongs to someone else; you may import only accounts you own."
                    )
                    % {"name": account.name}
                )
                continue
            if restricted and owner is not None and owner != actor:
                row.fail(_("owner: only a CS Lead can assign accounts to someone else."))
                continue
            row.action = "update"
            for name in _ACCOUNT_FIELDS:
                if name in present:
                    setattr(account, name, data[name])
                    plan.update_fields.add(name)
            if owner is not None:
                account.owner = owner
                plan.update_fields.add("owner")
        else:
            if restricted:
                if owner is not None and owner != actor:
                    row.fail(_("owner: a CSM's new accounts are their own; leave owner empty."))
                    continue
                owner = actor
            row.action = "create"
            account = Account(
                external_id=ext,
                owner=owner or default_owner,
                **{n: data[n] for n in _ACCOUNT_FIELDS if n in present},
            )
            if account.status != AccountStatus.TRIAL and account.customer_since is None:
                account.customer_since = today
        if account.status == AccountStatus.CHURNED and account.churned_at is None:
            account.churned_at = today
            if row.action == "update":
                plan.update_fields.add("churned_at")
        _model_errors(row, account, exclude=["owner", "parent"])
        if row.errors:
            continue
        row.label = account.name
        if account.owner is not None:
            row.values["owner"] = account.owner.username
        (plan.updates if row.action == "update" else plan.creates).append(account)
        tags = [t.strip()[:64] for t in data["tags"].split(";") if t.strip()]
        if tags:
            plan.tags.append((account, tags))


# Contacts and subscriptions: which account a row is for ---------------------------------


def _resolve_accounts(
    plan: ImportPlan,
    parsed: list[tuple[RowResult, dict[str, Any], set[str]]],
    actor: User | None,
) -> list[tuple[RowResult, dict[str, Any], set[str], Account]]:
    by_ext = _accounts_by(
        "external_id",
        (d["account_external_id"] for _r, d, _p in parsed if d["account_external_id"]),
    )
    by_name = _accounts_by(
        "name",
        (
            d["account_name"]
            for _r, d, _p in parsed
            if d["account_name"] and not d["account_external_id"]
        ),
    )
    restricted = _is_restricted(actor)
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


_CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "department",
    "power_role",
    "is_primary",
    "birthday",
    "anniversary",
)


def _plan_contacts(
    plan: ImportPlan,
    parsed: list[tuple[RowResult, dict[str, Any], set[str]]],
    *,
    actor: User | None,
    default_owner: User | None,
) -> None:
    resolved = _resolve_accounts(plan, parsed, actor)
    keys = [(acc.pk, d["email"]) for _r, d, _p, acc in resolved if d["email"]]
    existing: dict[tuple[int, str], Contact] = {}
    for chunk in _chunks(sorted(set(keys))):
        account_ids = {a for a, _e in chunk}
        emails = {e for _a, e in chunk}
        for contact in Contact.objects.filter(account_id__in=account_ids, email__in=emails):
            existing[(contact.account_id, contact.email)] = contact
    seen_email: dict[tuple[int, str], int] = {}
    primary_line: dict[int, int] = {}
    planned: list[tuple[RowResult, Contact, bool]] = []
    for row, data, present, account in resolved:
        key = (account.pk, data["email"])
        if data["email"]:
            if key in seen_email:
                row.fail(
                    _("Contact %(email)s at this account already appears on line %(line)d.")
                    % {"email": data["email"], "line": seen_email[key]}
                )
                continue
            seen_email[key] = row.line
        if data["is_primary"]:
            if account.pk in primary_line:
                row.fail(
                    _("Line %(line)d already names the primary contact of “%(name)s”.")
                    % {"line": primary_line[account.pk], "name": account.name}
                )
                continue
            primary_line[account.pk] = row.line
        contact = existing.get(key) if data["email"] else None
        fields = {n: data[n] for n in _CONTACT_FIELDS if n in present}
        if "is_primary" in fields and fields["is_primary"] is None:
            del fields["is_primary"]
        if contact is not None:
            row.action = "update"
            for name, value in fields.items():
                setattr(contact, name, value)
                plan.update_fields.add(name)
        else:
            row.action = "create"
            contact = Contact(account=account, **fields)
        _model_errors(row, contact, exclude=["account"])
        if row.errors:
            continue
        row.label = f"{contact} · {account.name}"
        planned.append((row, contact, bool(data["is_primary"])))
    plan.primary_account_ids = set(primary_line)
    for row, contact, primary in planned:
        stepping_down = contact.account_id in plan.primary_account_ids and not primary
        if stepping_down and contact.is_primary:
            # The file names another primary for this account; this one steps down.
            contact.is_primary = False
            plan.update_fields.add("is_primary")
        (plan.updates if row.action == "update" else plan.creates).append(contact)


def _plan_subscriptions(
    plan: ImportPlan,
    parsed: list[tuple[RowResult, dict[str, Any], set[str]]],
    *,
    actor: User | None,
    default_owner: User | None,
) -> None:
    for row, data, _present, account in _resolve_accounts(plan, parsed, actor):
        sub = Subscription(
            account=account,
            plan_name=data["plan_name"],
            product=data["product"],
            quantity=1 if data["quantity"] is None else data["quantity"],
            unit_price=data["unit_price"],
            discount_type=data["discount_type"] or DiscountType.NONE,
            discount_value=data["discount_value"] or Decimal("0"),
            billing_period=data["billing_period"],
            billing_period_months=data["billing_period_months"]
            or BillingPeriod(data["billing_period"]).months
            or 1,
            currency=data["currency"] or account.currency,
            one_time_fees=data["one_time_fees"] or Decimal("0"),
            signed_on=data["signed_on"],
            start_date=data["start_date"],
            end_date=data["end_date"],
            notice_period_days=30
            if data["notice_period_days"] is None
            else data["notice_period_days"],
            auto_renew=True if data["auto_renew"] is None else data["auto_renew"],
            status=data["status"] or SubscriptionStatus.ACTIVE,
        )
        if data["discount_type"] == DiscountType.AMOUNT and sub.discount_value > sub.gross_amount:
            row.fail(_("discount_value: the discount is larger than the amount."))
            continue
        _model_errors(row, sub, exclude=["account", "mrr"])
        if row.errors:
            continue
        sub.mrr = services.subscription_mrr(
            unit_price=sub.unit_price,
            quantity=sub.quantity,
            discount_type=sub.discount_type,
            discount_value=sub.discount_value,
            billing_period=sub.billing_period,
            billing_period_months=sub.billing_period_months,
        )
        row.action = "create"
        row.label = f"{sub.plan_name} · {account.name}"
        row.values["mrr"] = f"{sub.mrr:.2f} {sub.currency}"
        plan.creates.append(sub)


# Apply ----------------------------------------------------------------------------------


@dataclass
class ImportSummary:
    created: int
    updated: int
    accounts: int


def import_apply(
    *, plan: ImportPlan, actor: User | None, job: ImportJob | None = None
) -> ImportSummary:
    """Write a plan without errors, all or nothing."""
    if plan.has_errors:
        raise ImportRejected(_("The file has errors; nothing was imported."), plan)
    now = timezone.now()
    with transaction.atomic():
        if plan.kind == ImportKind.ACCOUNTS:
            account_ids = _apply_accounts(plan, now)
            subject = _("Imported from CSV")
        elif plan.kind == ImportKind.CONTACTS:
            account_ids = _apply_contacts(plan)
            subject = _("Contacts imported from CSV")
        else:
            subs: list[Subscription] = []
            # In slices: each call refreshes its accounts with one IN (...) list, which must
            # stay under SQLite's variable limit.
            for chunk in _chunks(plan.creates, 5000):
                subs += services.subscriptions_bulk_create(
                    subscriptions=chunk,  # type: ignore[arg-type]
                    batch_size=BATCH,
                )
            account_ids = sorted({s.account_id for s in subs})
            subject = _("Subscriptions imported from CSV")
        # One timeline entry per account touched, written in bulk.
        metadata = {"import_job": job.pk} if job is not None else {}
        Activity.objects.bulk_create(
            [
                Activity(
                    account_id=account_id,
                    kind=ActivityKind.SYSTEM,
                    author=actor,
                    occurred_at=now,
                    subject=subject,
                    summary=job.filename if job is not None else "",
                    source="accounts",
                    metadata=metadata,
                )
                for account_id in account_ids
            ],
            batch_size=BATCH,
        )
        if job is not None:
            job.status = ImportStatus.COMMITTED
            job.committed_at = now
            job.report = plan.report()
            job.save(update_fields=["status", "committed_at", "report"])
    return ImportSummary(
        created=len(plan.creates), updated=len(plan.updates), accounts=len(account_ids)
    )


def _apply_accounts(plan: ImportPlan, now: Any) -> list[int]:
    created = Account.objects.bulk_create(plan.creates, batch_size=BATCH)  # type: ignore[arg-type]
    if plan.updates:
        for account in plan.updates:
            account.updated_at = now  # type: ignore[attr-defined]
        Account.objects.bulk_update(
            plan.updates,  # type: ignore[arg-type]
            sorted(plan.update_fields | {"updated_at"}),
            batch_size=BATCH,
        )
    if plan.tags:
        names = sorted({n for _a, tags in plan.tags for n in tags})
        Tag.objects.bulk_create([Tag(name=n) for n in names], ignore_conflicts=True)
        tag_ids = dict(Tag.objects.filter(name__in=names).values_list("name", "pk"))
        Account.tags.through.objects.bulk_create(
            [
                Account.tags.through(account_id=account.pk, tag_id=tag_ids[n])
                for account, tags in plan.tags
                for n in set(tags)
            ],
            ignore_conflicts=True,
            batch_size=BATCH,
        )
    return [a.pk for a in created] + [a.pk for a in plan.updates]


def _apply_contacts(plan: ImportPlan) -> list[int]:
    ids = sorted(plan.primary_account_ids)
    for chunk in _chunks(ids):
        # One primary contact per account: the file's primary replaces the current one
        # (contacts the file updates get their is_primary from the bulk update below).
        Contact.objects.filter(account_id__in=chunk, is_primary=True).update(is_primary=False)
    Contact.objects.bulk_create(plan.creates, batch_size=BATCH)  # type: ignore[arg-type]
    if plan.updates and plan.update_fields:
        Contact.objects.bulk_update(
            plan.updates,  # type: ignore[arg-type]
            sorted(plan.update_fields),
            batch_size=BATCH,
        )
    return sorted({c.account_id for c in [*plan.creates, *plan.updates]})  # type: ignore[attr-defined]


# Jobs -----------------------------------------------------------------------------------


def import_job_create(*, kind: str, filename: str, raw: bytes, actor: User | None) -> ImportJob:
    """Check an uploaded file and keep it with its report for preview (and later commit)."""
    content, error, line = import_decode(raw=raw)
    if content is None:
        plan = ImportPlan(kind=ImportKind(kind), file_errors=[(line, error or "")])
    else:
        plan = import_plan(kind=kind, content=content, actor=actor)
    return ImportJob.objects.create(
        kind=kind,
        uploaded_by=actor,
        filename=filename[:255],
        content=content or "",
        status=ImportStatus.INVALID if plan.has_errors else ImportStatus.PREVIEWED,
        row_count=len(plan.rows),
        report=plan.report(),
    )


def import_job_commit(*, job: ImportJob, actor: User | None) -> ImportSummary:
    """Commit a previewed job: re-check it against the data as it is now, then write it all.

    Raises ImportRejected, writing nothing, if the job has errors (then or now) or was
    already committed. A job that went bad since its preview keeps its new report.
    """
    with transaction.atomic():
        # The lock makes a double-clicked commit wait, then find the job committed.
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status == ImportStatus.COMMITTED:
            raise ImportRejected(_("This file was already imported."))
        if job.status != ImportStatus.PREVIEWED:
            raise ImportRejected(_("The file has errors; fix them and upload it again."))
        plan = import_plan(kind=job.kind, content=job.content, actor=actor)
        if not plan.has_errors:
            return import_apply(plan=plan, actor=actor, job=job)
        job.status = ImportStatus.INVALID
        job.report = plan.report()
        job.save(update_fields=["status", "report"])
    raise ImportRejected(
        _("The data changed since the preview and the file now has errors; nothing was imported."),
        plan,
    )
