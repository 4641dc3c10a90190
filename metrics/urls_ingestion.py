"""Pages of ingestion under /metrics/."""

from django.urls import path

from metrics import views_ingestion as views

urlpatterns = [
    path("sources/", views.source_list, name="sources"),
    path("sources/<int:pk>/revoke/", views.source_revoke, name="source_revoke"),
    path("features/", views.feature_list, name="features"),
    path("features/new/", views.feature_edit, name="feature_create"),
    path("features/<int:pk>/", views.feature_edit, name="feature_edit"),
    path("end-users/", views.end_user_list, name="end_users"),
    path("events/import/", views.event_import_upload, name="event_import"),
    path("events/import/<int:pk>/", views.event_import_preview, name="event_import_preview"),
    path("events/import/<int:pk>/commit/", views.event_import_commit, name="event_import_commit"),
]
