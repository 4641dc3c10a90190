"""Pages of the playbooks app, under /playbooks/ (namespace "playbooks")."""

from django.urls import path

from playbooks import views, views_notifications, views_playbooks, views_webhooks

app_name = "playbooks"

urlpatterns = [
    # Rules
    path("", views.rule_list, name="rules"),
    path("rules/new/", views.rule_edit, name="rule_create"),
    path("rules/new/preview/", views.rule_preview_draft, name="rule_preview_new"),
    path("rules/trigger-settings/", views.trigger_params, name="trigger_params"),
    path("rules/<int:pk>/", views.rule_detail, name="rule"),
    path("rules/<int:pk>/edit/", views.rule_edit, name="rule_edit"),
    path("rules/<int:pk>/edit/preview/", views.rule_preview_draft, name="rule_preview_draft"),
    path("rules/<int:pk>/preview/", views.rule_preview, name="rule_preview"),
    path("rules/<int:pk>/mode/", views.rule_mode, name="rule_mode"),
    path("rules/<int:pk>/run/", views.rule_run, name="rule_run"),
    path("rules/<int:pk>/delete/", views.rule_delete_view, name="rule_delete"),
    path("rules/<int:pk>/runs/", views.run_list, name="runs"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    # Playbooks (task lists)
    path("playbooks/", views_playbooks.playbook_list, name="playbooks"),
    path("playbooks/new/", views_playbooks.playbook_edit, name="playbook_create"),
    path("playbooks/<int:pk>/", views_playbooks.playbook_detail, name="playbook"),
    path("playbooks/<int:pk>/edit/", views_playbooks.playbook_edit, name="playbook_edit"),
    path(
        "playbooks/<int:pk>/delete/", views_playbooks.playbook_delete_view, name="playbook_delete"
    ),
    # Webhook endpoints (Admins)
    path("webhooks/", views_webhooks.webhook_list, name="webhooks"),
    path("webhooks/new/", views_webhooks.webhook_edit, name="webhook_create"),
    path("webhooks/<int:pk>/", views_webhooks.webhook_detail, name="webhook"),
    path("webhooks/<int:pk>/edit/", views_webhooks.webhook_edit, name="webhook_edit"),
    path("webhooks/<int:pk>/rotate/", views_webhooks.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:pk>/enable/", views_webhooks.webhook_enable, name="webhook_enable"),
    path("webhooks/<int:pk>/test/", views_webhooks.webhook_test, name="webhook_test"),
    path("webhooks/<int:pk>/delete/", views_webhooks.webhook_delete, name="webhook_delete"),
    # Notifications (the bell)
    path("notifications/", views_notifications.notification_list, name="notifications"),
    path("notifications/menu/", views_notifications.notification_menu, name="notification_menu"),
    path(
        "notifications/read-all/",
        views_notifications.notification_read_all,
        name="notifications_read_all",
    ),
    path(
        "notifications/<int:pk>/read/",
        views_notifications.notification_read,
        name="notification_read",
    ),
    path(
        "notifications/<int:pk>/open/",
        views_notifications.notification_open,
        name="notification_open",
    ),
]
