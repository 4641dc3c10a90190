"""Pages of the renewals app, under /renewals/ (namespace "renewals")."""

from django.urls import path

from renewals import views

app_name = "renewals"

urlpatterns = [
    path("", views.renewal_list, name="list"),
    path("pipeline/", views.pipeline, name="pipeline"),
    path("retention/", views.retention, name="retention"),
    path("calendar/", views.calendar, name="calendar"),
    path("churn/", views.churn, name="churn"),
    path("<int:pk>/", views.renewal_detail, name="detail"),
    path("<int:pk>/forecast/", views.renewal_edit, name="edit"),
    path("<int:pk>/close/", views.renewal_close, name="close"),
    path("<int:pk>/mitigation/", views.mitigation_attach, name="mitigation"),
    path("<int:pk>/reason/", views.reason_edit, name="reason"),
    path("<int:pk>/offers/new/", views.offer_create, name="offer_create"),
    path("offers/<int:pk>/decide/", views.offer_decide, name="offer_decide"),
    path("<int:pk>/exit-interview/", views.exit_interview, name="exit_interview"),
    path("<int:pk>/win-back/", views.win_back, name="win_back"),
]
