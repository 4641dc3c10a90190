"""API shapes of the feature catalogue, sources and end users."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from metrics.models import EndUser, Feature, Source


class FeatureSerializer(serializers.ModelSerializer):
    event_names = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text=_("Event names that count as use of this feature."),
    )
    plans = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        help_text=_("Plan names that include it; empty means every plan."),
    )

    class Meta:
        model = Feature
        fields = [
            "id",
            "key",
            "name",
            "description",
            "release_date",
            "is_core",
            "is_key",
            "plans",
            "event_names",
        ]

    def to_representation(self, instance: Feature) -> dict[str, Any]:
        data = super().to_representation(instance)
        # The view prefetches events, so this costs no query per feature.
        data["event_names"] = sorted(e.event_name for e in instance.events.all())
        return data


class SourceSerializer(serializers.ModelSerializer):
    is_active = serializers.SerializerMethodField()

    class Meta:
        model = Source
        fields = [
            "id",
            "name",
            "write_key_prefix",
            "is_active",
            "created_at",
            "last_seen_at",
            "revoked_at",
        ]
        read_only_fields = ["write_key_prefix", "created_at", "last_seen_at", "revoked_at"]

    def get_is_active(self, obj: Source) -> bool:
        return obj.revoked_at is None


class SourceCreatedSerializer(SourceSerializer):
    write_key = serializers.CharField(
        read_only=True, help_text=_("Shown once, now; only its hash is stored.")
    )

    class Meta(SourceSerializer.Meta):
        fields = [*SourceSerializer.Meta.fields, "write_key"]


class EndUserSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True, default=None)

    class Meta:
        model = EndUser
        fields = [
            "id",
            "external_id",
            "email",
            "name",
            "account",
            "account_name",
            "group_external_id",
            "traits",
            "first_seen_at",
            "last_seen_at",
        ]
        read_only_fields = fields


class BulkResultSerializer(serializers.Serializer):
    received = serializers.IntegerField()
    inserted = serializers.IntegerField(help_text=_("New events stored and counted."))
    duplicates = serializers.IntegerField(help_text=_("Events already stored (same message_id)."))
