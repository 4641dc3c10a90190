"""Pages of the playbooks app: rules, their editor and preview, runs and their matches.

Views parse the request, fetch, check the role, call a service and render or redirect.
Everyone logged in may read rules and runs; CS Leads and Admins change them (the
playbooks permissions of their role groups, csplatform.roles). Playbooks (task lists) are
in views_playbooks, webhook endpoints in views_webhooks, notifications in
views_notifications.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
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
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.views import AuthedHttpRequest, _require
from csplatform.exports import csv_response
from playbooks import selectors
from playbooks.choices import MatchOutcome, RuleMode, RunSource
from playbooks.filtersets import RuleFilterSet
from playbooks.forms import (
    ModeForm,
    RuleForm,
    TriggerParamsForm,
    action_formset,
)
from playbooks.models import Rule, RuleRun
from playbooks.services.evaluate import rule_evaluate, rule_matches
from playbooks.services.rules import rule_delete, rule_save, rule_set_mode
from playbooks.triggers import trigger

PAGE_SIZE = 50
RUN_PAGE_SIZE = 100
# The preview lists this many accounts; the count is always complete.
PREVIEW_ROWS = 200


def can_edit_rules(user: Any) -> bool:
    return bool(user.has_perm("playbooks.change_rule"))


def _require_rule_editor(request: AuthedHttpRequest) -> None:
    _require(can_edit_rules(request.user))


def _rule_or_404(pk: int) -> Rule:
    try:
        return selectors.rule_detail(pk=pk)
    except Rule.DoesNotExist:
        raise Http404 from None


# Rule list and CSV ------------------------------------------------------------------------

CSV_HEADER = [
    gettext_lazy("id"),
    gettext_lazy("name"),
    gettext_lazy("mode"),
    gettext_lazy("trigger"),
    gettext_lazy("scope"),
    gettext_lazy("actions"),
    gettext_lazy("cooldown (days)"),
    gettext_lazy("last run"),
    gettext_lazy("matched"),
    gettext_lazy("fired"),
    gettext_lazy("in cooldown"),
    gettext_lazy("failed"),
]


def _rule_csv_rows(rules: list[Rule], users: dict[int, Any]) -> Iterator[list[Any]]:
    for r in rules:
        run = r.last_run  # type: ignore[attr-defined]
        yield [
            r.pk,
            r.name,
            r.get_mode_display(),
            selectors.trigger_summary(r),
            "; ".join(selectors.scope_summary(r)),
            "; ".join(selectors.action_summary(a, users) for a in r.actions.all()),
            r.cooldown_days,
            run.started_at if run else None,
            run.matched if run else None,
            run.fired if run else None,
            run.cooled if run else None,
            run.failed if run else None,
        ]


@login_required
@require_GET
def rule_list(request: AuthedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    filterset = RuleFilterSet(request.GET, queryset=selectors.rule_list())
    rules = filterset.qs if filterset.is_valid() else filterset.queryset
    rules = rules.order_by("name", "pk")
    if request.GET.get("format") == "csv":
        every = list(rules)
        selectors.last_runs_attach(every)
        return csv_response(
            filename=f"playbook-rules-{timezone.localdate().isoformat()}.csv",
            header=CSV_HEADER,
            rows=_rule_csv_rows(every, selectors.action_users(every)),
        )
    page = Paginator(rules, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    selectors.last_runs_attach(page.object_list)
    users = selectors.action_users(page.object_list)
    rows = [
        {
            "rule": r,
            "trigger": selectors.trigger_label(r),
            "settings": selectors.trigger_settings_text(r),
            "scope": selectors.scope_summary(r),
            "actions": [
                (selectors.ACTION_ICONS.get(a.kind, "dot"), selectors.action_short(a, users))
                for a in r.actions.all()
            ],
        }
        for r in page.object_list
    ]
    return render(
        request,
        "playbooks/rule_list.html",
        {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "can_edit": can_edit_rules(request.user),
        },
    )


# The rule page ----------------------------------------------------------------------------


@login_required
@require_GET
def rule_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    rule = _rule_or_404(pk)
    users = selectors.action_users([rule])
    found = trigger(rule.trigger)
    return render(
        request,
        "playbooks/rule_detail.html",
        {
            "rule": rule,
            "trigger": found,
            "trigger_text": selectors.trigger_summary(rule),
            "scope": selectors.scope_summary(rule),
            "actions": [(a, selectors.action_summary(a, users)) for a in rule.actions.all()],
            "runs": list(selectors.rule_runs(rule=rule)[:10]),
            "modes": RuleMode,
            "can_edit": can_edit_rules(request.user),
        },
    )


@login_required
@require_GET
def rule_preview(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Which accounts the saved rule would match right now (htmx partial)."""
    rule = get_object_or_404(Rule, pk=pk)
    preview = selectors.preview_rows(matches=rule_matches(rule=rule), limit=PREVIEW_ROWS)
    return render(
        request,
        "playbooks/partials/preview.html",
        {"preview": preview, "rule": rule, "now": timezone.now()},
    )


