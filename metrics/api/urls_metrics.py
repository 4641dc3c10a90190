"""Routes of the metrics read API under /api/v1/.

accounts/<id>/metrics/ lives here, beside the accounts router: that router only answers
accounts/<pk>/ and the actions its viewset declares, so this path reaches this view.
"""

from django.urls import path

from metrics.api import views_metrics

urlpatterns = [
    path("metrics/", views_metrics.MetricListView.as_view(), name="metric-list"),
    path("metrics/<str:key>/", views_metrics.MetricSeriesView.as_view(), name="metric-series"),
    path(
        "accounts/<int:account_id>/metrics/",
        views_metrics.AccountMetricsView.as_view(),
        name="account-metrics",
    ),
]
