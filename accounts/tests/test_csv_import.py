"""The building blocks every CSV import shares: header checks, row checks, all-or-nothing
plans, and a stored job's commit (refusals, re-check, lock)."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import csv_import
from accounts.choices import ImportStatus
from accounts.csv_import import Column, ImportPlan, ImportRejected, RowResult
from accounts.models import ImportJob

pytestmark = pytest.mark.django_db

COLUMNS = (Column("name", True, "", "A"), Column("size", False, "", "1"))


class RowForm(forms.Form):
    name = forms.CharField()
    size = forms.IntegerField(required=False)

    def clean(self):
        data = super().clean()
        if data.get("name") == "forbidden":
            raise ValidationError("This row is not allowed.")
        return data


def build(content: str) -> ImportPlan:
    plan = ImportPlan(kind="things")

    def create_all(parsed):
        for row, data, _present in parsed:
            row.action = "create"
            plan.creates.append(data["name"])

    return csv_import.plan_build(
        plan=plan,
        content=content,
        form_class=RowForm,
        columns=COLUMNS,
        one_of=("name", "size"),
        resolve=create_all,
    )


def test_header_errors_are_all_reported_at_the_header_line():
    plan = build("\n\nname,colour,colour\nA,red,blue\n")
    assert {line for line, _m in plan.file_errors} == {3}
    messages = " ".join(m for _l, m in plan.file_errors)
    assert "“colour” appears twice" in messages and "Unknown column “colour”" in messages
    assert plan.rows == []


def test_missing_columns_and_the_one_of_rule():
    plan = csv_import.ImportPlan(kind="things", headers=["size"])
    assert not csv_import.header_check(plan, 1, COLUMNS, one_of=("name", "other"))
    messages = [m for _l, m in plan.file_errors]
    assert messages == [
        "Required column “name” is missing.",
        "The file needs a column name or other to say which account each row is for.",
    ]


def test_one_bad_row_keeps_every_row_checked_and_nothing_planned():
    plan = build("name,size\nA,1\nforbidden,2\nC,many\n")
    assert [(r.line, r.action) for r in plan.rows] == [(2, "create"), (3, "error"), (4, "error")]
    assert plan.rows[1].errors == ["This row is not allowed."]  # a whole-row message stands alone
    assert plan.rows[2].errors == ["size: Enter a whole number."]
    assert plan.creates == []
    assert plan.counts == {"rows": 3, "create": 1, "update": 0, "error": 2}


def test_a_row_the_resolver_fails_discards_the_plan():
    plan = ImportPlan(kind="things")

    def resolve(parsed):
        for row, data, _present in parsed:
            row.action = "create"
            plan.creates.append(data["name"])
        parsed[-1][0].fail("No such thing.")

    csv_import.plan_build(
        plan=plan, content="name\nA\nB\n", form_class=RowForm, columns=COLUMNS, resolve=resolve
    )
    assert plan.has_errors and plan.creates == []
    assert [r.action for r in plan.rows] == ["create", "error"]
    assert plan.report()["errors"] == [{"line": 3, "message": "No such thing."}]


def test_external_ids_repeated_in_a_file_fail_the_later_row():
    first_line: dict[str, int] = {}
    rows = [RowResult(line=2), RowResult(line=5)]
    assert not csv_import.external_id_repeated(rows[0], "X", first_line)
    assert csv_import.external_id_repeated(rows[1], "X", first_line)
    assert rows[1].errors == ["external_id “X” already appears on line 2."]


def test_a_plan_with_errors_writes_nothing():
    written = []
    plan = ImportPlan(kind="things", file_errors=[(None, "The file is empty.")])
    with pytest.raises(ImportRejected):
        csv_import.plan_apply(plan=plan, job=None, write=lambda: written.append(1) or [])
    assert written == []


# A stored job's commit ---------------------------------------------------------------------


def stored(status: str) -> ImportJob:
    return ImportJob.objects.create(
        kind="accounts", filename="f.csv", content="name\nA\n", status=status, report={}
    )


def good_plan(_job) -> ImportPlan:
    return ImportPlan(kind="accounts", rows=[RowResult(line=2, action="create")])


def bad_plan(_job) -> ImportPlan:
    return ImportPlan(kind="accounts", file_errors=[(2, "Gone since the preview.")])


def mark(plan, job) -> str:
    csv_import.job_mark_committed(job=job, report=plan.report())
    return "written"


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (ImportStatus.COMMITTED, "This file was already imported."),
        (ImportStatus.INVALID, "The file has errors; fix them and upload it again."),
    ],
)
def test_a_job_that_is_not_previewed_is_refused_without_a_check(status, message):
    def never(*_args):
        raise AssertionError("must not be called")

    with pytest.raises(ImportRejected) as refused:
        csv_import.job_commit(job=stored(status), replan=never, write=never)
    assert str(refused.value) == message


def test_a_previewed_job_is_checked_again_then_written_once():
    job = stored(ImportStatus.PREVIEWED)
    assert csv_import.job_commit(job=job, replan=good_plan, write=mark) == "written"
    job.refresh_from_db()
    assert job.status == ImportStatus.COMMITTED and job.committed_at is not None
    assert job.report["counts"]["create"] == 1
    with pytest.raises(ImportRejected, match="already imported"):
        csv_import.job_commit(job=job, replan=good_plan, write=mark)


def test_a_job_that_went_bad_keeps_its_new_report_and_is_not_written():
    job = stored(ImportStatus.PREVIEWED)
    with pytest.raises(ImportRejected, match="The data changed since the preview"):
        csv_import.job_commit(job=job, replan=bad_plan, write=mark)
    job.refresh_from_db()
    assert job.status == ImportStatus.INVALID
    assert job.report["errors"][0]["message"] == "Gone since the preview."


def test_a_flow_words_its_own_refusals():
    refusals = csv_import.Refusals(committed="Done.", not_previewed="No.", now_invalid="Changed.")
    with pytest.raises(ImportRejected) as refused:
        csv_import.job_commit(
            job=stored(ImportStatus.PREVIEWED), replan=bad_plan, write=mark, refusals=refusals
        )
    assert str(refused.value) == "Changed."


# The shared upload page ------------------------------------------------------------------


def test_an_upload_form_with_errors_is_shown_again_with_400(alice, client_for):
    response = client_for(alice).post(
        reverse("accounts:import"),
        {"kind": "gadgets", "file": SimpleUploadedFile("f.csv", b"name\nA\n", "text/csv")},
    )
    assert response.status_code == 400
    assert "gadgets" in response.content.decode()  # the kind's error names the bad choice
    assert not ImportJob.objects.exists()
