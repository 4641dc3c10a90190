"""Pages of the health app: the portfolio view, the account panel's explain and forms."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse


@login_required
def portfolio(request: HttpRequest) -> HttpResponse:
    raise Http404


@login_required
def explain(request: HttpRequest, account_pk: int) -> HttpResponse:
    raise Http404


@login_required
def override_set(request: HttpRequest, account_pk: int) -> HttpResponse:
    raise Http404


@login_required
def override_remove(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404


@login_required
def sentiment_set(request: HttpRequest, account_pk: int) -> HttpResponse:
    raise Http404


@login_required
def sentiment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    raise Http404
