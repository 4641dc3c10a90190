"""The /api/v1/ root: each app contributes its routes through an include."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api.urls")),
    path("", include("metrics.api.urls")),
    path("", include("onboarding.api.urls")),
    path("", include("health.api.urls")),
    path("", include("renewals.api.urls")),
    path("", include("playbooks.api.urls")),
    path("", include("qbr.api.urls")),
]
