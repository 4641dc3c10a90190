"""Pages of the qbr app, under /qbr/ (namespace "qbr")."""

from django.urls import path

from qbr import views

app_name = "qbr"

urlpatterns = [
    path("", views.due_list, name="due"),
    path("all/", views.qbr_list, name="list"),
    path("new/<int:account_pk>/", views.qbr_create, name="create"),
    path("cadence/<int:account_pk>/", views.cadence_edit, name="cadence"),
    path("<int:pk>/", views.qbr_detail, name="detail"),
    path("<int:pk>/edit/", views.qbr_edit, name="edit"),
    path("<int:pk>/prepare/", views.qbr_prepare, name="prepare"),
    path("<int:pk>/document/", views.qbr_narrative, name="narrative"),
    path("<int:pk>/section/", views.qbr_section_save, name="section"),
    path("<int:pk>/preview/", views.qbr_preview, name="preview"),
    path("<int:pk>/export/", views.qbr_export, name="export"),
    path("<int:pk>/hold/", views.qbr_hold, name="hold"),
    path("<int:pk>/follow-up/", views.qbr_follow_up, name="follow_up"),
    path("<int:pk>/invite/", views.qbr_invite, name="invite"),
    path("<int:pk>/cancel/", views.qbr_cancel, name="cancel"),
    path("batches/new/", views.batch_create, name="batch_create"),
    path("batches/<int:pk>/", views.batch_detail, name="batch"),
    path("batches/<int:pk>/download/", views.batch_download, name="batch_download"),
    path("batches/<int:pk>/retry/", views.batch_retry, name="batch_retry"),
    path("deck/<str:token>/", views.deck_link, name="deck_link"),
]
