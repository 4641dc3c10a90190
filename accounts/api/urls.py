"""Routes of the accounts records under /api/v1/."""

from rest_framework.routers import DefaultRouter

from accounts.api import views

router = DefaultRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("subscriptions", views.SubscriptionViewSet, basename="subscription")
router.register("activities", views.ActivityViewSet, basename="activity")
router.register("tasks", views.TaskViewSet, basename="task")
router.register("goals", views.GoalViewSet, basename="goal")

urlpatterns = router.urls
