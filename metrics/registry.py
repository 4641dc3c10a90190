"""Extension points that apps built on metrics fill in from their AppConfig.ready().

metrics must not import the apps above it (onboarding, health, ...), yet some of their
figures belong in the same daily snapshots as MRR or NPS (activation rate, onboarding
completion, time to value). Such an app registers a *snapshot source*: a function that,
given the periods the engine is recalculating, returns unsaved `MetricSnapshot` rows for
its own metric keys. The engine calls every source inside the transaction that replaces
those periods' snapshots, so the app's rows are rebuilt, and never lost, with the rest.

A source must be set-based (a fixed number of queries whatever the number of accounts)
and must only return rows for the periods it was given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from metrics.models import MetricSnapshot
    from metrics.services.engine import PeriodSpan

SnapshotSource = Callable[[Sequence["PeriodSpan"]], Iterable["MetricSnapshot"]]

_snapshot_sources: dict[str, SnapshotSource] = {}


def register_snapshot_source(*, key: str, source: SnapshotSource) -> None:
    """Add (or replace: ready() may run more than once) the source called `key`."""
    _snapshot_sources[key] = source


def unregister_snapshot_source(*, key: str) -> None:
    _snapshot_sources.pop(key, None)


def snapshot_sources() -> list[SnapshotSource]:
    return [_snapshot_sources[k] for k in sorted(_snapshot_sources)]
