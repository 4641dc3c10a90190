"""CSV import: good files write the right rows, any bad row writes nothing, roles are enforced."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import importers
from accounts.choices import ActivityKind, BillingPeriod, ImportStatus, PowerRole, Tier
from accounts.models import Account, Activity, Contact, ImportJob, Subscription, Tag
from accounts.tests.factories import AccountFactory, ContactFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    # The personas are created with a password; a fast hash keeps these tests quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run(kind: str, text: str | bytes, actor=None, **kwargs) -> importers.ImportPlan:
    raw = text.encode() if isinstance(text, str) else text
    content, error, line = importers.import_decode(raw=raw)
    if content is None:
        return importers.ImportPlan(kind=kind, file_errors=[(line, error)])
    return importers.import_plan(kind=kind, content=content, actor=actor, **kwargs)


def commit(kind: str, text: str | bytes, actor=None, **kwargs) -> importers.ImportPlan:
    plan = run(kind, text, actor, **kwargs)
    assert not plan.has_errors, plan.report()["errors"]
    importers.import_apply(plan=plan, actor=actor)
    return plan


def counts() -> tuple[int, ...]:
    return (
        Account.objects.count(),
        Contact.objects.count(),
        Subscription.objects.count(),
        Activity.objects.count(),
        Tag.objects.count(),
    )


def error_lines(plan: importers.ImportPlan) -> dict[int | None, list[str]]:
    out: dict[int | None, list[str]] = {}
    for e in plan.report()["errors"]:
        out.setdefault(e["line"], []).append(e["message"])
    return out


@pytest.fixture
def accounts_imported(alice, bob):
    commit("accounts", (DATA / "accounts_good.csv").read_bytes())
    return {a.external_id: a for a in Account.objects.all()}


# Good files ----------------------------------------------------------------------------


def test_accounts_file_creates_accounts_with_owners_tags_and_a_timeline_entry(alice, bob):
    plan = commit("accounts", (DATA / "accounts_good.csv").read_bytes())
    assert plan.counts == {"rows": 3, "create": 3, "update": 0, "error": 0}
    northwind = Account.objects.get(external_id="CRM-1")
    assert northwind.owner == alice
    assert northwind.tier == Tier.MID_MARKET  # written as its label "Mid-market"
    assert northwind.country == "US"  # upper-cased
    assert str(northwind.customer_since) == "2023-04-01"
    assert set(northwind.tags.values_list("name", flat=True)) == {"strategic", "beta"}
    assert Account.objects.get(external_id="CRM-2").owner == bob  # owner by email
    fabrikam = Account.objects.get(name="Fabrikam Ltd")
    assert fabrikam.external_id is None and fabrikam.owner is None
    assert fabrikam.customer_since is None  # a trial is not a customer yet
    assert Activity.objects.filter(kind=ActivityKind.SYSTEM).count() == 3


def test_accounts_upsert_on_external_id_and_empty_cells_keep_values(accounts_imported, lead):
    text = "external_id,name,industry,tier,owner\nCRM-1,Northwind Traders Inc.,,enterprise,lead\n"
    plan = commit("accounts", text)
    assert plan.counts["update"] == 1 and plan.counts["create"] == 0
    northwind = Account.objects.get(external_id="CRM-1")
    assert northwind.name == "Northwind Traders Inc."
    assert northwind.tier == Tier.ENTERPRISE
    assert northwind.industry == "Retail"  # empty cell: unchanged
    assert northwind.owner == lead
    assert Account.objects.count() == 3


def test_contacts_file_creates_contacts_with_one_primary_per_account(accounts_imported):
    old_primary = ContactFactory(account=accounts_imported["CRM-1"], is_primary=True)
    plan = commit("contacts", (DATA / "contacts_good.csv").read_bytes())
    assert plan.counts == {"rows": 3, "create": 3, "update": 0, "error": 0}
    ada = Contact.objects.get(email="ada@northwind.example")
    assert ada.account.external_id == "CRM-1"
    assert ada.power_role == PowerRole.EXECUTIVE_SPONSOR and ada.is_primary
    assert str(ada.birthday) == "1985-12-10"
    old_primary.refresh_from_db()
    assert not old_primary.is_primary
    grace = Contact.objects.get(email="grace@contoso.example")  # found by account name
    assert grace.account.external_id == "CRM-2"


def test_contacts_upsert_on_account_and_email(accounts_imported):
    commit("contacts", (DATA / "contacts_good.csv").read_bytes())
    plan = commit(
        "contacts",
        "account_external_id,first_name,email,title\nCRM-1,Ada,ada@northwind.example,COO\n",
    )
    assert plan.counts["update"] == 1
    ada = Contact.objects.get(email="ada@northwind.example")
    assert ada.title == "COO" and ada.last_name == "Lovelace" and ada.is_primary


def test_subscriptions_file_creates_lines_with_mrr_and_refreshes_the_accounts(accounts_imported):
    plan = commit("subscriptions", (DATA / "subscriptions_good.csv").read_bytes())
    assert plan.counts == {"rows": 3, "create": 3, "update": 0, "error": 0}
    subs = {s.product + s.account.external_id: s for s in Subscription.objects.all()}
    platform = subs["PlatformCRM-1"]
    assert platform.mrr == Decimal("1000.0000")  # 10 × 1,200 a year
    assert platform.one_time_fees == Decimal("2500.00")  # never in MRR
    assert platform.notice_period_days == 60
    assert subs["Analytics add-onCRM-1"].mrr == Decimal("90.0000")  # 300 − 10 %, a quarter
    custom = subs["PlatformCRM-2"]
    assert custom.billing_period == BillingPeriod.CUSTOM and custom.billing_period_months == 18
    assert custom.mrr == Decimal("166.6667")  # (3,600 − 600) ÷ 18
    assert custom.currency == "EUR" and custom.auto_renew is False
    assert Account.objects.get(external_id="CRM-1").mrr == Decimal("1090.0000")
    assert Account.objects.get(external_id="CRM-2").mrr == Decimal("166.6667")
    assert str(Account.objects.get(external_id="CRM-1").renewal_date) == "2099-12-31"


def test_semicolon_separated_files_with_bom_and_crlf_are_read():
    text = "\ufeffname;tier;country\r\nA; smb ;fr\r\nB;enterprise;DE\r\n"
    plan = commit("accounts", text.encode("utf-8"))
    assert plan.counts["create"] == 2
    assert Account.objects.get(name="A").country == "FR"


def test_template_csv_of_every_kind_imports_cleanly(lead):
    commit("accounts", importers.import_template_csv(kind="accounts").replace(",alice,", ",lead,"))
    commit("contacts", importers.import_template_csv(kind="contacts"))
    commit("subscriptions", importers.import_template_csv(kind="subscriptions"))
    assert Subscription.objects.get().mrr == Decimal("1125.0000")  # 25 × 600 − 10 % ÷ 12


# Bad files -----------------------------------------------------------------------------

ACCOUNTS_HEADER = "external_id,name,tier,customer_since,status\n"


@pytest.mark.parametrize(
    ("kind", "text", "line", "fragment"),
    [
        ("accounts", ACCOUNTS_HEADER + "X1,A,smb,2024-01-01,active\nX2,B,smb,01/02/2024,active\n", 3, "YYYY-MM-DD"),
        ("accounts", ACCOUNTS_HEADER + "X1,A,gigantic,2024-01-01,active\n", 2, "“gigantic” is not one of"),
        ("accounts", "external_id,tier\nX1,smb\n", 1, "Required column “name” is missing"),
        ("accounts", "name,colour\nA,red\n", 1, "Unknown column “colour”"),
        ("accounts", ACCOUNTS_HEADER + "X1,A,smb,,active\nX1,B,smb,,active\n", 3, "already appears on line 2"),
        ("accounts", ACCOUNTS_HEADER + "X1,A,smb,,active,extra\n", 2, "Expected 5 cells, found 6"),
        ("accounts", "name,owner\nA,nobody\n", 2, "no active user “nobody”"),
        ("contacts", "account_external_id,first_name\nNOPE,Ann\n", 2, "No account with external_id “NOPE”"),
        ("contacts", "account_name,first_name\nNobody Inc,Ann\n", 2, "No account named “Nobody Inc”"),
        ("contacts", "account_external_id,first_name,email\nE1,Ann,not-an-email\n", 2, "email:"),
        ("contacts", "first_name\nAnn\n", 1, "account_external_id or account_name"),
        ("subscriptions", "account_external_id,plan_name,unit_price,billing_period,start_date\nE1,Pro,-5,monthly,2025-01-01\n", 2, "greater than or equal to 0"),
        ("subscriptions", "account_external_id,plan_name,unit_price,billing_period,start_date\nE1,Pro,abc,monthly,2025-01-01\n", 2, "unit_price"),
        ("subscriptions", "account_external_id,plan_name,unit_price,billing_period,start_date\nE1,Pro,10,custom,2025-01-01\n", 2, "every N months"),
        ("subscriptions", "account_external_id,plan_name,unit_price,billing_period,start_date,end_date\nE1,Pro,10,monthly,2025-01-01,2024-01-01\n", 2, "before the start date"),
        ("subscriptions", "account_external_id,plan_name,unit_price,billing_period,start_date,discount_type,discount_value\nE1,Pro,10,monthly,2025-01-01,percent,150\n", 2, "cannot exceed 100"),
        ("subscriptions", "account_external_id,plan_name,unit_price,billing_period,start_date,status\nE1,Pro,10,monthly,2025-01-01,cancelled\n", 2, "needs the day it ends"),
    ],
)  # fmt: skip
def test_a_bad_file_reports_the_line_and_changes_nothing(kind, text, line, fragment):
    AccountFactory(external_id="E1")
    before = counts()
    plan = run(kind, text)
    assert plan.has_errors
    messages = error_lines(plan)
    assert line in messages, messages
    assert any(fragment in m for m in messages[line]), messages
    with pytest.raises(importers.ImportRejected):
        importers.import_apply(plan=plan, actor=None)
    assert counts() == before


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "empty"),
        (b"\n\n  \n", "empty"),
        (b"name,tier\n", "header but no rows"),
        ("name\nCaf\u00e9 A\n".encode("latin-1"), "not UTF-8 text (byte 0xe9 at line 2)"),
    ],
)
def test_empty_and_non_utf8_files_are_rejected(raw, fragment):
    plan = run("accounts", raw)
    assert plan.has_errors
    assert any(fragment in e["message"] for e in plan.report()["errors"])


def test_too_many_rows_are_rejected_before_checking_them(settings):
    settings.CSV_IMPORT_MAX_ROWS = 5
    plan = run("accounts", "name\n" + "".join(f"A{i}\n" for i in range(6)))
    assert any("at most 5" in e["message"] for e in plan.report()["errors"])
    assert plan.rows == []
    assert run("accounts", "name\n" + "".join(f"A{i}\n" for i in range(5))).has_errors is False


def test_an_error_in_the_last_row_rolls_back_the_whole_file():
    rows = "".join(f"X{i},Account {i},smb\n" for i in range(200))
    before = counts()
    plan = run("accounts", "external_id,name,tier\n" + rows + "X999,Last,huge\n")
    assert [r.line for r in plan.row_errors] == [202]
    assert plan.counts["create"] == 200  # the good rows were planned ...
    with pytest.raises(importers.ImportRejected):
        importers.import_apply(plan=plan, actor=None)
    assert counts() == before  # ... and none was written


def test_a_job_that_went_bad_since_its_preview_is_not_committed(alice):
    account = AccountFactory(external_id="E1", owner=alice)
    job = importers.import_job_create(
        kind="subscriptions",
        filename="subs.csv",
        raw=b"account_external_id,plan_name,unit_price,billing_period,start_date\nE1,Pro,10,monthly,2025-01-01\n",
        actor=alice,
    )
    assert job.status == ImportStatus.PREVIEWED
    account.delete()
    with pytest.raises(importers.ImportRejected):
        importers.import_job_commit(job=job, actor=alice)
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert "E1" in job.report["errors"][0]["message"]
    assert Subscription.objects.count() == 0


# Ownership -----------------------------------------------------------------------------


def test_a_csm_imports_only_their_own_accounts_and_new_ones_become_theirs(alice, bob):
    AccountFactory(external_id="BOB-1", owner=bob, name="Bob's")
    AccountFactory(external_id="ALICE-1", owner=alice, name="Alice's")
    AccountFactory(external_id="NOBODY-1", owner=None)
    plan = run(
        "accounts",
        "external_id,name,owner\nALICE-1,Alice's renamed,\nBOB-1,Hijack,\nNOBODY-1,Grab,\n"
        "NEW-1,New one,\nNEW-2,For Bob,bob\n",
        actor=alice,
    )
    lines = error_lines(plan)
    assert set(lines) == {3, 4, 6}
    assert "belongs to someone else" in lines[3][0]
    assert "leave owner empty" in lines[6][0]
    ok = run("accounts", "external_id,name\nALICE-1,Alice's renamed\nNEW-1,New one\n", actor=alice)
    importers.import_apply(plan=ok, actor=alice)
    assert Account.objects.get(external_id="NEW-1").owner == alice
    assert Account.objects.get(external_id="BOB-1").name == "Bob's"


def test_a_csm_cannot_add_contacts_or_subscriptions_to_other_owners_accounts(alice, bob):
    AccountFactory(external_id="BOB-1", owner=bob)
    plan = run("contacts", "account_external_id,first_name\nBOB-1,Eve\n", actor=alice)
    assert "belongs to someone else" in error_lines(plan)[2][0]


def test_a_lead_may_import_for_any_account(lead, bob):
    AccountFactory(external_id="BOB-1", owner=bob)
    commit("contacts", "account_external_id,first_name\nBOB-1,Eve\n", actor=lead)
    assert Contact.objects.filter(account__external_id="BOB-1").count() == 1


# Speed ---------------------------------------------------------------------------------


def test_a_thousand_row_import_uses_a_bounded_number_of_queries(alice):
    rows = "".join(
        f"BULK-{i},Bulk {i},smb,{'alice' if i % 2 else 'alice@example.com'},a;b\n"
        for i in range(1000)
    )
    text = "external_id,name,tier,owner,tags\n" + rows
    with CaptureQueriesContext(connection) as ctx:
        commit("accounts", text)
    assert Account.objects.count() == 1000
    assert len(ctx.captured_queries) < 50, len(ctx.captured_queries)
    subs = "".join(f"BULK-{i},Pro,100,monthly,2025-01-01\n" for i in range(1000))
    with CaptureQueriesContext(connection) as ctx:
        commit(
            "subscriptions",
            "account_external_id,plan_name,unit_price,billing_period,start_date\n" + subs,
        )
    assert len(ctx.captured_queries) < 50, len(ctx.captured_queries)
    assert Account.objects.filter(mrr=Decimal("100")).count() == 1000


# Views ---------------------------------------------------------------------------------


def upload(client, kind: str, content: bytes, name: str = "file.csv"):
    return client.post(
        reverse("accounts:import"),
        {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="text/csv")},
    )


def test_upload_preview_and_commit_as_a_csm(alice, bob, client_for):
    client = client_for(alice)
    page = client.get(reverse("accounts:import"))
    assert page.status_code == 200
    assert b"account_external_id" in page.content  # columns are documented
    template = client.get(reverse("accounts:import") + "?template=subscriptions")
    assert template["Content-Type"].startswith("text/csv")
    assert template.content.decode().startswith("account_external_id,account_name,plan_name")

    response = upload(client, "accounts", (DATA / "accounts_good.csv").read_bytes())
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:import_preview", args=[job.pk])
    assert Account.objects.count() == 0  # the upload writes nothing but the job
    preview = client.get(response["Location"])
    assert preview.status_code == 200
    # CRM-2 names bob as owner: a CSM cannot give accounts to someone else.
    assert job.status == ImportStatus.INVALID
    assert "leave owner empty" in preview.content.decode()
    assert b"import-commit" not in preview.content
    assert client.post(reverse("accounts:import_commit", args=[job.pk])).status_code == 302
    assert Account.objects.count() == 0

    good = b"external_id,name,tier\nA-1,Alpha,smb\nA-2,Beta,enterprise\n"
    response = upload(client, "accounts", good, "good.csv")
    job = ImportJob.objects.get(filename="good.csv")
    preview = client.get(response["Location"]).content.decode()
    assert "Alpha" in preview and "import-commit" in preview
    response = client.post(reverse("accounts:import_commit", args=[job.pk]), follow=True)
    assert "2 created" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.COMMITTED and job.committed_at
    assert set(Account.objects.values_list("owner__username", flat=True)) == {"alice"}
    # A second commit (double click, back button) writes nothing more.
    client.post(reverse("accounts:import_commit", args=[job.pk]))
    assert Account.objects.count() == 2


def test_a_bad_upload_shows_line_numbers(alice, client_for):
    client = client_for(alice)
    response = upload(client, "accounts", b"name,tier\nA,smb\nB,huge\n")
    body = client.get(response["Location"]).content.decode()
    assert "<td>3</td>" in body and "huge" in body


def test_the_preview_of_someone_elses_upload_is_not_found(alice, bob, client_for):
    upload(client_for(alice), "accounts", b"name\nA\n")
    job = ImportJob.objects.get()
    bob_client = client_for(bob)
    assert bob_client.get(reverse("accounts:import_preview", args=[job.pk])).status_code == 404
    assert bob_client.post(reverse("accounts:import_commit", args=[job.pk])).status_code == 404
    assert Account.objects.count() == 0


def test_a_viewer_may_not_import(vic, client_for):
    client = client_for(vic)
    assert client.get(reverse("accounts:import")).status_code == 403
    assert upload(client, "accounts", b"name\nA\n").status_code == 403
    assert ImportJob.objects.count() == 0 and Account.objects.count() == 0


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("accounts:import"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    response = client.post(reverse("accounts:import_commit", args=[1]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_commit_needs_post(alice, client_for):
    client = client_for(alice)
    upload(client, "accounts", b"name\nA\n")
    job = ImportJob.objects.get()
    assert client.get(reverse("accounts:import_commit", args=[job.pk])).status_code == 405
    assert Account.objects.count() == 0


# Command -------------------------------------------------------------------------------


def command(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_csv", *args, "--no-progress", stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_command_checks_without_writing_then_commits(alice, bob, lead):
    path = str(DATA / "accounts_good.csv")
    code, out, _err = command("accounts", path)
    assert code == 0
    assert "line 2: create Northwind Traders" in out and "--commit" in out
    assert Account.objects.count() == 0
    code, out, _err = command("accounts", path, "--commit", "--owner", "lead")
    assert code == 0 and "3 created" in out
    assert Account.objects.get(name="Fabrikam Ltd").owner == lead  # --owner fills empty cells
    assert Account.objects.get(external_id="CRM-1").owner == alice
    assert ImportJob.objects.get().status == ImportStatus.COMMITTED


def test_command_with_a_bad_file_prints_every_error_and_exits_non_zero(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("external_id,name,tier\nX1,A,smb\nX2,B,huge\nX1,C,smb\n", encoding="utf-8")
    code, out, err = command("accounts", str(bad), "--commit")
    assert code == 1
    assert "line 2: create A" in out
    assert "line 3: ERROR" in out and "huge" in out
    assert "line 4: ERROR" in out and "already appears on line 2" in out
    assert "nothing was imported" in err
    assert Account.objects.count() == 0 and ImportJob.objects.count() == 0


def test_command_with_a_non_utf8_file(tmp_path):
    bad = tmp_path / "latin.csv"
    bad.write_bytes("name\nCaf\u00e9\n".encode("latin-1"))
    code, out, _err = command("accounts", str(bad), "--commit")
    assert code == 1 and "not UTF-8" in out
    assert Account.objects.count() == 0
