"""Announcements of the health app to the apps built on it (they connect in ready()).

`health_changed`: sent after commit by every scoring run whose effective scores moved, with
`as_of` (the day scored) and `changes` (a list of health.services.scores.HealthChange: the
account, its old and new score and colour). A nightly run over every account sends one
signal with all of them, so receivers (playbooks) should match them set-based.

`health_backfilled`: every customer was scored on each day of a range (after a metric
recalculation or backfill); sent after commit with `start` and `end`. A range longer than a
day means the platform's history was rebuilt (a fresh install's demo, an operator's
backfill): playbooks then evaluates every rule at once rather than at the next hour.
"""

from django.dispatch import Signal

health_changed = Signal()
health_backfilled = Signal()
