"""Writes of the metrics app, one module per part: ingestion, feedback, engine."""
