"""The backtest page: does a scorecard's score predict churn at all?"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def backtest(request: HttpRequest) -> HttpResponse:
    return render(request, "health/backtest.html", {})
