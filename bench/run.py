#!/usr/bin/env python
"""Benchmark of the account pages served by the real WSGI stack (gunicorn + PostgreSQL).

Builds N demo accounts (default 20,000) in the database at DATABASE_URL (reused when it
already holds exactly N), starts gunicorn with the X-Query-Count header switched on, logs
in as a CSM and prints p50/p95 latency and query counts of the account list (first page,
filtered, sorted, searched), the account 360 page and "My book", against the targets.

    make bench                      # 20,000 accounts
    make bench BENCH_ACCOUNTS=2000  # quicker
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
TARGET_P95_MS = 150.0
TARGET_QUERIES = 15
# The 360 page adds the panels of the other apps at a fixed cost each (metrics 3,
# onboarding 2, health 4, renewals 1, QBRs 2): the ceiling of
# accounts/tests/test_view_queries.py.
TARGET_QUERIES_360 = TARGET_QUERIES + 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_password(username: str) -> str:
    from accounts.demo import DEMO_USERS  # imported once Django is set up

    return next(u.password for u in DEMO_USERS if u.username == username)


def ensure_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def manage(*args: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return out.stdout


def account_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM accounts_account").fetchone()
        return int(row[0]) if row else 0


def prepare(url: str, accounts: int, env: dict[str, str]) -> None:
    ensure_database(url)
    manage("migrate", "--no-input", "-v0", env=env)
    have = account_count(url)
    if have != accounts:
        print(f"building {accounts:,} accounts (database has {have:,}) …", flush=True)
        started = time.perf_counter()
        manage("flush", "--no-input", env=env)
        manage("seed_demo", "--accounts", str(accounts), "--seed", "42", env=env)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    else:
        print(f"reusing {accounts:,} accounts already in the database", flush=True)
    with psycopg.connect(url) as conn:
        conn.execute("ANALYZE")


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            str(Path(PY).parent / "gunicorn"),
            "csplatform.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                return proc
        except requests.ConnectionError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("gunicorn did not answer within 60 s")


def login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not token:
        raise SystemExit("no CSRF token on the login page")
    resp = session.post(
        f"{base}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)},
        headers={"Referer": f"{base}/login/"},
        timeout=10,
    )
    if "/login/" in resp.url:
        raise SystemExit(f"could not log in as {username}")
    return session


def measure(session: requests.Session, url: str, repeat: int) -> tuple[float, float, float, int]:
    for _ in range(3):  # warm caches and connections
        session.get(url, timeout=30).raise_for_status()
    timings: list[float] = []
    queries = 0
    for _ in range(repeat):
        started = time.perf_counter()
        resp = session.get(url, timeout=30)
        timings.append((time.perf_counter() - started) * 1000)
        resp.raise_for_status()
        queries = max(queries, int(resp.headers.get("X-Query-Count", "-1")))
    timings.sort()
    p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
    return statistics.median(timings), p95, timings[-1], queries


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per page")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csplatform_bench")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "QUERY_COUNT_HEADER": "true",
        "AXES_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    prepare(url, args.accounts, env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings")
    import django

    django.setup()

    with psycopg.connect(url) as conn:
        account_id = conn.execute(
            """SELECT a.id FROM accounts_account a JOIN csplatform_user u ON u.id = a.owner_id
               WHERE u.username = 'alice' ORDER BY a.mrr DESC LIMIT 1"""
        ).fetchone()[0]
        big_id = conn.execute(
            """SELECT account_id FROM accounts_activity GROUP BY account_id
               ORDER BY count(*) DESC LIMIT 1"""
        ).fetchone()[0]

    port = free_port()
    server = start_server(env, port)
    base = f"http://127.0.0.1:{port}"
    try:
        session = login(base, "alice", demo_password("alice"))
        pages = [
            ("account list, first page", "/accounts/"),
            (
                "account list, filtered",
                "/accounts/?tier=enterprise&status=active&renewal_window=180",
            ),
            ("account list, sorted by MRR", "/accounts/?ordering=-mrr"),
            ("account list, search", "/accounts/?q=tech"),
            ("account list, page 50", "/accounts/?page=50"),
            ("account 360 (alice's largest)", f"/accounts/{account_id}/", TARGET_QUERIES_360),
            ("account 360 (longest timeline)", f"/accounts/{big_id}/", TARGET_QUERIES_360),
            ("my book", "/"),
            ("task list", "/tasks/"),
        ]
        print()
        print(
            f"{args.accounts:,} accounts · {args.repeat} requests per page · gunicorn, 2 workers, PostgreSQL"
        )
        header = f"{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'p95/target':>11}"
        print(header)
        print("-" * len(header))
        worst = 0.0
        for label, path, *budget in pages:
            p50, p95, worst_ms, queries = measure(session, base + path, args.repeat)
            ratio = p95 / TARGET_P95_MS
            worst = max(worst, ratio)
            flag = "" if ratio <= 1 and queries <= (budget or [TARGET_QUERIES])[0] else "  ✗"
            print(
                f"{label:34} {p50:8.1f} {p95:8.1f} {worst_ms:8.1f} {queries:8d} {ratio:10.2f}×{flag}"
            )
        print()
        print(
            f"targets: p95 under {TARGET_P95_MS:.0f} ms and at most {TARGET_QUERIES} queries per page"
            f" ({TARGET_QUERIES_360} with the other apps' panels on the 360 page); "
            f"worst p95 is {worst:.2f}× the target"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
