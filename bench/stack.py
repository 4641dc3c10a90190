"""The platform as production runs it, for the latency benchmarks: gunicorn (2 workers) and
a Celery worker with beat, on a Redis database and a queue of their own."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from run import free_port

ROOT = Path(__file__).resolve().parent.parent


def _start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@contextmanager
def platform_stack(
    url: str, *, name: str, redis_db: int, **extra_env: str
) -> Iterator[tuple[str, str]]:
    """Start web, worker (with beat) and fastworker against the database at `url`; yields the base URL
    and the Celery queue; stops both on exit. Logs go to var/bench/<name>-*.log."""
    bindir = Path(sys.executable).parent
    port = free_port()
    broker = f"redis://127.0.0.1:6379/{redis_db}"
    queue = f"bench-{name}-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "CELERY_QUEUE": queue,
        "AXES_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    logs = ROOT / "var" / "bench"
    logs.mkdir(parents=True, exist_ok=True)
    gunicorn = [str(bindir / "gunicorn"), "csplatform.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"]
    celery = [str(bindir / "celery"), "-A", "csplatform", "worker", "--beat"]
    celery += ["--loglevel", "WARNING", "--concurrency", "2"]
    celery += ["--queues", f"{queue},{queue}-fast", "--hostname", f"{queue}@%h"]
    # As the Procfile's fastworker: the latency-critical tasks' own process.
    fast = [str(bindir / "celery"), "-A", "csplatform", "worker", "--loglevel", "WARNING"]
    fast += ["--concurrency", "1", "--queues", f"{queue}-fast", "--hostname", f"fast-{queue}@%h"]
    procs = [
        _start(gunicorn, env, logs / f"{name}-web.log"),
        _start(celery, env, logs / f"{name}-worker.log"),
        _start(fast, env, logs / f"{name}-fastworker.log"),
    ]
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        yield base, queue
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
