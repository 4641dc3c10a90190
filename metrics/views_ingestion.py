"""Pages of ingestion: sources (Admin), the feature catalogue, end users, events CSV import.

Views parse, check the role, call a service and render; the logic is in
metrics.services.ingestion.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.csv_import import ImportRejected, template_csv
from accounts.views_import import ImportCommitView, ImportPreviewView, ImportUploadView, ImportView
from csplatform.choices import Role
from metrics.forms_ingestion import EventUploadForm, FeatureForm, SourceForm
from metrics.models import EndUser, Feature, Source
from metrics.models.ingestion import EventImport
from metrics.services import ingestion as services


def _require_admin(request: HttpRequest) -> None:
    if request.user.role != Role.ADMIN:  # type: ignore[union-attr]
        raise PermissionDenied(_("Only an Admin can manage tracking sources."))


def _require_lead(request: HttpRequest) -> None:
    if not request.user.is_cs_lead_or_admin:  # type: ignore[union-attr]
        raise PermissionDenied(_("Only a CS Lead or an Admin can change the feature catalogue."))


# Sources -------------------------------------------------------------------------------


@login_required
def source_list(request: HttpRequest) -> HttpResponse:
    """Sources and their key prefixes; a new key is shown on this page once, after creation."""
    _require_admin(request)
    form = SourceForm(request.POST or None)
    new_key = None
    new_source = None
    if request.method == "POST" and form.is_valid():
        if Source.objects.filter(name=form.cleaned_data["name"]).exists():
            form.add_error("name", _("A source with this name exists."))
        else:
            new_source, new_key = services.source_create(
                name=form.cleaned_data["name"],
                actor=request.user,  # type: ignore[arg-type]
            )
            form = SourceForm()
    response = render(
        request,
        "metrics/ingestion/source_list.html",
        {
            "sources": Source.objects.order_by("name"),
            "form": form,
            "new_key": new_key,
            "new_source": new_source,
            "tracking_url": request.build_absolute_uri("/"),
        },
    )
    # The page holds a secret once: never let a cache or the back button keep it.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def source_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    source = services.source_revoke(source=get_object_or_404(Source, pk=pk))
    messages.success(request, _("Source “%(name)s” revoked.") % {"name": source.name})
    return redirect("metrics:sources")


# Feature catalogue ---------------------------------------------------------------------


@login_required
def feature_list(request: HttpRequest) -> HttpResponse:
    features = Feature.objects.prefetch_related("events").order_by("name")
    return render(
        request,
        "metrics/ingestion/feature_list.html",
        {"features": features, "can_edit": request.user.is_cs_lead_or_admin},  # type: ignore[union-attr]
    )


@login_required
def feature_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _require_lead(request)
    feature = get_object_or_404(Feature, pk=pk) if pk else Feature()
    form = FeatureForm(request.POST or None, instance=feature)
    if request.method == "POST" and form.is_valid():
        feature = form.save(commit=False)
        feature.plans = form.cleaned_data["plans_text"]
        services.feature_save(feature=feature, event_names=form.cleaned_data["event_names_text"])
        messages.success(request, _("Feature “%(name)s” saved.") % {"name": feature.name})
        return redirect("metrics:features")
    return render(
        request, "metrics/ingestion/feature_form.html", {"form": form, "feature": feature}
    )


# End users -----------------------------------------------------------------------------


@login_required
def end_user_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    users = EndUser.objects.select_related("account").order_by("-last_seen_at", "pk")
    if q:
        users = users.filter(
            Q(external_id__icontains=q) | Q(email__icontains=q) | Q(account__name__icontains=q)
        )
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(request, "metrics/ingestion/end_user_list.html", {"page": page, "q": q})


# Events CSV import -----------------------------------------------------------------------


class _EventImports(ImportView):
    model = EventImport
    permission_required = "metrics.add_event"
    preview_url = "metrics:event_import_preview"


class EventImportUpload(_EventImports, ImportUploadView):
    template_name = "metrics/ingestion/import_upload.html"
    form_class = EventUploadForm

    def create(self, **kwargs: Any) -> EventImport:
        return services.event_import_create(**kwargs)

    def template_download(self) -> tuple[str, str] | None:
        if not self.request.GET.get("template"):
            return None
        return "events-template.csv", template_csv(services.EVENT_CSV_COLUMNS)

    def context(self) -> dict[str, Any]:
        return {"columns": services.EVENT_CSV_COLUMNS}


class EventImportPreview(_EventImports, ImportPreviewView):
    template_name = "metrics/ingestion/import_preview.html"


class EventImportCommit(_EventImports, ImportCommitView):
    # Without PostgreSQL events cannot be stored: the page says so instead of failing.
    refusals = (ImportRejected, services.IngestionUnavailable)

    def commit(self, job: EventImport) -> services.IngestResult:
        return services.event_import_commit(job=job)

    def done(self, job: EventImport, result: services.IngestResult) -> str:
        return _("Imported %(file)s: %(new)d new events, %(dup)d already stored.") % {
            "file": job.filename,
            "new": result.inserted,
            "dup": result.duplicates,
        }


event_import_upload = EventImportUpload.as_view()
event_import_preview = EventImportPreview.as_view()
event_import_commit = EventImportCommit.as_view()
