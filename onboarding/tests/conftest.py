from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _private_cache(settings):
    # Link throttling and the "detect soon" debounce live in the cache; keep them per test.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "onboarding-tests",
        }
    }
    cache.clear()
    yield
    cache.clear()
