"""Routes of onboarding under /api/v1/onboarding/."""

from rest_framework.routers import SimpleRouter

from onboarding.api import views

router = SimpleRouter()
router.register("onboarding/templates", views.TemplateViewSet, basename="onboarding-template")
router.register(
    "onboarding/template-milestones",
    views.TemplateMilestoneViewSet,
    basename="onboarding-template-milestone",
)
router.register(
    "onboarding/template-tasks", views.TemplateTaskViewSet, basename="onboarding-template-task"
)
router.register(
    "onboarding/template-criteria",
    views.TemplateCriterionViewSet,
    basename="onboarding-template-criterion",
)
router.register("onboarding/plans", views.PlanViewSet, basename="onboarding-plan")
router.register("onboarding/plan-tasks", views.PlanTaskViewSet, basename="onboarding-plan-task")

urlpatterns = router.urls
