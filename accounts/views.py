"""Pages of the accounts app: my book, the account list and 360, tasks, and the edit forms.

Views parse the request, fetch through the permission helpers below, call a service and
render or redirect. Everyone logged in may read; writes follow SPEC §0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Model, Q
from django.forms import BaseForm
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods
from django_htmx.middleware import HtmxDetails

from accounts import selectors, services
from accounts.choices import TaskStatus
from accounts.filtersets import AccountFilterSet, TaskFilterSet
from accounts.forms import (
    AccountForm,
    ActivityForm,
    ContactForm,
    GoalForm,
    SubscriptionForm,
    TaskCompleteForm,
    TaskForm,
    TaskReassignForm,
    TaskSnoozeForm,
    _active_users,
)
from accounts.models import Account, Contact, Goal, Subscription, Task
from accounts.panels import account_panels
from accounts.task_sources import task_sources_attach
from csplatform.exports import csv_response
from csplatform.models import User
from csplatform.roles import can_edit_owned

M = TypeVar("M", bound=Model)


class AuthedHttpRequest(HttpRequest):
    """What the views see behind login_required and django-htmx's middleware."""

    user: User
    htmx: HtmxDetails


PAGE_SIZE = 50
CSV_CHUNK = 2000

# Permission helpers ----------------------------------------------------------------------


def _require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def account_for_edit(request: AuthedHttpRequest, pk: int) -> Account:
    """The account, if the user may change it and what belongs to it; else 404 or 403."""
    account = get_object_or_404(Account.objects.select_related("owner"), pk=pk)
    _require(can_edit_owned(request.user, account.owner_id))
    return account


def child_for_edit(request: AuthedHttpRequest, model: type[M], pk: int) -> M:
    """A contact, subscription or goal, if the user may change its account's records."""
    obj = get_object_or_404(model.objects.select_related("account"), pk=pk)  # type: ignore[attr-defined]
    _require(can_edit_owned(request.user, obj.account.owner_id))
    return obj


def task_for_change(request: AuthedHttpRequest, pk: int) -> Task:
    task = get_object_or_404(Task.objects.select_related("account", "assignee"), pk=pk)
    _require(selectors.task_can_change(user=request.user, task=task))
    return task


# Shared form handling --------------------------------------------------------------------


def _add_service_errors(form: BaseForm, exc: ValidationError | ValueError) -> None:
    """Model full_clean errors raised by a service become the form's own errors."""
    if isinstance(exc, ValueError):
        form.add_error(None, str(exc))
        return
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _save_or_render(
    request: AuthedHttpRequest,
    form: BaseForm,
    save: Callable[[], Any],
    *,
    success_url: str | Callable[[Any], str],
    success_message: str,
    context: dict[str, Any],
    template: str = "accounts/form.html",
) -> HttpResponse:
    """Run `save` for a valid POST and redirect; otherwise show the form (400 if invalid)."""
    if request.method == "POST":
        if form.is_valid():
            try:
                obj = save()
            except (ValidationError, ValueError) as exc:
                _add_service_errors(form, exc)
            else:
                messages.success(request, success_message)
                url = success_url(obj) if callable(success_url) else success_url
                return HttpResponseRedirect(url)
        return render(request, template, {"form": form, **context}, status=400)
    return render(request, template, {"form": form, **context})


def _next_url(request: AuthedHttpRequest, default: str) -> str:
    url = request.POST.get("next") or request.GET.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()):
        return url
    return default


def _account_url(account_id: int, anchor: str = "") -> str:
    url = reverse("accounts:detail", args=[account_id])
    return f"{url}#{anchor}" if anchor else url


# My book ---------------------------------------------------------------------------------


@login_required
def home(request: AuthedHttpRequest) -> HttpResponse:
    user = request.user
    # The daily view: overdue, today and the coming week; the task list has the rest.
    horizon = timezone.localdate() + timedelta(days=7)
    tasks = list(
        selectors.tasks_for_user(user=user).filter(
            Q(due_date__lte=horizon) | Q(due_date__isnull=True)
        )[:PAGE_SIZE]
    )
    return render(
        request,
        "accounts/home.html",
        {
            # Most urgent renewals first; the account list pages through the rest.
            "accounts": list(selectors.my_book(user=user)[:PAGE_SIZE]),
            "kpis": selectors.my_book_kpis(user=user),
            "tasks": tasks,
            "today": timezone.localdate(),
            "can_add_account": user.has_perm("accounts.add_account"),
        },
    )


