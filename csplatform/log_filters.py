"""Logging filters named in settings.LOGGING."""

from __future__ import annotations

import logging
import threading


class OncePerProcess(logging.Filter):
    """Let each distinct message through once per process.

    WeasyPrint repeats the same warning for every document (without HarfBuzz-Subset it says
    so for each font of each PDF): a worker writing a batch of decks would fill its log with
    one line. The first occurrence is kept; later ones are dropped. The set of messages seen
    is bounded, so a stream of distinct messages cannot grow it without limit.
    """

    MAX_SEEN = 1000

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._seen: set[tuple[str, int, str]] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        with self._lock:
            if key in self._seen:
                return False
            if len(self._seen) < self.MAX_SEEN:
                self._seen.add(key)
        return True
