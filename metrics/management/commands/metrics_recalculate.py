"""Recalculate stored metrics for one day or a range; same as metrics_backfill."""

from metrics.management.commands.metrics_backfill import Command as BackfillCommand


class Command(BackfillCommand):
    help = "Recalculate stored metrics (default: the last 90 days up to today)."
