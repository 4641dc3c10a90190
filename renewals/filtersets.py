"""One FilterSet for renewals: it serves the list, the pipeline, the calendar, the churn
analysis, the API and the CSV export."""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Tier, TouchModel
from accounts.filtersets import RENEWAL_WINDOWS, _owners
from renewals.choices import (
    ChurnType,
    ForecastCategory,
    Outcome,
    ReasonCode,
    RenewalStage,
    RiskFlag,
    WinBackStatus,
)
from renewals.models import Renewal

DATE = forms.DateInput(attrs={"type": "date"})

STATES = [("open", _("Open")), ("closed", _("Closed")), ("all", _("Open and closed"))]


class RenewalFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    state = django_filters.ChoiceFilter(
        choices=STATES, method="filter_state", label=_("Open or closed"), empty_label=None
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=_owners, label=_("Owner"), empty_label=_("Anyone"), null_label=_("Unassigned")
    )
    window = django_filters.ChoiceFilter(
        choices=RENEWAL_WINDOWS, method="filter_window", label=_("Renewal")
    )
    renewal_after = django_filters.DateFilter(
        field_name="renewal_date", lookup_expr="gte", label=_("Renewing from"), widget=DATE
    )
    renewal_before = django_filters.DateFilter(
        field_name="renewal_date", lookup_expr="lte", label=_("Renewing until"), widget=DATE
    )
    stage = django_filters.ChoiceFilter(choices=RenewalStage.choices, label=_("Stage"))
    forecast_category = django_filters.ChoiceFilter(
        choices=ForecastCategory.choices, label=_("Forecast")
    )
    at_risk = django_filters.BooleanFilter(
        label=_("At risk"),
        widget=forms.Select(
            choices=[("", _("Any")), ("true", _("At risk")), ("false", _("Not at risk"))]
        ),
    )
    risk = django_filters.ChoiceFilter(
        choices=RiskFlag.choices, method="filter_risk", label=_("Risk signal")
    )
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices, label=_("Outcome"))
    reason = django_filters.ChoiceFilter(choices=ReasonCode.choices, label=_("Reason"))
    churn_type = django_filters.ChoiceFilter(choices=ChurnType.choices, label=_("Churn type"))
    win_back_status = django_filters.ChoiceFilter(
        choices=WinBackStatus.choices, label=_("Win-back")
    )
    closed_after = django_filters.DateFilter(
        field_name="effective_on", lookup_expr="gte", label=_("Effective from"), widget=DATE
    )
    closed_before = django_filters.DateFilter(
        field_name="effective_on", lookup_expr="lte", label=_("Effective until"), widget=DATE
    )
    tier = django_filters.ChoiceFilter(
        field_name="account__tier", choices=Tier.choices, label=_("Tier")
    )
    touch_model = django_filters.ChoiceFilter(
        field_name="account__touch_model", choices=TouchModel.choices, label=_("Touch model")
    )
    currency = django_filters.CharFilter(method="filter_currency", label=_("Currency"))
    account = django_filters.NumberFilter(field_name="account_id", widget=forms.HiddenInput)
    ordering = django_filters.OrderingFilter(
        fields=(
            ("account__name", "account"),
            ("owner__first_name", "owner"),
            ("renewal_date", "renewal_date"),
            ("notice_deadline", "notice_deadline"),
            ("mrr", "arr"),
            ("probability", "probability"),
            ("weighted_arr_value", "weighted"),
            ("forecast_category", "forecast"),
            ("stage", "stage"),
            ("closed_on", "closed_on"),
            ("usage_change", "usage"),
        ),
        label=_("Sort"),
    )

    class Meta:
        model = Renewal
        fields = ["owner", "stage", "forecast_category", "at_risk", "outcome", "reason"]

    def filter_q(self, queryset: QuerySet[Renewal], name: str, value: str) -> QuerySet[Renewal]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(account__name__icontains=value)
            | Q(account__external_id__iexact=value)
            | Q(subscription__plan_name__icontains=value)
            | Q(competitor__icontains=value)
        )

    def filter_state(self, queryset: QuerySet[Renewal], name: str, value: str) -> QuerySet[Renewal]:
        if value == "open":
            return queryset.filter(outcome="")
        if value == "closed":
            return queryset.exclude(outcome="")
        return queryset

    def filter_window(
        self, queryset: QuerySet[Renewal], name: str, value: str
    ) -> QuerySet[Renewal]:
        today = timezone.localdate()
        if value == "overdue":
            return queryset.filter(outcome="", renewal_date__lt=today)
        return queryset.filter(
            renewal_date__gte=today, renewal_date__lte=today + timedelta(days=int(value))
        )

    def filter_risk(self, queryset: QuerySet[Renewal], name: str, value: str) -> QuerySet[Renewal]:
        return queryset.filter(**{f"risk_{value}": True})

    def filter_currency(
        self, queryset: QuerySet[Renewal], name: str, value: str
    ) -> QuerySet[Renewal]:
        value = value.strip().upper()
        return queryset.filter(currency=value) if value else queryset
