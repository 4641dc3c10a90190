"""Writes of the onboarding app: templates, plans, sharing, and detection over the rollups."""
