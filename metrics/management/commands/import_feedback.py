"""manage.py import_feedback: the web importer of tickets and survey responses, from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from accounts.choices import ImportStatus
from accounts.importers import ImportPlan
from metrics import importers_feedback as importers
from metrics.models.feedback import FeedbackImport


class Command(BaseCommand):
    help = (
        "Check a CSV of support tickets or survey responses and print a row-by-row report; "
        "with --commit, import it all or nothing. Exits with status 1 when the file has errors."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=FeedbackImport.Kind.values)
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--commit", action="store_true", help="write the rows (default: check only)"
        )
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        kind: str = options["kind"]
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        content, error, line = importers.import_decode(raw=raw)
        if content is None:
            plan = ImportPlan(kind=kind, file_errors=[(line, error or "")])
        else:
            total = max(content.rstrip("\n").count("\n"), 1)
            with tqdm(
                total=total,
                unit="row",
                desc="Checking",
                file=self.stderr._out,
                disable=options["no_progress"] or options["verbosity"] == 0,
            ) as bar:
                plan = importers.feedback_plan(
                    kind=kind, content=content, actor=None, progress=bar.update
                )
        self._report(plan)
        counts = plan.counts
        if plan.has_errors:
            errors = len(plan.file_errors) + len(plan.row_errors)
            self.stderr.write(
                self.style.ERROR(f"{errors} error(s) in {path.name}; nothing was imported.")
            )
            raise SystemExit(1)
        if not options["commit"]:
            self.stdout.write(
                self.style.SUCCESS(
                    f"OK: {counts['create']} to create, {counts['update']} to update. "
                    "Run again with --commit to import."
                )
            )
            return
        with transaction.atomic():
            job = FeedbackImport.objects.create(
                kind=kind,
                filename=path.name[:255],
                content=content or "",
                status=ImportStatus.PREVIEWED,
                row_count=counts["rows"],
                report=plan.report(),
            )
            summary = importers.feedback_apply(plan=plan, actor=None, job=job)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {path.name}: {summary.created} created, {summary.updated} updated "
                f"on {summary.accounts} account(s)."
            )
        )

    def _report(self, plan: ImportPlan) -> None:
        for line, message in plan.file_errors:
            where = f"line {line}" if line else "file"
            self.stdout.write(self.style.ERROR(f"{where}: ERROR {message}"))
        for row in plan.rows:
            if row.errors:
                for message in row.errors:
                    self.stdout.write(self.style.ERROR(f"line {row.line}: ERROR {message}"))
            else:
                self.stdout.write(f"line {row.line}: {row.action} {row.label}")
