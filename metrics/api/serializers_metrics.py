"""Serializers of the metrics read API: the catalogue, query parameters and series."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from metrics import selectors
from metrics.choices import Period
from metrics.definitions import Unit


class BenchmarkSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    low = serializers.FloatField(allow_null=True)
    high = serializers.FloatField(allow_null=True)


class MetricDefinitionSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not Field.label
    formula = serializers.CharField()
    unit = serializers.ChoiceField(choices=[u.value for u in Unit])
    higher_is_better = serializers.BooleanField(
        allow_null=True, help_text=_("True when a higher value is better; null when neither.")
    )
    benchmarks = BenchmarkSerializer(many=True)


class _RangeQuerySerializer(serializers.Serializer):
    start = serializers.DateField(
        required=False, help_text=_("First day (YYYY-MM-DD); defaults to a window before end.")
    )
    end = serializers.DateField(
        required=False,
        help_text=_(
            "Last day; defaults to today. A period's value is dated on its last day, and the "
            "current period is stored to date under its last day: pass an end on or after "
            "it to include it."
        ),
    )

    def check_range(self, attrs: dict[str, Any], *, default_days: int, max_days: int) -> None:
        end = attrs.get("end") or selectors.today_utc()
        start = attrs.get("start") or end - timedelta(days=default_days)
        if start > end:
            raise serializers.ValidationError({"start": [_("start must not be after end.")]})
        if (end - start).days > max_days:
            raise serializers.ValidationError(
                {"start": [_("The range may span at most %(days)s days.") % {"days": max_days}]}
            )
        attrs["start"], attrs["end"] = start, end


class MetricSeriesQuerySerializer(_RangeQuerySerializer):
    period = serializers.ChoiceField(choices=Period.choices, default=Period.MONTH)
    segment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=_(
            'Empty for the whole portfolio, else "<field>:<value>" with field tier, '
            "touch_model or business_model, e.g. tier:enterprise; feature_adoption is "
            'stored per feature under "feature:<feature key>".'
        ),
    )

    def validate_segment(self, value: str) -> str:
        try:
            return selectors.segment_parse(value)
        except ValueError:
            raise serializers.ValidationError(_("Unknown segment.")) from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        period = Period(attrs["period"])
        self.check_range(
            attrs,
            default_days=selectors.DEFAULT_WINDOW_DAYS[period],
            max_days=selectors.MAX_RANGE_DAYS[period],
        )
        return attrs


class AccountMetricsQuerySerializer(_RangeQuerySerializer):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        self.check_range(
            attrs,
            default_days=selectors.PANEL_DAYS,
            max_days=selectors.ACCOUNT_MAX_RANGE_DAYS,
        )
        return attrs


class PointSerializer(serializers.Serializer):
    date = serializers.DateField()
    value = serializers.DecimalField(max_digits=20, decimal_places=4, allow_null=True)
    numerator = serializers.DecimalField(max_digits=20, decimal_places=4, allow_null=True)
    denominator = serializers.DecimalField(max_digits=20, decimal_places=4, allow_null=True)


class MetricSeriesSerializer(serializers.Serializer):
    metric = MetricDefinitionSerializer()
    period = serializers.ChoiceField(choices=Period.choices)
    segment = serializers.CharField(help_text=_("Empty for the whole portfolio."))
    start = serializers.DateField()
    end = serializers.DateField()
    points = PointSerializer(many=True)


class AccountDayPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    mrr = serializers.DecimalField(max_digits=16, decimal_places=4)
    dau = serializers.IntegerField()
    wau = serializers.IntegerField()
    mau = serializers.IntegerField()
    events_30d = serializers.IntegerField()
    core_adoption_30d = serializers.DecimalField(max_digits=7, decimal_places=2, allow_null=True)
    days_since_last_activity = serializers.IntegerField(allow_null=True)
    tickets_open = serializers.IntegerField()
    tickets_30d = serializers.IntegerField()
    nps_365d = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    csat_365d = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)


class AccountMetricsSerializer(serializers.Serializer):
    account = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    points = AccountDayPointSerializer(many=True)
