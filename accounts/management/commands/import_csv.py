"""manage.py import_csv: the web importer's checks and writes, from the command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _

from accounts import importers
from accounts.choices import ImportKind
from accounts.management.import_command import ImportCommand
from accounts.models import ImportJob
from csplatform.models import User


class Command(ImportCommand[importers.AccountsImportPlan, ImportJob]):
    help = (
        "Check a CSV of accounts, contacts or subscriptions and print a row-by-row report; "
        "with --commit, import it all or nothing. Exits with status 1 when the file has errors."
    )
    kinds = ImportKind.values
    model = ImportJob
    owner: User | None = None

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--owner",
            metavar="USERNAME",
            help="owner of new accounts whose owner cell is empty",
        )

    def prepare(self, options: dict[str, Any]) -> None:
        if options["owner"]:
            self.owner = User.objects.filter(username=options["owner"], is_active=True).first()
            if self.owner is None:
                raise CommandError(_("no active user %(name)r") % {"name": options["owner"]})

    def plan(
        self, *, kind: str, content: str, progress: Callable[[int], None]
    ) -> importers.AccountsImportPlan:
        return importers.import_plan(
            kind=kind, content=content, actor=None, default_owner=self.owner, progress=progress
        )

    def apply(
        self, *, plan: importers.AccountsImportPlan, job: ImportJob
    ) -> importers.ImportSummary:
        return importers.import_apply(plan=plan, actor=None, job=job)
