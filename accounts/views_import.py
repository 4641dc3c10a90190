"""CSV import pages: upload → preview (per-row errors) → commit. Logic lives in importers."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import importers
from accounts.choices import ImportKind, ImportStatus
from accounts.forms_import import UploadForm
from accounts.models import ImportJob

can_import = permission_required("accounts.add_importjob", raise_exception=True)


@login_required
@can_import
def import_upload(request: HttpRequest) -> HttpResponse:
    template_kind = request.GET.get("template")
    if template_kind in ImportKind.values:
        response = HttpResponse(
            importers.import_template_csv(kind=template_kind),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{template_kind}-template.csv"'
        return response
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = importers.import_job_create(
            kind=form.cleaned_data["kind"],
            filename=upload.name,
            raw=upload.read(),
            actor=request.user,  # type: ignore[arg-type]
        )
        return redirect("accounts:import_preview", pk=job.pk)
    kinds = [
        {"value": kind.value, "label": kind.label, "columns": importers.COLUMNS[kind]}
        for kind in ImportKind
    ]
    recent = ImportJob.objects.filter(uploaded_by=request.user).defer("content", "report")[:10]
    return render(
        request,
        "accounts/import_upload.html",
        {
            "form": form,
            "kinds": kinds,
            "recent": recent,
            "max_rows": settings.CSV_IMPORT_MAX_ROWS,
        },
    )


def _own_job(request: HttpRequest, pk: int) -> ImportJob:
    # Uploads are private to their uploader: the file may hold accounts others cannot edit.
    return get_object_or_404(ImportJob, pk=pk, uploaded_by=request.user)


@login_required
@can_import
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    report = job.report if isinstance(job.report, dict) else {}
    counts = report.get("counts", {})
    headers = report.get("headers", [])
    preview = [
        {**row, "cells": [row.get("values", {}).get(h, "") for h in headers]}
        for row in report.get("preview", [])
    ]
    return render(
        request,
        "accounts/import_preview.html",
        {
            "job": job,
            "report": report,
            "counts": counts,
            "headers": headers,
            "preview": preview,
            "errors": report.get("errors", []),
            "more_errors": report.get("error_count", 0) - len(report.get("errors", [])),
            "more_rows": max(0, counts.get("rows", 0) - counts.get("error", 0) - len(preview)),
            "can_commit": job.status == ImportStatus.PREVIEWED,
        },
    )


@login_required
@can_import
@require_POST
def import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    try:
        summary = importers.import_job_commit(job=job, actor=request.user)  # type: ignore[arg-type]
    except importers.ImportRejected as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Imported %(file)s: %(created)d created, %(updated)d updated.")
            % {"file": job.filename, "created": summary.created, "updated": summary.updated},
        )
    return redirect("accounts:import_preview", pk=job.pk)
