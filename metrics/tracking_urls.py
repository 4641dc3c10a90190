"""The Segment-compatible tracking API (/v1/identify, /v1/track, ...).

Paths are those Segment clients use, without a trailing slash; one is tolerated so that
a client configured with a host ending in "/" still works.
"""

from django.urls import re_path

from metrics import views_tracking as views

urlpatterns = [
    re_path(r"^identify/?$", views.identify, name="tracking-identify"),
    re_path(r"^track/?$", views.track, name="tracking-track"),
    re_path(r"^page/?$", views.page, name="tracking-page"),
    re_path(r"^screen/?$", views.screen, name="tracking-screen"),
    re_path(r"^group/?$", views.group, name="tracking-group"),
    re_path(r"^alias/?$", views.alias, name="tracking-alias"),
    re_path(r"^batch/?$", views.batch, name="tracking-batch"),
    # Segment's older name for the batch endpoint, still used by some libraries.
    re_path(r"^import/?$", views.batch, name="tracking-import"),
]