@login_required
@require_POST
def rule_preview_draft(request: AuthedHttpRequest, pk: int | None = None) -> HttpResponse:
    """The same for the editor's unsaved trigger and scope (htmx partial; nothing saved)."""
    _require_rule_editor(request)
    instance = get_object_or_404(Rule, pk=pk) if pk else Rule()
    form = RuleForm(request.POST, instance=instance)
    form.is_valid()
    params = TriggerParamsForm(request.POST, trigger_key=request.POST.get("trigger", ""))
    params.is_valid()
    # Name and actions do not change who matches; only the trigger and the scope do.
    wanted = ("trigger", "tiers", "touch_models", "business_models", "lifecycle_stages")
    blocking = [
        str(e)
        for name in (*wanted, "min_mrr", "max_mrr", "tags")
        for e in form.errors.get(name, [])
    ] + [str(e) for errors in params.errors.values() for e in errors]
    if blocking or not form.cleaned_data.get("trigger"):
        return render(
            request,
            "playbooks/partials/preview.html",
            {"errors": blocking or [_("Choose a trigger first.")]},
            status=400,
        )
    rule = form.scope_rule()
    rule.params = params.params
    preview = selectors.preview_rows(matches=rule_matches(rule=rule), limit=PREVIEW_ROWS)
    return render(
        request,
        "playbooks/partials/preview.html",
        {"preview": preview, "draft": True, "now": timezone.now()},
    )


# The editor -------------------------------------------------------------------------------


@login_required
@require_GET
def trigger_params(request: AuthedHttpRequest) -> HttpResponse:
    """The parameter fieldset of the trigger chosen in the editor (htmx partial)."""
    key = request.GET.get("trigger", "")
    return render(
        request,
        "playbooks/partials/trigger_params.html",
        {"params_form": TriggerParamsForm(trigger_key=key), "trigger": trigger(key)},
    )


