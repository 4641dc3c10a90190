"""Evaluate the rules now, with a progress bar (the hourly job, by hand)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from playbooks.choices import RunSource
from playbooks.services.evaluate import rules_evaluate


class Command(BaseCommand):
    help = "Evaluate every enabled and dry-run rule now (or those given with --rule)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rule", type=int, action="append", dest="rules", help="A rule id (repeatable)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        with tqdm(unit="rule", disable=options["verbosity"] == 0) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            runs = rules_evaluate(
                source=RunSource.MANUAL, rule_ids=options["rules"], progress=progress
            )
        done = [e.run for e in runs if e.run is not None]
        self.stdout.write(
            _("%(n)s rules evaluated in %(s).1f s: %(matched)s matches, %(fired)s fired.")
            % {
                "n": len(done),
                "s": time.perf_counter() - started,
                "matched": sum(r.matched for r in done),
                "fired": sum(r.fired for r in done),
            }
        )
