#!/usr/bin/env python
"""Ingestion throughput through /v1/batch on the real WSGI stack, beside PostgreSQL's COPY.

Starts gunicorn (2 workers) on the database at DATABASE_URL, creates a source, links
end users to existing accounts with `group` calls, then posts --events track events in
batches of 100 from a few concurrent keep-alive clients, --rounds times, and reports the
median events per second with every round's figure (this machine's speed varies from
minute to minute). In the same
run it COPYs the same number of rows straight into metrics_event and reports PostgreSQL's
own rate, the ceiling no HTTP ingestion can pass. The requests leave their usage waiting
for the rollups; a thread folds it in every ROLLUP_FOLD_SECONDS meanwhile, as beat does, and
the run also reports the rate until the last event is in the rollups. Finally it checks
that every event was stored once and that the rollups add up.

    make bench                            # after the account pages benchmark
    DATABASE_URL=... python bench/ingest.py --events 100000
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from run import ensure_database, free_port, manage  # noqa: E402

TARGET = 20_000
BATCH = 100
EVENT_NAMES = [f"Feature {i} Used" for i in range(20)] + ["Signed In", "Page Viewed"]


def build_batches(
    run: str, events: int, users: int, sent_at: str, ids: str | None = None
) -> list[bytes]:
    """Bodies of track events of the users `{run}-u<n>`, with message ids `{ids}-<n>`."""
    ids = ids or run
    rng = random.Random(ids)
    now = datetime.now(UTC)
    bodies: list[bytes] = []
    for start in range(0, events, BATCH):
        batch = []
        for i in range(start, min(start + BATCH, events)):
            ts = now - timedelta(seconds=rng.randrange(0, 6 * 3600))
            batch.append(
                {
                    "type": "track",
                    "userId": f"{run}-u{rng.randrange(users)}",
                    "event": rng.choice(EVENT_NAMES),
                    "properties": {"plan": "pro", "value": i % 97},
                    "context": {"library": {"name": "bench", "version": "1"}},
                    "timestamp": ts.isoformat(timespec="milliseconds"),
                    "messageId": f"{ids}-{i}",
                }
            )
        bodies.append(json.dumps({"batch": batch, "sentAt": sent_at}).encode())
    return bodies


def group_batches(run: str, users: int, account_ids: list[str]) -> list[bytes]:
    bodies = []
    for start in range(0, users, BATCH):
        batch = [
            {
                "type": "group",
                "userId": f"{run}-u{u}",
                "groupId": account_ids[u % len(account_ids)],
                "messageId": f"{run}-g{u}",
            }
            for u in range(start, min(start + BATCH, users))
        ]
        bodies.append(json.dumps({"batch": batch}).encode())
    return bodies


@dataclass(frozen=True)
class Round:
    """One measured round: the requests, with folds beside them, then the last fold."""

    rate: float  # events/s through HTTP
    rolled_rate: float  # events/s until the last one is in the rollups
    folds: int
    fold_seconds: float
    fold_events: int
    last_fold: float
    # CPU time per 1,000 events of each kind of process, while the requests and folds ran.
    cpu_ms_per_1000: dict[str, float]


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by each PostgreSQL, gunicorn and this process (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, float]] = {}
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if name.startswith("postgres"):
            # Backends are titled "postgres: <cluster>: <user> <db> <client> …".
            local = b"127.0.0.1" in cmdline or b"[local]" in cmdline
            kind = "PostgreSQL" if local else "PostgreSQL background"
        elif b"gunicorn" in cmdline:
            kind = "gunicorn"
        elif int(pid) == os.getpid():
            kind = "load generator and folds"
        else:
            continue
        found[int(pid)] = (kind, (int(fields[11]) + int(fields[12])) / tick)
    return found


def cpu_used(before: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds per kind since `before`, by process (a process that ended is left out)."""
    used: dict[str, float] = {}
    for pid, (kind, seconds) in cpu_by_process().items():
        then = before.get(pid)
        start = then[1] if then and then[0] == kind else 0.0
        used[kind] = used.get(kind, 0.0) + seconds - start
    return used


class Folder(threading.Thread):
    """Folds waiting usage into the rollups every `interval` seconds, as beat does."""

    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.count = 0
        self.events = 0
        self.seconds = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        from django.db import connection

        from metrics.services.ingestion import rollups_fold

        try:
            while not self._stop_event.wait(self.interval):
                started = time.perf_counter()
                self.events += rollups_fold().events
                self.seconds += time.perf_counter() - started
                self.count += 1
        finally:
            connection.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
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
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise SystemExit("gunicorn did not answer within 90 s")


