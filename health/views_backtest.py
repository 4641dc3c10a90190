"""The backtest page: does a scorecard's score predict churn at all? (SPEC §4)

Readable by CS Leads, Admins and Viewers: it judges the scorecard, not one book of
accounts. The figures come from health.services.backtest; this view picks the scorecard,
version and window and shapes the charts.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from accounts.views import AuthedHttpRequest, _require
from csplatform.choices import Role
from health.forms_scorecards import BacktestForm
from health.models import Scorecard
from health.services.backtest import BINS, DEFAULT_WINDOW, MAX_OUTCOMES, Backtest, backtest_run

READERS = (Role.ADMIN, Role.CS_LEAD, Role.VIEWER)


def can_backtest(user: Any) -> bool:
    return getattr(user, "role", None) in READERS


@login_required
def backtest(request: AuthedHttpRequest) -> HttpResponse:
    _require(can_backtest(request.user))
    data = request.GET.copy()
    wanted = data.get("scorecard", "")
    scorecards = Scorecard.objects.order_by("-is_default", "priority", "name")
    scorecard = (
        scorecards.filter(pk=int(wanted)).first() if wanted.isdigit() else None
    ) or scorecards.first()
    if scorecard is not None:
        data["scorecard"] = str(scorecard.pk)
    data.setdefault("days", str(DEFAULT_WINDOW))
    form = BacktestForm(data)
    form.set_versions(scorecard)
    version = form.chosen_version()
    days = (form.cleaned_data.get("days") if form.is_valid() else None) or DEFAULT_WINDOW
    result = backtest_run(version=version, days=days) if version is not None else None
    return render(
        request,
        "health/backtest.html",
        {
            "form": form,
            "scorecard": scorecard,
            "version": version,
            "result": result,
            "chart": _chart(result) if result else None,
            "max_outcomes": MAX_OUTCOMES,
        },
    )


def _chart(result: Backtest) -> dict[str, Any]:
    """Chart.js data: a histogram per horizon (share of each outcome per 10-point bin) and
    the ROC curves."""
    labels = [f"{10 * i}–{10 * i + 9 if i < BINS - 1 else 100}" for i in range(BINS)]

    def shares(counts: list[int], n: int) -> list[float]:
        return [round(100.0 * c / n, 1) if n else 0.0 for c in counts]

    return {
        "labels": labels,
        "churned_label": _("Churned"),
        "renewed_label": _("Renewed"),
        "chance_label": _("Coin flip"),
        "x_label": _("Share of renewed accounts flagged"),
        "y_label": _("Share of churned accounts flagged"),
        "score_label": _("Score"),
        "share_label": _("Share of each outcome, %"),
        "horizons": [
            {
                "days": h.days,
                "label": _("%(n)s days before") % {"n": h.days},
                "churned": shares(h.churned.histogram, h.churned.n),
                "renewed": shares(h.renewed.histogram, h.renewed.n),
                "churned_counts": h.churned.histogram,
                "renewed_counts": h.renewed.histogram,
                "roc": [{"x": x, "y": y} for x, y in h.roc],
            }
            for h in result.horizons
        ],
    }
