"""Routes of ingestion under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from metrics.api import views_ingestion as views

router = SimpleRouter()
router.register("features", views.FeatureViewSet, basename="feature")
router.register("sources", views.SourceViewSet, basename="source")
router.register("end-users", views.EndUserViewSet, basename="enduser")

urlpatterns = [
    path("events/bulk/", views.EventBulkView.as_view(), name="events-bulk"),
    *router.urls,
]
