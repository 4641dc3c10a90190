"""Per-user settings pages: notification preferences and API keys."""

from django.urls import path

from csplatform import views

urlpatterns = [
    path(
        "notifications/", views.NotificationPreferencesView.as_view(), name="settings_notifications"
    ),
    path("api-keys/", views.ApiKeyListView.as_view(), name="settings_api_keys"),
    path(
        "api-keys/<int:pk>/revoke/",
        views.ApiKeyRevokeView.as_view(),
        name="settings_api_key_revoke",
    ),
]
