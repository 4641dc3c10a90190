"""CSV import pages: upload → preview (per-row errors) → commit. Logic lives in importers.

The three views at the top serve every stored CSV import (these accounts, contacts and
subscriptions; tickets and survey responses; usage events): a flow sets its job model,
permission, templates and services, and overrides what its pages do differently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from accounts import importers
from accounts.choices import ImportKind, ImportStatus
from accounts.csv_import import Column, ImportRejected, ImportSummary, template_csv
from accounts.forms_import import UploadForm
from accounts.models import BaseImportJob, ImportJob

# Shared by every stored CSV import -------------------------------------------------------


class ImportView(PermissionRequiredMixin, View):
    """A page of one import flow; visitors who are not logged in are sent to log in."""

    model: type[BaseImportJob]
    preview_url: str  # URL name of the flow's preview page

    def job(self, pk: int) -> Any:
        # Uploads are private to their uploader: the file may hold records others cannot edit.
        return get_object_or_404(self.model, pk=pk, uploaded_by=self.request.user)


class ImportUploadView(ImportView):
    """The upload form, the columns of each kind with a template CSV, and recent uploads."""

    template_name: str
    form_class: type[forms.Form]
    kinds: type[models.TextChoices]
    columns: Mapping[str, Sequence[Column]]

    def create(self, *, filename: str, raw: bytes, actor: Any, **data: Any) -> BaseImportJob:
        """Check the uploaded file and store it as a job (the flow's service); `data` holds
        the upload form's other fields, such as the kind."""
        raise NotImplementedError

    def template_download(self) -> tuple[str, str] | None:
        """(file name, text) of the example CSV asked for, if one is."""
        kind = self.request.GET.get("template")
        if kind not in self.kinds.values:
            return None
        return f"{kind}-template.csv", template_csv(self.columns[kind])

    def context(self) -> dict[str, Any]:
        recent = self.model._default_manager.filter(uploaded_by=self.request.user)  # type: ignore[misc]
        return {
            "kinds": [
                {"value": kind.value, "label": kind.label, "columns": self.columns[kind.value]}
                for kind in self.kinds
            ],
            "recent": recent.defer("content", "report")[:10],
        }

    def get(self, request: HttpRequest) -> HttpResponse:
        download = self.template_download()
        if download is not None:
            filename, text = download
            response = HttpResponse(text, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        return self.render(self.form_class())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST or None, request.FILES or None)
        if not form.is_valid():
            return self.render(form, status=400 if form.errors else 200)
        data = dict(form.cleaned_data)
        upload = data.pop("file")
        job = self.create(filename=upload.name, raw=upload.read(), actor=request.user, **data)
        return redirect(self.preview_url, pk=job.pk)

    def render(self, form: forms.Form, status: int = 200) -> HttpResponse:
        return render(
            self.request,
            self.template_name,
            {"form": form, "max_rows": settings.CSV_IMPORT_MAX_ROWS, **self.context()},
            status=status,
        )


class ImportPreviewView(ImportView):
    """The stored report: counts, errors with their lines, the first rows, and Import."""

    template_name: str

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.job(pk)
        report = job.report if isinstance(job.report, dict) else {}
        counts = report.get("counts", {})
        headers = report.get("headers", [])
        preview = [
            {**row, "cells": [row.get("values", {}).get(h, "") for h in headers]}
            for row in report.get("preview", [])
        ]
        return render(
            request,
            self.template_name,
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


class ImportCommitView(ImportView):
    """Import a previewed job, all or nothing; the preview page then says how it went."""

    http_method_names = ["post"]
    # What a refused commit raises: its message is shown to the user.
    refusals: tuple[type[Exception], ...] = (ImportRejected,)

    def commit(self, job: Any) -> Any:
        """Commit the job (the flow's service); `done` says what came of it."""
        raise NotImplementedError

    def done(self, job: Any, result: Any) -> str:
        return _("Imported %(file)s: %(created)d created, %(updated)d updated.") % {
            "file": job.filename,
            "created": result.created,
            "updated": result.updated,
        }

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = self.job(pk)
        try:
            result = self.commit(job)
        except self.refusals as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, self.done(job, result))
        return redirect(self.preview_url, pk=job.pk)


# Accounts, contacts and subscriptions ----------------------------------------------------


class _AccountImports(ImportView):
    model = ImportJob
    permission_required = "accounts.add_importjob"
    preview_url = "accounts:import_preview"


class ImportUpload(_AccountImports, ImportUploadView):
    template_name = "accounts/import_upload.html"
    form_class = UploadForm
    kinds = ImportKind
    columns = importers.COLUMNS

    def create(self, **kwargs: Any) -> ImportJob:
        return importers.import_job_create(**kwargs)


class ImportPreview(_AccountImports, ImportPreviewView):
    template_name = "accounts/import_preview.html"


class ImportCommit(_AccountImports, ImportCommitView):
    def commit(self, job: ImportJob) -> ImportSummary:
        return importers.import_job_commit(job=job, actor=self.request.user)  # type: ignore[arg-type]


import_upload = ImportUpload.as_view()
import_preview = ImportPreview.as_view()
import_commit = ImportCommit.as_view()