def _editor(
    request: AuthedHttpRequest, rule: Rule, form: Any, params: Any, actions: Any, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "playbooks/rule_form.html",
        {
            "rule": rule,
            # The form may have put an unsaved name on the rule; the breadcrumb shows the saved.
            "saved_name": Rule.objects.filter(pk=rule.pk).values_list("name", flat=True).first()
            if rule.pk
            else "",
            "form": form,
            "params_form": params,
            "trigger": params.trigger,
            "actions": actions,
            "title": _("Edit rule") if rule.pk else _("New rule"),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: AuthedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require_rule_editor(request)
    rule = get_object_or_404(Rule, pk=pk) if pk else Rule()
    Actions = action_formset(extra=0 if rule.pk else 1)
    if request.method != "POST":
        form = RuleForm(instance=rule)
        params = TriggerParamsForm(trigger_key=rule.trigger, initial=rule.params or None)
        actions = Actions(instance=rule, prefix="actions")
        return _editor(request, rule, form, params, actions)
    form = RuleForm(request.POST, instance=rule)
    params = TriggerParamsForm(request.POST, trigger_key=request.POST.get("trigger", ""))
    actions = Actions(request.POST, instance=rule, prefix="actions")
    # Every part is validated (not short-circuited), so all the errors show at once.
    valid = [form.is_valid(), params.is_valid(), actions.is_valid()]
    if all(valid):
        rule = form.instance
        rule.params = params.params
        try:
            rule_save(rule=rule, actions=actions.ordered_specs(), actor=request.user)
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                form.add_error(name if name in form.fields else None, errors)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
            return HttpResponseRedirect(rule.get_absolute_url())
    return _editor(request, rule, form, params, actions, status=400)


# Buttons on the rule page -------------------------------------------------------------------


@login_required
@require_POST
def rule_mode(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _require_rule_editor(request)
    rule = get_object_or_404(Rule, pk=pk)
    form = ModeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a mode from the list."))
    else:
        try:
            rule_set_mode(rule=rule, mode=form.cleaned_data["mode"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("“%(name)s” is now: %(mode)s.")
                % {"name": rule.name, "mode": RuleMode(rule.mode).label},
            )
    return HttpResponseRedirect(rule.get_absolute_url())


@login_required
@require_POST
def rule_run(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Evaluate the rule now, over every customer in its scope, and show the run."""
    _require_rule_editor(request)
    rule = get_object_or_404(Rule, pk=pk)
    evaluation = rule_evaluate(rule=rule, source=RunSource.MANUAL)
    if evaluation.run is None:
        messages.error(
            request, _("The rule is disabled: enable it, or put it in dry run, to run it.")
        )
        return HttpResponseRedirect(rule.get_absolute_url())
    run = evaluation.run
    messages.success(
        request,
        _("Run finished: %(matched)s matched, %(fired)s fired, %(cooled)s in cooldown.")
        % {"matched": run.matched, "fired": run.fired, "cooled": run.cooled},
    )
    return HttpResponseRedirect(reverse("playbooks:run", args=[run.pk]))


@login_required
@require_http_methods(["GET", "POST"])
def rule_delete_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _require_rule_editor(request)
    rule = get_object_or_404(Rule, pk=pk)
    if request.method == "POST":
        rule_delete(rule=rule)
        messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule.name})
        return HttpResponseRedirect(reverse("playbooks:rules"))
    return render(
        request,
        "playbooks/confirm_delete.html",
        {
            "object": rule,
            "title": _("Delete rule"),
            "message": _(
                "The rule, its run log and its cooldowns are deleted. The tasks it made stay."
            ),
            "cancel_url": rule.get_absolute_url(),
            "crumbs": [
                (_("Rules"), reverse("playbooks:rules")),
                (rule.name, rule.get_absolute_url()),
            ],
        },
    )


# Runs ---------------------------------------------------------------------------------------


@login_required
@require_GET
def run_list(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk)
    page = Paginator(selectors.rule_runs(rule=rule), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "playbooks/run_list.html", {"rule": rule, "page": page})


RUN_CSV_HEADER = [
    gettext_lazy("account id"),
    gettext_lazy("account"),
    gettext_lazy("owner"),
    gettext_lazy("reason"),
    gettext_lazy("outcome"),
    gettext_lazy("actions"),
]


@login_required
@require_GET
def run_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    run = get_object_or_404(RuleRun.objects.select_related("rule"), pk=pk)
    matches = selectors.run_matches(run=run)
    outcome = request.GET.get("outcome", "")
    if outcome in MatchOutcome.values:
        matches = matches.filter(outcome=outcome)
    if request.GET.get("format") == "csv":
        return csv_response(
            filename=f"rule-run-{run.pk}.csv",
            header=RUN_CSV_HEADER,
            rows=(
                [
                    m.account_id,
                    m.account.name,
                    str(m.account.owner or ""),
                    m.reason,
                    m.get_outcome_display(),
                    "; ".join(
                        f"{a.get('action')}: {'ok' if a.get('ok') else 'failed'} {a.get('detail', '')}"
                        for a in m.actions
                    ),
                ]
                for m in matches.iterator(chunk_size=2000)
            ),
        )
    page = Paginator(matches, RUN_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "playbooks/run_detail.html",
        {
            "run": run,
            "rule": run.rule,
            "page": page,
            "outcome": outcome,
            "outcomes": MatchOutcome,
        },
    )
