"""Email backends for outbox tests: the in-memory backend, made to fail on demand."""

from __future__ import annotations

from typing import ClassVar

from django.core.mail.backends import locmem


class FlakyBackend(locmem.EmailBackend):
    """Fails to connect `fail_times` times with `error`, then delivers to mail.outbox.

    `close_error` is raised by close(), like a server that drops the line at QUIT.
    """

    fail_times: ClassVar[int] = 0
    error: ClassVar[BaseException] = ConnectionRefusedError(111, "Connection refused")
    close_error: ClassVar[BaseException | None] = None
    opened: ClassVar[int] = 0

    @classmethod
    def reset(cls) -> None:
        cls.fail_times = 0
        cls.error = ConnectionRefusedError(111, "Connection refused")
        cls.close_error = None
        cls.opened = 0

    def open(self) -> bool:
        cls = type(self)
        cls.opened += 1
        if cls.fail_times > 0:
            cls.fail_times -= 1
            raise cls.error
        return True

    def close(self) -> None:
        if type(self).close_error is not None:
            raise type(self).close_error
