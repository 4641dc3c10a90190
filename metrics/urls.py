"""Pages of the metrics app; each part keeps its own route table."""

from django.urls import include, path

app_name = "metrics"

urlpatterns = [
    path("", include("metrics.urls_dashboard")),
    path("", include("metrics.urls_feedback")),
    path("", include("metrics.urls_ingestion")),
]
