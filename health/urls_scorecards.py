"""The scorecard editor and the backtest, under /health/ (namespace "health")."""

from django.urls import path

from health import views_backtest, views_scorecards

v = views_scorecards

urlpatterns = [
    path("scorecards/", v.scorecard_list, name="scorecards"),
    path("scorecards/new/", v.scorecard_create, name="scorecard_create"),
    path("scorecards/starter/", v.scorecard_starter, name="scorecard_starter"),
    path("scorecards/<int:pk>/", v.scorecard_detail, name="scorecard"),
    path("scorecards/<int:pk>/edit/", v.scorecard_edit, name="scorecard_edit"),
    path("scorecards/<int:pk>/active/", v.scorecard_active, name="scorecard_active"),
    path("scorecards/<int:pk>/duplicate/", v.scorecard_duplicate, name="scorecard_duplicate"),
    # The scorecard's draft (one at most).
    path("scorecards/<int:pk>/draft/", v.draft_start, name="draft_start"),
    path("scorecards/<int:pk>/draft/discard/", v.draft_discard, name="draft_discard"),
    path("scorecards/<int:pk>/draft/publish/", v.draft_publish, name="draft_publish"),
    path("scorecards/<int:pk>/draft/normalise/", v.draft_normalise, name="draft_normalise"),
    path("scorecards/<int:pk>/draft/weights/", v.draft_weights, name="draft_weights"),
    path("scorecards/<int:pk>/draft/bands/", v.draft_bands, name="draft_bands"),
    path("scorecards/<int:pk>/draft/preview/", v.draft_preview, name="draft_preview"),
    path("scorecards/<int:pk>/draft/groups/new/", v.group_create, name="group_create"),
    path("scorecard-groups/<int:pk>/", v.group_edit, name="group_edit"),
    path("scorecard-groups/<int:pk>/delete/", v.group_delete, name="group_delete"),
    path("scorecard-groups/<int:pk>/move/", v.group_move, name="group_move"),
    path("scorecard-groups/<int:pk>/measures/new/", v.measure_create, name="measure_create"),
    path("scorecard-measures/<int:pk>/", v.measure_edit, name="measure_edit"),
    path("scorecard-measures/<int:pk>/delete/", v.measure_delete, name="measure_delete"),
    path("scorecard-measures/<int:pk>/move/", v.measure_move, name="measure_move"),
    path("backtest/", views_backtest.backtest, name="backtest"),
]
