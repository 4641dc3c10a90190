"""Pages of the onboarding app: plans, the plan page, templates and the reports.

Views parse the request, fetch through the permission helpers below, call a service and
render or redirect. Everyone logged in may read; a CSM changes the plans of the accounts
they own, a CS Lead (or Admin) every plan and the templates (SPEC §0). The public page of
a shared plan is in views_public.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Account, Activity
from accounts.views import (
    AuthedHttpRequest,
    _add_service_errors,
    _require,
    _save_or_render,
    account_for_edit,
)
from csplatform.exports import csv_response
from csplatform.roles import can_edit_owned
from metrics.definitions import METRICS
from metrics.selectors import segment_label
from onboarding import selectors
from onboarding.choices import PlanStatus
from onboarding.filtersets import PlanFilterSet
from onboarding.forms import (
    PlanCancelForm,
    PlanStartForm,
    PlanTaskForm,
    ReportFilterForm,
    ShareLinkForm,
    TemplateCriterionForm,
    TemplateDuplicateForm,
    TemplateForm,
    TemplateMilestoneForm,
    TemplateTaskForm,
)
from onboarding.models import (
    OnboardingPlan,
    OnboardingTemplate,
    PlanMilestone,
    PlanShareLink,
    PlanTask,
    TemplateCriterion,
    TemplateMilestone,
    TemplateTask,
)
from onboarding.services import plans as plan_services
from onboarding.services import sharing
from onboarding.services import templates as template_services

PAGE_SIZE = 50
FORM = "onboarding/form.html"

# Permission helpers ----------------------------------------------------------------------


def plan_for_change(request: AuthedHttpRequest, pk: int) -> OnboardingPlan:
    """The plan, if the user may change it: 404 if missing, 403 if not theirs."""
    plan = get_object_or_404(OnboardingPlan.objects.select_related("account"), pk=pk)
    _require(selectors.plan_can_change(user=request.user, plan=plan))
    return plan


def _require_template_editor(request: AuthedHttpRequest) -> None:
    _require(request.user.has_perm("onboarding.change_onboardingtemplate"))


def _plan_url(plan_id: int, anchor: str = "") -> str:
    url = reverse("onboarding:plan_detail", args=[plan_id])
    return f"{url}#{anchor}" if anchor else url


def _service_call(request: AuthedHttpRequest, call: Callable[[], Any], done: str) -> bool:
    """Run a service for a button; its ValidationError becomes an error message."""
    try:
        call()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    messages.success(request, done)
    return True


# Plan list and CSV -----------------------------------------------------------------------

CSV_HEADER = [
    gettext_lazy("id"),
    gettext_lazy("account"),
    gettext_lazy("owner"),
    gettext_lazy("template"),
    gettext_lazy("status"),
    gettext_lazy("health"),
    gettext_lazy("started on"),
    gettext_lazy("target completion"),
    gettext_lazy("progress %"),
    gettext_lazy("tasks done"),
    gettext_lazy("tasks"),
    gettext_lazy("overdue tasks"),
    gettext_lazy("current step"),
    gettext_lazy("in step since"),
    gettext_lazy("activated on"),
    gettext_lazy("value reached on"),
    gettext_lazy("time to value (days)"),
    gettext_lazy("completed on"),
    gettext_lazy("first QBR due"),
]


def _plan_csv_rows(plans: Any) -> Iterator[list[Any]]:
    for p in plans.iterator(chunk_size=2000):
        yield [
            p.pk,
            p.account.name,
            str(p.account.owner) if p.account.owner else "",
            p.template.name if p.template else "",
            p.get_status_display(),
            p.get_health_display() if p.is_active else "",
            p.started_on.isoformat(),
            p.target_on.isoformat(),
            p.progress,
            p.tasks_done,
            p.tasks_total,
            p.overdue,
            p.current_step or "",
            p.step_since.isoformat() if p.step_since else "",
            p.activated_on.isoformat() if p.activated_on else "",
            p.value_on.isoformat() if p.value_on else "",
            p.time_to_value_days,
            p.completed_on.isoformat() if p.completed_on else "",
            p.first_qbr_due_on.isoformat() if p.first_qbr_due_on else "",
        ]


@login_required
def plan_list(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    params = request.GET.copy()
    # Default view: plans in progress, the ones that need help first.
    params.setdefault("status", PlanStatus.ACTIVE)
    filterset = PlanFilterSet(params, queryset=selectors.plan_list())
    # A bad filter value shows the form with its error and the default list, never a 500.
    plans = filterset.qs if filterset.is_valid() else filterset.queryset
    plans = plans.order_by(*(plans.query.order_by or ("health_rank", "target_on")), "pk")
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"onboarding-plans-{timezone.localdate().isoformat()}.csv",
            header=CSV_HEADER,
            rows=_plan_csv_rows(plans),
        )
    page = Paginator(plans, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "onboarding/plan_list.html",
        {"filter": filterset, "page": page, "today": timezone.localdate()},
    )


# The plan page ---------------------------------------------------------------------------


@login_required
def plan_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        plan = selectors.plan_detail(pk=pk)
    except OnboardingPlan.DoesNotExist:
        raise Http404 from None
    can_change = selectors.plan_can_change(user=request.user, plan=plan)
    activity = (
        Activity.objects.filter(account_id=plan.account_id, metadata__plan_id=plan.pk)
        .select_related("author")
        .order_by("-occurred_at", "-pk")[:20]
    )
    return render(
        request,
        "onboarding/plan_detail.html",
        {
            "plan": plan,
            "progress": selectors.plan_progress(plan),
            "can_change": can_change and plan.is_active,
            "can_share": can_change,
            "activity": activity,
            "today": timezone.localdate(),
            "now": timezone.now(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_start(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    form = PlanStartForm(request.POST or None, account=account)
    return _save_or_render(
        request,
        form,
        lambda: plan_services.plan_start(
            account=account,
            template=form.cleaned_data["template"],
            started_on=form.cleaned_data["started_on"],
            actor=request.user,
        ),
        success_url=lambda plan: plan.get_absolute_url(),
        success_message=_("Onboarding started."),
        context=_account_form_context(account, _("Start onboarding")),
        template=FORM,
    )


def _account_form_context(account: Account, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "account": account,
        "cancel_url": account.get_absolute_url(),
        "crumbs": [(account.name, account.get_absolute_url())],
    }


def _plan_form_context(plan: OnboardingPlan, title: str) -> dict[str, Any]:
    return {
        "title": title,
        "subtitle": f"{plan.account.name} · {plan.name}",
        "cancel_url": plan.get_absolute_url(),
        "crumbs": [
            (plan.account.name, plan.account.get_absolute_url()),
            (plan.name, plan.get_absolute_url()),
        ],
    }


@login_required
@require_POST
def plan_task_toggle(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Tick or untick a task; htmx swaps the plan in place from the page this redirects to."""
    task = get_object_or_404(PlanTask.objects.select_related("plan__account"), pk=pk)
    _require(selectors.plan_can_change(user=request.user, plan=task.plan))
    done = request.POST.get("done") == "1"
    _service_call(
        request,
        lambda: plan_services.plan_task_set_done(plan_task=task, done=done, actor=request.user),
        _("Task done.") if done else _("Task reopened."),
    )
    return HttpResponseRedirect(_plan_url(task.plan_id, f"task-{task.pk}"))


