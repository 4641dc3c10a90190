"""Pages of the health app, under /health/ (namespace "health")."""

from django.urls import include, path

from health import views

app_name = "health"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("accounts/<int:account_pk>/explain/", views.explain, name="explain"),
    path("accounts/<int:account_pk>/override/", views.override_set, name="override_set"),
    path("overrides/<int:pk>/remove/", views.override_remove, name="override_remove"),
    path("accounts/<int:account_pk>/sentiment/", views.sentiment_set, name="sentiment_set"),
    path("sentiments/<int:pk>/remove/", views.sentiment_remove, name="sentiment_remove"),
    # The scorecard editor and the backtest.
    path("", include("health.urls_scorecards")),
]
