"""Consistent API errors: {"detail": ..., "code": ..., "errors": {field: [...]}}.

Every error the API returns has this shape, whichever layer raised it: a serializer, a
model's full_clean in a service, Django's own 404/403, the body-size limit or a throttle.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is larger than this endpoint accepts.")
    default_code = "payload_too_large"

    def __init__(self, detail: Any = None, code: str | None = None) -> None:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if detail is None and limit is not None:
            detail = _(
                "The request body is larger than the %(limit)s bytes this API accepts; "
                "send fewer records per request."
            ) % {"limit": limit}
        super().__init__(detail, code)


def _field_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if not hasattr(exc, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(exc.messages)}
    return {
        (api_settings.NON_FIELD_ERRORS_KEY if field == NON_FIELD_ERRORS else field): messages
        for field, messages in exc.message_dict.items()
    }


def _as_api_exception(exc: Exception) -> Exception:
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(_field_errors(exc))
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views loads the parser classes, which import this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = (
            response.data
            if isinstance(response.data, dict)
            else {api_settings.NON_FIELD_ERRORS_KEY: response.data}
        )
        response.data = {"detail": _("Invalid input."), "code": "invalid", "errors": errors}
    elif isinstance(exc, exceptions.APIException):
        detail = (
            response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        )
        response.data = {"detail": str(detail), "code": getattr(detail, "code", exc.default_code)}
    return response
