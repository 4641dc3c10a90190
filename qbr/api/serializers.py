"""API shapes of QBRs: they validate input; the views call services. Narrative sections are
plain text, as everywhere."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from csplatform.models import User
from qbr.choices import (
    OPTIONAL_SECTIONS,
    Cadence,
    CadenceReason,
    InvitationKind,
    QbrKind,
    Section,
    StepSide,
)
from qbr.models import Qbr, QbrNextStep
from qbr.services.qbrs import MAX_STEPS, NARRATIVE_MAX_CHARS


class NextStepSerializer(serializers.ModelSerializer):
    task_status = serializers.CharField(source="task.status", read_only=True, default=None)

    class Meta:
        model = QbrNextStep
        fields = ["position", "text", "side", "assignee", "due_date", "task", "task_status"]
        read_only_fields = fields


class QbrSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)

    class Meta:
        model = Qbr
        fields = [
            "id",
            "account",
            "account_name",
            "kind",
            "status",
            "period_start",
            "period_end",
            "scheduled_at",
            "held_on",
            "owner",
            "is_first",
            "prepared_at",
            "followed_up_at",
            "exported_at",
        ]
        read_only_fields = fields


class QbrDetailSerializer(QbrSerializer):
    attendee_contacts = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    attendee_users = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    next_steps = NextStepSerializer(many=True, read_only=True)

    class Meta(QbrSerializer.Meta):
        fields = [
            *QbrSerializer.Meta.fields,
            "attendee_contacts",
            "attendee_users",
            "narrative",
            "optional_sections",
            "notes",
            "next_steps",
            "prep",
        ]
        read_only_fields = fields


class QbrWriteSerializer(serializers.Serializer):
    """Plan a QBR (POST) or change it (PATCH: any of these)."""

    account = serializers.IntegerField(
        help_text=_("The account (on creation only)."), required=False
    )
    kind = serializers.ChoiceField(choices=QbrKind.choices, required=False)
    period_start = serializers.DateField(required=False)
    period_end = serializers.DateField(required=False)
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)
    contact_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    user_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    narrative = serializers.DictField(
        child=serializers.CharField(allow_blank=True, max_length=NARRATIVE_MAX_CHARS),
        required=False,
        help_text=_("Narrative sections by key (%(keys)s), plain text.")
        % {"keys": ", ".join(Section.values)},
    )
    optional_sections = serializers.ListField(
        child=serializers.ChoiceField(choices=[(s, s) for s in OPTIONAL_SECTIONS]), required=False
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("period_start"), attrs.get("period_end")
        if start and end and start > end:
            raise serializers.ValidationError(
                {"period_end": [_("The period ends after it starts.")]}
            )
        unknown = [k for k in attrs.get("narrative", {}) if k not in Section.values]
        if unknown:
            raise serializers.ValidationError(
                {"narrative": [_("Unknown section: %(key)s") % {"key": unknown[0][:40]}]}
            )
        return attrs


class HoldSerializer(serializers.Serializer):
    held_on = serializers.DateField()
    notes = serializers.CharField(
        required=False, allow_blank=True, max_length=NARRATIVE_MAX_CHARS, default=""
    )
    contact_ids = serializers.ListField(child=serializers.IntegerField(), required=False)


class StepInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=255)
    side = serializers.ChoiceField(choices=StepSide.choices, default=StepSide.OURS)
    due_date = serializers.DateField(required=False, allow_null=True, default=None)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True, default=None
    )


class FollowUpSerializer(serializers.Serializer):
    steps = StepInputSerializer(many=True, allow_empty=False, max_length=MAX_STEPS)
    send_email = serializers.BooleanField(default=True)
    include_notes = serializers.BooleanField(default=True)
    deck = serializers.ChoiceField(choices=[("link", "link"), ("none", "none")], default="link")
    contact_ids = serializers.ListField(child=serializers.IntegerField(), required=False)


class InviteSerializer(serializers.Serializer):
    contact_ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    kind = serializers.ChoiceField(choices=InvitationKind.choices, default=InvitationKind.EXISTING)
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DueSerializer(serializers.Serializer):
    """An account whose next QBR is due, with its cadence and why."""

    account = serializers.IntegerField(source="pk")
    account_name = serializers.CharField(source="name")
    owner = serializers.IntegerField(source="owner_id", allow_null=True)
    cadence = serializers.ChoiceField(choices=Cadence.choices)
    cadence_reason = serializers.ChoiceField(choices=CadenceReason.choices)
    last_held_on = serializers.DateField(allow_null=True)
    due_on = serializers.DateField()
    next_qbr = serializers.IntegerField(source="next_qbr_id", allow_null=True)
    next_qbr_at = serializers.DateTimeField(allow_null=True)
