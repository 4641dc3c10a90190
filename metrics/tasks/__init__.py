"""Celery tasks of the metrics app; importing the modules registers them."""

from metrics.tasks import engine, feedback, ingestion

__all__ = ["engine", "feedback", "ingestion"]
