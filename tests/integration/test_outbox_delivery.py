"""Email delivery end to end: a real Celery worker on real Redis talks to a real SMTP server.

Each test starts `celery -A csplatform worker` against the test database, on its own Redis
database and queue (derived from the pytest-xdist worker id, so parallel runs do not
steal each other's tasks), and an aiosmtpd server on a free port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection, transaction
from kombu import pools as kombu_pools

from csplatform import services, tasks
from csplatform.celery import app as celery_app
from csplatform.choices import EmailStatus, NotificationCategory
from csplatform.models import OutboundEmail

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
DEADLINE = 20.0


def wait_for(condition: Callable[[], object], what: str, timeout: float = DEADLINE) -> object:
    """Poll `condition` until it is truthy; fail with `what` after `timeout` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _site(settings) -> None:
    # Emails are rendered when they are enqueued, in this process.
    settings.SITE_URL = "https://cs.example.com"
    settings.DEFAULT_FROM_EMAIL = "Acme CS <cs@example.com>"


# SMTP -----------------------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts; it can stall DATA to catch a worker
    mid-send."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.stall = False
        self.stalled = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.stall:
            # Hold the client inside DATA, then refuse: the message is never accepted.
            self.stalled.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "421 4.3.2 Service shutting down"
        self.messages.append(message_from_bytes(envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self.mailbox.release.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server, not started yet (tests decide when it comes up)."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


# Celery ---------------------------------------------------------------------------------


def _xdist_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


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


def _reset_celery_connections() -> None:
    # The producer pool and the queue table were built from the old broker URL and queue;
    # kombu keeps pools in a process-wide registry, which reset() empties.
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.__dict__.pop("amqp", None)


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    CELERY,
                    "-A",
                    "csplatform",
                    "worker",
                    "--loglevel",
                    "INFO",
                    "--pool",
                    "prefork",
                    "--concurrency",
                    self.env.get("IT_CONCURRENCY", "1"),
                    "--queues",
                    self.env["CELERY_QUEUE"],
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--hostname",
                    f"it-{uuid.uuid4().hex[:8]}@%h",
                ],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so it dies as a whole
            )

    def pool_child(self) -> int:
        """The pid of the prefork child that runs tasks."""
        assert self.proc is not None

        def child() -> int | None:
            path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            pids = path.read_text().split() if path.exists() else []
            return int(pids[0]) if pids else None

        return int(wait_for(child, "the worker's pool process"))  # type: ignore[arg-type]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def count_in_log(self, text: str) -> int:
        return self.log_text().count(text)


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


def enqueue(key: str, **context: str) -> OutboundEmail:
    """Enqueue an alert in a committed transaction, as a service would."""
    with transaction.atomic():
        return services.email_enqueue(
            idempotency_key=key,
            template="notice",
            context={
                "subject": "Acme turned red",
                "message": "Health fell to 38 & <falling>.",
                "link_path": "/accounts/7/",
                **context,
            },
            to=["alice@example.com"],
            category=NotificationCategory.ALERTS,
        )


def row_status(pk: int) -> str:
    return OutboundEmail.objects.values_list("status", flat=True).get(pk=pk)


# The cases ------------------------------------------------------------------------------


def test_a_committed_email_is_delivered_once_with_both_parts(smtp, start_worker):
    smtp.start()
    start_worker()

    row = enqueue("it:delivered")

    wait_for(lambda: row_status(row.pk) == EmailStatus.SENT, "the email to be sent")
    assert len(smtp.mailbox.messages) == 1
    message = smtp.mailbox.messages[0]
    assert message["Subject"] == "Acme turned red"
    assert message["From"] == "Acme CS <cs@example.com>"
    assert message["To"] == "alice@example.com"
    assert message["X-Csplatform-Email-Id"] == "it:delivered"
    assert message["Message-ID"]
    assert smtp.mailbox.envelopes == [("cs@example.com", ["alice@example.com"])]
    assert message.is_multipart()
    parts = {part.get_content_type(): part for part in message.walk()}
    text = parts["text/plain"].get_payload(decode=True).decode()
    html = parts["text/html"].get_payload(decode=True).decode()
    assert "Health fell to 38 & <falling>." in text
    assert "https://cs.example.com/accounts/7/" in text
    assert "Health fell to 38 &amp; &lt;falling&gt;." in html
    assert 'href="https://cs.example.com/accounts/7/"' in html
    row.refresh_from_db()
    assert row.attempts == 1


