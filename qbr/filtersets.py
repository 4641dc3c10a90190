"""FilterSets of the qbr app: the QBR list and the "QBRs due" list, each shared by its page,
its CSV export and the API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.choices import Tier, TouchModel
from accounts.filtersets import _owners
from accounts.models import Account
from qbr.choices import Cadence, CadenceReason, QbrKind, QbrStatus
from qbr.models import Qbr

DATE = forms.DateInput(attrs={"type": "date"})
YES_NO = [("", _("Any")), ("true", _("Yes")), ("false", _("No"))]


def _search(queryset: QuerySet, value: str, prefix: str = "") -> QuerySet:
    value = value.strip()
    if not value:
        return queryset
    return queryset.filter(
        Q(**{f"{prefix}name__icontains": value}) | Q(**{f"{prefix}external_id__iexact": value})
    )


class QbrFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    owner = django_filters.ModelChoiceFilter(
        field_name="account__owner", queryset=_owners, label=_("Owner"), empty_label=_("Anyone")
    )
    status = django_filters.ChoiceFilter(choices=QbrStatus.choices, label=_("Status"))
    kind = django_filters.ChoiceFilter(choices=QbrKind.choices, label=_("Type"))
    scheduled_after = django_filters.DateFilter(
        field_name="scheduled_at", lookup_expr="date__gte", label=_("Scheduled from"), widget=DATE
    )
    scheduled_before = django_filters.DateFilter(
        field_name="scheduled_at", lookup_expr="date__lte", label=_("Scheduled until"), widget=DATE
    )
    tier = django_filters.ChoiceFilter(
        field_name="account__tier", choices=Tier.choices, label=_("Tier")
    )
    account = django_filters.NumberFilter(field_name="account_id", widget=forms.HiddenInput)
    ordering = django_filters.OrderingFilter(
        fields=(
            ("account__name", "account"),
            ("scheduled_at", "scheduled"),
            ("held_on", "held"),
            ("period_end", "period"),
            ("status", "status"),
        ),
        label=_("Sort"),
    )

    class Meta:
        model = Qbr
        fields = ["status", "kind"]

    def filter_q(self, queryset: QuerySet[Qbr], name: str, value: str) -> QuerySet[Qbr]:
        return _search(queryset, value, "account__")


class DueFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    owner = django_filters.ModelChoiceFilter(
        queryset=_owners, label=_("Owner"), empty_label=_("Anyone")
    )
    cadence = django_filters.ChoiceFilter(choices=Cadence.choices, label=_("Cadence"))
    cadence_reason = django_filters.ChoiceFilter(choices=CadenceReason.choices, label=_("Why"))
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label=_("Overdue"), widget=forms.Select(choices=YES_NO)
    )
    scheduled = django_filters.BooleanFilter(
        method="filter_scheduled", label=_("QBR planned"), widget=forms.Select(choices=YES_NO)
    )
    tier = django_filters.ChoiceFilter(choices=Tier.choices, label=_("Tier"))
    touch_model = django_filters.ChoiceFilter(choices=TouchModel.choices, label=_("Touch model"))
    ordering = django_filters.OrderingFilter(
        fields=(("name", "account"), ("due_on", "due"), ("last_held_on", "last"), ("mrr", "mrr")),
        label=_("Sort"),
    )

    class Meta:
        model = Account
        fields = ["owner", "tier"]

    def filter_q(self, queryset: QuerySet[Account], name: str, value: str) -> QuerySet[Account]:
        return _search(queryset, value)

    def filter_overdue(
        self, queryset: QuerySet[Account], name: str, value: bool
    ) -> QuerySet[Account]:
        today = timezone.localdate()
        return queryset.filter(due_on__lt=today) if value else queryset.filter(due_on__gte=today)

    def filter_scheduled(
        self, queryset: QuerySet[Account], name: str, value: bool
    ) -> QuerySet[Account]:
        return queryset.filter(next_qbr_id__isnull=not value)
