#!/usr/bin/env python
"""QBRs: the deck of one account as PDF and PowerPoint, a batch of 200 accounts, and the
"QBRs due" list over every account.

Uses the database of bench/run.py (N accounts with their QBRs, signals, metrics and health
scores; run bench/recalc.py and bench/health.py first, as `make bench` does). It

1. picks the account with the most to show (the most daily metric rows, then the highest
   MRR, among accounts with a held QBR), prepares a QBR for it, and times the prep pack,
   the PDF (WeasyPrint) and the PowerPoint (python-pptx) REPEAT times each: median and
   max against the targets (PDF under 3 s, PPTX under 2 s);
2. runs a batch of BATCH_ACCOUNTS accounts (both formats, the Celery task's own code, in
   this process) and prints the total, the time per account and the zip's size;
3. times the "QBRs due" list (cadence of every account, one query) and a full read of
   every account's cadence.

The bench QBR and batch are deleted at the end.

    make bench                            # after run.py, recalc.py and health.py
    python bench/qbr.py --accounts 2000   # quicker
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import prepare  # noqa: E402

TARGET_PDF = 3.0
TARGET_PPTX = 2.0
REPEAT = 5
BATCH_ACCOUNTS = 200


def _timed(fn, repeat: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), max(times), result


def _verdict(seconds: float, target: float) -> str:
    return f"(target < {target:.0f} s) {'ok' if seconds < target else 'SLOW'}"


def one_account() -> None:
    from accounts.models import Account
    from metrics.models import AccountDailyMetrics
    from qbr import selectors
    from qbr.choices import HELD_STATUSES
    from qbr.documents import qbr_document
    from qbr.models import Qbr
    from qbr.services import export, qbrs

    # The richest document: held QBRs, goals, and the most monthly users on the last day.
    last_day = AccountDailyMetrics.objects.order_by("-date").values_list("date", flat=True).first()
    rich = (
        Account.objects.filter(qbrs__status__in=HELD_STATUSES, goals__isnull=False)
        .exclude(status="churned")
        .values("pk")
    )
    busiest = list(
        AccountDailyMetrics.objects.filter(date=last_day, account_id__in=rich)
        .order_by("-mau")
        .values_list("account_id", flat=True)[:1]
    )
    account = (
        Account.objects.filter(pk__in=busiest).select_related("owner").first()
        or Account.objects.select_related("owner").order_by("-mrr").first()
    )
    assert account is not None, "the bench database has no accounts"
    start, end = selectors.default_period()
    qbr = qbrs.qbr_create(account=account, actor=None, period_start=start, period_end=end)
    try:
        prep_med, prep_max, _ = _timed(
            lambda: selectors.prep_pack(
                account=account, period_start=start, period_end=end, qbr=qbr
            ),
            REPEAT,
        )
        qbrs.qbr_prepare(qbr=qbr, actor=None)
        qbr = selectors.qbr_detail(pk=qbr.pk)
        doc = qbr_document(qbr)
        export.render(doc, "pdf")  # warm: fonts and templates load once per process
        export.render(doc, "pptx")
        pdf_med, pdf_max, pdf = _timed(lambda: export.render(qbr_document(qbr), "pdf"), REPEAT)
        pptx_med, pptx_max, pptx = _timed(lambda: export.render(qbr_document(qbr), "pptx"), REPEAT)
        from io import BytesIO

        from pptx import Presentation
        from pypdf import PdfReader

        slides = len(Presentation(BytesIO(pptx)).slides)  # type: ignore[arg-type]
        pages = len(PdfReader(BytesIO(pdf)).pages)  # type: ignore[arg-type]
        rows = Qbr.objects.filter(account=account).count()
        kpis = {k["key"]: k["end"] for k in qbr.prep["kpis"]}
        print()
        print(
            f"qbr · one account: {account.name} ({account.currency}, MAU {kpis.get('mau')},"
            f" {rows} QBRs, {len(qbr.prep['goals'])} goals)"
        )
        print(f"  prep pack   median {prep_med:5.2f} s  max {prep_max:5.2f} s")
        print(
            f"  PDF         median {pdf_med:5.2f} s  max {pdf_max:5.2f} s  {_verdict(pdf_max, TARGET_PDF)}"
            f"  ({len(pdf) // 1024} KB, {pages} pages)"  # type: ignore[arg-type]
        )
        print(
            f"  PPTX        median {pptx_med:5.2f} s  max {pptx_max:5.2f} s  {_verdict(pptx_max, TARGET_PPTX)}"
            f"  ({len(pptx) // 1024} KB, {slides} slides)"  # type: ignore[arg-type]
        )
    finally:
        Qbr.objects.filter(pk=qbr.pk).delete()


def batch() -> None:
    from django.conf import settings

    from accounts.models import Account
    from qbr.models import BatchJob
    from qbr.services.batch import batch_run

    ids = list(
        Account.objects.exclude(status="churned")
        .order_by("-mrr")
        .values_list("pk", flat=True)[:BATCH_ACCOUNTS]
    )
    with tempfile.TemporaryDirectory(prefix="bench-qbr-") as media:
        settings.MEDIA_ROOT = media
        job = BatchJob.objects.create(account_ids=ids, total=len(ids), format="both")
        started = time.perf_counter()
        job = batch_run(batch_id=job.pk)
        seconds = time.perf_counter() - started
        size = job.zip_file.size if job.zip_file else 0
        print(f"qbr · batch of {len(ids)} accounts, PDF and PPTX each, in one worker process")
        print(
            f"  wall time {seconds:7.1f} s   {seconds / max(len(ids), 1):.2f} s per account"
            f"   {job.status}, {len(job.errors)} errors, zip {size / 1e6:.1f} MB"
        )
        BatchJob.objects.filter(pk=job.pk).delete()


def due_list(accounts: int) -> None:
    from qbr.selectors import accounts_with_cadence, qbrs_due

    list(qbrs_due()[:50])  # warm
    started = time.perf_counter()
    page = list(qbrs_due()[:50])
    first_page = time.perf_counter() - started
    started = time.perf_counter()
    total = qbrs_due().count()
    count_s = time.perf_counter() - started
    started = time.perf_counter()
    every = sum(
        1
        for _ in accounts_with_cadence()
        .values_list("pk", "cadence", "due_on")
        .iterator(chunk_size=5000)
    )
    full = time.perf_counter() - started
    print(f"qbr · the 'QBRs due' list over {accounts:,} accounts (one query each)")
    print(f"  first page ({len(page)} rows)  {first_page * 1000:7.0f} ms")
    print(f"  count ({total:,} due)      {count_s * 1000:7.0f} ms")
    print(f"  every account's cadence ({every:,})  {full * 1000:7.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--skip-batch", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/csplatform_bench")
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_ENV": "development",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
    }
    prepare(url, args.accounts, env)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings")
    import django

    django.setup()
    one_account()
    if not args.skip_batch:
        batch()
    due_list(args.accounts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
