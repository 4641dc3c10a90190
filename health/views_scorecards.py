"""The scorecard editor: scorecards, drafts, weights, preview and publishing (SPEC §4).

Everyone logged in may read; CS Leads and Admins change (the `health.change_scorecard`
permission). A published version is never edited: changes go to the scorecard's draft,
which is previewed and published as a whole. Writes answer with a redirect to the
scorecard page; the htmx forms on it select their part of that page to swap in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.views import AuthedHttpRequest, _require, _save_or_render
from health import selectors
from health.choices import Color, VersionStatus
from health.forms_scorecards import (
    BandsForm,
    GroupForm,
    MeasureForm,
    PublishForm,
    ScorecardCreateForm,
    ScorecardDuplicateForm,
    ScorecardForm,
    WeightsForm,
)
from health.measures import measure_kinds
from health.models import Measure, MeasureGroup, Scorecard, ScorecardVersion
from health.services import scorecards as services

FORM = "health/scorecard_form.html"
logger = logging.getLogger(__name__)
DRAFT_ANCHOR = "draft"
HUNDRED = Decimal(100)
M = TypeVar("M", ScorecardVersion, MeasureGroup, Measure)


# Permission helpers ------------------------------------------------------------------------


def can_edit_scorecards(user: Any) -> bool:
    return bool(user.has_perm("health.change_scorecard"))


def _require_editor(request: AuthedHttpRequest) -> None:
    _require(can_edit_scorecards(request.user))


def _scorecard_for_edit(request: AuthedHttpRequest, pk: int) -> Scorecard:
    _require_editor(request)
    return get_object_or_404(Scorecard, pk=pk)


def _draft_for_edit(request: AuthedHttpRequest, pk: int) -> ScorecardVersion:
    """The scorecard's draft (404 when it has none: nothing to change)."""
    return _in_draft(request, ScorecardVersion, "", scorecard_id=pk)


def _group_for_edit(request: AuthedHttpRequest, pk: int) -> MeasureGroup:
    return _in_draft(request, MeasureGroup, "version__", pk=pk)


def _measure_for_edit(request: AuthedHttpRequest, pk: int) -> Measure:
    return _in_draft(request, Measure, "group__version__", pk=pk)


def _in_draft(request: AuthedHttpRequest, model: type[M], path: str, **lookup: Any) -> M:
    """A draft, or a part of one (`path` leads to its version): a published or archived
    version is never changed, so anything else is a 404."""
    _require_editor(request)
    return get_object_or_404(
        model.objects.select_related(f"{path}scorecard"),  # type: ignore[attr-defined]
        **{f"{path}status": VersionStatus.DRAFT},
        **lookup,
    )


def _draft_url(scorecard_id: int, anchor: str = DRAFT_ANCHOR) -> str:
    return f"{reverse('health:scorecard', args=[scorecard_id])}#{anchor}"


def _service_call(request: AuthedHttpRequest, call: Callable[[], Any], done: str) -> bool:
    """Run a service for a button; its ValidationError becomes an error message."""
    try:
        call()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return False
    messages.success(request, done)
    return True


def _context(scorecard: Scorecard | None, title: str, *, cancel: str = "") -> dict[str, Any]:
    crumbs = [(_("Scorecards"), reverse("health:scorecards"))]
    if scorecard is not None and scorecard.pk:
        crumbs.append((scorecard.name, scorecard.get_absolute_url()))
    return {
        "title": title,
        "crumbs": crumbs,
        "cancel_url": cancel
        or (
            scorecard.get_absolute_url()
            if scorecard is not None and scorecard.pk
            else reverse("health:scorecards")
        ),
    }


# Scorecards --------------------------------------------------------------------------------


