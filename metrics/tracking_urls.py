"""The Segment-compatible tracking API (/v1/identify, /v1/track, ...)."""

from django.urls import path  # noqa: F401  (routes arrive with their views)

urlpatterns: list = []
