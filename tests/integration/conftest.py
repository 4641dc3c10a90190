"""Shared pieces of the integration tests: a real Celery worker on its own Redis database
and queue, started against the test database, and a real SMTP server (aiosmtpd).

Each test that starts a worker gets its own Redis database and queue (derived from the
pytest-xdist worker id, so parallel runs do not steal each other's tasks).
"""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.db import connection

from csplatform.celery import app as celery_app
from tests.integration.support import (
    SmtpServer,
    Worker,
    _reset_celery_connections,
    _xdist_index,
    free_port,
)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Fixtures read item.rep_call to print a worker's log when its test failed.
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# SMTP -----------------------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server, not started yet (tests decide when it comes up)."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


# Celery ---------------------------------------------------------------------------------


@pytest.fixture
def broker(settings) -> Iterator[str]:
    """A Redis database and a queue of our own; the test process publishes there too."""
    # Databases 10-15, one per xdist worker (wrapping beyond six); the queue name is unique
    # as well, so even a shared database never mixes tasks.
    url = f"redis://127.0.0.1:6379/{10 + _xdist_index() % 6}"
    queue = f"csp-it-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    conf = celery_app.conf
    saved = (conf.broker_url, conf.task_default_queue, conf.task_always_eager)
    conf.broker_url, conf.task_default_queue, conf.task_always_eager = url, queue, False
    _reset_celery_connections()
    settings.CELERY_QUEUE = queue
    yield url
    conf.broker_url, conf.task_default_queue, conf.task_always_eager = saved
    _reset_celery_connections()
    client.flushdb()
    client.close()


@pytest.fixture
def worker_env(transactional_db, broker, smtp) -> dict[str, str]:
    db = connection.settings_dict
    database_url = f"postgres://{db['USER']}"
    if db.get("PASSWORD"):
        database_url += f":{db['PASSWORD']}"
    database_url += f"@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    env = {
        **os.environ,
        "DJANGO_ENV": "test",
        "DATABASE_URL": database_url,
        "CONN_MAX_AGE": "0",
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE": celery_app.conf.task_default_queue,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "EMAIL_TIMEOUT": "10",
        "OUTBOX_RETRY_BACKOFF": "1",
        "OUTBOX_MAX_ATTEMPTS": "8",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


@pytest.fixture
def start_worker(worker_env, request) -> Iterator[Callable[..., Worker]]:
    started: list[Worker] = []
    log_dir = Path(tempfile.mkdtemp(prefix="csp-worker-"))

    def start(**extra_env: str) -> Worker:
        worker = Worker({**worker_env, **extra_env}, log_dir / f"worker-{len(started)}.log")
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.kill()
    report = getattr(request.node, "rep_call", None)
    if report is None or report.failed:
        for worker in started:
            sys.stderr.write(f"--- {worker.log}\n{worker.log_text()[-6000:]}\n")
