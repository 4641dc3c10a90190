"""Pages of playbooks (task-list templates): everyone reads them, CS Leads change them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.views import AuthedHttpRequest, _require
from playbooks import selectors
from playbooks.forms import PlaybookForm, step_formset
from playbooks.models import PlaybookTemplate
from playbooks.services.playbooks import playbook_delete, playbook_save

PAGE_SIZE = 50


def can_edit_playbooks(user: Any) -> bool:
    return bool(user.has_perm("playbooks.change_playbooktemplate"))


@login_required
@require_GET
def playbook_list(request: AuthedHttpRequest) -> HttpResponse:
    page = Paginator(selectors.playbook_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "playbooks/playbook_list.html",
        {"page": page, "can_edit": can_edit_playbooks(request.user)},
    )


@login_required
@require_GET
def playbook_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    try:
        playbook = selectors.playbook_detail(pk=pk)
    except PlaybookTemplate.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "playbooks/playbook_detail.html",
        {
            "playbook": playbook,
            "rules": list(selectors.playbook_used_by(playbook=playbook)),
            "can_edit": can_edit_playbooks(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def playbook_edit(request: AuthedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require(can_edit_playbooks(request.user))
    playbook = get_object_or_404(PlaybookTemplate, pk=pk) if pk else PlaybookTemplate()
    Steps = step_formset(extra=0 if playbook.pk else 3)
    form = PlaybookForm(request.POST or None, instance=playbook)
    steps = Steps(request.POST or None, instance=playbook, prefix="steps")
    status = 200
    if request.method == "POST":
        valid = [form.is_valid(), steps.is_valid()]
        if all(valid):
            try:
                playbook_save(playbook=form.instance, steps=steps.ordered_specs())
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, _("Playbook “%(name)s” saved.") % {"name": playbook.name})
                return HttpResponseRedirect(playbook.get_absolute_url())
        status = 400
    return render(
        request,
        "playbooks/playbook_form.html",
        {
            "playbook": playbook,
            "form": form,
            "steps": steps,
            "title": _("Edit playbook") if playbook.pk else _("New playbook"),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def playbook_delete_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _require(can_edit_playbooks(request.user))
    playbook = get_object_or_404(PlaybookTemplate, pk=pk)
    if request.method == "POST":
        try:
            playbook_delete(playbook=playbook)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(playbook.get_absolute_url())
        messages.success(request, _("Playbook “%(name)s” deleted.") % {"name": playbook.name})
        return HttpResponseRedirect(reverse("playbooks:playbooks"))
    rules = list(selectors.playbook_used_by(playbook=playbook))
    return render(
        request,
        "playbooks/confirm_delete.html",
        {
            "object": playbook,
            "title": _("Delete playbook"),
            "blocked_by": rules,
            "message": _("The playbook and its steps are deleted. The tasks it made stay."),
            "cancel_url": playbook.get_absolute_url(),
            "crumbs": [
                (_("Playbooks"), reverse("playbooks:playbooks")),
                (playbook.name, playbook.get_absolute_url()),
            ],
        },
    )
