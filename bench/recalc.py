#!/usr/bin/env python
"""Benchmark of a full metric recalculation: N accounts × 90 days of rollups.

Reuses the database of bench/run.py (N demo accounts, built with seed_demo when missing),
adds 90 days of rollups with INSERT … SELECT over generate_series (5 end users per
account, each active about 30 % of days with 1–3 events: about 5 million raw events'
worth), then times metrics_recalculate over the 90 days and prints the wall time, the peak
memory of this process and the peak memory of the PostgreSQL backend that did the work.

    make bench                                 # run.py then this, 20,000 accounts
    python bench/recalc.py --accounts 2000     # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from memory import BackendMemory  # noqa: E402
from run import prepare  # noqa: E402

DAYS = 90
TARGET_SECONDS = 60.0
TARGET_MB = 500.0
MARKER = "bench-recalc"

ROLLUPS = [
    "TRUNCATE metrics_enduserfeaturedaily, metrics_accountfeaturedailyusage,"
    " metrics_enduserdailyactivity, metrics_accountdailyusage, metrics_accountdailymetrics,"
    " metrics_mrrmovement, metrics_metricsnapshot",
    "DELETE FROM metrics_surveyresponse WHERE external_id LIKE 'bench-%%'",
    "DELETE FROM metrics_ticket WHERE external_id LIKE 'bench-%%'",
    "DELETE FROM metrics_enduser WHERE external_id LIKE 'bench-%%'",
    # Only this script's features: bench/ingest.py keeps its own (bench-feature-N, with
    # event mappings) in the same database.
    "DELETE FROM metrics_feature WHERE key ~ '^bench-[0-9]+$'",
    """INSERT INTO metrics_feature (key, name, description, release_date, is_core, is_key, plans)
       SELECT 'bench-' || g, 'Feature ' || g, '', %(first)s::date + (g * 7), g <= 4, g = 1, '[]'
       FROM generate_series(1, 10) g""",
    """INSERT INTO metrics_enduser (external_id, account_id, group_external_id, email, name,
           traits, first_seen_at, last_seen_at, created_at)
       SELECT 'bench-' || a.id || '-' || g, a.id, '', '', '', '{}',
           %(first)s::timestamptz + ((a.id + g) %% 120) * interval '1 day', now(), now()
       FROM accounts_account a CROSS JOIN generate_series(1, 5) g""",
    """INSERT INTO metrics_enduserdailyactivity (end_user_id, account_id, date, events,
           core_events)
       SELECT u.id, u.account_id, day::date, 1 + (u.id + d.n) %% 3, (u.id + d.n) %% 2
       FROM metrics_enduser u
       CROSS JOIN generate_series(0, %(days)s - 1) d(n)
       CROSS JOIN LATERAL (SELECT %(first)s::date + d.n AS day) x
       WHERE u.external_id LIKE 'bench-%%' AND (u.id * 7 + d.n * 13) %% 10 < 3""",
    """INSERT INTO metrics_accountdailyusage (account_id, date, events, core_events,
           active_users)
       SELECT account_id, date, SUM(events), SUM(core_events), COUNT(*)
       FROM metrics_enduserdailyactivity GROUP BY account_id, date""",
    """INSERT INTO metrics_enduserfeaturedaily (end_user_id, account_id, feature_id, date,
           events)
       SELECT e.end_user_id, e.account_id, f.id, e.date, 1
       FROM metrics_enduserdailyactivity e
       JOIN metrics_feature f ON f.key = 'bench-' || (1 + (e.end_user_id + (e.date - %(first)s::date)) %% 10)
       WHERE (e.end_user_id + (e.date - %(first)s::date)) %% 2 = 0
         AND (f.release_date IS NULL OR f.release_date <= e.date)""",
    """INSERT INTO metrics_accountfeaturedailyusage (account_id, feature_id, date, events, users)
       SELECT account_id, feature_id, date, SUM(events), COUNT(*)
       FROM metrics_enduserfeaturedaily GROUP BY account_id, feature_id, date""",
    """INSERT INTO metrics_ticket (account_id, external_id, requester_email, subject, channel,
           priority, status, is_escalation, opened_at, first_response_at, resolved_at)
       SELECT a.id, 'bench-' || a.id || '-' || g, '', 'Bench ticket', 'email', 'p3',
           CASE WHEN g = 3 THEN 'open' ELSE 'resolved' END, false, t.opened,
           t.opened + interval '3 hours', CASE WHEN g = 3 THEN NULL
           ELSE t.opened + interval '30 hours' END
       FROM accounts_account a CROSS JOIN generate_series(1, 3) g
       CROSS JOIN LATERAL (SELECT %(first)s::timestamptz
           + ((a.id * 3 + g * 29) %% %(days)s) * interval '1 day' AS opened) t""",
    """INSERT INTO metrics_surveyresponse (account_id, kind, score, comment, lifecycle_stage,
           responded_at, source, external_id)
       SELECT a.id, CASE WHEN g = 1 THEN 'nps' ELSE 'csat' END,
           CASE WHEN g = 1 THEN a.id %% 11 ELSE 1 + a.id %% 5 END, '', '',
           %(first)s::timestamptz + ((a.id + g * 17) %% %(days)s) * interval '1 day', 'api',
           'bench-' || a.id || '-' || g
       FROM accounts_account a CROSS JOIN generate_series(1, 2) g""",
    "ANALYZE",
]


def build_rollups(url: str, first: dt.date) -> None:
    with psycopg.connect(url) as conn:
        # The survey answers are inserted last: present means the whole set was built.
        have = conn.execute(
            "SELECT count(*) FROM metrics_enduserdailyactivity WHERE date = %s", [first]
        ).fetchone()
        done = conn.execute(
            "SELECT count(*) FROM metrics_surveyresponse WHERE external_id LIKE 'bench-%%'"
        ).fetchone()
        if have and have[0] and done and done[0]:
            print(f"reusing the {DAYS} days of rollups from {first}", flush=True)
            return
    started = time.perf_counter()
    print(f"building {DAYS} days of rollups from {first} …", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in ROLLUPS:
            conn.execute(statement, {"first": first, "days": DAYS})
        rows = conn.execute(
            "SELECT count(*), coalesce(sum(events), 0) FROM metrics_enduserdailyactivity"
        ).fetchone()
    assert rows is not None
    print(
        f"  {rows[0]:,} user-day rows, {rows[1]:,} events, in"
        f" {time.perf_counter() - started:.1f} s",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csplatform_bench")
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_ENV": "development", "DEBUG": "false"}
    prepare(url, args.accounts, env)
    end = dt.date.today()
    first = end - dt.timedelta(days=DAYS - 1)
    build_rollups(url, first)

    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings")
    import django

    django.setup()
    from django.conf import settings

    from metrics.services.engine import metrics_recalculate

    monitor = BackendMemory(settings.DATABASES["default"]["NAME"])
    monitor.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    result = metrics_recalculate(start=first, end=end)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    monitor.stop.set()
    monitor.join()
    print(
        f"recalculated {result.days} days for {args.accounts:,} accounts:"
        f" {result.account_rows:,} account rows, {result.snapshot_rows:,} snapshots,"
        f" {result.movement_rows:,} movements; {result.slices} slices on"
        f" {result.workers} connections"
    )
    print(
        "  phases      "
        + ", ".join(f"{k} {v:.1f} s" for k, v in result.seconds.items())
        + " (summed over connections)"
    )
    total_mb = peak + monitor.peak_private_mb
    ok_time = seconds < TARGET_SECONDS
    ok_mem = total_mb < TARGET_MB
    print(
        f"  wall time   {seconds:6.1f} s  (target < {TARGET_SECONDS:.0f} s) {'ok' if ok_time else 'SLOW'}"
    )
    print(f"  peak RSS    {peak:6.0f} MB this process ({rss_before:.0f} MB before the run)")
    if monitor.seen:
        print(
            f"  PostgreSQL  {monitor.peak_private_mb:6.0f} MB peak private memory of the run's"
            f" backends together (largest single backend VmHWM {monitor.peak_single_mb:.0f} MB,"
            " which includes shared buffers)"
        )
        print(
            f"  together    {total_mb:6.0f} MB (target < {TARGET_MB:.0f} MB) "
            f"{'ok' if ok_mem else 'HIGH'}"
        )
    else:
        print("  PostgreSQL  backend memory not measured (the server is not on this machine)")
    # A missed target is a figure to read, not a failure: make bench goes on to the end.
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
