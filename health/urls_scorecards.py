"""The scorecard editor and the backtest, under /health/ (namespace "health")."""

from django.urls import path

from health import views_backtest, views_scorecards

urlpatterns = [
    path("scorecards/", views_scorecards.scorecard_list, name="scorecards"),
    path("scorecards/<int:pk>/", views_scorecards.scorecard_detail, name="scorecard"),
    path("backtest/", views_backtest.backtest, name="backtest"),
]
