"""CSV import of accounts, contacts and subscriptions: validate every row, then all or nothing.

The flow is plan → (preview) → apply. `import_plan` parses and checks the whole file with a
bounded number of queries (lookups are batched, never one per row) and returns what it
would create or update with per-row errors; `import_apply` writes a plan without errors in
one transaction with bulk_create/bulk_update. A stored ImportJob is re-planned inside the
commit transaction, so a file that became wrong since its preview (an account deleted, an
external id taken) is rejected rather than half-written. The reading, the report and the
job's life are shared with the other CSV imports (accounts.csv_import).

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

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
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
    SubscriptionStatus,
)
from accounts.csv_import import (
    ACCOUNT_REF,
    ACCOUNT_REF_COLUMNS,
    BATCH,
    Column,
    ImportPlan,
    ImportRejected,
    ImportSummary,
    Parsed,
    RowResult,
    accounts_by,
    accounts_resolve,
    chunks,
    external_id_repeated,
    file_plan,
    import_decode,
    is_restricted,
    job_commit,
    job_create,
    plan_apply,
    plan_build,
    template_csv,
)
from accounts.forms_import import ROW_FORMS
from accounts.models import Account, Activity, Contact, ImportJob, Subscription, Tag
from csplatform.models import User
from csplatform.roles import can_edit_owned

__all__ = [
    "COLUMNS",
    "AccountsImportPlan",
    "Column",
    "ImportPlan",
    "ImportRejected",
    "ImportSummary",
    "import_apply",
    "import_decode",
    "import_job_commit",
    "import_job_create",
    "import_plan",
    "import_template_csv",
]


# Columns --------------------------------------------------------------------------------

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
        *ACCOUNT_REF_COLUMNS,
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
        *ACCOUNT_REF_COLUMNS,
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
    ImportKind.CONTACTS: ACCOUNT_REF,
    ImportKind.SUBSCRIPTIONS: ACCOUNT_REF,
}


def import_template_csv(*, kind: str) -> str:
    """A CSV with every column of `kind` and one example row."""
    return template_csv(COLUMNS[ImportKind(kind)])


# Plan -----------------------------------------------------------------------------------


@dataclass
class AccountsImportPlan(ImportPlan):
    # account instance → tag names to add (accounts kind)
    tags: list[tuple[Account, list[str]]] = field(default_factory=list)
    # accounts that get a primary contact from the file (contacts kind)
    primary_account_ids: set[int] = field(default_factory=set)

    def discard_writes(self) -> None:
        super().discard_writes()
        self.tags = []


def import_plan(
    *,
    kind: str,
    content: str,
    actor: User | None,
    default_owner: User | None = None,
    progress: Callable[[int], None] | None = None,
) -> AccountsImportPlan:
    """Check every row of a CSV and work out what importing it would do. Writes nothing.

    `actor` None means an operator at the command line (no ownership limits).
    """
    kind = ImportKind(kind)
    plan = AccountsImportPlan(kind=kind)
    resolve = {
        ImportKind.ACCOUNTS: _plan_accounts,
        ImportKind.CONTACTS: _plan_contacts,
        ImportKind.SUBSCRIPTIONS: _plan_subscriptions,
    }[kind]
    return plan_build(
        plan=plan,
        content=content,
        form_class=ROW_FORMS[kind],
        columns=COLUMNS[kind],
        one_of=_ONE_OF.get(kind, ()),
        resolve=lambda parsed: resolve(plan, parsed, actor=actor, default_owner=default_owner),
        progress=progress,
    )


def _users_by_login(values: Iterable[str]) -> dict[str, list[User]]:
    """Lower-cased username or email → active users that match it."""
    wanted = sorted({v.lower() for v in values if v})
    found: dict[str, list[User]] = defaultdict(list)
    for chunk in chunks(wanted):
        users = User.objects.annotate(u=Lower("username"), e=Lower("email")).filter(
            models.Q(u__in=chunk) | models.Q(e__in=chunk), is_active=True
        )
        for user in users:
            if user.u in chunk:  # type: ignore[attr-defined]
                found[user.u].append(user)  # type: ignore[attr-defined]
            if user.e and user.e in chunk and user.e != user.u:  # type: ignore[attr-defined]
                found[user.e].append(user)  # type: ignore[attr-defined]
    return found


def _model_errors(row: RowResult, instance: models.Model, exclude: list[str]) -> None:
    try:
        instance.clean_fields(exclude=exclude)
        instance.clean()
    except ValidationError as exc:
        row.fail_fields(exc.message_dict)


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
    plan: AccountsImportPlan,
    parsed: list[Parsed],
    *,
    actor: User | None,
    default_owner: User | None,
) -> None:
    today = timezone.localdate()
    existing = accounts_by(
        "external_id", (d["external_id"] for _r, d, _p in parsed if d["external_id"])
    )
    users = _users_by_login(d["owner"] for _r, d, _p in parsed)
    restricted = is_restricted(actor)
    first_line: dict[str, int] = {}
    for row, data, present in parsed:
        ext = data["external_id"] or None
        if ext and external_id_repeated(row, ext, first_line):
            continue
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
        plan.add(row, account)
        tags = [t.strip()[:64] for t in data["tags"].split(";") if t.strip()]
        if tags:
            plan.tags.append((account, tags))


# Contacts and subscriptions ---------------------------------------------------------------

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
    plan: AccountsImportPlan,
    parsed: list[Parsed],
    *,
    actor: User | None,
    default_owner: User | None,
) -> None:
    resolved = accounts_resolve(parsed, actor=actor)
    keys = [(acc.pk, d["email"]) for _r, d, _p, acc in resolved if d["email"]]
    existing: dict[tuple[int, str], Contact] = {}
    for chunk in chunks(sorted(set(keys))):
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
        plan.add(row, contact)


def _plan_subscriptions(
    plan: AccountsImportPlan,
    parsed: list[Parsed],
    *,
    actor: User | None,
    default_owner: User | None,
) -> None:
    for row, data, _present, account in accounts_resolve(parsed, actor=actor):
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


def import_apply(
    *, plan: AccountsImportPlan, actor: User | None, job: ImportJob | None = None
) -> ImportSummary:
    """Write a plan without errors, all or nothing."""
    now = timezone.now()

    def write() -> list[int]:
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
            for chunk in chunks(plan.creates, 5000):
                subs += services.subscriptions_bulk_create(
                    subscriptions=chunk,  # type: ignore[arg-type]
                    batch_size=BATCH,
                )
            account_ids = sorted({s.account_id for s in subs})
            subject = _("Subscriptions imported from CSV")
        # One timeline entry per account touched, written in bulk.
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
                    metadata={"import_job": job.pk} if job is not None else {},
                )
                for account_id in account_ids
            ],
            batch_size=BATCH,
        )
        return account_ids

    return plan_apply(plan=plan, job=job, write=write, now=now)


def _apply_accounts(plan: AccountsImportPlan, now: datetime) -> list[int]:
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


def _apply_contacts(plan: AccountsImportPlan) -> list[int]:
    ids = sorted(plan.primary_account_ids)
    for chunk in chunks(ids):
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
    content, plan = file_plan(
        raw=raw,
        kind=kind,
        plan=lambda content: import_plan(kind=kind, content=content, actor=actor),
    )
    return job_create(
        model=ImportJob, plan=plan, content=content, filename=filename, actor=actor, kind=kind
    )


def import_job_commit(*, job: ImportJob, actor: User | None) -> ImportSummary:
    """Commit a previewed job: re-check it against the data as it is now, then write it all.

    Raises ImportRejected, writing nothing, if the job has errors (then or now) or was
    already committed. A job that went bad since its preview keeps its new report.
    """
    return job_commit(
        job=job,
        replan=lambda job: import_plan(kind=job.kind, content=job.content, actor=actor),
        write=lambda plan, job: import_apply(plan=plan, actor=actor, job=job),
    )
