"""Rebuild stored metrics for a date range, with a progress bar."""

from __future__ import annotations

import datetime as dt
import resource
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from tqdm import tqdm

from metrics.services.engine import metrics_recalculate


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(_("Dates are YYYY-MM-DD, got %(value)s.") % {"value": value}) from exc


class Command(BaseCommand):
    help = "Recalculate daily account metrics, MRR movements and snapshots for a date range."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", type=_date, help="First day (default: --days ago).")
        parser.add_argument("--end", type=_date, help="Last day (default: today).")
        parser.add_argument("--days", type=int, default=90, help="Days back when no --start.")
        parser.add_argument(
            "--no-wait",
            action="store_true",
            help="Skip instead of waiting when another recalculation is running.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        end = options["end"] or timezone.now().date()
        start = options["start"] or end - dt.timedelta(days=options["days"] - 1)
        if start > end:
            raise CommandError(_("The start date is after the end date."))
        started = time.perf_counter()
        quiet = options["verbosity"] == 0
        with tqdm(unit="step", disable=quiet) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            result = metrics_recalculate(
                start=start, end=end, progress=progress, wait=not options["no_wait"]
            )
        if result.skipped:
            self.stdout.write(_("Skipped: another recalculation is running."))
            return
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            _(
                "Recalculated %(days)s days (%(start)s to %(end)s): %(rows)s account rows, "
                "%(snapshots)s snapshots, %(movements)s movements in %(seconds).1f s, "
                "peak memory %(mb).0f MB."
            )
            % {
                "days": result.days,
                "start": start,
                "end": end,
                "rows": result.account_rows,
                "snapshots": result.snapshot_rows,
                "movements": result.movement_rows,
                "seconds": time.perf_counter() - started,
                "mb": peak_mb,
            }
        )
