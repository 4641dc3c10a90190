"""First-seen times of things that happen in the background, polled while they are caused.

The latency benchmarks send one event a second and must see each effect as soon as it
lands, not after the last event was sent: a thread polls from before the first event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable


class Watcher(threading.Thread):
    """Calls `probe()` (the ids done so far) every `every` seconds and records, per id, the
    monotonic time it was first seen."""

    def __init__(self, probe: Callable[[], Iterable[int]], every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.probe = probe
        self.every = every
        self.seen_at: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stop.is_set():
                now = time.monotonic()
                for pk in self.probe():
                    self.seen_at.setdefault(pk, now)
                self.stop.wait(self.every)
        finally:
            connection.close()

    def wait_for(self, ids: Iterable[int], timeout: float) -> dict[int, float]:
        """Wait until every id was seen (or the timeout); stop; return first-seen times."""
        wanted = set(ids)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not wanted <= set(self.seen_at):
            time.sleep(self.every)
        self.stop.set()
        self.join()
        return {pk: at for pk, at in self.seen_at.items() if pk in wanted}
