from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", views.home, name="list"),
    path("tasks/", views.home, name="tasks"),
    path("import/", views.home, name="import"),
]
