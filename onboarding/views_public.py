"""The mutual action plan as the customer sees it: no login, the link's token is the key.

The pages are never cached (a proxy must not keep a page that carries a token), tell
robots and referrers nothing, and are rate limited per client address (csplatform's
PublicLinkRateThrottle, PUBLIC_LINK_THROTTLE). Reading never writes anything but the
link's last use. Ticking a task is a POST with Django's CSRF protection: the page sets
the cookie, so a forged form from another site cannot tick anything.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from csplatform.api.throttling import PublicLinkRateThrottle
from onboarding import selectors
from onboarding.services import sharing

PUBLIC = "onboarding/public/"


def _link_error(request: HttpRequest, *, reason: str, status: int) -> HttpResponse:
    return render(request, PUBLIC + "link_error.html", {"reason": reason}, status=status)


def _throttled(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        throttle = PublicLinkRateThrottle()
        if not throttle.allow_request(request, None):
            response = _link_error(request, reason="throttled", status=429)
            response["Retry-After"] = str(math.ceil(throttle.wait() or 60))
            return response
        return view(request, *args, **kwargs)

    return wrapped


def _link_gone(request: HttpRequest, exc: Exception) -> HttpResponse:
    if isinstance(exc, sharing.ShareLinkGone):
        return _link_error(request, reason="revoked" if exc.revoked else "expired", status=410)
    return _link_error(request, reason="invalid", status=404)


LINK_ERRORS = (sharing.ShareLinkInvalid, sharing.ShareLinkGone)


@never_cache
@_throttled
@require_GET
def shared_plan(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = sharing.share_link_for_token(token=token)
    except LINK_ERRORS as exc:
        return _link_gone(request, exc)
    plan = selectors.shared_plan(link=link)
    milestones = list(plan.milestones.all())
    tasks = [t for m in milestones for t in m.tasks.all()]
    customer = [t for t in tasks if t.side == "customer"]
    return render(
        request,
        PUBLIC + "plan.html",
        {
            "plan": plan,
            "link": link,
            "token": token,
            "milestones": milestones,
            "progress": sum(1 for t in tasks if t.is_done) * 100 // len(tasks) if tasks else 0,
            "customer_open": sum(1 for t in customer if not t.is_done),
            "today": timezone.localdate(),
        },
    )


@never_cache
@_throttled
@require_POST
def shared_task_toggle(request: HttpRequest, token: str, task_pk: int) -> HttpResponse:
    try:
        sharing.shared_task_set_done(
            token=token, task_id=task_pk, done=request.POST.get("done") == "1"
        )
    except LINK_ERRORS as exc:
        return _link_gone(request, exc)
    except sharing.ShareNotAllowed:
        return _link_error(request, reason="not_allowed", status=403)
    except ValidationError:
        # The plan was completed or cancelled while the page was open.
        return _link_error(request, reason="closed", status=409)
    url = reverse("onboarding:shared_plan", kwargs={"token": token})
    return HttpResponseRedirect(f"{url}#task-{task_pk}")
