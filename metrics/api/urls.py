from django.urls import include, path

urlpatterns = [
    path("", include("metrics.api.urls_ingestion")),
    path("", include("metrics.api.urls_feedback")),
    path("", include("metrics.api.urls_metrics")),
]
