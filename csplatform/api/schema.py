"""OpenAPI generation: every operation documents the error shape it can answer with."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text=_("A sentence saying what went wrong."))
    code = serializers.CharField(help_text=_("A stable machine-readable code."))


class ValidationErrorSerializer(ErrorSerializer):
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text=_("Messages per field; non_field_errors for the record as a whole."),
    )


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction=direction)
        if direction != "response":
            return responses
        errors: dict[str, type[serializers.Serializer]] = {
            "400": ValidationErrorSerializer,
            "401": ErrorSerializer,
            "403": ErrorSerializer,
            "429": ErrorSerializer,
        }
        if "{" in self.path:
            errors["404"] = ErrorSerializer
        if self.method in ("POST", "PUT", "PATCH"):
            errors["413"] = ErrorSerializer
        for code, serializer in errors.items():
            responses.setdefault(
                code, self._get_response_for_code(serializer, code, direction=direction)
            )
        return responses
