from __future__ import annotations

import hashlib
from typing import Any

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.contrib.auth import forms as auth_forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from csplatform.choices import NotificationCategory
from csplatform.models import User
from csplatform.services import email_enqueue


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Sends the reset link through the email outbox instead of directly."""

    def send_mail(
        self,
        subject_template_name: str,
        email_template_name: str,
        context: dict[str, Any],
        from_email: str | None,
        to_email: str,
        html_email_template_name: str | None = None,
    ) -> None:
        user: User = context["user"]
        # One email per user, password and minute: a double-clicked form (or a retried
        # request) sends one, a request a minute later a fresh one, a login or a password
        # change starts afresh. Nothing secret travels in the key (a mail header).
        state = f"{user.password}:{user.last_login}".encode()
        minute = timezone.now().strftime("%Y%m%d%H%M")
        email_enqueue(
            idempotency_key=(
                f"password-reset:{user.pk}:{hashlib.sha256(state).hexdigest()[:24]}:{minute}"
            ),
            template="password_reset",
            context={
                "user": user,
                "reset_path": reverse(
                    "password_reset_confirm",
                    kwargs={"uidb64": context["uid"], "token": context["token"]},
                ),
            },
            to=[to_email],
            category=NotificationCategory.SECURITY,
            user=user,
        )


class NotificationPreferencesForm(forms.Form):
    categories = forms.MultipleChoiceField(
        label=_("Email me about"),
        choices=[(c.value, c.label) for c in NotificationCategory.optional()],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("save", _("Save preferences")))


class ApiKeyCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Key name"), max_length=100, help_text=_("What will use this key?")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.add_input(Submit("create", _("Create key")))
