"""The health read API: current scores (filterable), one account's score with its
explanation, and its daily history. Everyone with an API key may read; scores are
written by the platform only."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account
from health import selectors
from health.api.serializers import (
    AccountHealthSerializer,
    HealthScoreSerializer,
    HistoryPointSerializer,
    HistoryQuerySerializer,
)
from health.choices import Color
from health.models import HealthScore


class HealthScoreFilterSet(filters.FilterSet):
    color = filters.ChoiceFilter(choices=Color.choices)
    owner = filters.NumberFilter(field_name="account__owner")
    tier = filters.CharFilter(field_name="account__tier")
    touch_model = filters.CharFilter(field_name="account__touch_model")
    score_below = filters.NumberFilter(field_name="score", lookup_expr="lt")
    overridden = filters.BooleanFilter()

    class Meta:
        model = HealthScore
        fields = ["color", "owner", "tier", "touch_model", "score_below", "overridden"]


@extend_schema(tags=["health"])
class HealthScoreViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Current health of every customer, worst first unless ordered otherwise."""

    serializer_class = HealthScoreSerializer
    filterset_class = HealthScoreFilterSet
    ordering_fields = ["score", "computed_score", "as_of"]
    ordering = ["score", "account_id"]

    def get_queryset(self) -> QuerySet[HealthScore]:
        return selectors.health_list().select_related("version__scorecard")


class AccountHealthView(APIView):
    """One account's health and why: every measure's value, band, score and contribution."""

    queryset = HealthScore.objects.none()

    @extend_schema(
        tags=["health"], operation_id="accounts_health", responses=AccountHealthSerializer
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = get_object_or_404(Account.objects.only("pk"), pk=account_id)
        health = get_object_or_404(
            HealthScore.objects.select_related("account", "version", "version__scorecard"),
            account=account,
        )
        return Response(
            AccountHealthSerializer(
                {"health": health, "explanation": selectors.explain(health=health)}
            ).data
        )


class AccountHealthHistoryView(APIView):
    """One account's daily health history (default the last 90 days)."""

    queryset = HealthScore.objects.none()

    @extend_schema(
        tags=["health"],
        operation_id="accounts_health_history",
        parameters=[HistoryQuerySerializer],
        responses=HistoryPointSerializer(many=True),
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = get_object_or_404(Account.objects.only("pk"), pk=account_id)
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        points = selectors.health_history(account=account, days=query.validated_data["days"])
        return Response(HistoryPointSerializer(points, many=True).data)
