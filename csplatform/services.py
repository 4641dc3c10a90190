"""Writes of the platform core: users and roles, API keys, the email outbox."""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template import Context
from django.template.loader import get_template, render_to_string
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
    # The role is read from permissions: forget what this object had cached of both.
    for cached in ("role", "_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cached, None)
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


def secret_token_new(*, prefix: str = "") -> tuple[str, str]:
    """A random URL-safe token and the hash to store instead of it (links, keys).

    Only the hash is kept, so a copy of the database cannot be used to follow a link or
    call the API; the raw token is shown or sent once by the caller.
    """
    raw = prefix + secrets.token_urlsafe(32)
    return raw, api_key_hash(raw)


def api_key_create(*, user: User, name: str) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is never stored."""
    raw, hashed = secret_token_new(prefix=API_KEY_PREFIX)
    key = ApiKey.objects.create(user=user, name=name, prefix=raw[:12], hashed_key=hashed)
    return key, raw


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


# Email outbox --------------------------------------------------------------------------
#
# Every email is a row first (inserted in the caller's transaction, so an email exists if
# and only if the change that caused it was committed), and a Celery task second (queued
# by transaction.on_commit). The row's unique idempotency key makes a repeated call a
# no-op; the row lock held across the SMTP exchange makes a duplicated task a no-op; the
# sweeper re-queues rows whose task never arrived (broker down when the caller committed).


def _render_email(
    template: str, context: Mapping[str, Any], language: str | None
) -> tuple[str, str, str]:
    """Render (subject, text body, HTML body) from templates/emails/<template>*.

    The HTML part is autoescaped as usual. The text part and the subject are not HTML, so
    they are rendered with autoescaping off: a customer called "A & B" must not arrive as
    "A &amp; B" in the plain-text part.
    """
    ctx = {"site_url": settings.SITE_URL, "company_name": settings.COMPANY_NAME, **context}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = _render_plain(f"emails/{template}_subject.txt", ctx)
        body_text = _render_plain(f"emails/{template}.txt", ctx)
        body_html = render_to_string(f"emails/{template}.html", ctx)
    # A header must be one line; templates may wrap for readability.
    return " ".join(subject.split()), body_text, body_html


def _render_plain(name: str, ctx: dict[str, Any]) -> str:
    template = get_template(name)
    return template.template.render(Context(ctx, autoescape=False))  # type: ignore[attr-defined]


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
    """Record an email in the outbox and send it after the caller's transaction commits.

    `template` names three files under templates/emails/: <name>_subject.txt, <name>.txt
    and <name>.html; they receive `site_url` and `company_name` besides `context`, so every
    email can link back to the platform. Calling twice with the same key returns the first
    row unchanged and sends nothing more. When `user` has switched `category` off the row is
    kept with status "suppressed" (so the key stays used) and nothing is sent; security
    emails are always sent.
    """
    if not to:
        raise ValueError("email_enqueue needs at least one recipient")
    category = NotificationCategory(category)
    existing = OutboundEmail.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    subject, body_text, body_html = _render_email(template, context, language)
    wanted = user is None or user.wants_email(category)
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
        # A savepoint, so that losing the race below leaves the caller's transaction usable.
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # A concurrent caller inserted the same key first; theirs wins and sends.
        return OutboundEmail.objects.get(idempotency_key=idempotency_key)
    if wanted:
        _enqueue_send(row.pk)
    return row


def email_retry(*, email: OutboundEmail) -> OutboundEmail:
    """Give a failed email a fresh set of attempts (operators use it from the admin)."""
    updated = OutboundEmail.objects.filter(pk=email.pk, status=EmailStatus.FAILED).update(
        status=EmailStatus.PENDING, attempts=0, updated_at=timezone.now()
    )
    if updated:
        _enqueue_send(email.pk)
    email.refresh_from_db()
    return email


def _enqueue_send(email_id: int) -> None:
    from csplatform.tasks import outbox_send

    def _send() -> None:
        try:
            outbox_send.delay(email_id)
        except Exception:
            # The broker is unreachable. The row is committed and pending, so the sweeper
            # sends it later; the caller's request must not fail because of it.
            logger.exception("could not enqueue outbox email %s; the sweeper will retry", email_id)

    transaction.on_commit(_send)


class OutboxDeliveryError(Exception):
    """Sending failed for a reason that may go away; the task retries with backoff."""


class OutboxBusy(OutboxDeliveryError):
    """The row is locked by another delivery; the task looks again after a backoff."""


def _is_permanent(exc: BaseException) -> bool:
    """Would sending the same message again fail the same way (a 5xx, a malformed message)?"""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, ValueError)  # BadHeaderError and bad addresses


def _build_message(row: OutboundEmail) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=row.from_email,
        to=row.to,
        headers={"X-Csplatform-Email-Id": row.idempotency_key[:200], **row.headers},
    )
    if row.body_html:
        message.attach_alternative(row.body_html, "text/html")
    message.message()  # raises now, not mid-conversation, on a header that cannot be sent
    return message


def email_deliver(*, email_id: int) -> bool:
    """Send one outbox row at most once. Returns True if this call sent it.

    The row is claimed with SELECT … FOR UPDATE SKIP LOCKED and stays locked for the whole
    SMTP exchange, so a duplicated task (a retry racing a redelivery, the sweeper racing a
    slow worker) finds the row locked and retries later (OutboxBusy), by which time the row
    is sent, or free again because its holder died. Rows that are sent, failed or
    suppressed are never sent again.

    A failure that may go away (connection refused, timeout, 4xx) increments `attempts`,
    records `last_error`, commits, and raises OutboxDeliveryError so that Celery retries
    with exponential backoff; at OUTBOX_MAX_ATTEMPTS, or on a permanent failure (5xx, a
    message that cannot be built), the row becomes "failed" and nothing is raised.

    The crash window. SMTP has no two-phase commit, so one window remains in which a
    crash duplicates an email: after the server has answered 250 to DATA and before the
    "sent" UPDATE commits. If the worker dies there (kill -9, power loss, the database
    connection drops), the row rolls back to pending and the redelivered task (acks_late +
    reject_on_worker_lost) or the sweeper sends it again. The window is kept as short as
    possible: the message is built and the connection opened before the send, nothing but
    one UPDATE and the COMMIT follow the 250, and QUIT happens after the commit (a failing
    QUIT must not turn a delivered email into a "failure" that is retried). A crash at any
    other moment loses nothing and duplicates nothing: before the 250 the server has not
    taken the message, after the COMMIT the row says "sent".
    """
    connection = get_connection(fail_silently=False)
    error = ""
    sent = False
    try:
        with transaction.atomic():
            row = (
                OutboundEmail.objects.select_for_update(skip_locked=True)
                .filter(pk=email_id, status=EmailStatus.PENDING)
                .first()
            )
            if row is None:
                if OutboundEmail.objects.filter(pk=email_id, status=EmailStatus.PENDING).exists():
                    # Locked: another worker is sending it, or one that died still holds
                    # the lock until PostgreSQL notices. Look again later rather than
                    # trust the holder to finish; by then it is sent or free.
                    raise OutboxBusy(f"outbox email {email_id} is being sent by another worker")
                return False  # sent, failed, suppressed or deleted
            row.attempts += 1
            try:
                message = _build_message(row)
                connection.open()
                # The connection is already open, so send_messages does not QUIT it.
                if connection.send_messages([message]) != 1:
                    raise ValueError("the message has no recipients")
            except Exception as exc:
                permanent = _is_permanent(exc)
                row.status = (
                    EmailStatus.FAILED
                    if permanent or row.attempts >= settings.OUTBOX_MAX_ATTEMPTS
                    else EmailStatus.PENDING
                )
                row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                row.save(update_fields=["attempts", "status", "last_error", "updated_at"])
                logger.warning(
                    "outbox email %s attempt %s failed (%s): %s",
                    row.pk,
                    row.attempts,
                    row.status,
                    row.last_error,
                )
                if row.status == EmailStatus.PENDING:
                    error = row.last_error
            else:
                # The crash window starts here: keep only the UPDATE and COMMIT in it.
                row.status = EmailStatus.SENT
                row.sent_at = timezone.now()
                row.last_error = ""
                row.save(
                    update_fields=["attempts", "status", "sent_at", "last_error", "updated_at"]
                )
                sent = True
    finally:
        try:
            connection.close()
        except Exception:  # the message is delivered or recorded as failed; QUIT is moot
            logger.info("closing the SMTP connection failed", exc_info=True)
    # Raised after the commit so that the attempt count and the error survive the retry.
    if error:
        raise OutboxDeliveryError(error)
    return sent


def outbox_claim_stale(*, older_than_seconds: int, limit: int = 1000) -> list[int]:
    """Claim pending rows untouched for `older_than_seconds` and return their ids.

    These are emails whose task was lost: the broker was down when the caller committed,
    or a worker died and the broker will not redeliver before its visibility timeout.
    Claiming bumps `updated_at`, so two sweepers running at once, or the next sweep, do not
    queue the same row again; a row being sent right now is locked and skipped.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    with transaction.atomic():
        ids = list(
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(status=EmailStatus.PENDING, updated_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        OutboundEmail.objects.filter(pk__in=ids).update(updated_at=timezone.now())
    return ids