@login_required
@require_http_methods(["GET", "POST"])
def plan_task_create(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    plan = plan_for_change(request, pk)
    form = PlanTaskForm(request.POST or None, instance=PlanTask(plan=plan), plan=plan)
    if not request.POST:
        form.initial.setdefault("due_on", timezone.localdate())
    return _save_or_render(
        request,
        form,
        lambda: plan_services.plan_task_save(plan_task=form.instance, actor=request.user),
        success_url=lambda t: _plan_url(plan.pk, f"task-{t.pk}"),
        success_message=_("Task added."),
        context=_plan_form_context(plan, _("Add a task to the plan")),
        template=FORM,
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_task_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(PlanTask.objects.select_related("plan__account", "task"), pk=pk)
    plan = task.plan
    _require(selectors.plan_can_change(user=request.user, plan=plan))
    form = PlanTaskForm(request.POST or None, instance=task, plan=plan)
    return _save_or_render(
        request,
        form,
        lambda: plan_services.plan_task_save(plan_task=form.instance, actor=request.user),
        success_url=lambda t: _plan_url(plan.pk, f"task-{t.pk}"),
        success_message=_("Task saved."),
        context=_plan_form_context(plan, _("Edit plan task")),
        template=FORM,
    )


@login_required
@require_POST
def milestone_complete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    milestone = get_object_or_404(PlanMilestone.objects.select_related("plan__account"), pk=pk)
    _require(selectors.plan_can_change(user=request.user, plan=milestone.plan))
    _service_call(
        request,
        lambda: plan_services.plan_milestone_complete(milestone=milestone, actor=request.user),
        _("Milestone reached."),
    )
    return HttpResponseRedirect(_plan_url(milestone.plan_id))


@login_required
@require_http_methods(["GET", "POST"])
def plan_complete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    plan = plan_for_change(request, pk)
    if request.method == "POST":
        if not plan.is_active:
            messages.error(request, _("This onboarding plan is no longer in progress."))
        else:
            plan_services.plan_complete(plan=plan, actor=request.user)
            messages.success(request, _("Onboarding completed."))
        return HttpResponseRedirect(plan.get_absolute_url())
    return render(
        request,
        "onboarding/plan_complete.html",
        {
            "plan": plan,
            "open_tasks": plan.tasks.filter(completed_at__isnull=True).count(),
            **_plan_form_context(plan, _("Complete onboarding")),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_cancel(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    plan = plan_for_change(request, pk)
    form = PlanCancelForm(request.POST or None)

    def save() -> OnboardingPlan:
        if not plan.is_active:
            raise ValidationError(_("This onboarding plan is no longer in progress."))
        return plan_services.plan_cancel(
            plan=plan,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )

    return _save_or_render(
        request,
        form,
        save,
        success_url=plan.get_absolute_url(),
        success_message=_("Onboarding plan cancelled."),
        context=_plan_form_context(plan, _("Cancel the onboarding plan")),
        template=FORM,
    )


# Share links -----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def share_link_create(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Create a link; its address is shown on this response only (only a hash is kept)."""
    plan = plan_for_change(request, pk)
    form = ShareLinkForm(request.POST or None, account=plan.account)
    context = _plan_form_context(plan, _("Share the plan with the customer"))
    if request.method == "POST" and form.is_valid():
        try:
            link, token = sharing.share_link_create(
                plan=plan,
                actor=request.user,
                days=form.cleaned_data["days"],
                contact=form.cleaned_data["contact"],
                send_email=form.cleaned_data["send_email"],
            )
        except ValidationError as exc:
            _add_service_errors(form, exc)
        else:
            url = request.build_absolute_uri(
                reverse("onboarding:shared_plan", kwargs={"token": token})
            )
            return render(
                request,
                "onboarding/share_created.html",
                {
                    **context,
                    "plan": plan,
                    "link": link,
                    "url": url,
                    "emailed": form.cleaned_data["send_email"],
                },
            )
    status = 400 if form.errors else 200
    return render(request, FORM, {"form": form, **context}, status=status)


@login_required
@require_POST
def share_link_revoke(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(PlanShareLink.objects.select_related("plan__account"), pk=pk)
    _require(selectors.plan_can_change(user=request.user, plan=link.plan))
    sharing.share_link_revoke(link=link, actor=request.user)
    messages.success(request, _("Link revoked: it no longer opens the plan."))
    return HttpResponseRedirect(_plan_url(link.plan_id, "sharing"))


# Templates -------------------------------------------------------------------------------


@login_required
def template_list(request: AuthedHttpRequest) -> HttpResponse:
    return render(
        request,
        "onboarding/template_list.html",
        {
            "templates": selectors.template_list(),
            "can_edit": request.user.has_perm("onboarding.change_onboardingtemplate"),
        },
    )


@login_required
def template_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        template = selectors.template_detail(pk=pk)
    except OnboardingTemplate.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "onboarding/template_detail.html",
        {
            "template": template,
            "can_edit": request.user.has_perm("onboarding.change_onboardingtemplate"),
        },
    )


def _template_context(template: OnboardingTemplate | None, title: str) -> dict[str, Any]:
    crumbs = [(_("Onboarding templates"), reverse("onboarding:templates"))]
    if template is not None and template.pk:
        crumbs.append((template.name, template.get_absolute_url()))
    return {
        "title": title,
        "crumbs": crumbs,
        "cancel_url": template.get_absolute_url()
        if template is not None and template.pk
        else reverse("onboarding:templates"),
    }


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: AuthedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require_template_editor(request)
    template = get_object_or_404(OnboardingTemplate, pk=pk) if pk else OnboardingTemplate()
    form = TemplateForm(request.POST or None, instance=template)
    return _save_or_render(
        request,
        form,
        lambda: template_services.template_save(template=form.instance, actor=request.user),
        success_url=lambda t: t.get_absolute_url(),
        success_message=_("Template saved."),
        context=_template_context(
            template, _("Edit template") if pk else _("New onboarding template")
        ),
        template=FORM,
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_duplicate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _require_template_editor(request)
    template = get_object_or_404(OnboardingTemplate, pk=pk)
    form = TemplateDuplicateForm(
        request.POST or None, initial={"name": _("%(name)s (copy)") % {"name": template.name}}
    )
    return _save_or_render(
        request,
        form,
        lambda: template_services.template_duplicate(
            template=template, name=form.cleaned_data["name"], actor=request.user
        ),
        success_url=lambda t: t.get_absolute_url(),
        success_message=_("Template copied. The copy is archived until you switch it on."),
        context=_template_context(template, _("Duplicate template")),
        template=FORM,
    )


def _part_page(
    request: AuthedHttpRequest,
    template: OnboardingTemplate,
    form: Any,
    save: Callable[[], Any],
    *,
    title: str,
) -> HttpResponse:
    return _save_or_render(
        request,
        form,
        save,
        success_url=template.get_absolute_url(),
        success_message=_("Template saved."),
        context=_template_context(template, title),
        template=FORM,
    )


def _template_part(request: AuthedHttpRequest, model: type[Model], pk: int) -> Any:
    _require_template_editor(request)
    related = "milestone__template" if model is TemplateTask else "template"
    return get_object_or_404(model.objects.select_related(related), pk=pk)  # type: ignore[attr-defined]


@login_required
@require_http_methods(["GET", "POST"])
def milestone_edit(
    request: AuthedHttpRequest, template_pk: int | None = None, pk: int | None = None
) -> HttpResponse:
    if pk:
        milestone = _template_part(request, TemplateMilestone, pk)
    else:
        _require_template_editor(request)
        milestone = TemplateMilestone(
            template=get_object_or_404(OnboardingTemplate, pk=template_pk)
        )
    form = TemplateMilestoneForm(request.POST or None, instance=milestone)
    return _part_page(
        request,
        milestone.template,
        form,
        lambda: template_services.template_milestone_save(milestone=form.instance),
        title=_("Edit milestone") if pk else _("New milestone"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_edit(
    request: AuthedHttpRequest, template_pk: int | None = None, pk: int | None = None
) -> HttpResponse:
    if pk:
        task = _template_part(request, TemplateTask, pk)
        template = task.milestone.template
    else:
        _require_template_editor(request)
        template = get_object_or_404(OnboardingTemplate, pk=template_pk)
        task = TemplateTask(milestone_id=request.GET.get("milestone") or None)
        if task.milestone_id and not template.milestones.filter(pk=task.milestone_id).exists():
            task.milestone_id = None
    form = TemplateTaskForm(request.POST or None, instance=task, template=template)
    return _part_page(
        request,
        template,
        form,
        lambda: template_services.template_task_save(task=form.instance),
        title=_("Edit task") if pk else _("New task"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def criterion_edit(
    request: AuthedHttpRequest, template_pk: int | None = None, pk: int | None = None
) -> HttpResponse:
    if pk:
        criterion = _template_part(request, TemplateCriterion, pk)
    else:
        _require_template_editor(request)
        criterion = TemplateCriterion(
            template=get_object_or_404(OnboardingTemplate, pk=template_pk),
            role=request.GET.get("role") or "activation",
        )
    form = TemplateCriterionForm(
        request.POST or None, instance=criterion, template=criterion.template
    )
    return _part_page(
        request,
        criterion.template,
        form,
        lambda: template_services.template_criterion_save(criterion=form.instance),
        title=_("Edit criterion") if pk else _("New criterion"),
    )


_PARTS: dict[str, tuple[type[Model], Any]] = {
    "milestone": (TemplateMilestone, gettext_lazy("Milestone")),
    "task": (TemplateTask, gettext_lazy("Task")),
    "criterion": (TemplateCriterion, gettext_lazy("Criterion")),
}


@login_required
@require_http_methods(["GET", "POST"])
def part_delete(request: AuthedHttpRequest, kind: str, pk: int) -> HttpResponse:
    if kind not in _PARTS:
        raise Http404
    model, label = _PARTS[kind]
    part = _template_part(request, model, pk)
    template = part.milestone.template if isinstance(part, TemplateTask) else part.template
    if request.method == "POST":
        template_services.template_part_delete(part=part)
        messages.success(request, _("%(what)s deleted.") % {"what": label})
        return HttpResponseRedirect(template.get_absolute_url())
    return render(
        request,
        "onboarding/confirm_delete.html",
        {"object": part, "what": label, **_template_context(template, _("Delete"))},
    )


# Reports ---------------------------------------------------------------------------------

# The figures at the top of the reports: metric key and the CohortFigures property.
REPORT_FIGURES = (
    ("onboarding_completion_rate", "completion_rate"),
    ("activation_rate", "activation_rate"),
    ("average_onboarding_days", "average_onboarding_days"),
    ("time_to_value_median", "time_to_value_median"),
    ("time_to_value_mean", "time_to_value_mean"),
    ("onboarding_tickets_per_day", "tickets_per_day"),
)


def _report_csv_rows(report: selectors.Report) -> Iterator[list[Any]]:
    for row in report.rows:
        f = row.figures
        yield [
            row.month.strftime("%Y-%m"),
            f.plans,
            f.completed,
            f.completion_rate,
            f.average_onboarding_days,
            f.activated,
            f.activation_rate,
            f.valued,
            f.time_to_value_median,
            f.time_to_value_mean,
            f.active,
            f.cancelled,
            f.tickets,
            f.tickets_per_day,
        ]


REPORT_CSV_HEADER = [
    gettext_lazy("start month"),
    gettext_lazy("plans"),
    gettext_lazy("completed"),
    gettext_lazy("completion rate %"),
    gettext_lazy("average onboarding days"),
    gettext_lazy("activated"),
    gettext_lazy("activation rate %"),
    gettext_lazy("reached value"),
    gettext_lazy("time to value, median days"),
    gettext_lazy("time to value, mean days"),
    gettext_lazy("in progress"),
    gettext_lazy("cancelled"),
    gettext_lazy("tickets from accounts in onboarding"),
    gettext_lazy("tickets per day"),
]


@login_required
def reports(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    data = request.GET.copy()
    data.setdefault("months", "12")
    form = ReportFilterForm(data)
    if not form.is_valid():
        form.invalid_note = _("Some filter values were not understood; the defaults are shown.")  # type: ignore[attr-defined]
    segment = form.value("segment", "")
    months = form.value("months", 12)
    template = form.value("template", None)
    report = selectors.onboarding_report(
        months=months, segment=segment, template_id=template.pk if template else None
    )
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"onboarding-cohorts-{timezone.localdate().isoformat()}.csv",
            header=REPORT_CSV_HEADER,
            rows=_report_csv_rows(report),
        )
    funnel_template = template or selectors.template_list().filter(is_active=True).first()
    since = report.rows[0].month if report.rows else timezone.localdate()
    funnel = (
        selectors.step_funnel(template_id=funnel_template.pk, since=since)
        if funnel_template
        else []
    )
    return render(
        request,
        "onboarding/reports.html",
        {
            "form": form,
            "segment_label": segment_label(segment),
            "report": report,
            "figures": [(METRICS[k], getattr(report.total, name)) for k, name in REPORT_FIGURES],
            "funnel": funnel,
            "funnel_template": funnel_template,
            "chart": _report_chart(report),
        },
    )


def _report_chart(report: selectors.Report) -> dict[str, Any]:
    """Chart.js data of completion and activation by cohort, with the SPEC benchmarks."""
    completion = METRICS["onboarding_completion_rate"]

    def floats(values: list[Any]) -> list[float | None]:
        return [None if v is None else float(v) for v in values]

    return {
        "labels": [r.month.strftime("%Y-%m") for r in report.rows],
        "datasets": [
            {
                "key": "onboarding_completion_rate",
                "label": str(completion.label),
                "data": floats([r.figures.completion_rate for r in report.rows]),
            },
            {
                "key": "activation_rate",
                "label": str(METRICS["activation_rate"].label),
                "data": floats([r.figures.activation_rate for r in report.rows]),
            },
        ],
        "benchmarks": [
            {"label": str(b.label), "value": bound}
            for b in completion.benchmarks
            for bound in (b.low, b.high)
            if bound is not None
        ],
        "unit": "percent",
    }


# The account 360 panel -------------------------------------------------------------------


def account_onboarding_panel(account: Account, user: Any) -> dict[str, Any]:
    """Context of the onboarding panel on the account 360 page (two queries at most)."""
    plan = selectors.account_onboarding(account=account)
    return {
        "onboarding": plan,
        "onboarding_next": selectors.plan_next_tasks(plan=plan) if plan and plan.is_active else [],
        "onboarding_can_start": can_edit_owned(user, account.owner_id)
        and (plan is None or not plan.is_active),
        "today": timezone.localdate(),
    }
