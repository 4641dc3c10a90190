"""Pages for tickets and surveys, under /metrics/ (namespace "metrics")."""

from django.urls import path

from metrics import views_feedback as views

urlpatterns = [
    # Public: the links in survey emails.
    path("survey/thanks/", views.survey_thanks, name="survey_thanks"),
    path("survey/<str:token>/comment/", views.survey_comment, name="survey_comment"),
    path("survey/<str:token>/<int:score>/", views.survey_answer, name="survey_answer"),
    # Logged in.
    path("accounts/<int:account_pk>/survey/", views.survey_send, name="survey_send"),
    path("surveys/schedules/", views.schedule_list, name="survey_schedules"),
    path("surveys/schedules/new/", views.schedule_edit, name="survey_schedule_create"),
    path("surveys/schedules/<int:pk>/", views.schedule_edit, name="survey_schedule_edit"),
    path("feedback/import/", views.import_upload, name="feedback_import"),
    path("feedback/import/<int:pk>/", views.import_preview, name="feedback_import_preview"),
    path("feedback/import/<int:pk>/commit/", views.import_commit, name="feedback_import_commit"),
]
urlpatterns += [
    path("accounts/<int:account_pk>/tickets/", views.ticket_list, name="account_tickets"),
    path("surveys/responses/", views.response_list, name="survey_responses"),
]
