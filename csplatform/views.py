from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views import View

from csplatform import services
from csplatform.choices import NotificationCategory
from csplatform.forms import ApiKeyCreateForm, NotificationPreferencesForm, PasswordResetForm


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "registration/password_change_done.html"


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "registration/password_reset.html"
    form_class = PasswordResetForm
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class NotificationPreferencesView(LoginRequiredMixin, View):
    template_name = "csplatform/notifications.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        enabled = [
            c.value for c in NotificationCategory.optional() if request.user.wants_email(c.value)
        ]
        form = NotificationPreferencesForm(initial={"categories": enabled})
        return render(request, self.template_name, {"form": form})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = NotificationPreferencesForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form}, status=400)
        services.user_update_notification_preferences(
            user=request.user, enabled=form.cleaned_data["categories"]
        )
        messages.success(request, _("Notification preferences saved."))
        return HttpResponseRedirect(reverse("settings_notifications"))


class ApiKeyListView(LoginRequiredMixin, View):
    template_name = "csplatform/api_keys.html"

    def _render(self, request: HttpRequest, form: ApiKeyCreateForm, **extra: Any) -> HttpResponse:
        keys = request.user.api_keys.all()
        return render(request, self.template_name, {"form": form, "keys": keys, **extra})

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, ApiKeyCreateForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ApiKeyCreateForm(request.POST)
        if not form.is_valid():
            return self._render(request, form)
        key, raw = services.api_key_create(user=request.user, name=form.cleaned_data["name"])
        # The raw key is shown on this response only; it is not stored.
        return self._render(request, ApiKeyCreateForm(), new_key=raw, new_key_obj=key)


class ApiKeyRevokeView(LoginRequiredMixin, View):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        key = get_object_or_404(request.user.api_keys, pk=pk)
        services.api_key_revoke(key=key)
        messages.success(request, _("API key “%(name)s” revoked.") % {"name": key.name})
        return HttpResponseRedirect(reverse("settings_api_keys"))
