"""The scorecard editor (CS Leads): scorecards, drafts, weights, preview and publishing."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from health.models import Scorecard
from health.selectors import scorecard_list as scorecards_selector


@login_required
def scorecard_list(request: HttpRequest) -> HttpResponse:
    return render(request, "health/scorecard_list.html", {"scorecards": scorecards_selector()})


@login_required
def scorecard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scorecard = get_object_or_404(Scorecard, pk=pk)
    return render(request, "health/scorecard_detail.html", {"scorecard": scorecard})
