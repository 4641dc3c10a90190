"""Routes of renewals under /api/v1/renewals/."""

from rest_framework.routers import SimpleRouter

from renewals.api import views

router = SimpleRouter()
router.register("renewals/counter-offers", views.CounterOfferViewSet, basename="renewal-offer")
router.register(
    "renewals/exit-interviews", views.ExitInterviewViewSet, basename="renewal-exit-interview"
)
router.register("renewals", views.RenewalViewSet, basename="renewal")

urlpatterns = router.urls
