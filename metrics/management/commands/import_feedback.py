"""manage.py import_feedback: the web importer of tickets and survey responses, from the shell."""

from __future__ import annotations

from collections.abc import Callable

from accounts.csv_import import ImportPlan, ImportSummary
from accounts.management.import_command import ImportCommand
from metrics import importers_feedback as importers
from metrics.models.feedback import FeedbackImport


class Command(ImportCommand[ImportPlan, FeedbackImport]):
    help = (
        "Check a CSV of support tickets or survey responses and print a row-by-row report; "
        "with --commit, import it all or nothing. Exits with status 1 when the file has errors."
    )
    kinds = FeedbackImport.Kind.values
    model = FeedbackImport

    def plan(self, *, kind: str, content: str, progress: Callable[[int], None]) -> ImportPlan:
        return importers.feedback_plan(kind=kind, content=content, actor=None, progress=progress)

    def apply(self, *, plan: ImportPlan, job: FeedbackImport) -> ImportSummary:
        return importers.feedback_apply(plan=plan, actor=None, job=job)
