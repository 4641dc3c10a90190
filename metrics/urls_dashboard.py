from django.urls import path

from metrics import views_dashboard

urlpatterns = [
    path("", views_dashboard.dashboard, name="dashboard"),
    path("cohorts/", views_dashboard.cohorts, name="cohorts"),
    path("about/", views_dashboard.about, name="about"),
]
