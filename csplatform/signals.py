"""Sending an app's announcements to the apps built on it."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


def announce_on_commit(signal: Signal, *, sender: Any = None, **kwargs: Any) -> None:
    """Send `signal` once the current transaction commits (at once outside one).

    Receivers run robustly: a failing receiver is logged, and neither undoes nor fails the
    write that announced it, nor keeps the other receivers from running.
    """

    def send() -> None:
        for receiver, result in signal.send_robust(sender=sender, **kwargs):
            if isinstance(result, Exception):
                logger.error("receiver %r of %r failed", receiver, signal, exc_info=result)

    transaction.on_commit(send)