# Account list and CSV --------------------------------------------------------------------

CSV_COLUMNS = [
    ("id", gettext_lazy("id")),
    ("name", gettext_lazy("name")),
    ("external_id", gettext_lazy("external id")),
    ("domain", gettext_lazy("domain")),
    ("owner", gettext_lazy("owner")),
    ("tier", gettext_lazy("tier")),
    ("touch_model", gettext_lazy("touch model")),
    ("lifecycle_stage", gettext_lazy("stage")),
    ("status", gettext_lazy("status")),
    ("currency", gettext_lazy("currency")),
    ("mrr", gettext_lazy("MRR")),
    ("arr", gettext_lazy("ARR")),
    ("renewal_date", gettext_lazy("renewal date")),
    ("days_to_renewal", gettext_lazy("days to renewal")),
    ("customer_since", gettext_lazy("customer since")),
    ("open_tasks", gettext_lazy("open tasks")),
    ("tasks_due", gettext_lazy("tasks due")),
]


def _account_csv_rows(accounts: Any) -> Iterator[list[Any]]:
    for a in accounts.iterator(chunk_size=CSV_CHUNK):
        yield [
            a.pk,
            a.name,
            a.external_id,
            a.domain,
            str(a.owner) if a.owner else "",
            a.get_tier_display(),
            a.get_touch_model_display(),
            a.get_lifecycle_stage_display(),
            a.get_status_display(),
            a.currency,
            f"{a.mrr:.2f}",
            f"{a.arr:.2f}",
            a.renewal_date.isoformat() if a.renewal_date else "",
            a.days_to_renewal,
            a.customer_since.isoformat() if a.customer_since else "",
            a.open_tasks,
            a.tasks_due,
        ]


@login_required
def account_list(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    filterset = AccountFilterSet(request.GET or None, queryset=selectors.account_list())
    accounts = filterset.qs
    # Grouped queries drop Meta.ordering; the pk makes every page boundary stable.
    accounts = accounts.order_by(*(accounts.query.order_by or ("name",)), "pk")
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"accounts-{timezone.localdate().isoformat()}.csv",
            header=[label for _key, label in CSV_COLUMNS],
            rows=_account_csv_rows(accounts),
        )
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/account_list.html",
        {
            "filter": filterset,
            "page": page,
            "can_add_account": request.user.has_perm("accounts.add_account"),
        },
    )


# Account 360 -----------------------------------------------------------------------------


