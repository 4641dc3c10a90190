"""Serializers of the health API: scores, explanations and history."""

from __future__ import annotations

from rest_framework import serializers

from health.models import HealthScore, HealthScoreHistory


class HealthScoreSerializer(serializers.ModelSerializer):
    account = serializers.IntegerField(source="account_id", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    scorecard = serializers.CharField(source="version.scorecard.name", default=None)
    version = serializers.IntegerField(source="version.number", default=None)

    class Meta:
        model = HealthScore
        fields = [
            "account",
            "account_name",
            "score",
            "color",
            "computed_score",
            "computed_color",
            "overridden",
            "as_of",
            "previous_score",
            "previous_as_of",
            "scorecard",
            "version",
            "computed_at",
        ]
        read_only_fields = fields


class MeasureLineSerializer(serializers.Serializer):
    label = serializers.CharField()
    kind = serializers.CharField()
    unit = serializers.CharField()
    weight = serializers.DecimalField(max_digits=5, decimal_places=2)
    raw = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    band = serializers.CharField()
    score = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    contribution = serializers.DecimalField(max_digits=6, decimal_places=2)
    change = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)


class GroupLineSerializer(serializers.Serializer):
    name = serializers.CharField()
    weight = serializers.DecimalField(max_digits=5, decimal_places=2)
    score = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    contribution = serializers.DecimalField(max_digits=6, decimal_places=2)
    measures = MeasureLineSerializer(many=True)


class ExplanationSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    score = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    total = serializers.DecimalField(max_digits=6, decimal_places=2)
    previous_as_of = serializers.DateField(allow_null=True)
    previous_score = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    groups = GroupLineSerializer(many=True)


class AccountHealthSerializer(serializers.Serializer):
    health = HealthScoreSerializer()
    explanation = ExplanationSerializer(allow_null=True)


class HistoryPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = HealthScoreHistory
        fields = ["date", "score", "computed_score", "color", "groups"]


class HistoryQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=730, default=90)
