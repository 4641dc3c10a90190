"""Pages of the playbooks app, under /playbooks/ (namespace "playbooks")."""

from django.urls import path

from playbooks import views

app_name = "playbooks"

urlpatterns = [
    path("", views.rule_list, name="rules"),
    path("rules/<int:pk>/", views.rule_detail, name="rule"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("playbooks/<int:pk>/", views.playbook_detail, name="playbook"),
    path("webhooks/", views.webhook_list, name="webhooks"),
    path("notifications/", views.notification_list, name="notifications"),
]
