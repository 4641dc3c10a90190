"""Celery tasks: take ids, call one service."""
