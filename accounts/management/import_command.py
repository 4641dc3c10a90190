"""The base of the manage.py commands that run a web importer's checks and writes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _
from tqdm import tqdm

from accounts.csv_import import ImportPlan, ImportSummary, file_plan, job_create
from accounts.models import BaseImportJob

PlanT = TypeVar("PlanT", bound=ImportPlan)
JobT = TypeVar("JobT", bound=BaseImportJob)


class ImportCommand(BaseCommand, Generic[PlanT, JobT]):
    """Check a CSV and print a row-by-row report; with --commit, import it all or nothing.

    Exits with status 1 when the file has errors. The committed file is kept as a job, as
    an upload is, with no uploader: an operator at the command line has no ownership limits.
    """

    kinds: Sequence[str]
    model: type[JobT]  # a job model with a kind

    def plan(self, *, kind: str, content: str, progress: Callable[[int], None]) -> PlanT:
        raise NotImplementedError

    def apply(self, *, plan: PlanT, job: JobT) -> ImportSummary:
        raise NotImplementedError

    def prepare(self, options: dict[str, Any]) -> None:
        """Check a command's own options once the file is read."""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=self.kinds)
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
            raise CommandError(
                _("cannot read %(path)s: %(error)s") % {"path": path, "error": exc.strerror}
            ) from exc
        self.prepare(options)

        def check(content: str) -> PlanT:
            total = max(content.rstrip("\n").count("\n"), 1)
            with tqdm(
                total=total,
                unit="row",
                desc=_("Checking"),
                file=self.stderr._out,
                disable=options["no_progress"] or options["verbosity"] == 0,
            ) as bar:
                return self.plan(kind=kind, content=content, progress=bar.update)

        content, plan = file_plan(raw=raw, kind=kind, plan=check)
        self._report(plan)
        counts = plan.counts
        if plan.has_errors:
            errors = len(plan.file_errors) + len(plan.row_errors)
            self.stderr.write(
                self.style.ERROR(
                    _("%(errors)d error(s) in %(file)s; nothing was imported.")
                    % {"errors": errors, "file": path.name}
                )
            )
            raise SystemExit(1)
        if not options["commit"]:
            self.stdout.write(
                self.style.SUCCESS(
                    _(
                        "OK: %(create)d to create, %(update)d to update. "
                        "Run again with --commit to import."
                    )
                    % {"create": counts["create"], "update": counts["update"]}
                )
            )
            return
        with transaction.atomic():
            job = job_create(
                model=self.model,
                plan=plan,
                content=content,
                filename=path.name,
                actor=None,
                kind=kind,
            )
            # Only a file that is not text has a plan that self.plan did not make.
            summary = self.apply(plan=cast(PlanT, plan), job=job)
        self.stdout.write(
            self.style.SUCCESS(
                _(
                    "Imported %(file)s: %(created)d created, %(updated)d updated "
                    "on %(accounts)d account(s)."
                )
                % {
                    "file": path.name,
                    "created": summary.created,
                    "updated": summary.updated,
                    "accounts": summary.accounts,
                }
            )
        )

    def _report(self, plan: ImportPlan) -> None:
        for line, message in plan.file_errors:
            self._error(_("line %(line)d") % {"line": line} if line else _("file"), message)
        for row in plan.rows:
            for message in row.errors:
                self._error(_("line %(line)d") % {"line": row.line}, message)
            if not row.errors:
                self.stdout.write(
                    _("line %(line)d: %(action)s %(label)s")
                    % {"line": row.line, "action": row.action, "label": row.label}
                )

    def _error(self, where: str, message: str) -> None:
        self.stdout.write(
            self.style.ERROR(
                _("%(where)s: ERROR %(message)s") % {"where": where, "message": message}
            )
        )
