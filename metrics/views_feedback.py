"""Pages for tickets and surveys.

Public (no login): the score landing page, the comment page and the thank-you page that a
survey email leads to. The link's token is the only credential, so these pages are exempt
from CSRF: a forged POST would need the token, which only the email holds. See
metrics.services.feedback for why a score link never records anything on GET.

Logged in: "send survey" (the account's owner or a CS Lead), survey schedules (CS Leads),
and CSV import of tickets and survey responses (upload → preview → commit).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.csv_import import ImportSummary
from accounts.models import Account
from accounts.views_import import ImportCommitView, ImportPreviewView, ImportUploadView, ImportView
from csplatform.models import User
from csplatform.roles import can_edit_owned
from metrics import importers_feedback as importers
from metrics.choices import SurveyKind
from metrics.filtersets_feedback import SurveyResponseFilterSet, TicketFilterSet
from metrics.forms_feedback import (
    FeedbackUploadForm,
    SurveyCommentForm,
    SurveyScheduleForm,
    SurveySendForm,
)
from metrics.models.feedback import (
    FeedbackImport,
    SurveyResponse,
    SurveySchedule,
    SurveySend,
    Ticket,
)
from metrics.services import feedback as services

PUBLIC = "metrics/feedback/public/"


class AuthedHttpRequest(HttpRequest):
    user: User


# Public survey pages ---------------------------------------------------------------------


def _link_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    expired = isinstance(exc, services.SurveyLinkExpired)
    return render(
        request,
        PUBLIC + "link_error.html",
        {"expired": expired},
        status=410 if expired else 404,
    )


def _question(kind: str) -> str:
    if kind == SurveyKind.CSAT:
        return _("How satisfied are you with our service?")
    return _("How likely are you to recommend us to a friend or colleague?")


def _scale(kind: str) -> list[int]:
    low, high = SurveyKind(kind).score_range
    return list(range(low, high + 1))


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def survey_answer(request: HttpRequest, token: str, score: int) -> HttpResponse:
    try:
        send = services.survey_send_for_token(token=token)
    except (services.SurveyLinkInvalid, services.SurveyLinkExpired) as exc:
        return _link_error(request, exc)
    comment_url = reverse("metrics:survey_comment", kwargs={"token": token})
    if send.answered_at is not None:
        return HttpResponseRedirect(comment_url)
    if score not in _scale(send.kind):
        return _link_error(request, services.SurveyLinkInvalid(token))
    if request.method == "GET":
        # Never record on GET: mail scanners prefetch links. The page posts the score itself.
        return render(
            request,
            PUBLIC + "answer.html",
            {"send": send, "score": score, "question": _question(send.kind)},
        )
    try:
        services.survey_answer(token=token, score=score)
    except (services.SurveyLinkInvalid, services.SurveyLinkExpired) as exc:
        return _link_error(request, exc)
    return HttpResponseRedirect(comment_url + "?new=1")


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def survey_comment(request: HttpRequest, token: str) -> HttpResponse:
    try:
        send = services.survey_send_for_token(token=token)
    except (services.SurveyLinkInvalid, services.SurveyLinkExpired) as exc:
        return _link_error(request, exc)
    response = getattr(send, "response", None) if send.answered_at else None
    context: dict[str, Any] = {
        "send": send,
        "token": token,
        "question": _question(send.kind),
        "scale": _scale(send.kind),
    }
    if response is None:
        # Not answered yet (or the answer was removed): offer the scale again.
        return render(request, PUBLIC + "comment.html", {**context, "response": None})
    form = SurveyCommentForm(request.POST or None, initial={"comment": response.comment})
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_comment_save(token=token, comment=form.cleaned_data["comment"])
        except (services.SurveyLinkInvalid, services.SurveyLinkExpired) as exc:
            return _link_error(request, exc)
        return redirect("metrics:survey_thanks")
    return render(
        request,
        PUBLIC + "comment.html",
        {
            **context,
            "response": response,
            "form": form,
            "just_answered": request.GET.get("new") == "1",
        },
        status=400 if form.errors else 200,
    )


def survey_thanks(request: HttpRequest) -> HttpResponse:
    return render(request, PUBLIC + "thanks.html")


# Sending a survey by hand ----------------------------------------------------------------


@login_required
def survey_send(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = get_object_or_404(Account.objects.select_related("owner"), pk=account_pk)
    if not can_edit_owned(request.user, account.owner_id):
        raise PermissionDenied
    contacts = account.contacts.exclude(email="").order_by("last_name", "first_name", "pk")
    form = SurveySendForm(
        request.POST or None,
        contacts=contacts,
        initial={"contact": request.GET.get("contact"), "kind": SurveyKind.NPS},
    )
    form.fields["contact"].empty_label = _("Choose a contact")  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        contact = form.cleaned_data["contact"]
        try:
            services.survey_send(
                contact=contact, kind=form.cleaned_data["kind"], actor=request.user
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                _("Survey sent to %(name)s <%(email)s>.")
                % {"name": contact, "email": contact.email},
            )
            return redirect(account.get_absolute_url())
    recent = (
        SurveySend.objects.filter(account=account)
        .select_related("contact", "response")
        .order_by("-sent_at")[:20]
    )
    return render(
        request,
        "metrics/feedback/survey_send.html",
        {"account": account, "form": form, "recent": recent},
        status=400 if form.errors else 200,
    )


# Schedules (CS Leads) --------------------------------------------------------------------


def _require_lead(request: AuthedHttpRequest) -> None:
    if not request.user.is_cs_lead_or_admin:
        raise PermissionDenied


@login_required
def schedule_list(request: AuthedHttpRequest) -> HttpResponse:
    schedules = SurveySchedule.objects.annotate(
        send_count=Count("sends"),
        answered_count=Count("sends", filter=Q(sends__answered_at__isnull=False)),
    ).order_by("name", "pk")
    return render(
        request,
        "metrics/feedback/schedule_list.html",
        {"schedules": schedules, "can_edit": request.user.is_cs_lead_or_admin},
    )


@login_required
def schedule_edit(request: AuthedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require_lead(request)
    schedule = get_object_or_404(SurveySchedule, pk=pk) if pk else SurveySchedule()
    form = SurveyScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        try:
            services.survey_schedule_save(schedule=form.save(commit=False))
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Schedule saved."))
            return redirect("metrics:survey_schedules")
    return render(
        request,
        "metrics/feedback/schedule_form.html",
        {"form": form, "schedule": schedule},
        status=400 if form.errors else 200,
    )


# CSV import ------------------------------------------------------------------------------


class _FeedbackImports(ImportView):
    model = FeedbackImport
    preview_url = "metrics:feedback_import_preview"

    def has_permission(self) -> bool:
        user = self.request.user
        return user.has_perm("metrics.add_ticket") or user.has_perm("metrics.add_surveyresponse")


class ImportUpload(_FeedbackImports, ImportUploadView):
    template_name = "metrics/feedback/import_upload.html"
    form_class = FeedbackUploadForm
    kinds = FeedbackImport.Kind
    columns = importers.COLUMNS

    def create(self, **kwargs: Any) -> FeedbackImport:
        return importers.feedback_import_create(**kwargs)


class ImportPreview(_FeedbackImports, ImportPreviewView):
    template_name = "metrics/feedback/import_preview.html"


class ImportCommit(_FeedbackImports, ImportCommitView):
    def commit(self, job: FeedbackImport) -> ImportSummary:
        return importers.feedback_import_commit(job=job, actor=self.request.user)  # type: ignore[arg-type]


import_upload = ImportUpload.as_view()
import_preview = ImportPreview.as_view()
import_commit = ImportCommit.as_view()


# Account 360 panel and ticket list -------------------------------------------------------


def account_feedback_panel(account: Account, user: Any) -> dict[str, Any]:
    """Context of the feedback actions on the account 360 page; runs no query."""
    return {"can_send_survey": can_edit_owned(user, account.owner_id)}


TICKET_PAGE_SIZE = 50


@login_required
def ticket_list(
    request: AuthedHttpRequest, account_pk: int
) -> HttpResponse | StreamingHttpResponse:
    account = get_object_or_404(Account, pk=account_pk)
    filterset = TicketFilterSet(
        request.GET or None,
        queryset=Ticket.objects.filter(account=account).order_by("-opened_at", "-pk"),
    )
    # A bad filter value shows the form with its error and every ticket, never a 500.
    tickets = filterset.qs if filterset.is_valid() else filterset.queryset
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(
            importers.tickets_csv_rows(tickets=tickets.select_related("account")),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="tickets-{account.pk}.csv"'
        return response
    page = Paginator(tickets, TICKET_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "metrics/feedback/ticket_list.html",
        {"account": account, "filterset": filterset, "page": page},
    )


RESPONSE_PAGE_SIZE = 50


@login_required
def response_list(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Survey answers across the portfolio (or one account), newest first, with comments."""
    filterset = SurveyResponseFilterSet(
        request.GET or None,
        queryset=SurveyResponse.objects.select_related("account", "contact").order_by(
            "-responded_at", "-pk"
        ),
    )
    # A bad filter value shows the form with its error and every answer, never a 500.
    responses = filterset.qs if filterset.is_valid() else filterset.queryset
    if request.GET.get("format") == "csv":
        response = StreamingHttpResponse(
            importers.survey_responses_csv_rows(responses=responses),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = 'attachment; filename="survey-responses.csv"'
        return response
    account = filterset.form.cleaned_data.get("account") if filterset.is_bound else None
    page = Paginator(responses, RESPONSE_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "metrics/feedback/response_list.html",
        {"filterset": filterset, "page": page, "account": account},
    )
