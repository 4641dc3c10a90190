"""Routes of QBRs under /api/v1/qbrs/."""

from rest_framework.routers import SimpleRouter

from qbr.api import views

router = SimpleRouter()
router.register("qbrs", views.QbrViewSet, basename="qbr")

urlpatterns = router.urls
