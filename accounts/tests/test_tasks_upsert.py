"""Many tasks at once, one open task per account and reason, even when callers race."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from accounts.choices import TaskStatus
from accounts.models import Task
from accounts.services import TaskSpec, task_complete, tasks_upsert
from accounts.tests.factories import AccountFactory


@pytest.mark.django_db
def test_new_reasons_create_tasks_and_open_ones_are_updated_not_duplicated(alice):
    a, b = AccountFactory(owner=alice), AccountFactory(owner=alice)
    first = [
        TaskSpec(a.pk, "Call them", "rule:1:red", "playbooks", assignee_id=alice.pk),
        TaskSpec(b.pk, "Call them", "rule:1:red", "playbooks", assignee_id=alice.pk),
    ]
    assert tasks_upsert(tasks=first) == 2
    again = [TaskSpec(a.pk, "Call them today", "rule:1:red", "playbooks", priority="urgent")]
    assert tasks_upsert(tasks=again) == 1
    assert Task.objects.count() == 2
    task = Task.objects.get(account=a)
    assert (task.title, task.priority, task.assignee_id) == ("Call them today", "urgent", alice.pk)
    # Once done, the same reason makes a new task.
    task_complete(task=task, actor=alice)
    tasks_upsert(tasks=again)
    assert Task.objects.filter(account=a, status=TaskStatus.OPEN).count() == 1
    assert Task.objects.filter(account=a).count() == 2


def test_a_task_without_a_reason_is_refused():
    with pytest.raises(ValueError):
        tasks_upsert(tasks=[TaskSpec(1, "x", "", "playbooks")])


@pytest.mark.django_db(transaction=True)
def test_two_callers_racing_for_the_same_reason_make_one_task():
    account = AccountFactory()
    spec = [TaskSpec(account.pk, "Save the account", "rule:7:red", "playbooks")]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                tasks_upsert(tasks=spec)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Task.objects.filter(account=account).count() == 1
