"""The bell's pages: each person's own in-app notifications, and marking them read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.views import AuthedHttpRequest
from playbooks import selectors
from playbooks.models import Notification
from playbooks.services.notify import notifications_mark_read, unread_count

PAGE_SIZE = 50
MENU_SIZE = 8


@login_required
@require_GET
def notification_list(request: AuthedHttpRequest) -> HttpResponse:
    page = Paginator(selectors.notification_list(user=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "playbooks/notification_list.html",
        {"page": page, "unread": unread_count(user=request.user)},
    )


@login_required
@require_GET
def notification_menu(request: AuthedHttpRequest) -> HttpResponse:
    """The bell's drop-down: the latest notifications, unread first (htmx partial)."""
    return render(
        request,
        "playbooks/partials/notification_menu.html",
        {"notifications": list(selectors.notification_list(user=request.user)[:MENU_SIZE])},
    )


@login_required
@require_POST
def notification_read(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read; htmx gets its row back, a plain POST the list."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    if request.htmx:
        notification.refresh_from_db()
        return render(
            request,
            "playbooks/partials/notification_row.html",
            {"n": notification, "unread": unread_count(user=request.user), "oob_count": True},
        )
    return HttpResponseRedirect(reverse("playbooks:notifications"))


@login_required
@require_POST
def notification_read_all(request: AuthedHttpRequest) -> HttpResponse:
    done = notifications_mark_read(user=request.user)
    messages.success(
        request,
        ngettext("%(n)s notification marked read.", "%(n)s notifications marked read.", done)
        % {"n": done}
        if done
        else _("Nothing was unread."),
    )
    return HttpResponseRedirect(reverse("playbooks:notifications"))


@login_required
@require_GET
def notification_open(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    notification = get_object_or_404(Notification, pk=pk, user=request.user)
    notifications_mark_read(user=request.user, ids=[notification.pk])
    link = notification.link
    if not link and notification.account_id:
        link = reverse("accounts:detail", args=[notification.account_id])
    if not link or not url_has_allowed_host_and_scheme(
        link, {request.get_host()}, request.is_secure()
    ):
        link = reverse("playbooks:notifications")
    return HttpResponseRedirect(link)
