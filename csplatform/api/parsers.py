"""Parsers that enforce DATA_UPLOAD_MAX_MEMORY_SIZE on API bodies.

Django checks the limit only when `request.body` or `request.POST` is read; DRF streams JSON
and form bodies straight from the request, so without this check an oversized body would be
parsed whole. Multipart is left to Django, whose limit excludes uploaded files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework import parsers

from csplatform.api.exceptions import PayloadTooLarge


def _check_size(parser_context: Mapping[str, Any] | None) -> None:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    request = (parser_context or {}).get("request")
    if limit is None or request is None:
        return
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise PayloadTooLarge()


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        _check_size(parser_context)
        return super().parse(stream, media_type, parser_context)


class FormParser(parsers.FormParser):
    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        _check_size(parser_context)
        return super().parse(stream, media_type, parser_context)
