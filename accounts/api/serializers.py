"""API shapes of the accounts records. They validate input; the views hand it to services.

Money is serialised as decimal strings (DRF's default), never floats. Computed figures (MRR,
ARR, renewal date, cancellation deadline) are read-only: the services keep them right.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.choices import BillingPeriod, TaskStatus
from accounts.models import Account, Activity, Contact, Goal, GoalRevision, Subscription, Task
from csplatform.models import User

MONEY = {"max_digits": 18, "decimal_places": 4, "read_only": True}


def _active_users() -> Any:
    return User.objects.filter(is_active=True)


class TagNamesField(serializers.ListField):
    """Tags as a list of names."""

    def to_representation(self, data: Any) -> list[str]:
        # The view prefetches tags, so .all() costs no query per account.
        return [tag.name for tag in data.all()]


class AccountSerializer(serializers.ModelSerializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=_active_users(), allow_null=True, required=False
    )
    owner_name = serializers.CharField(source="owner", read_only=True)
    tags = TagNamesField(
        child=serializers.CharField(max_length=64),
        required=False,
        help_text=_("Tag names; unknown tags are created."),
    )
    arr = serializers.DecimalField(**MONEY, help_text=_("MRR × 12."))
    open_tasks = serializers.IntegerField(read_only=True, help_text=_("Open tasks."))
    tasks_due = serializers.IntegerField(
        read_only=True, help_text=_("Open tasks due today or earlier.")
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "external_id",
            "domain",
            "industry",
            "country",
            "currency",
            "tier",
            "touch_model",
            "business_model",
            "lifecycle_stage",
            "status",
            "customer_since",
            "churned_at",
            "owner",
            "owner_name",
            "parent",
            "tags",
            "custom_fields",
            "years_in_business",
            "single_decision_maker",
            "next_tier_price_threshold",
            "mrr",
            "arr",
            "renewal_date",
            "open_tasks",
            "tasks_due",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["mrr", "renewal_date", "created_at", "updated_at"]

    def validate_tags(self, value: list[str]) -> list[str]:
        return sorted({name.strip() for name in value if name.strip()})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        parent = attrs.get("parent")
        if parent is not None and self.instance is not None and parent.pk == self.instance.pk:
            raise serializers.ValidationError(
                {"parent": [_("An account cannot be its own parent.")]}
            )
        return attrs


class ContactSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    full_name = serializers.CharField(read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "account_name",
            "first_name",
            "last_name",
            "full_name",
            "email",
            "phone",
            "title",
            "department",
            "power_role",
            "is_primary",
            "birthday",
            "anniversary",
            "last_contacted_at",
            "created_at",
        ]
        read_only_fields = ["last_contacted_at", "created_at"]
        # validate() reports a duplicate email on the email field, with a clear message.
        validators: list[Any] = []

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        account = attrs.get("account") or getattr(self.instance, "account", None)
        email = attrs.get("email", getattr(self.instance, "email", ""))
        if account is not None and email:
            others = Contact.objects.filter(account=account, email__iexact=email)
            if self.instance is not None:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                raise serializers.ValidationError(
                    {"email": [_("This account already has a contact with this email.")]}
                )
        return attrs


class SubscriptionSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    arr = serializers.DecimalField(**MONEY, help_text=_("MRR × 12."))
    cancellation_deadline = serializers.DateField(
        read_only=True, help_text=_("End date minus the notice period.")
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "account",
            "account_name",
            "plan_name",
            "product",
            "quantity",
            "unit_price",
            "discount_type",
            "discount_value",
            "billing_period",
            "billing_period_months",
            "currency",
            "one_time_fees",
            "mrr",
            "arr",
            "signed_on",
            "start_date",
            "end_date",
            "notice_period_days",
            "cancellation_deadline",
            "auto_renew",
            "status",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["mrr", "created_at", "updated_at"]
        extra_kwargs = {
            "billing_period_months": {
                "required": False,
                "help_text": _("Required for the 'custom' (every N months) billing period."),
            }
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            if name in attrs:
                return attrs[name]
            return getattr(self.instance, name, None)

        errors: dict[str, list[str]] = {}
        if current("billing_period") == BillingPeriod.CUSTOM:
            switching = (
                self.instance is None or self.instance.billing_period != BillingPeriod.CUSTOM
            )
            if switching and not attrs.get("billing_period_months"):
                errors["billing_period_months"] = [
                    _("Enter the number of months for an 'every N months' billing period.")
                ]
        start, end = current("start_date"), current("end_date")
        if start and end and end < start:
            errors["end_date"] = [_("The end date cannot be before the start date.")]
        try:
            Subscription(status=current("status"), end_date=end).clean()
        except DjangoValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ActivitySerializer(serializers.ModelSerializer):
    author_name = serializers.CharField(source="author", read_only=True)
    contacts = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Contact.objects.all(), required=False
    )

    class Meta:
        model = Activity
        fields = [
            "id",
            "account",
            "kind",
            "occurred_at",
            "subject",
            "summary",
            "contacts",
            "author",
            "author_name",
            "source",
            "metadata",
            "created_at",
        ]
        read_only_fields = ["author", "source", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        account = attrs.get("account") or getattr(self.instance, "account", None)
        contacts = attrs.get("contacts") or []
        if account is not None and any(c.account_id != account.pk for c in contacts):
            raise serializers.ValidationError(
                {"contacts": [_("Every contact must belong to the activity's account.")]}
            )
        return attrs


class TaskSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=_active_users(),
        allow_null=True,
        required=False,
        help_text=_("Defaults to the account's owner."),
    )
    assignee_name = serializers.CharField(source="assignee", read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "account",
            "account_name",
            "title",
            "description",
            "kind",
            "priority",
            "status",
            "due_date",
            "snoozed_until",
            "assignee",
            "assignee_name",
            "created_by",
            "completed_at",
            "outcome",
            "note",
            "source",
            "is_overdue",
            "created_at",
            "updated_at",
        ]
        # Status moves through the complete action so that completion is logged.
        read_only_fields = [
            "status",
            "snoozed_until",
            "created_by",
            "completed_at",
            "outcome",
            "note",
            "source",
            "created_at",
            "updated_at",
        ]
        validators: list[Any] = []


class TaskCompleteSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    note = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        task: Task | None = self.context.get("task")
        if task is not None and task.status != TaskStatus.OPEN:
            raise serializers.ValidationError(
                {"status": [_("Only an open task can be completed.")]}
            )
        return attrs


class TaskSnoozeSerializer(serializers.Serializer):
    until = serializers.DateField(help_text=_("A future date; the task's due date moves to it."))


class GoalRevisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = GoalRevision
        fields = ["changed_at", "author", "status", "target", "note"]
        read_only_fields = fields


class GoalSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    note = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        default="",
        help_text=_("Why the goal changed; kept in its history."),
    )
    revisions = GoalRevisionSerializer(many=True, read_only=True)

    class Meta:
        model = Goal
        fields = [
            "id",
            "account",
            "account_name",
            "title",
            "kpi",
            "target",
            "status",
            "due_date",
            "note",
            "revisions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
