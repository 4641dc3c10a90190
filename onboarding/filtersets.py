"""One FilterSet per list: it serves the list page, the API and the CSV export."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.filtersets import _owners
from onboarding.choices import PlanHealth, PlanStatus, TaskSide
from onboarding.models import OnboardingPlan, OnboardingTemplate, PlanTask

DATE = forms.DateInput(attrs={"type": "date"})


class PlanFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    owner = django_filters.ModelChoiceFilter(
        field_name="account__owner",
        queryset=_owners,
        label=_("Owner"),
        empty_label=_("Anyone"),
        null_label=_("Unassigned"),
    )
    template = django_filters.ModelChoiceFilter(
        queryset=OnboardingTemplate.objects.order_by("name"), label=_("Template")
    )
    status = django_filters.ChoiceFilter(
        choices=PlanStatus.choices, label=_("Status"), empty_label=_("Any status")
    )
    health = django_filters.ChoiceFilter(choices=PlanHealth.choices, label=_("Health"))
    started_after = django_filters.DateFilter(
        field_name="started_on", lookup_expr="gte", label=_("Started from"), widget=DATE
    )
    started_before = django_filters.DateFilter(
        field_name="started_on", lookup_expr="lte", label=_("Started until"), widget=DATE
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("account__name", "account"),
            ("started_on", "started_on"),
            ("target_on", "target_on"),
            ("progress", "progress"),
            ("health_rank", "health"),
            ("step_since", "step_since"),
            ("overdue", "overdue"),
        ),
        label=_("Sort"),
    )

    class Meta:
        model = OnboardingPlan
        fields = ["owner", "template", "status", "health"]

    def filter_q(
        self, queryset: QuerySet[OnboardingPlan], name: str, value: str
    ) -> QuerySet[OnboardingPlan]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(account__name__icontains=value) | Q(name__icontains=value))


class PlanTaskFilterSet(django_filters.FilterSet):
    side = django_filters.ChoiceFilter(choices=TaskSide.choices)
    done = django_filters.BooleanFilter(
        field_name="completed_at", lookup_expr="isnull", exclude=True
    )

    class Meta:
        model = PlanTask
        fields = ["plan", "side", "done"]
