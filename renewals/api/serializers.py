"""API shapes of renewals, their outcomes, counter-offers and exit interviews.

They validate input; the views call services. A renewal is created and kept in step by the
platform from its subscription, so only its forecast is writable; the outcome is given by
the close action.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from renewals.choices import Outcome, ReasonCode, RiskFlag, WinBackStatus
from renewals.models import (
    FORECAST_FIELDS,
    INTERVIEW_FIELDS,
    CounterOffer,
    ExitInterview,
    Renewal,
)

MONEY = {"max_digits": 18, "decimal_places": 2, "read_only": True}


class RenewalSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    plan_name = serializers.CharField(source="subscription.plan_name", read_only=True)
    arr = serializers.DecimalField(**MONEY, help_text=_("ARR up for renewal (12 × MRR)."))
    forecast_arr = serializers.DecimalField(**MONEY, source="forecast_arr_value")
    weighted_arr = serializers.DecimalField(
        **MONEY, source="weighted_arr_value", help_text=_("Forecast ARR × probability.")
    )
    outcome_arr = serializers.DecimalField(**MONEY, allow_null=True)
    risk_reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=RiskFlag.choices), read_only=True
    )
    probability = serializers.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Leave out to take the forecast category's usual probability."),
    )

    class Meta:
        model = Renewal
        fields = [
            "id",
            "account",
            "account_name",
            "subscription",
            "plan_name",
            "owner",
            "renewal_date",
            "notice_deadline",
            "currency",
            "mrr",
            "arr",
            "stage",
            "forecast_category",
            "probability",
            "forecast_manual",
            "expected_outcome",
            "expected_arr",
            "forecast_arr",
            "weighted_arr",
            "notes",
            "at_risk",
            "risk_reasons",
            "health_color",
            "usage_change",
            "escalations_open",
            "nps_last",
            "risk_checked_at",
            "mitigation_started_on",
            "outcome",
            "outcome_arr",
            "effective_on",
            "closed_on",
            "closed_by",
            "successor",
            "reason",
            "churn_type",
            "reason_note",
            "competitor",
            "win_back_status",
            "win_back_next_on",
            "won_back_on",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [f for f in fields if f not in FORECAST_FIELDS]


class RenewalCloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    quantity = serializers.IntegerField(
        min_value=1, required=False, help_text=_("Licenses in the next term (default: today's).")
    )
    unit_price = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Price per license per billing period (default: today's)."),
    )
    term_end = serializers.DateField(
        required=False, help_text=_("End of the next term (default: as long as this one).")
    )
    reason = serializers.ChoiceField(
        choices=ReasonCode.choices,
        required=False,
        allow_blank=True,
        help_text=_("Required for a churn or a contraction."),
    )
    competitor = serializers.CharField(required=False, allow_blank=True, max_length=120)
    reason_note = serializers.CharField(required=False, allow_blank=True)


class RenewalReasonSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=ReasonCode.choices)
    competitor = serializers.CharField(required=False, allow_blank=True, max_length=120)
    reason_note = serializers.CharField(required=False, allow_blank=True)


class WinBackSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=WinBackStatus.choices, allow_blank=True)
    next_on = serializers.DateField(required=False, allow_null=True)


class CounterOfferSerializer(serializers.ModelSerializer):
    class Meta:
        model = CounterOffer
        fields = [
            "id",
            "renewal",
            "kind",
            "description",
            "value",
            "offered_on",
            "status",
            "decided_on",
            "created_by",
            "created_at",
        ]
        read_only_fields = ["decided_on", "created_by", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            self.instance is not None
            and "renewal" in attrs
            and attrs["renewal"] != (self.instance.renewal)
        ):
            raise serializers.ValidationError({"renewal": [_("An offer stays on its renewal.")]})
        return attrs


class ExitInterviewSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExitInterview
        fields = ["id", "renewal", "conducted_by", *INTERVIEW_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["conducted_by", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            self.instance is not None
            and "renewal" in attrs
            and attrs["renewal"] != (self.instance.renewal)
        ):
            raise serializers.ValidationError(
                {"renewal": [_("An interview stays on its renewal.")]}
            )
        return attrs


class PipelineRowSerializer(serializers.Serializer):
    period = serializers.DateField(help_text=_("First day of the month or quarter."))
    label = serializers.CharField()
    currency = serializers.CharField()
    renewals = serializers.IntegerField()
    open = serializers.IntegerField()
    arr = serializers.DecimalField(max_digits=18, decimal_places=2)
    commit = serializers.DecimalField(max_digits=18, decimal_places=2)
    probable = serializers.DecimalField(max_digits=18, decimal_places=2)
    at_risk = serializers.DecimalField(max_digits=18, decimal_places=2)
    churn = serializers.DecimalField(max_digits=18, decimal_places=2)
    won = serializers.DecimalField(max_digits=18, decimal_places=2)
    lost = serializers.DecimalField(max_digits=18, decimal_places=2)
    forecast = serializers.DecimalField(max_digits=18, decimal_places=2)
    weighted_forecast = serializers.DecimalField(max_digits=18, decimal_places=2)


class RetentionRowSerializer(serializers.Serializer):
    label = serializers.CharField()
    start = serializers.DateField()
    end = serializers.DateField()
    opening = serializers.DecimalField(max_digits=18, decimal_places=4, help_text=_("Opening MRR."))
    expansion = serializers.DecimalField(max_digits=18, decimal_places=4)
    lost = serializers.DecimalField(max_digits=18, decimal_places=4)
    renewals = serializers.IntegerField()
    won = serializers.IntegerField()
    churned = serializers.IntegerField()
    grr = serializers.DecimalField(max_digits=9, decimal_places=4, allow_null=True)
    nrr = serializers.DecimalField(max_digits=9, decimal_places=4, allow_null=True)
    engine_grr = serializers.DecimalField(max_digits=9, decimal_places=4, allow_null=True)
    engine_nrr = serializers.DecimalField(max_digits=9, decimal_places=4, allow_null=True)
