"""The logging filter that keeps WeasyPrint's per-document warnings to one line each."""

from __future__ import annotations

import logging
import uuid

from csplatform.log_filters import OncePerProcess


def test_a_weasyprint_warning_repeated_for_every_document_is_logged_once(caplog):
    logger = logging.getLogger("weasyprint")
    font = f"Font {uuid.uuid4().hex}"  # unique: the filter lives as long as the process
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        for _ in range(3):
            logger.warning("Using fontTools instead of HarfBuzz-Subset for font %r", font)
        logger.warning("Ignored `%s` at 1:1, unknown property", font)

    messages = [r.getMessage() for r in caplog.records if r.name == "weasyprint"]
    assert messages == [
        f"Using fontTools instead of HarfBuzz-Subset for font {font!r}",
        f"Ignored `{font}` at 1:1, unknown property",
    ]


def test_other_loggers_repeat_their_warnings(caplog):
    logger = logging.getLogger("qbr")
    with caplog.at_level(logging.WARNING, logger="qbr"):
        logger.warning("same")
        logger.warning("same")
    assert [r.getMessage() for r in caplog.records if r.name == "qbr"] == ["same", "same"]


def test_the_set_of_messages_seen_stays_bounded():
    once = OncePerProcess()
    once.MAX_SEEN = 2

    def record(msg: str) -> logging.LogRecord:
        return logging.LogRecord("weasyprint", logging.WARNING, __file__, 1, msg, None, None)

    assert [once.filter(record(m)) for m in ("a", "b", "c", "a", "c")] == [
        True,
        True,
        True,
        False,
        True,  # "c" came after the set was full: never remembered, always let through
    ]
