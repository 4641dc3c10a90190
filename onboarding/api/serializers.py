"""API shapes of onboarding templates and plans. They validate input; views call services.

Dates and progress are computed by the services (plans are copies of their template), so
everything a plan knows about itself is read-only here except its tasks.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from onboarding.choices import CancelReason
from onboarding.models import (
    OnboardingPlan,
    OnboardingTemplate,
    PlanCriterion,
    PlanMilestone,
    PlanTask,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)

# Templates -----------------------------------------------------------------------------


class TemplateTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateTask
        fields = ["id", "milestone", "title", "description", "side", "due_day", "position"]
        extra_kwargs = {"position": {"required": False}}


class TemplateMilestoneSerializer(serializers.ModelSerializer):
    tasks = TemplateTaskSerializer(many=True, read_only=True)

    class Meta:
        model = TemplateMilestone
        fields = ["id", "template", "name", "description", "position", "due_day", "tasks"]
        extra_kwargs = {"position": {"required": False}}


class TemplateCriterionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)

    class Meta:
        model = TemplateCriterion
        fields = ["id", "template", "role", "kind", "feature", "milestone", "threshold", "label"]


class TemplateSerializer(serializers.ModelSerializer):
    milestones = TemplateMilestoneSerializer(many=True, read_only=True)
    criteria = TemplateCriterionSerializer(many=True, read_only=True)

    class Meta:
        model = OnboardingTemplate
        fields = [
            "id",
            "name",
            "description",
            "touch_model",
            "tier",
            "business_model",
            "priority",
            "is_active",
            "auto_start",
            "activation_match",
            "behind_after_days",
            "stuck_after_days",
            "first_qbr_after_days",
            "next_stage",
            "milestones",
            "criteria",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]


# Plans ---------------------------------------------------------------------------------


class PlanTaskSerializer(serializers.ModelSerializer):
    is_done = serializers.BooleanField(read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)
    csm_task = serializers.PrimaryKeyRelatedField(
        source="task", read_only=True, help_text=_("The CSM task of our side's work.")
    )

    class Meta:
        model = PlanTask
        fields = [
            "id",
            "plan",
            "milestone",
            "title",
            "description",
            "side",
            "position",
            "due_on",
            "is_done",
            "is_overdue",
            "completed_at",
            "completed_by",
            "completed_by_contact",
            "csm_task",
        ]
        read_only_fields = ["position", "completed_at", "completed_by", "completed_by_contact"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        plan = attrs.get("plan") or getattr(self.instance, "plan", None)
        milestone = attrs.get("milestone")
        if plan is not None and milestone is not None and milestone.plan_id != plan.pk:
            raise serializers.ValidationError(
                {"milestone": [_("Choose a milestone of this plan.")]}
            )
        if self.instance is not None and "plan" in attrs and attrs["plan"] != self.instance.plan:
            raise serializers.ValidationError({"plan": [_("A task cannot move to another plan.")]})
        return attrs


class PlanMilestoneSerializer(serializers.ModelSerializer):
    tasks = PlanTaskSerializer(many=True, read_only=True)

    class Meta:
        model = PlanMilestone
        fields = [
            "id",
            "name",
            "description",
            "position",
            "due_on",
            "started_on",
            "completed_on",
            "tasks",
        ]


class PlanCriterionSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)

    class Meta:
        model = PlanCriterion
        fields = [
            "id",
            "role",
            "kind",
            "feature",
            "milestone",
            "threshold",
            "current",
            "met_on",
            "label",
        ]


class PlanSerializer(serializers.ModelSerializer):
    """A plan as the list shows it; create starts one (account, template, start date)."""

    account_name = serializers.CharField(source="account.name", read_only=True)
    owner = serializers.IntegerField(source="account.owner_id", read_only=True)
    progress = serializers.IntegerField(read_only=True, help_text=_("Tasks done, as a percentage."))
    tasks_done = serializers.IntegerField(read_only=True)
    tasks_total = serializers.IntegerField(read_only=True)
    overdue = serializers.IntegerField(read_only=True, help_text=_("Open tasks past due."))
    current_step = serializers.CharField(read_only=True, allow_null=True)
    step_since = serializers.DateField(read_only=True, allow_null=True)
    time_to_value_days = serializers.IntegerField(read_only=True, allow_null=True)
    template = serializers.PrimaryKeyRelatedField(
        queryset=OnboardingTemplate.objects.all(), allow_null=True
    )
    started_on = serializers.DateField(required=False, help_text=_("Defaults to today."))

    class Meta:
        model = OnboardingPlan
        fields = [
            "id",
            "account",
            "account_name",
            "owner",
            "template",
            "name",
            "status",
            "health",
            "started_on",
            "target_on",
            "progress",
            "tasks_done",
            "tasks_total",
            "overdue",
            "current_step",
            "step_since",
            "activated_on",
            "value_on",
            "time_to_value_days",
            "completed_on",
            "first_qbr_due_on",
            "cancelled_on",
            "cancel_reason",
            "created_at",
        ]
        read_only_fields = [
            "name",
            "status",
            "health",
            "target_on",
            "activated_on",
            "value_on",
            "completed_on",
            "first_qbr_due_on",
            "cancelled_on",
            "cancel_reason",
            "created_at",
        ]
        # plan_start says "already has a plan in progress" itself, more clearly.
        validators: list[Any] = []


class PlanDetailSerializer(PlanSerializer):
    milestones = PlanMilestoneSerializer(many=True, read_only=True)
    criteria = PlanCriterionSerializer(many=True, read_only=True)

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "milestones", "criteria"]


class PlanCancelSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=CancelReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
