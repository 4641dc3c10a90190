"""The latency-critical tasks have a queue of their own."""

from __future__ import annotations

from csplatform.celery import FAST_TASKS, app


def queue_of(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


def test_every_fast_task_exists_and_goes_to_the_fast_queue():
    app.loader.import_default_modules()
    assert FAST_TASKS.issubset(app.tasks)
    default = app.conf.task_default_queue
    assert {queue_of(name) for name in FAST_TASKS} == {f"{default}-fast"}


def test_the_long_jobs_stay_on_the_default_queue():
    default = app.conf.task_default_queue
    for name in (
        "metrics.tasks.engine.metrics_recalculate_today",
        "playbooks.tasks.rules_evaluate_scheduled",
        "metrics.tasks.ingestion.events_attach_pending",
    ):
        assert queue_of(name) == default


def test_a_worker_without_queues_serves_both_and_the_fast_queue_follows_the_default(settings):
    assert [q.name for q in app.conf.task_queues] == [
        settings.CELERY_TASK_DEFAULT_QUEUE,
        f"{settings.CELERY_TASK_DEFAULT_QUEUE}-fast",
    ]
    saved = app.conf.task_default_queue
    app.conf.task_default_queue = "elsewhere"
    try:
        assert queue_of("metrics.tasks.ingestion.rollups_fold") == "elsewhere-fast"
    finally:
        app.conf.task_default_queue = saved


def test_each_queue_is_bound_by_its_own_name_so_no_message_reaches_both():
    bindings = [(q.exchange.name, q.routing_key) for q in app.conf.task_queues]
    assert bindings == [(q.name, q.name) for q in app.conf.task_queues]
