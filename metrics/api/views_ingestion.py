"""REST endpoints of ingestion: the native bulk event endpoint, features, sources, end users.

POST /api/v1/events/bulk/ takes a JSON array of rows (see metrics.tracking.native_row_parse)
and is all or nothing: any invalid row makes it a 400 listing every bad row by index, and
nothing is stored; rows whose message_id is already stored are skipped, so a retried
request counts once. It needs the "add event" permission (CS Lead, Admin).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from csplatform.choices import Role
from metrics.api.serializers_ingestion import (
    BulkResultSerializer,
    EndUserSerializer,
    FeatureSerializer,
    SourceCreatedSerializer,
    SourceSerializer,
)
from metrics.models import EndUser, Event, Feature, Source
from metrics.services import ingestion as services
from metrics.tracking import Invalid, native_row_parse


class IsAdminRole(permissions.BasePermission):
    """Sources hold write keys: only Admins see or manage them."""

    message = _("Only an Admin can manage tracking sources.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.role == Role.ADMIN)


@extend_schema(tags=["events"])
class EventBulkView(APIView):
    """Store usage events in bulk (a JSON array of rows); all rows or none."""

    def get_queryset(self) -> QuerySet[Event]:
        # Read by RoleMatrixPermission: POST needs metrics.add_event.
        return Event.objects.none()

    @extend_schema(
        request={"application/json": {"type": "array", "items": {"type": "object"}}},
        responses={200: BulkResultSerializer, 400: OpenApiResponse(description="Per-row errors")},
    )
    def post(self, request: Request) -> Response:
        rows = request.data
        if not isinstance(rows, list):
            raise exceptions.ValidationError({"non_field_errors": [_("Expected a JSON array.")]})
        received_at = timezone.now()
        messages = []
        errors = []
        for index, row in enumerate(rows):
            try:
                messages.append(
                    native_row_parse(
                        row, received_at=received_at, max_bytes=settings.TRACKING_MAX_CALL_BYTES
                    )
                )
            except Invalid as exc:
                errors.append({"index": index, "errors": exc.errors})
        if errors:
            return Response(
                {
                    "detail": _("Some rows are not valid; nothing was stored."),
                    "code": "invalid",
                    "errors": {"rows": errors},
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            result = services.events_ingest(
                messages=messages, received_at=received_at, defer_rollups=True
            )
        except services.IngestionUnavailable as exc:
            unavailable = exceptions.APIException(str(exc), code="unavailable")
            unavailable.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            raise unavailable from exc
        return Response(
            BulkResultSerializer(
                {
                    "received": result.received,
                    "inserted": result.inserted,
                    "duplicates": result.duplicates,
                }
            ).data
        )


@extend_schema(tags=["features"])
class FeatureViewSet(viewsets.ModelViewSet):
    """The feature catalogue: readable by everyone, changed by CS Leads and Admins."""

    serializer_class = FeatureSerializer
    filterset_fields = ["is_core", "is_key"]
    ordering_fields = ["name", "key", "release_date"]

    def get_queryset(self) -> QuerySet[Feature]:
        return Feature.objects.prefetch_related("events").order_by("name", "pk")

    def _save(self, serializer: serializers.BaseSerializer, feature: Feature) -> None:
        data = dict(serializer.validated_data)
        event_names = data.pop("event_names", None)
        for name, value in data.items():
            setattr(feature, name, value)
        feature = services.feature_save(feature=feature, event_names=event_names)
        serializer.instance = self.get_queryset().get(pk=feature.pk)

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        self._save(serializer, Feature())

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self._save(serializer, serializer.instance)


@extend_schema(tags=["sources"])
class SourceViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Tracking sources. The write key is returned once, by create; revoke to stop one."""

    permission_classes = [IsAdminRole]
    serializer_class = SourceSerializer
    queryset = Source.objects.order_by("name", "pk")

    @extend_schema(responses={201: SourceCreatedSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        source, raw = services.source_create(
            name=serializer.validated_data["name"], actor=request.user
        )
        source.write_key = raw  # type: ignore[attr-defined]
        return Response(SourceCreatedSerializer(source).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: SourceSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        source = services.source_revoke(source=self.get_object())
        return Response(SourceSerializer(source).data)


@extend_schema(tags=["end users"])
class EndUserViewSet(viewsets.ReadOnlyModelViewSet):
    """Users of the customers' product, as the tracking API learnt them."""

    serializer_class = EndUserSerializer
    filterset_fields = ["account"]
    ordering_fields = ["last_seen_at", "first_seen_at", "external_id"]

    def get_queryset(self) -> QuerySet[EndUser]:
        return EndUser.objects.select_related("account").order_by("-last_seen_at", "pk")
