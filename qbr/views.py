"""Pages of the qbr app: the QBRs due, the QBR list, a QBR from planning to follow-up (prep
pack, narrative editor, preview, PDF and PowerPoint), batches of decks, the cadence of an
account, the deck link of the follow-up email, and the account 360 panel.

Views parse the request, fetch through the permission helpers below, call a service and
render or redirect. Every role reads; a CSM changes the QBRs of the accounts they own, a
CS Lead (or Admin) every QBR (SPEC §0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Account, Activity
from accounts.views import (
    AuthedHttpRequest,
    _add_service_errors,
    _require,
    _save_or_render,
    account_for_edit,
)
from csplatform.choices import Role
from csplatform.exports import csv_response
from csplatform.roles import can_edit_owned
from onboarding.views import _service_call
from qbr import selectors
from qbr.choices import BatchStatus, Cadence, CadenceReason, ExportFormat, QbrStatus, Section
from qbr.documents import qbr_document
from qbr.documents.pdf import render_html
from qbr.filtersets import DueFilterSet, QbrFilterSet
from qbr.forms import (
    BatchForm,
    CadenceForm,
    FollowUpForm,
    HoldForm,
    InviteForm,
    NarrativeForm,
    QbrForm,
    SectionForm,
    StepFormSet,
)
from qbr.models import BatchJob, CadenceOverride, Qbr
from qbr.services import batch as batch_services
from qbr.services import export, qbrs

PAGE_SIZE = 50
FORM = "qbr/form.html"


def qbr_reader(view: Callable[..., Any]) -> Callable[..., Any]:
    """Logged in with a role that reads QBRs (every role does). Anonymous users go to the login page, others without it get a 403."""
    return login_required(permission_required("qbr.view_qbr", raise_exception=True)(view))


def qbr_for_change(request: AuthedHttpRequest, pk: int) -> Qbr:
    """The QBR, if the user may change it: 404 if missing, 403 if not theirs."""
    qbr = get_object_or_404(Qbr.objects.select_related("account", "account__owner", "owner"), pk=pk)
    _require(selectors.qbr_can_change(user=request.user, qbr=qbr))
    return qbr


def _detail(pk: int) -> Qbr:
    try:
        return selectors.qbr_detail(pk=pk)
    except Qbr.DoesNotExist:
        raise Http404 from None


def _posted(request: AuthedHttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


def _context(qbr: Qbr, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "subtitle": f"{qbr.account.name} · {qbr.get_kind_display()} · {qbr.period_start:%Y-%m-%d} – {qbr.period_end:%Y-%m-%d}",
        "cancel_url": qbr.get_absolute_url(),
        "crumbs": [
            (qbr.account.name, qbr.account.get_absolute_url()),
            (str(qbr), qbr.get_absolute_url()),
        ],
    }


# QBRs due ------------------------------------------------------------------------------------

DUE_CSV_HEADER = [
    gettext_lazy("account id"),
    gettext_lazy("account"),
    gettext_lazy("owner"),
    gettext_lazy("cadence"),
    gettext_lazy("why"),
    gettext_lazy("last QBR"),
    gettext_lazy("due on"),
    gettext_lazy("days overdue"),
    gettext_lazy("next QBR planned for"),
]


def _due_rows(accounts: Any) -> Iterator[list[Any]]:
    today = timezone.localdate()
    for a in accounts.iterator(chunk_size=2000):
        yield [
            a.pk,
            a.name,
            str(a.owner) if a.owner else "",
            Cadence(a.cadence).label,
            CadenceReason(a.cadence_reason).label,
            a.last_held_on.isoformat() if a.last_held_on else "",
            a.due_on.isoformat() if a.due_on else "",
            max((today - a.due_on).days, 0) if a.due_on else "",
            a.next_qbr_at,
        ]


@qbr_reader
@require_GET
def due_list(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    params = request.GET.copy()
    try:
        window = min(max(int(params.get("window", "")), 0), 366)
    except ValueError:
        window = None
    filterset = DueFilterSet(params, queryset=selectors.qbrs_due(window_days=window))
    accounts = filterset.qs if filterset.is_valid() else filterset.queryset
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"qbrs-due-{timezone.localdate().isoformat()}.csv",
            header=DUE_CSV_HEADER,
            rows=_due_rows(accounts),
        )
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "qbr/due_list.html",
        {
            "filter": filterset,
            "page": page,
            "today": timezone.localdate(),
            "main_filters": ["q", "owner", "overdue", "scheduled", "cadence"],
            "csv": True,
            "can_batch": request.user.has_perm("qbr.add_batchjob"),
        },
    )


# The QBR list -----------------------------------------------------------------------------

LIST_CSV_HEADER = [
    gettext_lazy("id"),
    gettext_lazy("account"),
    gettext_lazy("owner"),
    gettext_lazy("type"),
    gettext_lazy("status"),
    gettext_lazy("period from"),
    gettext_lazy("period to"),
    gettext_lazy("scheduled for"),
    gettext_lazy("held on"),
    gettext_lazy("next steps"),
]


def _list_rows(qbrs_qs: Any) -> Iterator[list[Any]]:
    for q in qbrs_qs.iterator(chunk_size=2000):
        yield [
            q.pk,
            q.account.name,
            str(q.account.owner) if q.account.owner else "",
            q.get_kind_display(),
            q.get_status_display(),
            q.period_start.isoformat(),
            q.period_end.isoformat(),
            q.scheduled_at,
            q.held_on.isoformat() if q.held_on else "",
            q.steps,
        ]


@qbr_reader
@require_GET
def qbr_list(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    filterset = QbrFilterSet(request.GET, queryset=selectors.qbr_list())
    qs = filterset.qs if filterset.is_valid() else filterset.queryset
    qs = qs.order_by(*(qs.query.order_by or ("-period_end",)), "-pk")
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"qbrs-{timezone.localdate().isoformat()}.csv",
            header=LIST_CSV_HEADER,
            rows=_list_rows(qs),
        )
    return render(
        request,
        "qbr/qbr_list.html",
        {
            "filter": filterset,
            "page": Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page")),
            "main_filters": ["q", "owner", "status", "kind"],
            "csv": True,
            "counts": selectors.qbr_status_counts(),
        },
    )


# Planning ---------------------------------------------------------------------------------


@qbr_reader
@require_http_methods(["GET", "POST"])
def qbr_create(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    start, end = selectors.default_period()
    form = QbrForm(
        _posted(request),
        instance=Qbr(account=account),
        account=account,
        initial={"period_start": start, "period_end": end, "attendee_users": [request.user.pk]},
    )
    return _save_or_render(
        request,
        form,
        lambda: qbrs.qbr_create(
            account=account,
            actor=request.user,
            optional_sections=form.cleaned_data.get("optional_sections") or [],
            **form.service_fields(),  # type: ignore[attr-defined]
        ),
        success_url=lambda q: q.get_absolute_url(),
        success_message=_("QBR planned. Prepare it to fill the prep pack from the platform."),
        context={
            "title": _("Plan a QBR"),
            "subtitle": account.name,
            "cancel_url": account.get_absolute_url(),
            "crumbs": [(account.name, account.get_absolute_url())],
        },
        template=FORM,
    )


@qbr_reader
@require_http_methods(["GET", "POST"])
def qbr_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    qbr = qbr_for_change(request, pk)
    form = QbrForm(_posted(request), instance=Qbr.objects.get(pk=qbr.pk), account=qbr.account)

    def save() -> Qbr:
        fields = form.service_fields()  # type: ignore[attr-defined]
        updated = qbrs.qbr_update(qbr=qbr, actor=request.user, **fields)
        qbrs.qbr_narrative_save(
            qbr=updated,
            actor=request.user,
            narrative={},
            optional_sections=form.cleaned_data.get("optional_sections") or [],
        )
        return updated

    return _save_or_render(
        request,
        form,
        save,
        success_url=qbr.get_absolute_url(),
        success_message=_("QBR saved."),
        context=_context(qbr, _("Change the QBR")),
        template=FORM,
    )


# The QBR page ------------------------------------------------------------------------------


@qbr_reader
@require_GET
def qbr_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    qbr = _detail(pk)
    can_change = selectors.qbr_can_change(user=request.user, qbr=qbr)
    prep = export.qbr_prep_ensure(qbr=qbr)
    doc = qbr_document(qbr, prep)
    editable = {s.key: s for s in doc.sections if s.editable}
    return render(
        request,
        "qbr/qbr_detail.html",
        {
            "q": qbr,
            "prep": prep,
            "live": not qbr.prep,
            "doc": doc,
            "sections": [
                (section, editable.get(section.value), qbr.narrative.get(section.value, ""))
                for section in Section
                if section.mandatory or section.value in qbr.optional_sections
            ],
            "can_change": can_change,
            "can_edit_text": can_change and (qbr.is_open or qbr.status == QbrStatus.HELD),
            "narrative_form": NarrativeForm(qbr=qbr) if can_change else None,
            "activity": Activity.objects.filter(account_id=qbr.account_id, metadata__qbr_id=qbr.pk)
            .select_related("author")
            .order_by("-occurred_at", "-pk")[:20],
            "today": timezone.localdate(),
            "status_steps": [(s.value, s.label) for s in QbrStatus if s != QbrStatus.CANCELLED],
        },
    )


@qbr_reader
@require_POST
def qbr_prepare(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    qbr = qbr_for_change(request, pk)
    _service_call(
        request,
        lambda: qbrs.qbr_prepare(qbr=qbr, actor=request.user),
        _("Prep pack filled from the platform; the empty sections have a first draft."),
    )
    return HttpResponseRedirect(qbr.get_absolute_url())


@qbr_reader
@require_POST
def qbr_narrative(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Save every section at once (the editor's main button)."""
    qbr = qbr_for_change(request, pk)
    form = NarrativeForm(request.POST, qbr=qbr)
    if form.is_valid():
        try:
            qbrs.qbr_narrative_save(
                qbr=qbr,
                actor=request.user,
                narrative=form.narrative(),
                optional_sections=form.cleaned_data["optional_sections"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            messages.success(request, _("Document saved."))
            return HttpResponseRedirect(qbr.get_absolute_url() + "#editor")
    return render(
        request,
        "qbr/form.html",
        {"form": form, **_context(qbr, _("Edit the document")), "narrative_errors": True},
        status=400,
    )


@qbr_reader
@require_POST
def qbr_section_save(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """One section saved in place (htmx); answers with the section's status line."""
    qbr = qbr_for_change(request, pk)
    form = SectionForm(request.POST)
    status = 200
    if not form.is_valid():
        error, status = " ".join(e for errs in form.errors.values() for e in errs), 400
    else:
        try:
            qbrs.qbr_narrative_save(
                qbr=qbr,
                actor=request.user,
                narrative={form.cleaned_data["section"]: form.cleaned_data["text"]},
            )
            error = ""
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
    return render(
        request,
        "qbr/partials/section_status.html",
        {"error": error, "saved_at": timezone.now()},
        status=status,
    )


@qbr_reader
@require_GET
@xframe_options_sameorigin  # the QBR page shows it in a frame
def qbr_preview(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    qbr = _detail(pk)
    doc = qbr_document(qbr, export.qbr_prep_ensure(qbr=qbr))
    return HttpResponse(render_html(doc, show_placeholders=True))


@qbr_reader
@require_GET
def qbr_export(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    fmt = request.GET.get("format", ExportFormat.PDF)
    if fmt not in (ExportFormat.PDF, ExportFormat.PPTX):
        return HttpResponse(
            _("Choose the format: pdf or pptx."), status=400, content_type="text/plain"
        )
    qbr = _detail(pk)
    keep = selectors.qbr_can_change(user=request.user, qbr=qbr)
    name, data = export.qbr_export(qbr=qbr, fmt=fmt, keep=keep)
    response = HttpResponse(data, content_type=export.CONTENT_TYPES[ExportFormat(fmt)])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# Meeting and follow-up ---------------------------------------------------------------------


@qbr_reader
@require_http_methods(["GET", "POST"])
def qbr_hold(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    qbr = qbr_for_change(request, pk)
    if not qbr.is_open:
        return HttpResponseRedirect(qbr.get_absolute_url())
    form = HoldForm(_posted(request), qbr=qbr)
    return _save_or_render(
        request,
        form,
        lambda: qbrs.qbr_hold(
            qbr=qbr,
            actor=request.user,
            held_on=form.cleaned_data["held_on"],
            notes=form.cleaned_data["notes"],
            contact_ids=[c.pk for c in form.cleaned_data["contacts"]],
        ),
        success_url=reverse("qbr:follow_up", args=[qbr.pk]),
        success_message=_(
            "QBR recorded as held; it is on the timeline and the cadence counts from it."
        ),
        context=_context(qbr, _("Record the meeting")),
        template=FORM,
    )


@qbr_reader
@require_http_methods(["GET", "POST"])
def qbr_follow_up(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    qbr = qbr_for_change(request, pk)
    if not qbr.was_held:
        messages.info(request, _("Record the meeting as held first."))
        return HttpResponseRedirect(qbr.get_absolute_url())
    existing = [
        {"text": s.text, "side": s.side, "due_date": s.due_date, "assignee": s.assignee_id}
        for s in qbr.next_steps.all()
    ]
    initial = existing + [{"due_date": timezone.localdate() + timezone.timedelta(days=14)}] * max(
        5 - len(existing), 1
    )
    formset = StepFormSet(
        _posted(request), prefix="steps", initial=None if request.method == "POST" else initial
    )
    form = FollowUpForm(_posted(request), qbr=qbr)
    status = 200
    if request.method == "POST":
        if form.is_valid() and formset.is_valid():
            steps = [
                qbrs.StepInput(
                    text=f.cleaned_data.get("text") or "",
                    side=f.cleaned_data.get("side") or "ours",
                    due_date=f.cleaned_data.get("due_date"),
                    assignee_id=f.cleaned_data["assignee"].pk
                    if f.cleaned_data.get("assignee")
                    else None,
                )
                for f in formset.forms
                if f.cleaned_data.get("text")
            ]
            try:
                qbrs.qbr_follow_up(
                    qbr=qbr,
                    actor=request.user,
                    steps=steps,
                    send_email=form.cleaned_data["send_email"],
                    include_notes=form.cleaned_data["include_notes"],
                    deck=form.cleaned_data["deck"],
                    contact_ids=[c.pk for c in form.cleaned_data["contacts"]],
                )
            except ValidationError as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Follow-up done: %(n)s next steps are tasks now.") % {"n": len(steps)}
                    + (
                        " " + _("The email is on its way.")
                        if form.cleaned_data["send_email"]
                        else ""
                    ),
                )
                return HttpResponseRedirect(qbr.get_absolute_url())
        status = 400
    return render(
        request,
        "qbr/follow_up.html",
        {"form": form, "formset": formset, "q": qbr, **_context(qbr, _("Follow up"))},
        status=status,
    )


@qbr_reader
@require_http_methods(["GET", "POST"])
def qbr_invite(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    qbr = qbr_for_change(request, pk)
    form = InviteForm(_posted(request), qbr=qbr)
    return _save_or_render(
        request,
        form,
        lambda: qbrs.qbr_invite(
            qbr=qbr,
            actor=request.user,
            contact_ids=[c.pk for c in form.cleaned_data["contacts"]],
            kind=form.cleaned_data["kind"],
            message=form.cleaned_data["message"],
        ),
        success_url=qbr.get_absolute_url(),
        success_message=_("Invitation sent."),
        context=_context(qbr, _("Invite the customer")),
        template=FORM,
    )


@qbr_reader
@require_POST
def qbr_cancel(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    qbr = qbr_for_change(request, pk)
    _service_call(
        request,
        lambda: qbrs.qbr_cancel(
            qbr=qbr, actor=request.user, reason=request.POST.get("reason", "")[:1000]
        ),
        _("QBR cancelled."),
    )
    return HttpResponseRedirect(qbr.get_absolute_url())


# Cadence of an account ----------------------------------------------------------------------


@qbr_reader
@require_http_methods(["GET", "POST"])
def cadence_edit(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    current = CadenceOverride.objects.filter(account=account).first()
    form = CadenceForm(
        _posted(request),
        initial={"cadence": current.cadence, "until": current.until, "reason": current.reason}
        if current
        else {},
    )
    return _save_or_render(
        request,
        form,
        lambda: qbrs.cadence_override_set(
            account=account,
            actor=request.user,
            cadence=form.cleaned_data["cadence"] or None,
            until=form.cleaned_data["until"],
            reason=form.cleaned_data["reason"],
        ),
        success_url=account.get_absolute_url() + "#qbrs",
        success_message=_("QBR cadence saved."),
        context={
            "title": _("QBR cadence"),
            "subtitle": account.name,
            "cancel_url": account.get_absolute_url(),
            "crumbs": [(account.name, account.get_absolute_url())],
            "cadence_help": True,
        },
        template=FORM,
    )


# Batches ---------------------------------------------------------------------------------


def _batch_accounts(request: AuthedHttpRequest, data: dict[str, Any]) -> list[int]:
    scope = data["scope"]
    if scope == "mine":
        return list(Account.objects.filter(owner=request.user).values_list("pk", flat=True))
    if scope == "tier":
        return list(
            Account.objects.filter(tier=data["tier"])
            .exclude(status="churned")
            .values_list("pk", flat=True)
        )
    return list(selectors.qbrs_due().values_list("pk", flat=True))


@qbr_reader
@require_http_methods(["GET", "POST"])
def batch_create(request: AuthedHttpRequest) -> HttpResponse:
    _require(request.user.has_perm("qbr.add_batchjob"))
    form = BatchForm(_posted(request))
    return _save_or_render(
        request,
        form,
        lambda: batch_services.batch_create(
            actor=request.user,
            account_ids=_batch_accounts(request, form.cleaned_data),
            fmt=form.cleaned_data["format"],
            kind=form.cleaned_data["kind"],
        ),
        success_url=lambda b: b.get_absolute_url(),
        success_message=_("The decks are being generated."),
        context={
            "title": _("Generate decks for many accounts"),
            "subtitle": _(
                "Each account's deck from live data (its open QBR's text where it has one), zipped."
            ),
            "cancel_url": reverse("qbr:due"),
            "crumbs": [],
            "recent_batches": BatchJob.objects.filter(created_by=request.user)[:5],
        },
        template="qbr/batch_form.html",
    )


def _batch_for(request: AuthedHttpRequest, pk: int) -> BatchJob:
    batch = get_object_or_404(BatchJob, pk=pk)
    _require(
        batch.created_by_id == request.user.pk or request.user.role in (Role.CS_LEAD, Role.ADMIN)
    )
    return batch


@qbr_reader
@require_GET
def batch_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    errors = sorted(batch.errors.items(), key=lambda kv: kv[1])
    context = {
        "batch": batch,
        "errors": errors,
        "queued_long": batch.status == BatchStatus.QUEUED
        and (timezone.now() - batch.created_at).total_seconds() > 60,
    }
    if request.htmx:
        return render(request, "qbr/partials/batch_progress.html", context)
    return render(request, "qbr/batch_detail.html", context)


@qbr_reader
@require_GET
def batch_download(request: AuthedHttpRequest, pk: int) -> FileResponse:
    batch = _batch_for(request, pk)
    if batch.status != BatchStatus.DONE or not batch.zip_file:
        raise Http404
    return FileResponse(
        batch.zip_file.open("rb"),
        as_attachment=True,
        filename=batch.zip_file.name.rsplit("/", 1)[-1],
    )


@qbr_reader
@require_POST
def batch_retry(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    _service_call(
        request, lambda: batch_services.batch_retry(batch=batch), _("The batch is queued again.")
    )
    return HttpResponseRedirect(batch.get_absolute_url())


# The deck link of the follow-up email (no login: the customer opens it) --------------------


@require_GET
def deck_link(request: Any, token: str) -> HttpResponse:
    loaded = qbrs.deck_link_load(token)
    if loaded is None:
        return HttpResponse(
            _("This link is not valid or has expired. Ask your contact for a new one."),
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    pk, fmt = loaded
    qbr = (
        Qbr.objects.filter(pk=pk)
        .exclude(status=QbrStatus.CANCELLED)
        .select_related("account")
        .first()
    )
    if qbr is None:
        raise Http404
    field = qbr.pdf if fmt == ExportFormat.PDF else qbr.pptx
    if field:
        data = field.read()
        name = field.name.rsplit("/", 1)[-1]
    else:
        name, data = export.qbr_export(qbr=selectors.qbr_detail(pk=qbr.pk), fmt=fmt)
    response = HttpResponse(data, content_type=export.CONTENT_TYPES[ExportFormat(fmt)])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Robots-Tag"] = "noindex"
    return response


# The account 360 panel ---------------------------------------------------------------------


def account_qbr_panel(account: Account, user: Any) -> dict[str, Any]:
    """Context of the QBR panel on the account 360 page (three queries)."""
    return {
        "qbrs": selectors.account_qbrs(account=account),
        "cadence": selectors.account_cadence(account=account),
        "qbr_can_change": can_edit_owned(user, account.owner_id),
        "today": timezone.localdate(),
    }
