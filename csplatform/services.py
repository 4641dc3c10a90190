"""Writes of the platform core: users and roles, API keys, the email outbox."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from csplatform.choices import EmailStatus, NotificationCategory, Role
from csplatform.models import ApiKey, OutboundEmail, User

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "csp_"


# Users and roles -----------------------------------------------------------------------


def user_set_role(*, user: User, role: Role | str) -> User:
    """Make `role` the user's only role group."""
    role = Role(role)
    role_groups = Group.objects.filter(name__in=Role.values)
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get(name=role.value))
    user.__dict__.pop("role", None)
    return user


def user_create(
    *,
    username: str,
    role: Role | str,
    password: str | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    with transaction.atomic():
        user = User(username=username, email=email, first_name=first_name, last_name=last_name)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.is_staff = Role(role) == Role.ADMIN
        user.is_superuser = Role(role) == Role.ADMIN
        user.save()
        user_set_role(user=user, role=role)
    return user


def user_update_notification_preferences(*, user: User, enabled: Iterable[str]) -> User:
    enabled_set = set(enabled)
    user.notification_preferences = {
        c.value: c.value in enabled_set for c in NotificationCategory.optional()
    }
    user.save(update_fields=["notification_preferences"])
    return user


# API keys ------------------------------------------------------------------------------


def api_key_hash(raw_key: str) -> str:
    # Keys carry 256 bits of randomness, so a fast hash is enough (no need for a slow KDF).
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_create(*, user: User, name: str) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is never stored."""
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(user=user, name=name, prefix=raw[:12], hashed_key=api_key_hash(raw))
    return key, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


# Email outbox --------------------------------------------------------------------------


def email_enqueue(
    *,
    idempotency_key: str,
    template: str,
    context: Mapping[str, Any],
    to: list[str],
    category: NotificationCategory | str,
    user: User | None = None,
    headers: Mapping[str, str] | None = None,
    language: str | None = None,
) -> OutboundEmail:
    """Record an email in the outbox and send it after the transaction commits.

    `template` names three files under templates/emails/: <name>_subject.txt, <name>.txt
    and <name>.html. Calling twice with the same key returns the first row unchanged.
    """
    existing = OutboundEmail.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    ctx = {"site_url": settings.SITE_URL, "company_name": settings.COMPANY_NAME, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"emails/{template}_subject.txt", ctx).split())
        body_text = render_to_string(f"emails/{template}.txt", ctx)
        body_html = render_to_string(f"emails/{template}.html", ctx)
    wanted = user is None or user.wants_email(str(category))
    row = OutboundEmail(
        idempotency_key=idempotency_key,
        category=category,
        user=user,
        to=list(to),
        from_email=settings.DEFAULT_FROM_EMAIL,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        headers=dict(headers or {}),
        status=EmailStatus.PENDING if wanted else EmailStatus.SUPPRESSED,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # A concurrent caller inserted the same key first; theirs wins.
        return OutboundEmail.objects.get(idempotency_key=idempotency_key)
    if wanted:
        _enqueue_send(row.pk)
    return row


def _enqueue_send(email_id: int) -> None:
    from csplatform.tasks import outbox_send

    def _send() -> None:
        try:
            outbox_send.delay(email_id)
        except Exception:  # broker down: the sweeper picks the row up later
            logger.exception("could not enqueue outbox email %s; the sweeper will retry", email_id)

    transaction.on_commit(_send)


class OutboxDeliveryError(Exception):
    """Sending failed; the task retries with backoff."""


def email_deliver(*, email_id: int) -> bool:
    """Send one outbox row exactly once. Returns True if this call sent it.

    The row is locked for the whole SMTP exchange, so a duplicated task waits and then finds
    it sent; a task retried after a failure finds it pending and sends it.
    """
    error = ""
    with transaction.atomic():
        row = OutboundEmail.objects.select_for_update(skip_locked=True).filter(pk=email_id).first()
        if row is None or row.status not in (EmailStatus.PENDING, EmailStatus.FAILED):
            return False
        row.attempts += 1
        message = EmailMultiAlternatives(
            subject=row.subject,
            body=row.body_text,
            from_email=row.from_email,
            to=row.to,
            headers={"X-Csplatform-Email-Id": row.idempotency_key[:200], **row.headers},
            connection=get_connection(fail_silently=False),
        )
        if row.body_html:
            message.attach_alternative(row.body_html, "text/html")
        try:
            message.send()
        except Exception as exc:
            row.status = (
                EmailStatus.FAILED
                if row.attempts >= settings.OUTBOX_MAX_ATTEMPTS
                else EmailStatus.PENDING
            )
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.save(update_fields=["attempts", "status", "last_error", "updated_at"])
            error = row.last_error
        else:
            row.status = EmailStatus.SENT
            row.sent_at = timezone.now()
            row.last_error = ""
            row.save(update_fields=["attempts", "status", "sent_at", "last_error", "updated_at"])
    # Raised after the commit so the attempt count and error survive for the retry.
    if error:
        raise OutboxDeliveryError(error)
    return True


def outbox_pending_ids(*, older_than_seconds: int) -> list[int]:
    """Pending rows whose enqueue was lost (broker down, worker crash before ack)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(
        OutboundEmail.objects.filter(status=EmailStatus.PENDING, updated_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
