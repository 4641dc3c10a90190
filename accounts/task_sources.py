"""Where a task came from, told by the app that made it (the "source" link on task rows).

accounts must not import the apps built on it, so an app that creates tasks registers a
function for its `Task.source` from its AppConfig.ready(): given the tasks of a page, it
returns a (label, url) per task id, in a fixed number of queries (the task list has a
query-count test).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from accounts.models import Task

SourceLinks = Callable[[list[Task]], dict[int, tuple[str, str]]]

_registry: dict[str, SourceLinks] = {}


def register_task_source(*, source: str, links: SourceLinks) -> None:
    """Add (or replace: ready() may run more than once) the links of tasks from `source`."""
    _registry[source] = links


def task_sources_attach(tasks: Iterable[Any]) -> None:
    """Set `source_link` ((label, url) or None) on each task, one call per source."""
    by_source: dict[str, list[Task]] = defaultdict(list)
    for task in tasks:
        task.source_link = None
        if task.source in _registry:
            by_source[task.source].append(task)
    for source, group in by_source.items():
        links = _registry[source](group)
        for task in group:
            task.source_link = links.get(task.pk)