def post_all(port: int, auth: str, bodies: list[bytes], clients: int) -> float:
    """Post every body from `clients` threads; returns elapsed seconds."""
    queue = list(reversed(bodies))
    lock = threading.Lock()
    failures: list[str] = []

    def worker() -> None:
        # One keep-alive connection per client, as Segment's libraries keep theirs.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                conn.request(
                    "POST",
                    "/v1/batch",
                    body=body,
                    headers={"Content-Type": "application/json", "Authorization": auth},
                )
                response = conn.getresponse()
                data = response.read()
                if response.status != 200:
                    failures.append(f"{response.status} {data[:200]!r}")
                if response.will_close:
                    conn.close()
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, first: {failures[0]}")
    return elapsed


def copy_rate(url: str, run: str, events: int, source_id: int) -> float:
    """Rows per second of COPY into metrics_event, the same table, same columns."""
    now = datetime.now(UTC)
    buf = io.StringIO()
    props = json.dumps({"plan": "pro", "value": 1})
    ctx = json.dumps({"library": {"name": "bench", "version": "1"}})
    for i in range(events):
        buf.write(
            f"{run}-copy-{i}\t{source_id}\ttrack\t{EVENT_NAMES[i % len(EVENT_NAMES)]}\t\\N\t\\N\t"
            f"{run}-u{i % 1000}\t\t{now.isoformat()}\t{now.isoformat()}\t{props}\t{ctx}\n"
        )
    data = buf.getvalue()
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY metrics_event (message_id, source_id, type, name, account_id, end_user_id, "
                'user_id, anonymous_id, "timestamp", received_at, properties, context) FROM STDIN'
            ) as copy,
        ):
            copy.write(data)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DELETE FROM metrics_event WHERE message_id LIKE %s", [f"{run}-copy-%"])
        conn.commit()
    return events / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events per round")
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds (median shown)")
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--clients", type=int, default=6, help="concurrent HTTP clients")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csplatform_bench")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "AXES_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    ensure_database(url)
    manage("migrate", "--no-input", "-v0", env=env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings")
    import django

    django.setup()

    from accounts.models import Account
    from metrics.models import Feature
    from metrics.services import ingestion as services

    run = uuid.uuid4().hex[:8]
    # The run brings its own accounts, users and events and removes them at the end, so
    # that runs measure the same thing and demo figures in a shared database stay intact.
    accounts = Account.objects.bulk_create(
        [Account(name=f"Bench {run} {i}", external_id=f"{run}-A{i}") for i in range(500)]
    )
    account_ids = [a.external_id for a in accounts]
    for i in range(0, 20, 2):
        services.feature_save(
            feature=Feature.objects.get_or_create(
                key=f"bench-feature-{i}", defaults={"name": f"Feature {i}", "is_core": i < 6}
            )[0],
            event_names=[EVENT_NAMES[i]],
        )
    source, write_key = services.source_create(name=f"bench {run}")
    import base64

    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()

    print(
        f"preparing {args.rounds} rounds of {args.events:,} events for {args.users:,} users …",
        flush=True,
    )
    sent_at = datetime.now(UTC).isoformat()
    groups = group_batches(run, args.users, account_ids)
    warm_up = build_batches(run, 20 * BATCH, args.users, sent_at, ids=f"{run}-w")
    rounds_bodies = [
        build_batches(run, args.events, args.users, sent_at, ids=f"{run}-r{n}")
        for n in range(args.rounds)
    ]

    port = free_port()
    server = start_server(env, port)
    rounds: list[Round] = []
    try:
        post_all(port, auth, groups, args.clients)
        post_all(port, auth, warm_up, args.clients)  # both workers warm
        services.rollups_fold()
        for n, bodies in enumerate(rounds_bodies, start=1):
            rounds.append(measure_round(port, auth, bodies, args.clients))
            print(f"  round {n}: {rounds[-1].rate:,.0f} events/s", flush=True)
        retry = post_all(port, auth, rounds_bodies[0][:100], args.clients)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

    copy = copy_rate(url, run, args.events, source.pk)

    try:
        return report(url, run, args, rounds, retry, copy)
    finally:
        cleanup(url, run, source.pk)


def measure_round(port: int, auth: str, bodies: list[bytes], clients: int) -> Round:
    """Post `bodies` while a thread folds every ROLLUP_FOLD_SECONDS, as beat does; then
    fold what is left, so that the round ends when the last event is in the rollups."""
    from django.conf import settings

    from metrics.services.ingestion import rollups_fold

    sent = sum(body.count(b'"messageId"') for body in bodies)
    folder = Folder(settings.ROLLUP_FOLD_SECONDS)
    before = cpu_by_process()
    folder.start()
    elapsed = post_all(port, auth, bodies, clients)
    folder.stop()
    started = time.perf_counter()
    last = rollups_fold()
    last_fold = time.perf_counter() - started
    cpu = cpu_used(before)
    return Round(
        rate=sent / elapsed,
        rolled_rate=sent / (elapsed + last_fold),
        folds=folder.count + 1,
        fold_seconds=folder.seconds + last_fold,
        fold_events=folder.events + last.events,
        last_fold=last_fold,
        cpu_ms_per_1000={k: v * 1000 / (sent / 1000) for k, v in cpu.items()},
    )


def cleanup(url: str, run: str, source_id: int) -> None:
    with psycopg.connect(url) as conn:
        users = "SELECT id FROM metrics_enduser WHERE external_id LIKE %(p)s"
        accounts = "SELECT id FROM accounts_account WHERE external_id LIKE %(p)s"
        for sql in (
            f"DELETE FROM metrics_enduserdailyactivity WHERE end_user_id IN ({users})",
            f"DELETE FROM metrics_enduserfeaturedaily WHERE end_user_id IN ({users})",
            f"DELETE FROM metrics_accountdailyusage WHERE account_id IN ({accounts})",
            f"DELETE FROM metrics_accountfeaturedailyusage WHERE account_id IN ({accounts})",
            f"DELETE FROM metrics_accountchange WHERE account_id IN ({accounts})",
            "DELETE FROM metrics_event WHERE message_id LIKE %(p)s",
            "DELETE FROM metrics_enduser WHERE external_id LIKE %(p)s",
            "DELETE FROM metrics_source WHERE id = %(source)s",
        ):
            conn.execute(sql, {"p": f"{run}-%", "source": source_id})
        conn.commit()
        try:
            conn.execute("DELETE FROM accounts_account WHERE external_id LIKE %s", [f"{run}-%"])
            conn.commit()
        except psycopg.errors.IntegrityError:
            # Another job (a recalculation run at the same time) wrote rows for them.
            conn.rollback()
            print(f"note: the bench accounts {run}-A* are left in place (still referenced)")


def report(
    url: str,
    run: str,
    args: argparse.Namespace,
    rounds: list[Round],
    retry: float,
    copy: float,
) -> int:
    with psycopg.connect(url) as conn:
        stored = conn.execute(
            "SELECT count(*) FROM metrics_event WHERE message_id LIKE %s AND type = 'track'",
            [f"{run}-%"],
        ).fetchone()[0]
        users_active = conn.execute(
            """SELECT count(*) FROM metrics_enduserdailyactivity d
               JOIN metrics_enduser u ON u.id = d.end_user_id WHERE u.external_id LIKE %s""",
            [f"{run}-%"],
        ).fetchone()[0]
        rolled = conn.execute(
            """SELECT coalesce(sum(d.events), 0) FROM metrics_enduserdailyactivity d
               JOIN metrics_enduser u ON u.id = d.end_user_id WHERE u.external_id LIKE %s""",
            [f"{run}-%"],
        ).fetchone()[0]

    def line(label: str, values: list[float], target: int | None = None) -> None:
        mid = statistics.median(values)
        flag = "" if target is None or mid >= target else "  ✗"
        spread = " / ".join(f"{v:,.0f}" for v in values) if len(values) > 1 else ""
        goal = f"{target:8,d}" if target else " " * 8
        print(f"{label:40} {mid:10,.0f} {goal}{flag:3}  {spread}")

    print()
    print(
        f"ingestion · gunicorn 2 workers · {args.clients} keep-alive clients · batches of "
        f"{BATCH} events · {len(rounds)} rounds of {args.events:,} events (median, rounds)"
    )
    header = f"{'path':40} {'events/s':>10} {'target':>8}"
    print(header)
    print("-" * len(header))
    line("POST /v1/batch (Segment format)", [r.rate for r in rounds], TARGET)
    line("  until the last is in the rollups", [r.rolled_rate for r in rounds], TARGET)
    line("  10,000 again (all duplicates)", [10_000 / retry])
    line("PostgreSQL COPY into metrics_event", [copy])
    print()
    rate = statistics.median(r.rate for r in rounds)
    print(
        f"HTTP ingestion runs at {rate / copy:.0%} of PostgreSQL's COPY rate into the same "
        f"table, in the same run."
    )
    folds = sum(r.folds for r in rounds)
    fold_seconds = sum(r.fold_seconds for r in rounds)
    fold_events = sum(r.fold_events for r in rounds)
    print(
        f"rollups: {folds} folds took {fold_seconds:.1f} s for {fold_events:,} events "
        f"({fold_seconds / fold_events * 1e6:.0f} µs an event); the last of each round, after "
        f"its last request, {statistics.median(r.last_fold for r in rounds):.2f} s (median)"
    )
    kinds = sorted({k for r in rounds for k in r.cpu_ms_per_1000})
    if kinds:
        parts = ", ".join(
            f"{k} {statistics.median(r.cpu_ms_per_1000.get(k, 0.0) for r in rounds):.0f} ms"
            for k in kinds
        )
        print(f"CPU per 1,000 events (median): {parts}")
    expected = len(rounds) * args.events + 20 * BATCH
    ok = stored == expected and rolled == expected
    print(
        f"check: {stored:,} events stored for {expected:,} sent; rollups count {rolled:,} "
        f"events over {users_active:,} user-days {'✓' if ok else '✗ MISMATCH'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
