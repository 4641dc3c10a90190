"""One FilterSet per list: it serves the list page, the API and the CSV export."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import (
    AccountStatus,
    ActivityKind,
    GoalStatus,
    LifecycleStage,
    PowerRole,
    SubscriptionStatus,
    TaskKind,
    TaskPriority,
    TaskStatus,
    Tier,
    TouchModel,
)
from accounts.models import Account, Activity, Contact, Goal, Subscription, Task
from csplatform.models import User

RENEWAL_WINDOWS = [
    ("overdue", _("Renewal date passed")),
    ("30", _("Next 30 days")),
    ("60", _("Next 60 days")),
    ("90", _("Next 90 days")),
    ("180", _("Next 180 days")),
    ("365", _("Next 12 months")),
]


def _owners(request: object = None) -> QuerySet[User]:
    # django-filter calls a queryset callable with the request.
    return User.objects.filter(is_active=True).order_by("first_name", "username")


class AccountFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    owner = django_filters.ModelChoiceFilter(
        queryset=_owners, label=_("Owner"), empty_label=_("Anyone"), null_label=_("Unassigned")
    )
    tier = django_filters.ChoiceFilter(choices=Tier.choices, label=_("Tier"))
    touch_model = django_filters.ChoiceFilter(choices=TouchModel.choices, label=_("Touch model"))
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices, label=_("Stage"))
    status = django_filters.ChoiceFilter(choices=AccountStatus.choices, label=_("Status"))
    renewal_window = django_filters.ChoiceFilter(
        choices=RENEWAL_WINDOWS, method="filter_renewal_window", label=_("Renewal")
    )
    tag = django_filters.CharFilter(field_name="tags__name", label=_("Tag"), distinct=True)
    ordering = django_filters.OrderingFilter(
        fields=(
            ("name", "name"),
            ("mrr", "mrr"),
            ("renewal_date", "renewal_date"),
            ("owner__first_name", "owner"),
            ("tier", "tier"),
            ("lifecycle_stage", "lifecycle_stage"),
            ("customer_since", "customer_since"),
        ),
        label=_("Sort"),
    )

    class Meta:
        model = Account
        fields = ["owner", "tier", "touch_model", "lifecycle_stage", "status"]

    def filter_q(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(domain__icontains=value) | Q(external_id__iexact=value)
        )

    def filter_renewal_window(
        self, queryset: QuerySet[Account], name: str, value: str
    ) -> QuerySet[Account]:
        today = timezone.localdate()
        if value == "overdue":
            return queryset.filter(renewal_date__lt=today)
        return queryset.filter(
            renewal_date__gte=today, renewal_date__lte=today + timedelta(days=int(value))
        )


class ContactFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    power_role = django_filters.ChoiceFilter(choices=PowerRole.choices)

    class Meta:
        model = Contact
        fields = ["account", "power_role", "is_primary"]

    def filter_q(self, queryset: QuerySet[Contact], name: str, value: str) -> QuerySet[Contact]:
        return queryset.filter(
            Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(email__icontains=value)
        )


class SubscriptionFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=SubscriptionStatus.choices)
    end_date_after = django_filters.DateFilter(field_name="end_date", lookup_expr="gte")
    end_date_before = django_filters.DateFilter(field_name="end_date", lookup_expr="lte")

    class Meta:
        model = Subscription
        fields = ["account", "status", "billing_period", "auto_renew"]


class ActivityFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ActivityKind.choices)
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lte")

    class Meta:
        model = Activity
        fields = ["account", "kind", "author"]


class AnyYesNo(django_filters.widgets.BooleanWidget):
    """A yes/no filter whose empty choice reads "Any" (django-filter says "Unknown")."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.choices = [("", _("Any")), ("true", _("Yes")), ("false", _("No"))]


class TaskFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=TaskStatus.choices, label=_("Status"), empty_label=_("Any status")
    )
    kind = django_filters.ChoiceFilter(choices=TaskKind.choices, label=_("Type"))
    priority = django_filters.ChoiceFilter(choices=TaskPriority.choices, label=_("Priority"))
    assignee = django_filters.ModelChoiceFilter(queryset=_owners, label=_("Assignee"))
    due_before = django_filters.DateFilter(
        field_name="due_date",
        lookup_expr="lte",
        label=_("Due by"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue",
        label=_("Overdue"),
        widget=AnyYesNo(),
    )

    class Meta:
        model = Task
        fields = ["account", "status", "kind", "priority", "assignee"]

    def filter_overdue(
        self, queryset: QuerySet[Task], name: str, value: bool | None
    ) -> QuerySet[Task]:
        if value is None:
            return queryset
        today = timezone.localdate()
        overdue = Q(status=TaskStatus.OPEN, due_date__lt=today)
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class GoalFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=GoalStatus.choices)

    class Meta:
        model = Goal
        fields = ["account", "status"]
