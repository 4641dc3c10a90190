"""Pages of the health app: the portfolio view, the account panel, explain and overrides.

Everyone logged in reads; a CSM overrides and records sentiment on the accounts they own,
a CS Lead (or Admin) on any (SPEC §0). The scorecard editor and the backtest are in
views_scorecards and views_backtest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Account
from accounts.views import AuthedHttpRequest, _require, _save_or_render, account_for_edit
from csplatform.exports import csv_response
from csplatform.roles import can_edit_owned
from health import selectors
from health.choices import Color
from health.forms import OverrideForm, PortfolioFilterForm, SentimentForm
from health.models import CsmSentiment, HealthOverride, HealthScore
from health.services import overrides

PAGE_SIZE = 50
SORTS = {
    "score": (F("health__score").asc(nulls_last=True), "name"),
    "-score": (F("health__score").desc(nulls_last=True), "name"),
    "name": ("name",),
    "-name": ("-name",),
}


# The account panel (registered in apps.py) ---------------------------------------------------


def _history_chart(panel: selectors.AccountHealth) -> dict[str, Any]:
    version = panel.health.version if panel.health else None
    return {
        "labels": [day.isoformat() for day, _score, _color in panel.history],
        "datasets": [
            {
                "label": str(_("Health score")),
                "data": [
                    float(score) if score is not None else None for _d, score, _c in panel.history
                ],
            }
        ],
        "benchmarks": [
            {"label": str(_("Red up to")), "value": float(version.red_max)},
            {"label": str(_("Yellow up to")), "value": float(version.yellow_max)},
        ]
        if version
        else [],
        "unit": "score",
    }


def account_health_panel(account: Account, user: Any) -> dict[str, Any]:
    """Context of the health panel on the account 360 page (five queries)."""
    panel = selectors.account_health(account=account, user=user)
    return {
        "health_panel": panel,
        "health_chart": _history_chart(panel),
        "override_form": OverrideForm() if panel.can_change else None,
        "sentiment_form": SentimentForm() if panel.can_change else None,
    }


def _panel_url(account_pk: int) -> str:
    return reverse("accounts:detail", args=[account_pk]) + "#health"


# Explain (htmx partial) -------------------------------------------------------------------


@login_required
def explain(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = get_object_or_404(Account, pk=account_pk)
    health = (
        HealthScore.objects.select_related("version", "version__scorecard")
        .filter(account=account)
        .first()
    )
    explanation = selectors.explain(health=health) if health else None
    template = "health/_explain.html" if request.htmx else "health/explain.html"
    return render(
        request,
        template,
        {"account": account, "health": health, "why": explanation},
    )


# Overrides and sentiment ----------------------------------------------------------------

FORM = "health/form.html"


@login_required
def override_set(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    form = OverrideForm(request.POST or None)
    return _save_or_render(
        request,
        form,
        lambda: overrides.override_set(
            account=account,
            score=form.cleaned_data["score"],
            reason=form.cleaned_data["reason"],
            expires_on=form.cleaned_data["expires_on"],
            actor=request.user,
        ),
        success_url=_panel_url(account.pk),
        success_message=_("The health score is overridden."),
        context={
            "account": account,
            "title": _("Override the health score of %(account)s") % {"account": account.name},
        },
        template=FORM,
    )


@login_required
@require_POST
def override_remove(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    override = get_object_or_404(HealthOverride.objects.select_related("account"), pk=pk)
    _require(can_edit_owned(request.user, override.account.owner_id))
    overrides.override_remove(override=override, actor=request.user)
    messages.success(request, _("The override is removed: the computed score counts again."))
    return redirect(_panel_url(override.account_id))


@login_required
def sentiment_set(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    form = SentimentForm(request.POST or None)
    return _save_or_render(
        request,
        form,
        lambda: overrides.sentiment_set(
            account=account,
            sentiment=form.cleaned_data["sentiment"],
            reason=form.cleaned_data["reason"],
            expires_on=form.cleaned_data["expires_on"],
            actor=request.user,
        ),
        success_url=_panel_url(account.pk),
        success_message=_("Your sentiment is recorded."),
        context={
            "account": account,
            "title": _("Your sentiment on %(account)s") % {"account": account.name},
        },
        template=FORM,
    )


@login_required
@require_POST
def sentiment_remove(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(CsmSentiment.objects.select_related("account"), pk=pk)
    _require(can_edit_owned(request.user, record.account.owner_id))
    overrides.sentiment_remove(record=record, actor=request.user)
    messages.success(request, _("The sentiment is removed."))
    return redirect(_panel_url(record.account_id))


# The portfolio ------------------------------------------------------------------------------

CSV_HEADER = [
    gettext_lazy("account id"),
    gettext_lazy("account"),
    gettext_lazy("owner"),
    gettext_lazy("tier"),
    gettext_lazy("touch model"),
    gettext_lazy("health score"),
    gettext_lazy("colour"),
    gettext_lazy("computed score"),
    gettext_lazy("overridden"),
    gettext_lazy("as of"),
]


def _csv_rows(accounts: Any) -> Iterator[list[Any]]:
    for a in accounts.iterator(chunk_size=2000):
        yield [
            a.pk,
            a.name,
            a.owner.username if a.owner else "",
            a.get_tier_display(),
            a.get_touch_model_display(),
            a.health_score,
            a.health_color,
            a.health_computed,
            a.health_overridden,
            a.health_as_of,
        ]


@login_required
def portfolio(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = PortfolioFilterForm(request.GET or None)
    accounts = Account.objects.select_related("owner").exclude(status="churned")
    if form.is_valid():
        data = form.cleaned_data
        if data.get("mine"):
            accounts = accounts.filter(owner=request.user)
        if data.get("color"):
            accounts = accounts.filter(health__color=data["color"])
        if data.get("q"):
            accounts = accounts.filter(
                Q(name__icontains=data["q"]) | Q(domain__icontains=data["q"])
            )
    accounts = accounts.annotate(
        health_score=F("health__score"),
        health_color=F("health__color"),
        health_computed=F("health__computed_score"),
        health_overridden=F("health__overridden"),
        health_as_of=F("health__as_of"),
    )
    sort = request.GET.get("ordering", "score")
    accounts = accounts.order_by(*SORTS.get(sort, SORTS["score"]))
    if request.GET.get("format") == "csv":
        return csv_response(filename="health.csv", header=CSV_HEADER, rows=_csv_rows(accounts))
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    summary = selectors.portfolio(accounts=Account.objects.all())
    movers = selectors.movers(accounts=Account.objects.all())
    chart = {
        "labels": [str(Color(c).label) for c in Color.values],
        "values": [summary.by_color.get(c, 0) for c in Color.values],
    }
    return render(
        request,
        "health/portfolio.html",
        {
            "form": form,
            "page": page,
            "sort": sort,
            "summary": summary,
            "movers": movers,
            "colors": list(Color),
            "chart_json": json.dumps(chart),
            "querystring": request.GET.urlencode(),
        },
    )
