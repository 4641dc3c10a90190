"""REST endpoints for support tickets and survey responses.

Everyone with a role reads; a CSM writes the records of accounts they own, a CS Lead any,
a viewer nothing (the role matrix in csplatform.roles). POST upserts on external_id: a
known id updates that record (200), a new one creates (201).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.views import AccountScopedViewSet
from metrics.api.serializers_feedback import SurveyResponseSerializer, TicketSerializer
from metrics.choices import ResponseSource
from metrics.filtersets_feedback import SurveyResponseFilterSet, TicketFilterSet
from metrics.models import SurveyResponse, Ticket
from metrics.services import feedback as services


class _UpsertViewSet(AccountScopedViewSet):
    model: Any

    def _upsert(self, data: dict[str, Any]) -> tuple[Any, bool]:
        raise NotImplementedError

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        self.check_account_editable(data["account"])
        external_id = data.get("external_id") or None
        if external_id:
            existing = (
                self.model.objects.select_related("account").filter(external_id=external_id).first()
            )
            if existing is not None:
                # Updating through an upsert needs the same right as a PATCH of that record.
                self.check_account_editable(existing.account)
        obj, created = self._upsert(data)
        out = self.get_serializer(self.get_queryset().get(pk=obj.pk))
        return Response(out.data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema(tags=["tickets"])
class TicketViewSet(_UpsertViewSet):
    """Support tickets. Filter by account, status, priority, channel, opened time."""

    model = Ticket
    serializer_class = TicketSerializer
    filterset_class = TicketFilterSet
    ordering_fields = ["opened_at", "resolved_at", "first_response_at", "priority", "status"]

    def get_queryset(self) -> QuerySet[Ticket]:
        return Ticket.objects.select_related("account").order_by("-opened_at", "-pk")

    def _upsert(self, data: dict[str, Any]) -> tuple[Ticket, bool]:
        return services.ticket_upsert(data=data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self.check_move(serializer)
        ticket: Ticket = serializer.instance  # type: ignore[assignment]
        for name, value in serializer.validated_data.items():
            setattr(ticket, name, value)
        self.reread(serializer, services.ticket_save(ticket=ticket))


@extend_schema(tags=["survey responses"])
class SurveyResponseViewSet(_UpsertViewSet):
    """NPS (0–10), CSAT (1–5) and CES (1–7) answers with the account's stage at the time."""

    model = SurveyResponse
    serializer_class = SurveyResponseSerializer
    filterset_class = SurveyResponseFilterSet
    ordering_fields = ["responded_at", "score", "kind"]

    def get_queryset(self) -> QuerySet[SurveyResponse]:
        return SurveyResponse.objects.select_related("account", "contact").order_by(
            "-responded_at", "-pk"
        )

    def _upsert(self, data: dict[str, Any]) -> tuple[SurveyResponse, bool]:
        return services.survey_response_upsert(data=data, source=ResponseSource.API)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        self.check_move(serializer)
        response: SurveyResponse = serializer.instance  # type: ignore[assignment]
        for name, value in serializer.validated_data.items():
            setattr(response, name, value)
        self.reread(serializer, services.survey_response_save(response=response))