def test_the_same_email_queued_three_times_is_sent_once(smtp, start_worker):
    smtp.start()
    worker = start_worker(IT_CONCURRENCY="2")

    row = enqueue("it:duplicate")
    assert enqueue("it:duplicate").pk == row.pk  # a repeated service call queues nothing
    tasks.outbox_send.delay(row.pk)  # a duplicated task, e.g. a redelivery
    tasks.outbox_send.delay(row.pk)

    wait_for(
        lambda: (
            worker.count_in_log("csplatform.tasks.outbox_send[") >= 3
            and worker.count_in_log("succeeded in") >= 3
        ),
        "all three tasks to finish",
    )
    assert row_status(row.pk) == EmailStatus.SENT
    assert len(smtp.mailbox.messages) == 1
    row.refresh_from_db()
    assert row.attempts == 1


def test_a_down_smtp_server_is_retried_with_backoff_until_it_answers(smtp, start_worker):
    # The port is free, so connecting is refused until the server starts.
    worker = start_worker()

    row = enqueue("it:retry")

    wait_for(
        lambda: OutboundEmail.objects.get(pk=row.pk).attempts >= 1,
        "the first, failing attempt",
    )
    failed = OutboundEmail.objects.get(pk=row.pk)
    assert failed.status == EmailStatus.PENDING
    assert "Connection refused" in failed.last_error or "Errno 111" in failed.last_error
    wait_for(lambda: worker.count_in_log("retry: Retry in"), "Celery to schedule a retry")

    smtp.start()

    wait_for(lambda: row_status(row.pk) == EmailStatus.SENT, "the retried email to be sent")
    row.refresh_from_db()
    assert row.attempts >= 2
    assert row.last_error == ""
    assert len(smtp.mailbox.messages) == 1
    assert smtp.mailbox.messages[0]["X-Csplatform-Email-Id"] == "it:retry"


def test_a_pool_process_killed_mid_send_is_replaced_and_sends_once(smtp, start_worker):
    smtp.mailbox.stall = True
    smtp.start()
    worker = start_worker()

    row = enqueue("it:killed-child")
    # The worker is inside DATA, holding the row lock; the server has not accepted yet.
    assert smtp.mailbox.stalled.wait(DEADLINE)
    smtp.mailbox.stall = False
    os.kill(worker.pool_child(), signal.SIGKILL)

    # reject_on_worker_lost puts the message back; a new pool process sends it.
    wait_for(lambda: row_status(row.pk) == EmailStatus.SENT, "the email after the crash")
    smtp.mailbox.release.set()
    assert len(smtp.mailbox.messages) == 1
    assert "WorkerLostError" in worker.log_text()


def test_a_worker_killed_mid_send_and_restarted_sends_once(smtp, start_worker, settings):
    smtp.mailbox.stall = True
    smtp.start()
    worker = start_worker()

    row = enqueue("it:killed-worker")
    assert smtp.mailbox.stalled.wait(DEADLINE)
    smtp.mailbox.stall = False
    worker.kill()  # the whole worker, parent and child, with SIGKILL
    start_worker()

    # The broker keeps the unacknowledged message until its visibility timeout (an hour);
    # the sweeper does not wait that long. Retried while PostgreSQL notices the dead
    # connection and releases the row lock.
    settings.OUTBOX_SWEEP_AFTER_SECONDS = 0
    wait_for(tasks.outbox_sweep, "the sweeper to claim the row")

    wait_for(lambda: row_status(row.pk) == EmailStatus.SENT, "the email after the restart")
    smtp.mailbox.release.set()
    assert len(smtp.mailbox.messages) == 1
    row.refresh_from_db()
    assert row.attempts == 1  # the killed attempt rolled back with its transaction
