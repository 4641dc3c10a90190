"""Alerts for people: in-app notifications and the daily digest.

The digest goes to each user once a day at DIGEST_HOUR in their own time zone: the tasks
due (overdue first), their accounts that turned red in the last day, renewals within 30
days and onboarding plans that are stuck; a CS Lead's covers the whole team. It is an
outbox email keyed by user and local date, so the job (every 15 minutes) may run twice at
once or be retried without anyone getting two. A user who switched digests off gets none
(the outbox keeps the suppressed row), and an empty digest is not sent.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from accounts.choices import AccountStatus, TaskStatus
from accounts.models import Account, Task
from csplatform.choices import NotificationCategory, Role
from csplatform.models import User
from csplatform.services import email_enqueue
from health.models import HealthScore
from onboarding.choices import PlanHealth, PlanStatus
from onboarding.models import OnboardingPlan
from playbooks.models import Notification
from renewals.models import Renewal

DIGEST_LIST = 10


def notifications_create(rows: Iterable[Notification]) -> None:
    """Save notifications; one already made under the same key is left alone."""
    Notification.objects.bulk_create(list(rows), ignore_conflicts=True)


def admins() -> list[User]:
    return list(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN))
        .distinct()
        .order_by("pk")
    )


def admins_notify(*, key: str, title: str, body: str = "", link: str = "") -> None:
    """Tell every Admin (in the app, and by email when they have one)."""
    people = admins()
    notifications_create(
        Notification(
            user=u, title=title[:255], body=body, link=link, idempotency_key=f"{key}:{u.pk}"
        )
        for u in people
    )
    for user in people:
        if user.email:
            email_enqueue(
                idempotency_key=f"{key}:{user.pk}",
                template="notice",
                context={"recipient": user, "subject": title, "message": body, "link_path": link},
                to=[user.email],
                category=NotificationCategory.ALERTS,
                user=user,
            )


def notifications_for(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("account")


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_mark_read(*, user: User, ids: Iterable[int] | None = None) -> int:
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(read_at=timezone.now())


# The digest ---------------------------------------------------------------------------------


@dataclass
class Digest:
    user: User
    day: dt.date
    overdue: list[Task] = field(default_factory=list)
    due_today: list[Task] = field(default_factory=list)
    open_count: int = 0
    turned_red: list[HealthScore] = field(default_factory=list)
    renewals: list[Renewal] = field(default_factory=list)
    stuck: list[OnboardingPlan] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.overdue or self.due_today or self.turned_red or self.renewals or self.stuck
        )


def local_now(user: User, now: dt.datetime) -> dt.datetime:
    """`now` in the user's own time zone (UTC when theirs is unknown)."""
    try:
        zone = zoneinfo.ZoneInfo(user.time_zone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return now.astimezone(zone)


def digest_for(*, user: User, day: dt.date, now: dt.datetime | None = None) -> Digest:
    """What the user's digest for `day` says (a fixed number of queries)."""
    now = now or timezone.now()
    team = user.is_cs_lead_or_admin
    tasks = Task.objects.filter(status=TaskStatus.OPEN).filter(
        Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=day)
    )
    accounts = Account.objects.exclude(status=AccountStatus.CHURNED)
    if not team:
        tasks = tasks.filter(assignee=user)
        accounts = accounts.filter(owner=user)
    tasks = tasks.select_related("account")
    digest = Digest(user=user, day=day)
    digest.overdue = list(tasks.filter(due_date__lt=day).order_by("due_date", "pk")[:DIGEST_LIST])
    digest.due_today = list(tasks.filter(due_date=day).order_by("pk")[:DIGEST_LIST])
    digest.open_count = tasks.count()
    digest.turned_red = list(
        HealthScore.objects.filter(
            account__in=accounts, color="red", as_of__gte=day - dt.timedelta(days=1)
        )
        .exclude(previous_color="red")
        .exclude(previous_as_of__isnull=True)
        .select_related("account")
        .order_by("score", "account_id")[:DIGEST_LIST]
    )
    digest.renewals = list(
        Renewal.objects.filter(
            account__in=accounts,
            outcome="",
            renewal_date__gte=day,
            renewal_date__lte=day + dt.timedelta(days=30),
        )
        .select_related("account")
        .order_by("renewal_date", "pk")[:DIGEST_LIST]
    )
    digest.stuck = list(
        OnboardingPlan.objects.filter(
            account__in=accounts, status=PlanStatus.ACTIVE, health=PlanHealth.STUCK
        )
        .select_related("account")
        .order_by("health_changed_at", "pk")[:DIGEST_LIST]
    )
    return digest


def digest_send(*, user: User, day: dt.date, now: dt.datetime | None = None) -> bool:
    """Send one user's digest for `day` (once: the outbox key is user + day)."""
    if not user.email:
        return False
    digest = digest_for(user=user, day=day, now=now)
    if digest.empty:
        return False
    language = getattr(user, "language", None) or settings.LANGUAGE_CODE
    with override(language):
        email_enqueue(
            idempotency_key=f"digest:{user.pk}:{day.isoformat()}",
            template="digest",
            context={
                "recipient": user,
                "digest": digest,
                "tasks_path": reverse("accounts:tasks"),
                "day": day,
            },
            to=[user.email],
            category=NotificationCategory.DIGEST,
            user=user,
        )
    return True


def digests_send_due(
    *, now: dt.datetime | None = None, everyone: bool = False, progress: Any = None
) -> list[int]:
    """Send the digest of every user whose local time is in DIGEST_HOUR (any minute), or of
    `everyone` now (each for their own local date). `progress(done, total)` after each."""
    now = now or timezone.now()
    sent = []
    users = list(get_user_model().objects.filter(is_active=True).exclude(email="").order_by("pk"))
    for done, user in enumerate(users, start=1):
        local = local_now(user, now)
        due = everyone or local.hour == settings.DIGEST_HOUR
        if due and digest_send(user=user, day=local.date(), now=now):
            sent.append(user.pk)
        if progress is not None:
            progress(done, len(users))
    return sent
