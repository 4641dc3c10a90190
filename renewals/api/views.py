"""REST endpoints of renewals: parse, check the role matrix, call a service.

Every role reads (Viewers the forecast too). A CSM changes the renewals, offers and exit
interviews of the accounts they own, a CS Lead every one. Lists read through querysets that
join what their serializer shows: a page costs the same queries whatever its length.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, filters, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from metrics.choices import Period
from onboarding.api.views import OwnedByAccount
from renewals import selectors
from renewals.api.serializers import (
    CounterOfferSerializer,
    ExitInterviewSerializer,
    PipelineRowSerializer,
    RenewalCloseSerializer,
    RenewalReasonSerializer,
    RenewalSerializer,
    RetentionRowSerializer,
    WinBackSerializer,
)
from renewals.filtersets import RenewalFilterSet
from renewals.models import CounterOffer, ExitInterview, Renewal
from renewals.services import closing, forecast, offboarding

BY = OpenApiParameter(
    "by", OpenApiTypes.STR, enum=[Period.MONTH, Period.QUARTER], description="month or quarter"
)


def _by(request: Request) -> str:
    by = request.query_params.get("by") or Period.MONTH
    if by not in (Period.MONTH, Period.QUARTER):
        raise exceptions.ValidationError({"by": ["month or quarter"]})
    return by


@extend_schema(tags=["renewals"])
class RenewalViewSet(
    OwnedByAccount,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Renewals, one per subscription term, created and rolled forward from subscriptions.

    PATCH changes the forecast of an open one; `close` records its outcome (and writes the
    next term or the cancellation); `pipeline` and `retention` are the forecast and the
    realised GRR/NRR.
    """

    serializer_class = RenewalSerializer
    filterset_class = RenewalFilterSet
    filter_backends = [DjangoFilterBackend]
    http_method_names = ["get", "patch", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Renewal]:
        return selectors.renewal_list().order_by("renewal_date", "pk")

    def owner_id_of(self, obj: Renewal) -> int | None:
        return obj.account.owner_id

    def _reread(self, renewal: Renewal) -> Response:
        return Response(RenewalSerializer(self.get_queryset().get(pk=renewal.pk)).data)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        renewal = serializer.instance
        forecast.renewal_update(
            renewal=renewal, actor=self.request.user, **serializer.validated_data
        )
        serializer.instance = self.get_queryset().get(pk=renewal.pk)

    @extend_schema(request=RenewalCloseSerializer, responses=RenewalSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        """Close with the outcome: renewed flat, expanded, contracted (the next term's licenses
        and price) or churned (a reason); the subscriptions and the account follow."""
        renewal = self.get_object()
        params = RenewalCloseSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        renewal = closing.renewal_close(
            renewal=renewal, actor=request.user, **params.validated_data
        )
        return self._reread(renewal)

    @extend_schema(request=None, responses=RenewalSerializer)
    @action(detail=True, methods=["post"])
    def mitigation(self, request: Request, pk: str | None = None) -> Response:
        """Attach the standard mitigation plan (tasks for the owner)."""
        renewal = self.get_object()
        forecast.mitigation_plan_attach(renewal=renewal, actor=request.user)
        return self._reread(renewal)

    @extend_schema(request=RenewalReasonSerializer, responses=RenewalSerializer)
    @action(detail=True, methods=["post"])
    def reason(self, request: Request, pk: str | None = None) -> Response:
        """Record or correct why a closed renewal churned or contracted."""
        renewal = self.get_object()
        params = RenewalReasonSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        offboarding.renewal_reason_update(
            renewal=renewal, actor=request.user, **params.validated_data
        )
        return self._reread(renewal)

    @extend_schema(request=WinBackSerializer, responses=RenewalSerializer)
    @action(detail=True, methods=["post"], url_path="win-back")
    def win_back(self, request: Request, pk: str | None = None) -> Response:
        """Plan (or give up) winning a churned customer back."""
        renewal = self.get_object()
        params = WinBackSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        offboarding.win_back_update(
            renewal=renewal,
            actor=request.user,
            status=params.validated_data["status"],
            next_on=params.validated_data.get("next_on"),
        )
        return self._reread(renewal)

    @extend_schema(parameters=[BY], responses=PipelineRowSerializer(many=True))
    @action(detail=False, methods=["get"])
    def pipeline(self, request: Request) -> Response:
        """ARR by month or quarter and currency of the filtered renewals: commit, probable,
        at risk, churn, renewed and lost, the forecast and the risk-weighted forecast."""
        by = _by(request)
        pipe = selectors.pipeline(qs=self.filter_queryset(self.get_queryset()), by=by)
        rows = [
            {
                "period": row.period,
                "label": row.label,
                **{
                    name: getattr(row.totals, name)
                    for name in PipelineRowSerializer().fields
                    if name not in ("period", "label")
                },
            }
            for currency in pipe.currencies
            for row in pipe.rows.get(currency, [])
        ]
        return Response(PipelineRowSerializer(rows, many=True).data)

    @extend_schema(
        parameters=[
            BY,
            OpenApiParameter("segment", OpenApiTypes.STR, description="e.g. tier:enterprise"),
        ],
        responses=RetentionRowSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def retention(self, request: Request) -> Response:
        """Realised GRR and NRR of the last closed months (12) or quarters (8), from closed
        renewals, beside the metric engine's figures."""
        by = _by(request)
        try:
            rows = selectors.realised_retention(
                by=by,
                spans=selectors.closed_periods(by=by, count=12 if by == Period.MONTH else 8),
                segment=request.query_params.get("segment", ""),
            )
        except ValueError as exc:
            raise exceptions.ValidationError(
                {"segment": ["tier:…, touch_model:… or business_model:…"]}
            ) from exc
        return Response(RetentionRowSerializer(rows, many=True).data)


class RenewalChildViewSet(OwnedByAccount, viewsets.ModelViewSet):
    """A record of a renewal (an offer, an interview): its account's owner changes it."""

    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def owner_id_of(self, obj: Any) -> int | None:
        return obj.renewal.account.owner_id


@extend_schema(tags=["renewals"])
class CounterOfferViewSet(RenewalChildViewSet):
    """Counter-offers (payment extension, free months, consulting) and whether they worked."""

    serializer_class = CounterOfferSerializer
    filterset_fields = ["renewal", "kind", "status"]
    ordering_fields = ["offered_on"]

    def get_queryset(self) -> QuerySet[CounterOffer]:
        return CounterOffer.objects.select_related("renewal__account").order_by(
            "-offered_on", "-pk"
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        renewal = serializer.validated_data["renewal"]
        self.check_account_editable(renewal.account.owner_id)
        offer = offboarding.counter_offer_save(
            offer=CounterOffer(**serializer.validated_data), actor=self.request.user
        )
        serializer.instance = self.get_queryset().get(pk=offer.pk)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        offer = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(offer, name, value)
        offboarding.counter_offer_save(offer=offer, actor=self.request.user)
        serializer.instance = self.get_queryset().get(pk=offer.pk)


@extend_schema(tags=["renewals"])
class ExitInterviewViewSet(RenewalChildViewSet):
    """Exit interviews of churned customers: the standard questions (SPEC §7)."""

    serializer_class = ExitInterviewSerializer
    filterset_fields = ["renewal", "communication", "would_return"]
    ordering_fields = ["interviewed_on"]

    def get_queryset(self) -> QuerySet[ExitInterview]:
        return ExitInterview.objects.select_related("renewal__account").order_by(
            "-interviewed_on", "-pk"
        )

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        renewal = serializer.validated_data["renewal"]
        self.check_account_editable(renewal.account.owner_id)
        interview = offboarding.exit_interview_save(
            interview=ExitInterview(**serializer.validated_data), actor=self.request.user
        )
        serializer.instance = self.get_queryset().get(pk=interview.pk)

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        interview = serializer.instance
        for name, value in serializer.validated_data.items():
            setattr(interview, name, value)
        offboarding.exit_interview_save(interview=interview, actor=self.request.user)
        serializer.instance = self.get_queryset().get(pk=interview.pk)
