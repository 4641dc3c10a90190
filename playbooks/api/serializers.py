"""Serializers of the playbooks API: rules with their actions, runs with their matches,
the trigger catalogue, previews and notifications."""

from __future__ import annotations

from rest_framework import serializers

from playbooks.choices import ActionKind
from playbooks.models import Notification, Rule, RuleAction, RuleMatch, RuleRun

# What a client writes of a rule; reading adds its id and timestamps.
RULE_FIELDS = [
    "name",
    "description",
    "trigger",
    "params",
    "mode",
    "tiers",
    "touch_models",
    "business_models",
    "lifecycle_stages",
    "min_mrr",
    "max_mrr",
    "tags",
    "cooldown_days",
    "actions",
]


class RuleActionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleAction
        fields = ["id", "kind", "position", "params", "playbook", "endpoint"]
        read_only_fields = fields


class RuleSerializer(serializers.ModelSerializer):
    actions = RuleActionSerializer(many=True, read_only=True)

    class Meta:
        model = Rule
        fields = ["id", *RULE_FIELDS, "created_at", "updated_at", "last_run_at"]
        read_only_fields = fields


class ActionWriteSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        required=False, help_text="An existing action of the rule to keep (its id)."
    )
    kind = serializers.ChoiceField(choices=ActionKind.choices)
    params = serializers.DictField(required=False, default=dict)
    playbook = serializers.IntegerField(required=False, allow_null=True)
    endpoint = serializers.IntegerField(required=False, allow_null=True)


class RuleWriteSerializer(serializers.ModelSerializer):
    """A rule with its ordered actions, written in one go; each setting is checked against
    its trigger's parameters and each action against what its kind needs."""

    params = serializers.DictField(required=False, default=dict)
    tiers = serializers.ListField(child=serializers.CharField(), required=False)
    touch_models = serializers.ListField(child=serializers.CharField(), required=False)
    business_models = serializers.ListField(child=serializers.CharField(), required=False)
    lifecycle_stages = serializers.ListField(child=serializers.CharField(), required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    actions = ActionWriteSerializer(many=True, required=False)

    class Meta:
        model = Rule
        fields = RULE_FIELDS
        # Uniqueness and the rest are checked by the service, with the same messages.
        validators: list = []
        extra_kwargs = {"name": {"validators": []}}


class RuleMatchSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)

    class Meta:
        model = RuleMatch
        fields = ["account", "account_name", "reason_key", "reason", "outcome", "actions"]
        read_only_fields = fields


class RuleRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = RuleRun
        fields = [
            "id",
            "rule",
            "source",
            "dry_run",
            "started_at",
            "finished_at",
            "considered",
            "matched",
            "fired",
            "cooled",
            "failed",
            "error",
        ]
        read_only_fields = fields


class RuleRunDetailSerializer(RuleRunSerializer):
    matches = RuleMatchSerializer(many=True, read_only=True)

    class Meta(RuleRunSerializer.Meta):
        fields = [*RuleRunSerializer.Meta.fields, "matches"]
        read_only_fields = fields


class PreviewMatchSerializer(serializers.Serializer):
    account = serializers.IntegerField(source="account_id")
    name = serializers.CharField()
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    reason_key = serializers.CharField()
    reason = serializers.CharField()


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    matches = PreviewMatchSerializer(many=True)


class TriggerParamSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()
    default = serializers.JSONField(allow_null=True)
    choices = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    help = serializers.CharField()


class TriggerSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    params = TriggerParamSerializer(many=True)


class NotificationSerializer(serializers.ModelSerializer):
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "title", "body", "link", "account", "created_at", "read_at", "unread"]
        read_only_fields = fields

    def get_unread(self, obj: Notification) -> bool:
        return obj.read_at is None


class MarkReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=1000,
        help_text="Notifications to mark read; all unread ones when left out.",
    )


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()
    unread = serializers.IntegerField()
