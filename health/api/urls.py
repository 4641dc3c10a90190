"""Routes of the health API under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from health.api import views

router = SimpleRouter()
router.register("health/scores", views.HealthScoreViewSet, basename="health-score")

urlpatterns = [
    path("", include(router.urls)),
    path(
        "accounts/<int:account_id>/health/",
        views.AccountHealthView.as_view(),
        name="account-health",
    ),
    path(
        "accounts/<int:account_id>/health/history/",
        views.AccountHealthHistoryView.as_view(),
        name="account-health-history",
    ),
]
