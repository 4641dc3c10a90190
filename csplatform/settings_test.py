"""Settings of the test suite: the project's settings with DJANGO_ENV=test.

pytest-django imports the settings before any conftest runs, so the test environment is
chosen here: a bare `pytest` uses the local PostgreSQL and Redis exactly like `make test`
(which may point DATABASE_URL and REDIS_URL elsewhere).
"""

import os

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csplatform")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

from csplatform.settings import *  # noqa: F403
