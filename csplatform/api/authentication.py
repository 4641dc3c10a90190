from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from csplatform.models import ApiKey, User
from csplatform.services import api_key_hash


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>` (also accepts `Token <key>` and `Bearer <key>`)."""

    keywords = ("api-key", "token", "bearer")

    def authenticate(self, request: Request) -> tuple[User, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Invalid Authorization header: expected 'Api-Key <key>'.")
            )
        key = (
            ApiKey.objects.select_related("user")
            .filter(hashed_key=api_key_hash(header[1]), revoked_at__isnull=True)
            .first()
        )
        if key is None or not key.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked API key."))
        # Touch last_used_at at most once a minute to keep hot paths write-free.
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.user, key

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Declares the API-key scheme in the OpenAPI document."""

    target_class = "csplatform.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create keys under Settings → API keys.",
        }
