"""Rate limits that read their rate when a request arrives, not when the module loads.

DRF copies DEFAULT_THROTTLE_RATES into a class attribute at import time, so a changed
setting (an operator's override, a test) would otherwise be ignored until a restart.
"""

from __future__ import annotations

from typing import Any

from rest_framework import throttling
from rest_framework.settings import api_settings


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class PublicLinkRateThrottle(throttling.SimpleRateThrottle):
    """Requests per client address to pages opened through a link, without a login.

    Used by plain Django views too (`allow_request(request, None)`): a link's token is its
    only credential, so guessing tokens or hammering one page is slowed down per address.
    """

    scope = "public_link"

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
