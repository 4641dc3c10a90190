"""FilterSets of tickets and survey responses: the API lists (and any list page) share them."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _

from accounts.choices import LifecycleStage
from metrics.choices import ResponseSource, SurveyKind, TicketChannel, TicketPriority, TicketStatus
from metrics.models import SurveyResponse, Ticket


class TicketFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=TicketStatus.choices, label=_("Status"))
    priority = django_filters.MultipleChoiceFilter(
        choices=TicketPriority.choices, label=_("Priority")
    )
    channel = django_filters.ChoiceFilter(choices=TicketChannel.choices, label=_("Channel"))
    is_escalation = django_filters.BooleanFilter(label=_("Escalation"))
    is_open = django_filters.BooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", label=_("Not resolved")
    )
    opened_after = django_filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="gte")
    opened_before = django_filters.IsoDateTimeFilter(field_name="opened_at", lookup_expr="lt")
    external_id = django_filters.CharFilter()
    account_external_id = django_filters.CharFilter(field_name="account__external_id")

    class Meta:
        model = Ticket
        fields = ["account"]


class SurveyResponseFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=SurveyKind.choices, label=_("Survey"))
    source = django_filters.ChoiceFilter(choices=ResponseSource.choices, label=_("Source"))
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices, label=_("Stage"))
    score_min = django_filters.NumberFilter(field_name="score", lookup_expr="gte")
    score_max = django_filters.NumberFilter(field_name="score", lookup_expr="lte")
    responded_after = django_filters.IsoDateTimeFilter(field_name="responded_at", lookup_expr="gte")
    responded_before = django_filters.IsoDateTimeFilter(field_name="responded_at", lookup_expr="lt")
    external_id = django_filters.CharFilter()
    account_external_id = django_filters.CharFilter(field_name="account__external_id")

    class Meta:
        model = SurveyResponse
        fields = ["account", "contact"]
