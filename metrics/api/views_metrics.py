"""Read API of the metrics: the catalogue, any metric's series, an account's daily figures.

Every logged-in role may read metrics (SPEC §0: viewers read dashboards), so these views
ask only for authentication. Bad parameters answer 400 with field errors.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account
from metrics import selectors
from metrics.api.serializers_metrics import (
    AccountMetricsQuerySerializer,
    AccountMetricsSerializer,
    MetricDefinitionSerializer,
    MetricSeriesQuerySerializer,
    MetricSeriesSerializer,
)
from metrics.definitions import METRICS


class MetricListView(APIView):
    """The metric catalogue: keys, labels, formulas, units and reference benchmarks."""

    @extend_schema(
        tags=["metrics"],
        operation_id="metrics_list",
        responses=MetricDefinitionSerializer(many=True),
    )
    def get(self, request: Request) -> Response:
        return Response(MetricDefinitionSerializer(list(METRICS.values()), many=True).data)


class MetricSeriesView(APIView):
    """One metric's stored values for the portfolio or a segment over a date range."""

    @extend_schema(
        tags=["metrics"],
        operation_id="metrics_series",
        parameters=[
            OpenApiParameter(
                "key",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description=_("A metric key from GET /api/v1/metrics/, e.g. nrr."),
            ),
            MetricSeriesQuerySerializer,
        ],
        responses=MetricSeriesSerializer,
    )
    def get(self, request: Request, key: str) -> Response:
        definition = METRICS.get(key)
        if definition is None:
            raise exceptions.ValidationError({"metric": [_("Unknown metric: %s.") % key]})
        query = MetricSeriesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        points = selectors.metric_series(
            metric=key,
            period=params["period"],
            segment=params["segment"],
            start=params["start"],
            end=params["end"],
        )
        return Response(
            MetricSeriesSerializer(
                {
                    "metric": definition,
                    "period": params["period"],
                    "segment": params["segment"],
                    "start": params["start"],
                    "end": params["end"],
                    "points": points,
                }
            ).data
        )


class AccountMetricsView(APIView):
    """One account's daily figures (MRR, DAU/WAU/MAU, adoption, tickets, NPS, CSAT)."""

    @extend_schema(
        tags=["metrics"],
        operation_id="accounts_metrics",
        parameters=[AccountMetricsQuerySerializer],
        responses=AccountMetricsSerializer,
    )
    def get(self, request: Request, account_id: int) -> Response:
        account = get_object_or_404(Account.objects.only("pk"), pk=account_id)
        query = AccountMetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        days = selectors.account_daily_metrics(
            account_id=account.pk, start=params["start"], end=params["end"]
        )
        return Response(
            AccountMetricsSerializer(
                {
                    "account": account.pk,
                    "start": params["start"],
                    "end": params["end"],
                    "points": days,
                }
            ).data
        )
