"""Pages of the onboarding app, under /onboarding/ (namespace "onboarding")."""

from django.urls import path

from onboarding import views, views_public

app_name = "onboarding"

urlpatterns = [
    path("", views.plan_list, name="plans"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/tasks/new/", views.plan_task_create, name="plan_task_create"),
    path("plans/<int:pk>/complete/", views.plan_complete, name="plan_complete"),
    path("plans/<int:pk>/cancel/", views.plan_cancel, name="plan_cancel"),
    path("plans/<int:pk>/share/", views.share_link_create, name="share_link_create"),
    path("plan-tasks/<int:pk>/toggle/", views.plan_task_toggle, name="plan_task_toggle"),
    path("plan-tasks/<int:pk>/edit/", views.plan_task_edit, name="plan_task_edit"),
    path(
        "plan-milestones/<int:pk>/complete/",
        views.milestone_complete,
        name="milestone_complete",
    ),
    path("links/<int:pk>/revoke/", views.share_link_revoke, name="share_link_revoke"),
    path("accounts/<int:account_pk>/start/", views.plan_start, name="plan_start"),
    path("reports/", views.reports, name="reports"),
    path("templates/", views.template_list, name="templates"),
    path("templates/new/", views.template_edit, name="template_create"),
    path("templates/<int:pk>/", views.template_detail, name="template_detail"),
    path("templates/<int:pk>/edit/", views.template_edit, name="template_edit"),
    path("templates/<int:pk>/duplicate/", views.template_duplicate, name="template_duplicate"),
    path(
        "templates/<int:template_pk>/milestones/new/",
        views.milestone_edit,
        name="template_milestone_create",
    ),
    path("template-milestones/<int:pk>/", views.milestone_edit, name="template_milestone_edit"),
    path("templates/<int:template_pk>/tasks/new/", views.task_edit, name="template_task_create"),
    path("template-tasks/<int:pk>/", views.task_edit, name="template_task_edit"),
    path(
        "templates/<int:template_pk>/criteria/new/",
        views.criterion_edit,
        name="template_criterion_create",
    ),
    path("template-criteria/<int:pk>/", views.criterion_edit, name="template_criterion_edit"),
    path("template-<str:kind>/<int:pk>/delete/", views.part_delete, name="template_part_delete"),
    # Public: the mutual action plan behind a share link.
    path("shared/<str:token>/", views_public.shared_plan, name="shared_plan"),
    path(
        "shared/<str:token>/tasks/<int:task_pk>/",
        views_public.shared_task_toggle,
        name="shared_task_toggle",
    ),
]
