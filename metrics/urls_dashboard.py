from django.urls import path  # noqa: F401  (routes arrive with their views)

urlpatterns: list = []
