"""The mutual action plan: links that let the customer's contacts see and tick their tasks.

A link's token (256 random bits) is its only credential: it is shown (or emailed) once and
only its SHA-256 is stored, with an expiry; a link can be revoked at any time. Through a
link a visitor reads that one plan and ticks or unticks the customer's tasks of it while
the plan is in progress; our side's tasks, other plans and other accounts are out of reach
whatever the request says. Every tick lands on the account's timeline (plans service).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import ActivityKind
from accounts.models import Contact
from accounts.services import activity_record
from csplatform.choices import NotificationCategory
from csplatform.models import User
from csplatform.services import api_key_hash, email_enqueue, secret_token_new
from onboarding.choices import PlanStatus, TaskSide
from onboarding.models import OnboardingPlan, PlanShareLink, PlanTask
from onboarding.services.plans import SOURCE, plan_task_set_done

# Touch last_used_at at most this often, so reading the page stays write-free.
USED_AT_GRANULARITY = dt.timedelta(minutes=5)


class ShareLinkInvalid(Exception):
    """The link is unknown or was tampered with."""


class ShareLinkGone(Exception):
    """The link is genuine but expired or revoked."""

    def __init__(self, *, revoked: bool) -> None:
        super().__init__("revoked" if revoked else "expired")
        self.revoked = revoked


class ShareNotAllowed(Exception):
    """The link is fine, but it does not reach this task (ours, another plan's, closed)."""


def share_link_create(
    *,
    plan: OnboardingPlan,
    actor: User | None,
    days: int | None = None,
    contact: Contact | None = None,
    send_email: bool = False,
) -> tuple[PlanShareLink, str]:
    """Create a link and return it with its raw token, which is not stored."""
    days = days or settings.ONBOARDING_SHARE_LINK_DAYS
    errors: dict[str, list[str]] = {}
    if not 1 <= days <= settings.ONBOARDING_SHARE_LINK_MAX_DAYS:
        errors["days"] = [
            _("A link lasts from 1 to %(max)s days.")
            % {"max": settings.ONBOARDING_SHARE_LINK_MAX_DAYS}
        ]
    if contact is not None and contact.account_id != plan.account_id:
        errors["contact"] = [_("This contact belongs to another account.")]
    if send_email and (contact is None or not contact.email):
        errors["contact"] = [_("Choose a contact with an email address to send the link to.")]
    if plan.status != PlanStatus.ACTIVE:
        errors["__all__"] = [_("Only a plan in progress can be shared.")]
    if errors:
        raise ValidationError(errors)
    raw, hashed = secret_token_new()
    expires_at = timezone.now() + dt.timedelta(days=days)
    with transaction.atomic():
        link = PlanShareLink.objects.create(
            plan=plan,
            token_hash=hashed,
            token_prefix=raw[:6],
            contact=contact,
            created_by=actor,
            expires_at=expires_at,
        )
        activity_record(
            account_id=plan.account_id,
            subject=_("Onboarding plan shared with %(who)s")
            % {"who": contact.full_name if contact else _("the customer")},
            summary=_("Link %(prefix)s… works until %(date)s.")
            % {"prefix": link.token_prefix, "date": expires_at.date().isoformat()},
            kind=ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
            metadata={"plan_id": plan.pk, "share_link_id": link.pk},
            contact_ids=[contact.pk] if contact else (),
        )
        if send_email and contact is not None:
            email_enqueue(
                idempotency_key=f"onboarding-share:{link.pk}",
                template="onboarding_share",
                context={
                    "contact_name": contact.first_name,
                    "account_name": plan.account.name,
                    "plan_name": plan.name,
                    "path": reverse("onboarding:shared_plan", kwargs={"token": raw}),
                    "expires_at": expires_at,
                    "sender": actor,
                },
                to=[contact.email],
                category=NotificationCategory.REMINDERS,
            )
    return link, raw


def share_link_revoke(*, link: PlanShareLink, actor: User | None) -> PlanShareLink:
    """Stop a link from working; idempotent."""
    with transaction.atomic():
        revoked = PlanShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=actor
        )
        link.refresh_from_db()
        if revoked:
            activity_record(
                account_id=link.plan.account_id,
                subject=_("Onboarding plan link %(prefix)s… revoked")
                % {"prefix": link.token_prefix},
                kind=ActivityKind.SYSTEM,
                author=actor,
                source=SOURCE,
                metadata={"plan_id": link.plan_id, "share_link_id": link.pk},
            )
    return link


def share_link_for_token(*, token: str, now: dt.datetime | None = None) -> PlanShareLink:
    """The link a token belongs to. Raises ShareLinkInvalid or ShareLinkGone."""
    if not token or len(token) > 100:
        raise ShareLinkInvalid(token)
    link = (
        PlanShareLink.objects.select_related("plan__account", "contact")
        .filter(token_hash=api_key_hash(token))
        .first()
    )
    if link is None:
        raise ShareLinkInvalid(token)
    now = now or timezone.now()
    if link.revoked_at is not None:
        raise ShareLinkGone(revoked=True)
    if link.expires_at <= now:
        raise ShareLinkGone(revoked=False)
    if link.last_used_at is None or now - link.last_used_at > USED_AT_GRANULARITY:
        PlanShareLink.objects.filter(pk=link.pk).update(last_used_at=now)
    return link


def shared_task_set_done(*, token: str, task_id: int, done: bool) -> PlanTask:
    """Tick or untick a customer task through a link; the link's contact is recorded."""
    link = share_link_for_token(token=token)
    task = PlanTask.objects.filter(pk=task_id, plan_id=link.plan_id).first()
    if task is None or task.side != TaskSide.CUSTOMER:
        raise ShareNotAllowed(task_id)
    if link.plan.status != PlanStatus.ACTIVE:
        raise ShareNotAllowed(task_id)
    return plan_task_set_done(plan_task=task, done=done, contact=link.contact, link=link)
