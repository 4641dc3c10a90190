"""Load the starter library of playbooks and rules (missing ones only)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from playbooks.choices import RuleMode
from playbooks.library import library_load


class Command(BaseCommand):
    help = "Create the starter playbooks and rules that do not exist yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--mode",
            choices=RuleMode.values,
            default=RuleMode.DRY_RUN,
            help="Mode of the new rules (default: dry run, so they only record matches).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        created = library_load(mode=options["mode"])
        self.stdout.write(
            _("%(n)s rules created: %(names)s")
            % {"n": len(created), "names": ", ".join(r.name for r in created) or "—"}
        )
