"""Routes of tickets and survey responses under /api/v1/."""

from rest_framework.routers import SimpleRouter

from metrics.api import views_feedback as views

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("survey-responses", views.SurveyResponseViewSet, basename="survey-response")

urlpatterns = router.urls
