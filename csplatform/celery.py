"""The Celery application: tasks are discovered in every installed app's tasks.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csplatform.settings")

app = Celery("csplatform")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The path from new signals to fresh scores and alerts: usage folded into the rollups, the
# changed accounts' figures refreshed (health rescores them in the same task), playbook
# rules run on those events, the alert emails sent. These tasks go to the fast queue,
# "<CELERY_QUEUE>-fast", which the `fastworker` process serves alone (the main worker
# serves both queues), so that a recalculation or a sweep never holds them up.
FAST_TASKS = frozenset(
    {
        "metrics.tasks.ingestion.rollups_fold",
        "metrics.tasks.engine.account_figures_refresh_changed",
        "playbooks.tasks.rules_evaluate_event",
        "csplatform.tasks.outbox_send",
    }
)


def fast_queue() -> str:
    return f"{app.conf.task_default_queue}-fast"


def route_task(
    name: str, args: object, kwargs: object, options: object, **rest: object
) -> dict[str, str] | None:
    """Celery router (CELERY_TASK_ROUTES): the fast queue for FAST_TASKS, else the default."""
    return {"queue": fast_queue()} if name in FAST_TASKS else None
