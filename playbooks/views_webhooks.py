"""Pages of outgoing webhook endpoints: Admins only (SPEC §0: webhook settings are theirs)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.views import AuthedHttpRequest, _require, _save_or_render
from csplatform.choices import Role
from playbooks import selectors
from playbooks.choices import EndpointFormat
from playbooks.filtersets import DeliveryFilterSet
from playbooks.forms import WebhookEndpointForm
from playbooks.models import WebhookEndpoint
from playbooks.services import webhooks

PAGE_SIZE = 50


def is_admin(user: Any) -> bool:
    return getattr(user, "role", None) == Role.ADMIN


def _require_admin(request: AuthedHttpRequest) -> None:
    _require(is_admin(request.user))


def _crumbs(endpoint: WebhookEndpoint | None = None) -> list[tuple[str, str]]:
    crumbs = [(_("Webhooks"), reverse("playbooks:webhooks"))]
    if endpoint is not None and endpoint.pk:
        crumbs.append((endpoint.name, endpoint_url(endpoint)))
    return crumbs


def endpoint_url(endpoint: WebhookEndpoint) -> str:
    return reverse("playbooks:webhook", args=[endpoint.pk])


@login_required
@require_GET
def webhook_list(request: AuthedHttpRequest) -> HttpResponse:
    _require_admin(request)
    return render(
        request,
        "playbooks/webhook_list.html",
        {"endpoints": list(selectors.endpoint_list())},
    )


@login_required
@require_GET
def webhook_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    filterset = DeliveryFilterSet(
        request.GET, queryset=selectors.endpoint_deliveries(endpoint=endpoint)
    )
    deliveries = filterset.qs if filterset.is_valid() else filterset.queryset
    page = Paginator(deliveries, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "playbooks/webhook_detail.html",
        {
            "endpoint": endpoint,
            "filter": filterset,
            "page": page,
            "rules": list(selectors.endpoint_used_by(endpoint=endpoint)),
            "signed": endpoint.format == EndpointFormat.JSON,
            "signature_header": webhooks.SIGNATURE_HEADER,
            "timestamp_header": webhooks.TIMESTAMP_HEADER,
            "replay_minutes": webhooks.REPLAY_WINDOW_SECONDS // 60,
            "disable_after": settings.WEBHOOK_DISABLE_AFTER,
            "max_attempts": settings.WEBHOOK_MAX_ATTEMPTS,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_edit(request: AuthedHttpRequest, pk: int | None = None) -> HttpResponse:
    _require_admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk) if pk else WebhookEndpoint()
    form = WebhookEndpointForm(request.POST or None, instance=endpoint)
    return _save_or_render(
        request,
        form,
        lambda: webhooks.endpoint_save(endpoint=form.instance),
        success_url=endpoint_url,
        success_message=_("Webhook saved."),
        context={
            "title": _("Edit webhook") if pk else _("New webhook"),
            "crumbs": _crumbs(endpoint),
            "cancel_url": endpoint_url(endpoint) if pk else reverse("playbooks:webhooks"),
        },
        template="playbooks/form.html",
    )


def _button(request: AuthedHttpRequest, pk: int, act: Any, done: str) -> HttpResponse:
    _require_admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    try:
        act(endpoint)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return HttpResponseRedirect(endpoint_url(endpoint))


@login_required
@require_POST
def webhook_rotate(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _button(
        request,
        pk,
        lambda e: webhooks.endpoint_rotate_secret(endpoint=e),
        _("New signing secret made: give it to the receiver; the old one no longer verifies."),
    )


@login_required
@require_POST
def webhook_enable(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _button(
        request,
        pk,
        lambda e: webhooks.endpoint_enable(endpoint=e),
        _("Webhook enabled again; its failure count starts over."),
    )


@login_required
@require_POST
def webhook_test(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _button(
        request,
        pk,
        lambda e: webhooks.endpoint_send_test(endpoint=e),
        _("Test delivery queued: it shows in the log below."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_delete(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    _require_admin(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if request.method == "POST":
        try:
            webhooks.endpoint_delete(endpoint=endpoint)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return HttpResponseRedirect(endpoint_url(endpoint))
        messages.success(request, _("Webhook “%(name)s” deleted.") % {"name": endpoint.name})
        return HttpResponseRedirect(reverse("playbooks:webhooks"))
    return render(
        request,
        "playbooks/confirm_delete.html",
        {
            "object": endpoint,
            "title": _("Delete webhook"),
            "blocked_by": list(selectors.endpoint_used_by(endpoint=endpoint)),
            "message": _("The endpoint and its delivery log are deleted."),
            "cancel_url": endpoint_url(endpoint),
            "crumbs": _crumbs(endpoint),
        },
    )
