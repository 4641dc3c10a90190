"""Portfolio dashboard, cohort retention and "about the metrics" pages.

Every logged-in role reads them (Viewers included). The views parse the filters, ask the
selectors and render; bad filter values fall back to the defaults with a note, never a 500.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account
from metrics import selectors
from metrics.choices import Period
from metrics.definitions import METRICS

PERIOD_CHOICES = [
    (p.value, p.label) for p in (Period.WEEK, Period.MONTH, Period.QUARTER, Period.YEAR)
]

# The dashboard's sections: a title and the metrics shown as figures in it.
SECTIONS: list[tuple[Any, tuple[str, ...]]] = [
    (gettext_lazy("Revenue"), ("mrr", "arr", "customers", "arpa")),
    (
        gettext_lazy("Churn and retention"),
        ("customer_churn_rate", "gross_mrr_churn", "net_mrr_churn", "nrr", "grr", "crr"),
    ),
    (gettext_lazy("Sentiment"), ("nps", "csat", "ces")),
    (
        gettext_lazy("Usage and adoption"),
        ("dau", "wau", "mau", "stickiness", "product_adoption"),
    ),
    (
        gettext_lazy("Support"),
        ("tickets", "ticket_first_response_hours", "ticket_resolution_hours"),
    ),
]
# Trend charts: an id, a title, the metrics drawn and the metric whose benchmarks are lines.
CHARTS: list[tuple[str, Any, tuple[str, ...], str | None]] = [
    ("chart-mrr", gettext_lazy("MRR"), ("mrr",), None),
    ("chart-retention", gettext_lazy("NRR and GRR"), ("nrr", "grr"), None),
    (
        "chart-churn",
        gettext_lazy("Churn"),
        ("customer_churn_rate", "gross_mrr_churn", "net_mrr_churn"),
        "customer_churn_rate",
    ),
    ("chart-nps", gettext_lazy("NPS"), ("nps",), "nps"),
    ("chart-usage", gettext_lazy("DAU, WAU and MAU"), ("dau", "wau", "mau"), None),
    ("chart-stickiness", gettext_lazy("Stickiness (DAU ÷ MAU)"), ("stickiness",), None),
]


_SMALL_SELECT = {"class": "form-select form-select-sm"}


class DashboardFilterForm(forms.Form):
    segment = forms.ChoiceField(
        label=gettext_lazy("Segment"), required=False, widget=forms.Select(attrs=_SMALL_SELECT)
    )
    period = forms.ChoiceField(
        label=gettext_lazy("Period"), required=False, widget=forms.Select(attrs=_SMALL_SELECT)
    )
    month = forms.DateField(
        label=gettext_lazy("Movements month"),
        required=False,
        input_formats=["%Y-%m"],
        widget=forms.DateInput(
            attrs={"type": "month", "class": "form-control form-control-sm"}, format="%Y-%m"
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["segment"]).choices = selectors.segment_choices()
        cast(forms.ChoiceField, self.fields["period"]).choices = PERIOD_CHOICES

    def value(self, name: str, default: Any) -> Any:
        """The cleaned value, or the default when it is missing or invalid."""
        if not self.is_valid() and name in self.errors:
            return default
        return self.cleaned_data.get(name) or default


def _filters(request: HttpRequest) -> tuple[DashboardFilterForm, str, str]:
    # Always bound, so the selects show the defaults that are in force.
    data = request.GET.copy()
    data.setdefault("period", Period.MONTH)
    form = DashboardFilterForm(data)
    if not form.is_valid():
        form.invalid_note = _("Some filter values were not understood; the defaults are shown.")  # type: ignore[attr-defined]
    return form, form.value("segment", ""), form.value("period", Period.MONTH)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form, segment, period = _filters(request)
    start, end = selectors.default_range(period)
    keys = [k for _title, section in SECTIONS for k in section if k in METRICS]
    series = selectors.metrics_series(
        metrics=keys, period=period, segment=segment, start=start, end=end
    )
    figures = selectors.figures(series)
    has_data = any(series.values())
    month: date | None = form.value("month", None) or selectors.latest_movement_month()
    waterfall = selectors.mrr_waterfall(month=month, segment=segment) if month else None
    return render(
        request,
        "metrics/dashboard/dashboard.html",
        {
            "form": form,
            "segment": segment,
            "segment_label": selectors.segment_label(segment),
            "period": period,
            "start": start,
            "end": end,
            "has_data": has_data,
            # Only when this filter shows nothing: has the engine run at all?
            "never_calculated": not has_data and not selectors.snapshots_exist(),
            "sections": [
                (title, [figures[k] for k in section if k in figures])
                for title, section in SECTIONS
            ],
            "charts": [
                {
                    "id": chart_id,
                    "title": title,
                    "definitions": [METRICS[k] for k in chart_keys if k in METRICS],
                    "data": selectors.chart_data(series, chart_keys, benchmark_key=bench),
                }
                for chart_id, title, chart_keys, bench in CHARTS
            ],
            # Stored per feature for the whole portfolio: shown whatever the segment.
            "features": selectors.feature_adoption(period=period, start=start, end=end),
            "feature_definition": METRICS.get("feature_adoption"),
            "waterfall": waterfall,
            "waterfall_chart": waterfall.chart() if waterfall else None,
            "prev_month": selectors.add_months(waterfall.month, -1) if waterfall else None,
            "next_month": selectors.add_months(waterfall.month, 1) if waterfall else None,
        },
    )


COHORT_SPANS = (6, 12, 24)


@login_required
def cohorts(request: HttpRequest) -> HttpResponse:
    form, segment, _period = _filters(request)
    try:
        months = int(request.GET.get("months", 12))
    except ValueError:
        months = 12
    if months not in COHORT_SPANS:
        months = 12
    table = selectors.cohort_retention(segment=segment, months=months)
    return render(
        request,
        "metrics/dashboard/cohorts.html",
        {
            "form": form,
            "segment": segment,
            "segment_label": selectors.segment_label(segment),
            "months": months,
            "spans": COHORT_SPANS,
            "table": table,
        },
    )


@login_required
def about(request: HttpRequest) -> HttpResponse:
    return render(request, "metrics/dashboard/about.html", {"metrics": list(METRICS.values())})


def account_usage_panel(account: Account, user: Any) -> dict[str, Any]:
    """Context of the "usage and sentiment" panel on the account 360 page."""
    usage = selectors.account_usage(account=account)
    return {"usage": usage, "usage_chart": usage.chart(), "panel_days": selectors.PANEL_DAYS}
