"""seed_demo's QBRs: held ones with notes, next steps whose tasks exist, goals reviewed at
them, upcoming ones in the books, the same for the same seed; and a deck that renders."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.models import Account, GoalRevision, Task
from qbr.choices import QbrStatus
from qbr.demo import demo_qbrs_create
from qbr.models import Qbr, QbrNextStep
from qbr.selectors import qbrs_due
from qbr.services.export import qbr_export

pytestmark = pytest.mark.django_db


def seed(*args: str) -> None:
    call_command("seed_demo", *args, "--no-progress", stdout=StringIO(), stderr=StringIO())


def signature() -> list[tuple]:
    qbrs = Qbr.objects.values_list(
        "account__external_id", "kind", "status", "held_on", "notes", "period_end"
    )
    steps = Task.objects.filter(source="qbr").values_list(
        "account__external_id", "title", "due_date", "status"
    )
    return sorted(qbrs) + sorted(steps)


def test_held_qbrs_with_notes_steps_and_goals():
    seed("--accounts", "60", "--seed", "7")
    held = Qbr.objects.filter(status__in=[QbrStatus.HELD, QbrStatus.FOLLOWED_UP])
    assert held.count() >= 20
    assert not held.filter(notes="").exists()
    assert (
        QbrNextStep.objects.filter(qbr__in=held, task__isnull=False).count()
        == QbrNextStep.objects.count()
        > 0
    )
    steps = QbrNextStep.objects.select_related("task")
    assert {s.task.status for s in steps} == {"done", "open"}
    assert all(s.task.account_id == s.qbr.account_id for s in steps)
    assert GoalRevision.objects.filter(note="Reviewed at the QBR").exists()
    assert Qbr.objects.filter(status=QbrStatus.PLANNED, scheduled_at__isnull=False).exists()
    assert Task.objects.filter(source="qbr").count() == steps.count()
    assert qbrs_due().exists()
    # A demo QBR (no stored prep pack) renders from live data.
    _name, data = qbr_export(qbr=held.first(), fmt="pdf")
    assert data.startswith(b"%PDF")


def test_the_same_seed_gives_the_same_qbrs():
    seed("--accounts", "30", "--seed", "3")
    first = signature()
    ids = list(Account.objects.values_list("pk", flat=True))
    Task.objects.filter(source="qbr").delete()
    Qbr.objects.all().delete()
    demo_qbrs_create(account_ids=ids, seed=3, today=timezone.localdate())
    assert signature() == first and first
