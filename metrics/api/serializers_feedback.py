"""API shapes of tickets and survey responses. They validate input; the views call services.

external_id is not unique-validated here: a POST with a known external_id updates that
record (an upsert), so re-sending a help desk's or a survey tool's export never duplicates.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from metrics.models import SurveyResponse, Ticket
from metrics.services.feedback import survey_response_errors, ticket_errors


class TicketSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=_("The help desk's id; a POST with a known id updates that ticket."),
    )

    class Meta:
        model = Ticket
        fields = [
            "id",
            "account",
            "account_name",
            "external_id",
            "requester_email",
            "subject",
            "channel",
            "priority",
            "status",
            "is_escalation",
            "opened_at",
            "first_response_at",
            "resolved_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, None))

        errors = ticket_errors(
            opened_at=current("opened_at"),
            first_response_at=current("first_response_at"),
            resolved_at=current("resolved_at"),
        )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class SurveyResponseSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    contact_name = serializers.CharField(source="contact", read_only=True, default=None)
    external_id = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=_("The survey tool's id; a POST with a known id updates that response."),
    )
    score = serializers.IntegerField(
        min_value=0, max_value=10, help_text=_("NPS 0–10, CSAT 1–5, CES 1–7.")
    )
    lifecycle_stage = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text=_("The account's stage when they answered; default its stage now."),
    )

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "account",
            "account_name",
            "contact",
            "contact_name",
            "kind",
            "score",
            "comment",
            "lifecycle_stage",
            "responded_at",
            "source",
            "external_id",
            "survey_send",
        ]
        read_only_fields = ["source", "survey_send"]

    def validate_lifecycle_stage(self, value: str) -> str:
        field = SurveyResponse._meta.get_field("lifecycle_stage")
        if value and value not in dict(field.choices or []):
            raise serializers.ValidationError(
                _("“%(value)s” is not a lifecycle stage.") % {"value": value}
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, None))

        account = current("account")
        errors = survey_response_errors(
            kind=current("kind"),
            score=current("score"),
            account_id=account.pk if account is not None else None,
            contact=current("contact"),
        )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
