from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def import_upload(request: HttpRequest) -> HttpResponse:
    return render(request, "base.html")


@login_required
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "base.html")


@login_required
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "base.html")