@login_required
def account_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        account = selectors.account_detail(pk=pk)
    except Account.DoesNotExist:
        raise Http404 from None
    header = selectors.account_header(account=account, user=request.user)
    return render(
        request,
        "accounts/account_detail.html",
        {
            "account": account,
            "header": header,
            "timeline": selectors.account_timeline(account=account),
            "activity_form": ActivityForm(account=account) if header.can_edit else None,
            "today": timezone.localdate(),
            "panels": account_panels(account, request.user, request=request),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_create(request: AuthedHttpRequest) -> HttpResponse:
    _require(request.user.has_perm("accounts.add_account"))
    form = AccountForm(request.POST or None, user=request.user)

    def save() -> Account:
        return services.account_create(
            actor=request.user, tags=form.cleaned_data["tags"], **form.service_fields()
        )

    return _save_or_render(
        request,
        form,
        save,
        success_url=lambda a: a.get_absolute_url(),
        success_message=_("Account created."),
        context={"title": _("New account"), "cancel_url": reverse("accounts:list")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request, pk)
    # The form works on its own copy so that the service still sees the old owner.
    form = AccountForm(
        request.POST or None, instance=Account.objects.get(pk=account.pk), user=request.user
    )

    def save() -> Account:
        return services.account_update(
            account=account,
            actor=request.user,
            tags=form.cleaned_data["tags"],
            **form.service_fields(),
        )

    return _save_or_render(
        request,
        form,
        save,
        success_url=account.get_absolute_url(),
        success_message=_("Account saved."),
        context={
            "title": _("Edit account"),
            "account": account,
            "cancel_url": account.get_absolute_url(),
        },
    )


# Contacts --------------------------------------------------------------------------------


def _account_record_form(
    request: AuthedHttpRequest,
    form: BaseForm,
    account: Account,
    save: Callable[[], Any],
    *,
    anchor: str,
    title: str,
    saved: str,
) -> HttpResponse:
    """The create/edit page of a record shown on the account 360 page; back to its section."""
    url = _account_url(account.pk, anchor)
    return _save_or_render(
        request,
        form,
        save,
        success_url=url,
        success_message=saved,
        context={"title": title, "account": account, "cancel_url": url},
    )


def _contact_form_page(
    request: AuthedHttpRequest, contact: Contact, account: Account, title: str
) -> HttpResponse:
    form = ContactForm(request.POST or None, instance=contact)
    return _account_record_form(
        request,
        form,
        account,
        lambda: services.contact_save(contact=form.instance),
        anchor="contacts",
        title=title,
        saved=_("Contact saved."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    return _contact_form_page(request, Contact(account=account), account, _("New contact"))


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    contact = child_for_edit(request, Contact, pk)
    return _contact_form_page(request, contact, contact.account, _("Edit contact"))


def _confirm_delete(
    request: AuthedHttpRequest, obj: Any, delete: Callable[[], None], what: str
) -> HttpResponse:
    url = _account_url(obj.account_id)
    if request.method == "POST":
        delete()
        messages.success(request, _("%(what)s deleted.") % {"what": what})
        return HttpResponseRedirect(url)
    return render(
        request,
        "accounts/confirm_delete.html",
        {"object": obj, "what": what, "account": obj.account, "cancel_url": url},
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    contact = child_for_edit(request, Contact, pk)
    return _confirm_delete(
        request, contact, lambda: services.contact_delete(contact=contact), _("Contact")
    )


# Subscriptions ---------------------------------------------------------------------------


def _subscription_form_page(
    request: AuthedHttpRequest, subscription: Subscription, account: Account, title: str
) -> HttpResponse:
    form = SubscriptionForm(request.POST or None, instance=subscription)
    return _account_record_form(
        request,
        form,
        account,
        lambda: services.subscription_save(subscription=form.instance, actor=request.user),
        anchor="subscriptions",
        title=title,
        saved=_("Subscription saved."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_create(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    return _subscription_form_page(
        request, Subscription(account=account), account, _("New subscription")
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    subscription = child_for_edit(request, Subscription, pk)
    return _subscription_form_page(
        request, subscription, subscription.account, _("Edit subscription")
    )


@login_required
@require_http_methods(["GET", "POST"])
def subscription_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    subscription = child_for_edit(request, Subscription, pk)
    return _confirm_delete(
        request,
        subscription,
        lambda: services.subscription_delete(subscription=subscription),
        _("Subscription"),
    )


# Timeline --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def activity_create(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    form = ActivityForm(request.POST or None, account=account)

    def save() -> Any:
        data = form.cleaned_data
        return services.activity_record(
            account_id=account.pk,
            kind=data["kind"],
            subject=data["subject"],
            summary=data["summary"],
            occurred_at=data["occurred_at"],
            author=request.user,
            contact_ids=[c.pk for c in data["contacts"]],
        )

    return _account_record_form(
        request,
        form,
        account,
        save,
        anchor="timeline",
        title=_("Log activity"),
        saved=_("Activity logged."),
    )


# Tasks -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def task_create(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    form = TaskForm(request.POST or None, instance=Task(account=account))

    def save() -> Task:
        return services.task_create(
            account=account,
            title=form.cleaned_data["title"],
            actor=request.user,
            assignee=form.cleaned_data["assignee"],
            source="accounts",
            **form.service_fields(),
        )

    return _save_or_render(
        request,
        form,
        save,
        success_url=_next_url(request, _account_url(account.pk, "tasks")),
        success_message=_("Task added."),
        context={
            "title": _("New task"),
            "account": account,
            "cancel_url": _account_url(account.pk, "tasks"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    task = task_for_change(request, pk)
    form = TaskForm(request.POST or None, instance=task)
    return _save_or_render(
        request,
        form,
        lambda: services.task_update(task=task, **form.cleaned_data),
        success_url=_next_url(request, _account_url(task.account_id, "tasks")),
        success_message=_("Task saved."),
        context={
            "title": _("Edit task"),
            "account": task.account,
            "cancel_url": _account_url(task.account_id, "tasks"),
        },
    )


def _task_row_context(tasks: Any) -> dict[str, Any]:
    """What the cockpit's task rows show beyond the task: its source, whom to reassign to."""
    task_sources_attach(tasks)
    return {"assignees": list(_active_users())}


def _task_action(
    request: AuthedHttpRequest,
    pk: int,
    form_class: type[BaseForm],
    act: Callable[[Task, dict[str, Any]], Task],
    *,
    title: str,
    message: str,
) -> HttpResponse:
    """Complete or snooze: htmx gets the updated row back, a plain POST a redirect."""
    task = task_for_change(request, pk)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            task = act(task, form.cleaned_data)
        except (ValidationError, ValueError) as exc:
            _add_service_errors(form, exc)
        else:
            if request.htmx:
                return render(
                    request,
                    "accounts/partials/task_row.html",
                    {"task": task, "flash": message, **_task_row_context([task])},
                )
            messages.success(request, message)
            return HttpResponseRedirect(_next_url(request, reverse("accounts:tasks")))
    status = 400 if request.method == "POST" else 200
    if request.htmx:
        return render(
            request,
            "accounts/partials/task_row.html",
            {
                "task": task,
                "errors": form.errors,
                "open_form": form_class.__name__,
                **_task_row_context([task]),
            },
            status=status,
        )
    return render(
        request,
        "accounts/form.html",
        {
            "form": form,
            "title": title,
            "subtitle": task.title,
            "account": task.account,
            "cancel_url": _next_url(request, reverse("accounts:tasks")),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_complete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _task_action(
        request,
        pk,
        TaskCompleteForm,
        lambda task, data: services.task_complete(
            task=task, actor=request.user, outcome=data["outcome"], note=data["note"]
        ),
        title=_("Complete task"),
        message=_("Task completed."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_snooze(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _task_action(
        request,
        pk,
        TaskSnoozeForm,
        lambda task, data: services.task_snooze(task=task, until=data["until"]),
        title=_("Snooze task"),
        message=_("Task snoozed."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def task_reassign(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _task_action(
        request,
        pk,
        TaskReassignForm,
        lambda task, data: services.task_reassign(
            task=task, assignee=data["assignee"], actor=request.user
        ),
        title=_("Reassign task"),
        message=_("Task reassigned."),
    )


@login_required
def task_list(request: AuthedHttpRequest) -> HttpResponse:
    params = request.GET.copy()
    # Default view: my open tasks. An explicit empty status ("any") is kept.
    params.setdefault("status", TaskStatus.OPEN)
    # The team's tasks are the CS Lead's view; anyone else sees their own, whatever they ask.
    sees_team = request.user.is_cs_lead_or_admin
    if not sees_team:
        params.pop("scope", None)
        params.pop("assignee", None)
    team = params.get("scope") == "team"
    qs = selectors.task_list(open_only=params.get("status") == TaskStatus.OPEN)
    if not team and not params.get("assignee"):
        qs = qs.filter(assignee=request.user)
    filterset = TaskFilterSet(params, queryset=qs)
    if not sees_team:
        del filterset.filters["assignee"]
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    return render(
        request,
        "accounts/task_list.html",
        {
            "filter": filterset,
            "page": page,
            "team": team,
            "sees_team": sees_team,
            "today": timezone.localdate(),
            **_task_row_context(page.object_list),
        },
    )


# Goals -----------------------------------------------------------------------------------


def _goal_form_page(
    request: AuthedHttpRequest, goal: Goal, account: Account, title: str
) -> HttpResponse:
    form = GoalForm(request.POST or None, instance=goal)
    return _account_record_form(
        request,
        form,
        account,
        lambda: services.goal_save(
            goal=form.instance, actor=request.user, note=form.cleaned_data["note"]
        ),
        anchor="goals",
        title=title,
        saved=_("Goal saved."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def goal_create(request: AuthedHttpRequest, account_pk: int) -> HttpResponse:
    account = account_for_edit(request, account_pk)
    return _goal_form_page(request, Goal(account=account), account, _("New goal"))


@login_required
@require_http_methods(["GET", "POST"])
def goal_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    goal = child_for_edit(request, Goal, pk)
    return _goal_form_page(request, goal, goal.account, _("Edit goal"))
