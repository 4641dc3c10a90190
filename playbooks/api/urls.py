"""Routes of the playbooks API under /api/v1/."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from playbooks.api import views

router = SimpleRouter()
router.register("playbooks/rules", views.RuleViewSet, basename="playbook-rule")
router.register("playbooks/runs", views.RuleRunViewSet, basename="playbook-run")
router.register("notifications", views.NotificationViewSet, basename="notification")

urlpatterns = [
    path("", include(router.urls)),
    path("playbooks/triggers/", views.TriggerListView.as_view(), name="playbook-triggers"),
]
