"""Rate limits that read their rate when a request arrives, not when the module loads.

DRF copies DEFAULT_THROTTLE_RATES into a class attribute at import time, so a changed
setting (an operator's override, a test) would otherwise be ignored until a restart.
"""

from __future__ import annotations

from rest_framework import throttling
from rest_framework.settings import api_settings


class AnonRateThrottle(throttling.AnonRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class UserRateThrottle(throttling.UserRateThrottle):
    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
