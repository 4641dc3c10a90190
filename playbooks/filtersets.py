"""One FilterSet per list: it serves the list page and the CSV export."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from playbooks.choices import DeliveryStatus, RuleMode
from playbooks.models import Rule, WebhookDelivery
from playbooks.selectors import trigger_choices
from playbooks.triggers import triggers


def _trigger_choices() -> list[tuple[str, str]]:
    # A callable: triggers registered after import (other apps' ready()) are listed too.
    return trigger_choices(triggers())


class RuleFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    mode = django_filters.ChoiceFilter(
        choices=RuleMode.choices, label=_("Mode"), empty_label=_("Any mode")
    )
    trigger = django_filters.ChoiceFilter(
        choices=_trigger_choices, label=_("Trigger"), empty_label=_("Any trigger")
    )

    class Meta:
        model = Rule
        fields = ["mode", "trigger"]

    def filter_q(self, queryset: QuerySet[Rule], name: str, value: str) -> QuerySet[Rule]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value))


class DeliveryFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=DeliveryStatus.choices,
        label=_("Status"),
        empty_label=_("Any status"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    class Meta:
        model = WebhookDelivery
        fields = ["status"]
