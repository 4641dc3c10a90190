"""Pages of the renewals app: the list, pipeline and forecast, realised retention, calendar,
churn analysis, the renewal page with its actions, and the account 360 panel.

Views parse the request, fetch through the permission helpers below, call a service and
render or redirect. Every role reads (Viewers the forecast too); a CSM changes the renewals
of the accounts they own, a CS Lead (or Admin) every renewal (SPEC §0).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Account, Activity
from accounts.views import AuthedHttpRequest, _require, _save_or_render
from csplatform.exports import csv_response
from csplatform.roles import can_edit_owned
from metrics.choices import Period
from metrics.definitions import METRICS
from metrics.selectors import add_months, segment_label
from onboarding.views import _service_call
from renewals import selectors
from renewals.choices import Outcome, RiskFlag
from renewals.filtersets import RenewalFilterSet
from renewals.forms import (
    BY_CHOICES,
    CounterOfferDecideForm,
    CounterOfferForm,
    ExitInterviewForm,
    ReasonForm,
    RenewalCloseForm,
    RenewalForm,
    RetentionFilterForm,
    WinBackForm,
)
from renewals.models import CounterOffer, ExitInterview, Renewal
from renewals.services import closing, forecast, offboarding

PAGE_SIZE = 50
FORM = "renewals/form.html"
# How far the pipeline looks ahead by default, and the closed periods the retention shows.
PIPELINE_MONTHS = 12
RETENTION_PERIODS = {Period.MONTH: 12, Period.QUARTER: 8}


def renewals_reader(view: Callable[..., Any]) -> Callable[..., Any]:
    """Logged in with a role that reads renewals (every role does; a user without one not). Anonymous users go to the login page, others without it get a 403."""
    return login_required(permission_required("renewals.view_renewal", raise_exception=True)(view))


def renewal_for_change(request: AuthedHttpRequest, pk: int) -> Renewal:
    """The renewal, if the user may change it: 404 if missing, 403 if not theirs."""
    renewal = get_object_or_404(
        Renewal.objects.select_related("account", "account__owner", "subscription", "owner"),
        pk=pk,
    )
    _require(selectors.renewal_can_change(user=request.user, renewal=renewal))
    return renewal


def _context(renewal: Renewal, title: str) -> dict[str, Any]:
    day = date_format(renewal.renewal_date, "SHORT_DATE_FORMAT")
    return {
        "title": title,
        "subtitle": f"{renewal.account.name} · {renewal.subscription.plan_name} · {day}",
        "cancel_url": renewal.get_absolute_url(),
        "crumbs": [
            (renewal.account.name, renewal.account.get_absolute_url()),
            (_("Renewal of %(date)s") % {"date": day}, renewal.get_absolute_url()),
        ],
    }


def _posted(request: AuthedHttpRequest) -> Any:
    """The POST data of a POST, even an empty one (an empty form is invalid, not unbound)."""
    return request.POST if request.method == "POST" else None


def _filtered(request: AuthedHttpRequest, *, state: str = "open") -> RenewalFilterSet:
    params = request.GET.copy()
    params.setdefault("state", state)
    return RenewalFilterSet(params, queryset=selectors.renewal_list())


def _qs(filterset: RenewalFilterSet) -> Any:
    # A bad filter value shows the form with its error and the default list, never a 500.
    return filterset.qs if filterset.is_valid() else filterset.queryset.filter(outcome="")


# The list and its CSV --------------------------------------------------------------------

CSV_HEADER = [
    gettext_lazy("id"),
    gettext_lazy("account"),
    gettext_lazy("owner"),
    gettext_lazy("plan"),
    gettext_lazy("renewal date"),
    gettext_lazy("cancellation deadline"),
    gettext_lazy("currency"),
    gettext_lazy("ARR"),
    gettext_lazy("stage"),
    gettext_lazy("forecast category"),
    gettext_lazy("probability %"),
    gettext_lazy("forecast ARR"),
    gettext_lazy("weighted ARR"),
    gettext_lazy("expected outcome"),
    gettext_lazy("at risk"),
    gettext_lazy("risk reasons"),
    gettext_lazy("health colour"),
    gettext_lazy("usage change %"),
    gettext_lazy("open escalations"),
    gettext_lazy("last NPS"),
    gettext_lazy("outcome"),
    gettext_lazy("ARR after"),
    gettext_lazy("closed on"),
    gettext_lazy("effective from"),
    gettext_lazy("reason"),
    gettext_lazy("churn type"),
    gettext_lazy("competitor"),
    gettext_lazy("win-back"),
]


def _money(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def _csv_rows(renewals: Any) -> Iterator[list[Any]]:
    for r in renewals.iterator(chunk_size=2000):
        yield [
            r.pk,
            r.account.name,
            str(r.owner) if r.owner else "",
            r.subscription.plan_name,
            r.renewal_date.isoformat(),
            r.notice_deadline.isoformat(),
            r.currency,
            _money(r.arr),
            r.get_stage_display(),
            r.get_forecast_category_display(),
            r.probability,
            _money(r.forecast_arr_value),
            _money(r.weighted_arr_value),
            r.get_expected_outcome_display(),
            r.at_risk,
            "; ".join(str(RiskFlag(k).label) for k in r.risk_reasons),
            r.health_color,
            r.usage_change,
            r.escalations_open,
            r.nps_last,
            r.get_outcome_display(),
            _money(r.outcome_arr),
            r.closed_on.isoformat() if r.closed_on else "",
            r.effective_on.isoformat() if r.effective_on else "",
            r.get_reason_display(),
            r.get_churn_type_display(),
            r.competitor,
            r.get_win_back_status_display(),
        ]


@renewals_reader
def renewal_list(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    filterset = _filtered(request)
    renewals = _qs(filterset)
    renewals = renewals.order_by(*(renewals.query.order_by or ("renewal_date",)), "pk")
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"renewals-{timezone.localdate().isoformat()}.csv",
            header=CSV_HEADER,
            rows=_csv_rows(renewals),
        )
    page = Paginator(renewals, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "renewals/renewal_list.html",
        {
            "filter": filterset,
            "page": page,
            "totals": selectors.totals_by_currency(renewals),
            "today": timezone.localdate(),
            "main_filters": [
                "q",
                "state",
                "owner",
                "window",
                "forecast_category",
                "at_risk",
                "risk",
            ],
            "show_outcome": filterset.form["state"].value() != "open",
        },
    )


# Pipeline and forecast -------------------------------------------------------------------

PIPELINE_CSV_HEADER = [
    gettext_lazy("period"),
    gettext_lazy("currency"),
    gettext_lazy("renewals"),
    gettext_lazy("open"),
    gettext_lazy("ARR up for renewal"),
    gettext_lazy("commit"),
    gettext_lazy("probable"),
    gettext_lazy("at risk"),
    gettext_lazy("churn"),
    gettext_lazy("renewed ARR"),
    gettext_lazy("lost ARR"),
    gettext_lazy("forecast (commit + probable)"),
    gettext_lazy("risk-weighted forecast"),
    gettext_lazy("forecast %"),
]


def _pipeline_csv_rows(pipe: selectors.Pipeline) -> Iterator[list[Any]]:
    for currency in pipe.currencies:
        for row in pipe.rows.get(currency, []):
            t = row.totals
            yield [
                row.label,
                currency,
                t.renewals,
                t.open,
                _money(t.arr),
                _money(t.commit),
                _money(t.probable),
                _money(t.at_risk),
                _money(t.churn),
                _money(t.won),
                _money(t.lost),
                _money(t.forecast),
                _money(t.weighted_forecast),
                t.forecast_rate,
            ]


@renewals_reader
def pipeline(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    by = request.GET.get("by") or Period.MONTH
    if by not in (Period.MONTH, Period.QUARTER):
        by = Period.MONTH
    today = timezone.localdate()
    params = request.GET.copy()
    params.setdefault("state", "all")
    # From the start of this period over the next year, unless the filter says otherwise.
    first = (
        today.replace(day=1)
        if by == Period.MONTH
        else today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    )
    params.setdefault("renewal_after", first.isoformat())
    # A year of months, or the four quarters from this one.
    params.setdefault(
        "renewal_before",
        (add_months(first, PIPELINE_MONTHS) - dt.timedelta(days=1)).isoformat(),
    )
    filterset = RenewalFilterSet(params, queryset=selectors.renewal_list())
    pipe = selectors.pipeline(qs=_qs(filterset), by=by)
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"renewal-pipeline-{by}-{today.isoformat()}.csv",
            header=PIPELINE_CSV_HEADER,
            rows=_pipeline_csv_rows(pipe),
        )
    currency = request.GET.get("currency", "").upper() or (
        pipe.currencies[0] if pipe.currencies else ""
    )
    return render(
        request,
        "renewals/pipeline.html",
        {
            "filter": filterset,
            "pipe": pipe,
            "by": by,
            "by_choices": BY_CHOICES,
            "chart": selectors.pipeline_chart(pipe, currency),
            "chart_currency": currency,
            "main_filters": ["q", "owner", "renewal_after", "renewal_before", "at_risk", "tier"],
            "extra_params": [("by", by)],
        },
    )


# Realised retention ----------------------------------------------------------------------

RETENTION_CSV_HEADER = [
    gettext_lazy("period"),
    gettext_lazy("opening MRR"),
    gettext_lazy("MRR renewing"),
    gettext_lazy("expansion MRR"),
    gettext_lazy("contraction and churned MRR"),
    gettext_lazy("renewals"),
    gettext_lazy("renewed"),
    gettext_lazy("churned"),
    gettext_lazy("renewal rate %"),
    gettext_lazy("GRR %"),
    gettext_lazy("NRR %"),
    gettext_lazy("GRR % (metric engine)"),
    gettext_lazy("NRR % (metric engine)"),
]


def _retention_csv_rows(rows: list[selectors.RetentionRow]) -> Iterator[list[Any]]:
    for r in rows:
        yield [
            r.label,
            r.opening,
            r.renewing,
            r.expansion,
            r.lost,
            r.renewals,
            r.won,
            r.churned,
            r.renewal_rate,
            r.grr,
            r.nrr,
            r.engine_grr,
            r.engine_nrr,
        ]


@renewals_reader
def retention(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    data = request.GET.copy()
    data.setdefault("by", Period.MONTH)
    form = RetentionFilterForm(data)
    if not form.is_valid():
        form.invalid_note = _("Some filter values were not understood; the defaults are shown.")  # type: ignore[attr-defined]
    by = form.value("by", Period.MONTH)
    segment = form.value("segment", "")
    spans = selectors.closed_periods(by=by, count=RETENTION_PERIODS[by])
    rows = selectors.realised_retention(by=by, spans=spans, segment=segment)
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"renewal-retention-{by}-{timezone.localdate().isoformat()}.csv",
            header=RETENTION_CSV_HEADER,
            rows=_retention_csv_rows(rows),
        )
    return render(
        request,
        "renewals/retention.html",
        {
            "form": form,
            "rows": rows,
            "by": by,
            "segment_label": segment_label(segment),
            "grr": METRICS["grr"],
            "nrr": METRICS["nrr"],
            "chart": {
                "labels": [r.label for r in rows],
                "unit": "percent",
                "datasets": [
                    {
                        "key": "grr",
                        "label": str(METRICS["grr"].label),
                        "data": [_f(r.grr) for r in rows],
                    },
                    {
                        "key": "nrr",
                        "label": str(METRICS["nrr"].label),
                        "data": [_f(r.nrr) for r in rows],
                    },
                    {
                        "key": "renewal_rate",
                        "label": _("Renewal rate"),
                        "data": [_f(r.renewal_rate) for r in rows],
                    },
                ],
            },
        },
    )


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


# Calendar --------------------------------------------------------------------------------


@renewals_reader
def calendar(request: AuthedHttpRequest) -> HttpResponse:
    today = timezone.localdate()
    try:
        month = dt.datetime.strptime(request.GET.get("month", ""), "%Y-%m").date()
    except ValueError:
        month = today.replace(day=1)
    filterset = _filtered(request, state="all")
    weeks = selectors.calendar_month(qs=_qs(filterset), month=month)
    return render(
        request,
        "renewals/calendar.html",
        {
            "filter": filterset,
            "weeks": weeks,
            "month": month,
            "previous": add_months(month, -1),
            "next": add_months(month, 1),
            "today": today,
            "main_filters": ["q", "state", "owner", "forecast_category", "at_risk"],
            "extra_params": [("month", month.strftime("%Y-%m"))],
        },
    )


# Churn analysis --------------------------------------------------------------------------

CHURN_CSV_HEADER = [
    gettext_lazy("reason"),
    gettext_lazy("churn type"),
    gettext_lazy("churned"),
    gettext_lazy("contracted"),
    gettext_lazy("lost ARR"),
]


@renewals_reader
def churn(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    today = timezone.localdate()
    params = request.GET.copy()
    params.setdefault("state", "closed")
    params.setdefault("closed_after", (today - dt.timedelta(days=365)).isoformat())
    filterset = RenewalFilterSet(params, queryset=selectors.renewal_list())
    qs = _qs(filterset).exclude(outcome="")
    analysis = selectors.churn_analysis(qs=qs)
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"churn-reasons-{today.isoformat()}.csv",
            header=CHURN_CSV_HEADER,
            rows=(
                [
                    r.label or _("Not recorded"),
                    _("Voluntary") if r.voluntary else _("Involuntary"),
                    r.churned,
                    r.contracted,
                    _money(r.lost_arr),
                ]
                for r in analysis.reasons
            ),
        )
    return render(
        request,
        "renewals/churn.html",
        {
            "filter": filterset,
            "a": analysis,
            "today": today,
            "win_back": METRICS["win_back_rate"],
            "main_filters": [
                "q",
                "owner",
                "closed_after",
                "closed_before",
                "currency",
                "churn_type",
            ],
            "chart": {
                "labels": [r.label or _("Not recorded") for r in analysis.reasons],
                "data": [float(r.lost_arr) for r in analysis.reasons],
            },
        },
    )


# The renewal page ------------------------------------------------------------------------


@renewals_reader
def renewal_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        renewal = selectors.renewal_detail(pk=pk)
    except Renewal.DoesNotExist:
        raise Http404 from None
    can_change = selectors.renewal_can_change(user=request.user, renewal=renewal)
    interview = getattr(renewal, "exit_interview", None)
    return render(
        request,
        "renewals/renewal_detail.html",
        {
            "r": renewal,
            "can_change": can_change,
            "interview": interview,
            "can_interview": can_change and offboarding.exit_interview_can_start(renewal),
            "tasks": selectors.renewal_tasks(renewal=renewal),
            "activity": Activity.objects.filter(
                account_id=renewal.account_id, metadata__renewal_id=renewal.pk
            )
            .select_related("author")
            .order_by("-occurred_at", "-pk")[:20],
            "offer_form": CounterOfferForm() if can_change else None,
            "risk_flags": [RiskFlag(k) for k in renewal.risk_reasons],
            "mitigation_steps": forecast.MITIGATION_PLAN,
            "today": timezone.localdate(),
        },
    )


@renewals_reader
@require_http_methods(["GET", "POST"])
def renewal_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    renewal = renewal_for_change(request, pk)
    # The form works on its own copy so that the service still sees the old forecast.
    form = RenewalForm(_posted(request), instance=Renewal.objects.get(pk=renewal.pk))
    return _save_or_render(
        request,
        form,
        lambda: forecast.renewal_update(
            renewal=renewal,
            actor=request.user,
            **form.service_fields(),  # type: ignore[attr-defined]
        ),
        success_url=renewal.get_absolute_url(),
        success_message=_("Forecast saved."),
        context=_context(renewal, _("Forecast the renewal")),
        template=FORM,
    )


@renewals_reader
@require_http_methods(["GET", "POST"])
def renewal_close(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    renewal = renewal_for_change(request, pk)
    if not renewal.is_open:
        return HttpResponseRedirect(renewal.get_absolute_url())
    form = RenewalCloseForm(_posted(request), renewal=renewal)
    return _save_or_render(
        request,
        form,
        lambda: closing.renewal_close(renewal=renewal, actor=request.user, **form.service_fields()),
        success_url=renewal.get_absolute_url(),
        success_message=_("Renewal closed."),
        context={**_context(renewal, _("Close the renewal")), "renewal": renewal},
        template="renewals/close.html",
    )


@renewals_reader
@require_POST
def mitigation_attach(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    renewal = renewal_for_change(request, pk)
    _service_call(
        request,
        lambda: forecast.mitigation_plan_attach(renewal=renewal, actor=request.user),
        _("Mitigation plan attached: its tasks are in the owner's book."),
    )
    return HttpResponseRedirect(renewal.get_absolute_url() + "#risk")


@renewals_reader
@require_http_methods(["GET", "POST"])
def reason_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    renewal = renewal_for_change(request, pk)
    form = ReasonForm(
        _posted(request),
        initial={
            "reason": renewal.reason,
            "competitor": renewal.competitor,
            "reason_note": renewal.reason_note,
        },
    )
    return _save_or_render(
        request,
        form,
        lambda: offboarding.renewal_reason_update(
            renewal=renewal, actor=request.user, **form.cleaned_data
        ),
        success_url=renewal.get_absolute_url(),
        success_message=_("Reason saved."),
        context=_context(renewal, _("Why the customer left")),
        template=FORM,
    )


@renewals_reader
@require_http_methods(["GET", "POST"])
def offer_create(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    renewal = renewal_for_change(request, pk)
    form = CounterOfferForm(_posted(request), instance=CounterOffer(renewal=renewal))
    return _save_or_render(
        request,
        form,
        lambda: offboarding.counter_offer_save(offer=form.instance, actor=request.user),
        success_url=renewal.get_absolute_url() + "#offers",
        success_message=_("Counter-offer recorded."),
        context=_context(renewal, _("Make a counter-offer")),
        template=FORM,
    )


@renewals_reader
@require_POST
def offer_decide(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(CounterOffer.objects.select_related("renewal__account"), pk=pk)
    _require(selectors.renewal_can_change(user=request.user, renewal=offer.renewal))
    form = CounterOfferDecideForm(request.POST)
    if form.is_valid():
        _service_call(
            request,
            lambda: offboarding.counter_offer_decide(
                offer=offer, status=form.cleaned_data["status"], actor=request.user
            ),
            _("Counter-offer updated."),
        )
    else:
        return HttpResponse(_("Say whether the customer accepted or declined."), status=400)
    return HttpResponseRedirect(offer.renewal.get_absolute_url() + "#offers")


@renewals_reader
@require_http_methods(["GET", "POST"])
def exit_interview(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    renewal = renewal_for_change(request, pk)
    interview = ExitInterview.objects.filter(renewal=renewal).first() or ExitInterview(
        renewal=renewal
    )
    form = ExitInterviewForm(_posted(request), instance=interview, renewal=renewal)
    return _save_or_render(
        request,
        form,
        lambda: offboarding.exit_interview_save(interview=form.instance, actor=request.user),
        success_url=renewal.get_absolute_url() + "#exit-interview",
        success_message=_("Exit interview saved."),
        context=_context(renewal, _("Exit interview")),
        template=FORM,
    )


@renewals_reader
@require_http_methods(["GET", "POST"])
def win_back(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    renewal = renewal_for_change(request, pk)
    form = WinBackForm(
        _posted(request),
        initial={"status": renewal.win_back_status, "next_on": renewal.win_back_next_on},
    )
    return _save_or_render(
        request,
        form,
        lambda: offboarding.win_back_update(
            renewal=renewal,
            actor=request.user,
            status=form.cleaned_data["status"],
            next_on=form.cleaned_data["next_on"],
        ),
        success_url=renewal.get_absolute_url(),
        success_message=_("Win-back saved."),
        context=_context(renewal, _("Win the customer back")),
        template=FORM,
    )


# The account 360 panel -------------------------------------------------------------------


def account_renewal_panel(account: Account, user: Any) -> dict[str, Any]:
    """Context of the renewals panel on the account 360 page (one query)."""
    renewals = selectors.account_renewals(account=account)
    return {
        "renewals": renewals,
        "renewals_open": [r for r in renewals if r.is_open],
        "renewals_closed": [r for r in renewals if not r.is_open],
        "renewals_can_change": can_edit_owned(user, account.owner_id),
        "churned": Outcome.CHURNED,
        "today": timezone.localdate(),
    }
