#!/usr/bin/env python
"""Health scoring: a full recalculation of every account, and event-to-score latency.

Uses the database of bench/run.py and bench/recalc.py (N accounts with 90 days of rollups
and recalculated metrics; run those first, as `make bench` does). It

1. publishes the starter scorecard if the database has none, and times a full
   recalculation of every customer (the nightly job), with the peak memory of this process
   and of the PostgreSQL backends, beside a plain SQL aggregate over the same figures
   (every account's 30 days of AccountDailyMetrics, averaged) timed in the same run;
2. starts gunicorn and a Celery worker with beat (production intervals: changed accounts
   refreshed every ACCOUNT_REFRESH_SECONDS once ACCOUNT_REFRESH_DEBOUNCE_SECONDS old) on a
   Redis database of its own, sends one event through /v1/track for each of LATENCY_EVENTS
   accounts, a second apart, and measures how long until each account's score was
   recomputed: p50, p95 and max.

    make bench                                # after run.py, ingest.py and recalc.py
    python bench/health.py --accounts 2000    # quicker
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from memory import BackendMemory  # noqa: E402
from run import prepare  # noqa: E402
from stack import platform_stack  # noqa: E402
from watch import Watcher  # noqa: E402

TARGET_SECONDS = 30.0
TARGET_MB = 500.0
TARGET_LATENCY_P95 = 60.0
LATENCY_EVENTS = 20


def plain_aggregate_seconds(url: str, day: dt.date) -> float:
    """The cheapest honest read of the same figures: one GROUP BY over 30 days of them."""
    with psycopg.connect(url) as conn:
        conn.execute("SET jit = off")
        started = time.perf_counter()
        conn.execute(
            """SELECT account_id, avg(mau), avg(wau), avg(core_adoption_30d), max(tickets_open),
                      avg(nps_365d), avg(csat_365d), min(days_since_last_activity), avg(mrr)
               FROM metrics_accountdailymetrics
               WHERE date > %s - 30 AND date <= %s GROUP BY account_id""",
            [day, day],
        ).fetchall()
        return time.perf_counter() - started


def full_recalculation(url: str, accounts: int) -> None:
    from django.conf import settings

    from health.models import Scorecard
    from health.services.scorecards import scorecard_create_starter
    from health.services.scores import health_recalculate

    if not Scorecard.objects.exists():
        scorecard_create_starter()
    today = dt.date.today()
    health_recalculate(as_of=today)  # warm: the first run also writes every row once
    monitor = BackendMemory(settings.DATABASES["default"]["NAME"])
    monitor.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    run = health_recalculate(as_of=today)
    seconds = time.perf_counter() - started
    monitor.stop.set()
    monitor.join()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    plain = plain_aggregate_seconds(url, today)
    total_mb = peak + monitor.peak_private_mb
    print()
    print(f"health · full recalculation of {run.scored:,} customers ({accounts:,} accounts)")
    print(
        f"  wall time   {seconds:6.1f} s  (target < {TARGET_SECONDS:.0f} s)"
        f" {'ok' if seconds < TARGET_SECONDS else 'SLOW'}"
    )
    print(
        f"  plain SQL   {plain:6.2f} s  (GROUP BY over the same 30 days of figures);"
        f" scoring takes {seconds / plain:.1f}× that"
    )
    print(f"  peak RSS    {peak:6.0f} MB this process ({rss_before:.0f} MB before)")
    if monitor.seen:
        print(
            f"  PostgreSQL  {monitor.peak_private_mb:6.0f} MB peak private memory of its backends"
        )
    print(
        f"  together    {total_mb:6.0f} MB (target < {TARGET_MB:.0f} MB)"
        f" {'ok' if total_mb < TARGET_MB else 'HIGH'}"
    )


def latency(url: str) -> None:
    from django.conf import settings

    from accounts.models import Account
    from health.models import HealthScore
    from metrics.services import ingestion

    with platform_stack(url, name="health", redis_db=7) as (base, queue):
        _, key = ingestion.source_create(name=f"bench {queue}")
        auth = {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        targets = list(
            Account.objects.exclude(status="churned")
            .exclude(external_id__isnull=True)
            .filter(health__isnull=False)
            .order_by("?")
            .values_list("pk", "external_id")[:LATENCY_EVENTS]
        )
        time.sleep(3)  # beat's first tick
        sent: dict[int, float] = {}
        sent_wall: dict[int, dt.datetime] = {}

        def rescored() -> list[int]:
            # Recomputed after its own event was sent (not by some earlier run).
            wall = dict(sent_wall)
            return [
                pk
                for pk, at in HealthScore.objects.filter(account_id__in=list(wall)).values_list(
                    "account_id", "computed_at"
                )
                if at > wall[pk]
            ]

        watcher = Watcher(rescored)
        watcher.start()
        for pk, external_id in targets:
            user = f"{queue}-{pk}"
            batch = {
                "batch": [
                    {"type": "group", "userId": user, "groupId": external_id},
                    {"type": "track", "userId": user, "event": "Report Built"},
                ]
            }
            sent_wall[pk] = dt.datetime.now(dt.UTC)
            requests.post(
                f"{base}/v1/batch", json=batch, headers=auth, timeout=10
            ).raise_for_status()
            sent[pk] = time.monotonic()
            time.sleep(1)
        seen = {pk: at - sent[pk] for pk, at in watcher.wait_for(sent, timeout=180).items()}
        waits = sorted(seen.values())
        print()
        print(
            f"health · event to score, {len(sent)} events a second apart · gunicorn 2 workers,"
            " Celery worker with beat, Redis"
        )
        print(
            f"  refresh every {settings.ACCOUNT_REFRESH_SECONDS:.0f} s of changes"
            f" {settings.ACCOUNT_REFRESH_DEBOUNCE_SECONDS:.0f} s old"
        )
        if not waits:
            print("  no score moved within 3 minutes ✗")
            return
        p95 = waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))]
        print(
            f"  p50 {statistics.median(waits):5.1f} s   p95 {p95:5.1f} s   max {waits[-1]:5.1f} s"
            f"   ({len(waits)} of {len(sent)} rescored; target p95 < {TARGET_LATENCY_P95:.0f} s)"
            f" {'ok' if p95 < TARGET_LATENCY_P95 and len(waits) == len(sent) else 'SLOW'}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csplatform_bench")
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_ENV": "development", "DEBUG": "false"}
    prepare(url, args.accounts, env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings")
    import django

    django.setup()
    full_recalculation(url, args.accounts)
    if not args.skip_latency:
        latency(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