@login_required
def scorecard_list(request: AuthedHttpRequest) -> HttpResponse:
    rows = list(selectors.scorecard_rows())
    return render(
        request,
        "health/scorecard_list.html",
        {
            "scorecards": rows,
            "can_edit": can_edit_scorecards(request.user),
            "no_default": bool(rows) and not any(sc.is_default for sc in rows),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def scorecard_create(request: AuthedHttpRequest) -> HttpResponse:
    _require_editor(request)
    form = ScorecardCreateForm(request.POST or None, instance=Scorecard())
    return _save_or_render(
        request,
        form,
        lambda: services.scorecard_create(
            scorecard=form.instance, start_from=form.start(), actor=request.user
        ),
        success_url=lambda sc: _draft_url(sc.pk),
        success_message=_(
            "Scorecard created. Its first version is a draft: publish it to score accounts."
        ),
        context=_context(None, _("New scorecard")),
        template=FORM,
    )


@login_required
@require_POST
def scorecard_starter(request: AuthedHttpRequest) -> HttpResponse:
    _require_editor(request)
    _service_call(
        request,
        lambda: services.scorecard_add_starter(actor=request.user),
        _("The starter scorecard is published; accounts are being scored."),
    )
    return HttpResponseRedirect(reverse("health:scorecards"))


@login_required
@require_http_methods(["GET", "POST"])
def scorecard_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    scorecard = _scorecard_for_edit(request, pk)
    form = ScorecardForm(request.POST or None, instance=scorecard)
    return _save_or_render(
        request,
        form,
        lambda: services.scorecard_save(scorecard=form.instance),
        success_url=lambda sc: sc.get_absolute_url(),
        success_message=_("Scorecard saved."),
        context=_context(scorecard, _("Scorecard settings")),
        template=FORM,
    )


@login_required
@require_POST
def scorecard_active(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    scorecard = _scorecard_for_edit(request, pk)
    active = request.POST.get("active") == "1"
    _service_call(
        request,
        lambda: services.scorecard_set_active(scorecard=scorecard, active=active),
        _("Scorecard switched on.") if active else _("Scorecard switched off."),
    )
    return HttpResponseRedirect(scorecard.get_absolute_url())


@login_required
@require_http_methods(["GET", "POST"])
def scorecard_duplicate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    scorecard = _scorecard_for_edit(request, pk)
    form = ScorecardDuplicateForm(
        request.POST or None, initial={"name": _("%(name)s (copy)") % {"name": scorecard.name}}
    )

    def save() -> Scorecard:
        copy = Scorecard(
            name=form.cleaned_data["name"],
            description=scorecard.description,
            priority=scorecard.priority,
            is_active=False,
            tiers=scorecard.tiers,
            touch_models=scorecard.touch_models,
            business_models=scorecard.business_models,
            lifecycle_stages=scorecard.lifecycle_stages,
        )
        return services.scorecard_create(scorecard=copy, start_from=scorecard, actor=request.user)

    return _save_or_render(
        request,
        form,
        save,
        success_url=lambda sc: _draft_url(sc.pk),
        success_message=_(
            "Scorecard copied. The copy is switched off until you publish it and switch it on."
        ),
        context=_context(scorecard, _("Duplicate scorecard")),
        template=FORM,
    )


@login_required
def scorecard_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    scorecard = get_object_or_404(Scorecard, pk=pk)
    history = list(selectors.version_history(scorecard=scorecard))
    by_status = {v.status: v for v in history if v.status != VersionStatus.ARCHIVED}
    draft, published = by_status.get(VersionStatus.DRAFT), by_status.get(VersionStatus.PUBLISHED)
    wanted = request.GET.get("version", "")
    shown = next((v for v in history if str(v.number) == wanted), None) if wanted else None
    if wanted and shown is None:
        raise Http404
    shown = shown or draft or published
    can_edit = can_edit_scorecards(request.user)
    editing = can_edit and shown is not None and shown.status == VersionStatus.DRAFT
    tree = selectors.version_tree(version=shown) if shown else None
    return render(
        request,
        "health/scorecard_detail.html",
        {
            "scorecard": scorecard,
            "history": history,
            "draft": draft,
            "published": published,
            "shown": shown,
            "tree": tree,
            "can_edit": can_edit,
            "editing": editing,
            "problems": services.version_problems(shown)
            if shown and shown.status == VersionStatus.DRAFT
            else [],
            "bands_form": BandsForm(instance=shown) if editing else None,
            "publish_form": PublishForm(initial={"note": shown.note}) if editing else None,
            "scored": selectors.scorecard_accounts(scorecard=scorecard),
            # htmx swaps only the draft in: its messages are shown there.
            "hx": bool(request.headers.get("HX-Request")),
            "colors": list(Color),
        },
    )


# Drafts ------------------------------------------------------------------------------------


@login_required
@require_POST
def draft_start(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    scorecard = _scorecard_for_edit(request, pk)
    services.version_draft(scorecard=scorecard, actor=request.user)
    messages.success(
        request,
        _("Draft started: change it freely, nothing is scored with it until you publish it."),
    )
    return HttpResponseRedirect(_draft_url(scorecard.pk))


@login_required
@require_http_methods(["GET", "POST"])
def draft_discard(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    draft = _draft_for_edit(request, pk)
    scorecard = draft.scorecard
    if request.method == "POST":
        services.version_discard(version=draft)
        messages.success(request, _("Draft discarded."))
        return HttpResponseRedirect(scorecard.get_absolute_url())
    return render(
        request,
        "health/scorecard_confirm.html",
        {
            "question": _(
                "Discard draft v%(n)s of “%(name)s”? Its changes are lost; the published version stays."
            )
            % {"n": draft.number, "name": scorecard.name},
            "button": _("Discard draft"),
            **_context(scorecard, _("Discard draft")),
        },
    )


@login_required
@require_POST
def draft_publish(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    draft = _draft_for_edit(request, pk)
    form = PublishForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.draft_publish(version=draft, note=note, actor=request.user)
    except ValidationError as exc:
        messages.error(
            request,
            _("Not published: %(problems)s") % {"problems": " ".join(exc.messages)},
        )
        return HttpResponseRedirect(_draft_url(draft.scorecard_id))
    messages.success(
        request,
        _("Version %(n)s published; accounts are being rescored.") % {"n": draft.number},
    )
    return HttpResponseRedirect(draft.scorecard.get_absolute_url())


@login_required
@require_POST
def draft_normalise(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    draft = _draft_for_edit(request, pk)
    _service_call(
        request,
        lambda: services.weights_normalise(version=draft),
        _("Weights spread to 100 % at every level, keeping their proportions."),
    )
    return HttpResponseRedirect(_draft_url(pk))


@login_required
@require_POST
def draft_weights(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    draft = _draft_for_edit(request, pk)
    form = WeightsForm(request.POST, version=draft)
    if not form.is_valid():
        messages.error(request, _("Weights are numbers from 0 to 100."))
    else:
        _service_call(
            request,
            lambda: services.weights_save(
                version=draft, groups=form.weights("g"), measures=form.weights("m")
            ),
            _("Weights saved."),
        )
    return HttpResponseRedirect(_draft_url(pk))


@login_required
@require_http_methods(["GET", "POST"])
def draft_bands(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    draft = _draft_for_edit(request, pk)
    form = BandsForm(request.POST or None, instance=draft)
    return _save_or_render(
        request,
        form,
        lambda: services.version_bands_save(
            version=draft,
            red_max=form.cleaned_data["red_max"],
            yellow_max=form.cleaned_data["yellow_max"],
            note=draft.note,
        ),
        success_url=_draft_url(pk),
        success_message=_("Colour bands saved."),
        context=_context(draft.scorecard, _("Colour bands")),
        template=FORM,
    )


@login_required
def draft_preview(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """What publishing the draft would do today: a full page, or its card for htmx."""
    scorecard = get_object_or_404(Scorecard, pk=pk)
    draft = get_object_or_404(scorecard.versions, status=VersionStatus.DRAFT)
    context: dict[str, Any] = {
        "scorecard": scorecard,
        "draft": draft,
        **_context(scorecard, _("Preview of draft v%(n)s") % {"n": draft.number}),
    }
    # The scoring statement needs a measure in every group (and so does publishing).
    if not draft.groups.exists() or draft.groups.filter(measures__isnull=True).exists():
        context["unready"] = True
    else:
        try:
            preview = services.version_preview(version=draft, limit=25)
        except DatabaseError as exc:  # a measure kind whose SQL fails: say so, never a 500
            logger.exception("preview of scorecard version %s failed", draft.pk)
            context["failed"] = str(exc).splitlines()[0]
            return render(request, "health/partials/preview.html", context)
        colors = [*selectors.PREVIEW_COLORS]
        context |= {
            "preview": preview,
            "matrix": [
                (old, [preview.moves.get((old, new), 0) for new in colors]) for old in colors
            ],
            "colors": colors,
            "changes": selectors.preview_changes(version=draft, changed=preview.changed),
        }
    if request.headers.get("HX-Request"):
        return render(request, "health/partials/preview.html", context)
    return render(request, "health/scorecard_preview.html", context)


# Groups and measures -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def group_create(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    draft = _draft_for_edit(request, pk)
    form = GroupForm(request.POST or None, instance=MeasureGroup(version=draft))
    return _save_or_render(
        request,
        form,
        lambda: services.group_add(group=form.instance),
        success_url=lambda g: _draft_url(pk, f"group-{g.pk}"),
        success_message=_("Group added."),
        context=_context(draft.scorecard, _("New group of measures")),
        template=FORM,
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    group = _group_for_edit(request, pk)
    form = GroupForm(request.POST or None, instance=group)
    scorecard = group.version.scorecard
    return _save_or_render(
        request,
        form,
        lambda: services.group_save(group=form.instance),
        success_url=lambda g: _draft_url(scorecard.pk, f"group-{g.pk}"),
        success_message=_("Group saved."),
        context=_context(scorecard, _("Edit group")),
        template=FORM,
    )


@login_required
@require_http_methods(["GET", "POST"])
def group_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    group = _group_for_edit(request, pk)
    scorecard = group.version.scorecard
    if request.method == "POST":
        services.group_delete(group=group)
        messages.success(request, _("Group deleted."))
        return HttpResponseRedirect(_draft_url(scorecard.pk))
    return render(
        request,
        "health/scorecard_confirm.html",
        {
            "question": _("Delete the group “%(name)s” and its %(n)s measures from the draft?")
            % {"name": group.name, "n": group.measures.count()},
            "button": _("Delete"),
            **_context(scorecard, _("Delete group")),
        },
    )


def _move(
    request: AuthedHttpRequest, part: MeasureGroup | Measure, scorecard_id: int
) -> HttpResponse:
    step = -1 if request.POST.get("direction") == "up" else 1
    _service_call(request, lambda: services.part_move(part=part, step=step), _("Moved."))
    return HttpResponseRedirect(_draft_url(scorecard_id))


@login_required
@require_POST
def group_move(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    group = _group_for_edit(request, pk)
    return _move(request, group, group.version.scorecard_id)


@login_required
@require_POST
def measure_move(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    measure = _measure_for_edit(request, pk)
    return _move(request, measure, measure.group.version.scorecard_id)


def _measure_page(
    request: AuthedHttpRequest, measure: Measure, *, title: str, done: str
) -> HttpResponse:
    scorecard = measure.group.version.scorecard
    kind_key = request.GET.get("kind") or None
    form = MeasureForm(request.POST or None, instance=measure, kind_key=kind_key)
    context = {
        **_context(scorecard, title),
        "group": measure.group,
        "kind": form.kind,
        "hx": bool(request.headers.get("HX-Request")),
    }
    return _save_or_render(
        request,
        form,
        lambda: services.measure_add(measure=form.instance),
        success_url=lambda m: _draft_url(scorecard.pk, f"measure-{m.pk}"),
        success_message=done,
        context=context,
        template="health/measure_form.html",
    )


@login_required
@require_http_methods(["GET", "POST"])
def measure_create(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Choose a kind of measure from the catalogue, then set it up."""
    group = _group_for_edit(request, pk)
    if request.method == "GET" and request.GET.get("kind") not in measure_kinds():
        return render(
            request,
            "health/measure_kinds.html",
            {
                "group": group,
                "kinds": list(measure_kinds().values()),
                "used": set(
                    Measure.objects.filter(group__version=group.version).values_list(
                        "kind", flat=True
                    )
                ),
                **_context(
                    group.version.scorecard,
                    _("Add a measure to “%(group)s”") % {"group": group.name},
                ),
            },
        )
    left = HUNDRED - sum((m.weight for m in group.measures.all()), Decimal(0))
    return _measure_page(
        request,
        Measure(group=group, weight=max(left, Decimal(0))),
        title=_("Add a measure to “%(group)s”") % {"group": group.name},
        done=_("Measure added."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def measure_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    measure = _measure_for_edit(request, pk)
    return _measure_page(request, measure, title=_("Edit measure"), done=_("Measure saved."))


@login_required
@require_http_methods(["GET", "POST"])
def measure_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    measure = _measure_for_edit(request, pk)
    scorecard = measure.group.version.scorecard
    if request.method == "POST":
        services.measure_delete(measure=measure)
        messages.success(request, _("Measure deleted."))
        return HttpResponseRedirect(_draft_url(scorecard.pk, f"group-{measure.group_id}"))
    return render(
        request,
        "health/scorecard_confirm.html",
        {
            "question": _("Delete the measure “%(name)s” from the draft?")
            % {"name": services.measure_name(measure)},
            "button": _("Delete"),
            **_context(scorecard, _("Delete measure")),
        },
    )
