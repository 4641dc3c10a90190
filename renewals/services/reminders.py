"""Reminders before the renewal date and the cancellation deadline, and the contact cadence.

Reminders (SPEC §7): at each lead time of RENEWALS_REMINDER_DAYS before the renewal date
and of RENEWALS_NOTICE_REMINDER_DAYS before the notice deadline, the owner gets a task and
an email. A renewal whose date is 45 days away is in the 60-day window: it gets that
reminder, never the 120- and 90-day ones late. Each reminder is first claimed as a
RenewalReminder row, unique per renewal, kind, lead time and date (INSERT … ON CONFLICT DO
NOTHING), then processed under SELECT … FOR UPDATE SKIP LOCKED; the task is deduplicated
per renewal and kind (the 90-day reminder updates the open 120-day task) and the email has
an idempotency key. So a job that runs twice, or twice at once, reminds once.

Cadence: from RENEWALS_CADENCE_START_DAYS before the renewal date, an account nobody
called, met or emailed for RENEWALS_CADENCE_DAYS (RENEWALS_CADENCE_FINAL_DAYS in the last
RENEWALS_CADENCE_FINAL_WINDOW_DAYS) gets a check-in task; one open at a time per account.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import ActivityKind, TaskKind, TaskPriority, TaskStatus
from accounts.models import Activity, Task
from accounts.services import task_create
from csplatform.choices import NotificationCategory
from csplatform.services import email_enqueue
from csplatform.signals import announce_on_commit
from renewals import signals
from renewals.choices import ReminderKind, RiskFlag
from renewals.models import Renewal, RenewalReminder
from renewals.services.closing import CADENCE_KEY, SOURCE, renewal_task_key

BATCH = 200
# What counts as being in touch with a customer.
TOUCH_KINDS = (ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL, ActivityKind.QBR)


def _lead_times() -> dict[str, list[int]]:
    return {
        ReminderKind.RENEWAL: sorted(set(settings.RENEWALS_REMINDER_DAYS)),
        ReminderKind.NOTICE: sorted(set(settings.RENEWALS_NOTICE_REMINDER_DAYS)),
    }


def renewal_reminders_claim(*, today: dt.date) -> int:
    """Insert the reminders due today (one window per kind and lead time); returns how many
    rows were new or already there unprocessed."""
    created = 0
    for kind, leads in _lead_times().items():
        field = "renewal_date" if kind == ReminderKind.RENEWAL else "notice_deadline"
        previous = 0
        for lead in leads:
            sent = RenewalReminder.objects.filter(
                renewal_id=OuterRef("pk"), kind=kind, lead_days=lead, target_date=OuterRef(field)
            )
            due = (
                Renewal.objects.filter(
                    outcome="",
                    **{
                        f"{field}__gt": today + dt.timedelta(days=previous),
                        f"{field}__lte": today + dt.timedelta(days=lead),
                    },
                )
                .filter(~Exists(sent))
                .values_list("pk", field)
            )
            rows = [
                RenewalReminder(renewal_id=pk, kind=kind, lead_days=lead, target_date=target)
                for pk, target in due.iterator(chunk_size=2000)
            ]
            RenewalReminder.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
            created += len(rows)
            previous = lead
    return created


def _email(reminder: RenewalReminder, renewal: Renewal, days: int) -> int | None:
    owner = renewal.owner
    if owner is None or not owner.email:
        return None
    risks = [str(RiskFlag(k).label) for k in renewal.risk_reasons]
    row = email_enqueue(
        idempotency_key=f"renewals:reminder:{reminder.pk}",
        template="renewal_reminder",
        context={
            "owner_name": owner.first_name or owner.username,
            "account_name": renewal.account.name,
            "kind": reminder.kind,
            "days": days,
            "target_date": reminder.target_date,
            "arr": f"{renewal.arr:,.2f} {renewal.currency}",
            "forecast": renewal.get_forecast_category_display(),
            "probability": renewal.probability,
            "risks": risks,
            "path": renewal.get_absolute_url(),
        },
        to=[owner.email],
        category=NotificationCategory.REMINDERS,
        user=owner,
    )
    return row.pk


def _task_title(reminder: RenewalReminder, renewal: Renewal, days: int) -> str:
    if reminder.kind == ReminderKind.NOTICE:
        return _("Cancellation deadline in %(n)s days: %(account)s (%(date)s)") % {
            "n": days,
            "account": renewal.account.name,
            "date": reminder.target_date.isoformat(),
        }
    return _("Renewal in %(n)s days: %(account)s, %(arr)s %(currency)s ARR") % {
        "n": days,
        "account": renewal.account.name,
        "arr": f"{renewal.arr:,.0f}",
        "currency": renewal.currency,
    }


def renewal_reminders_process(*, today: dt.date, limit: int = BATCH) -> list[int]:
    """Turn up to `limit` claimed reminders into a task and an email; returns their ids."""
    done: list[int] = []
    due: list[tuple[int, int, str, int]] = []
    with transaction.atomic():
        claimed = list(
            RenewalReminder.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(processed_at__isnull=True)
            .select_related("renewal__account__owner", "renewal__owner")
            .order_by("pk")[:limit]
        )
        now = timezone.now()
        for reminder in claimed:
            renewal = reminder.renewal
            reminder.processed_at = now
            if renewal.is_open:
                days = max(0, (reminder.target_date - today).days)
                task = task_create(
                    account=renewal.account,
                    title=_task_title(reminder, renewal, days),
                    assignee=renewal.owner or renewal.account.owner,
                    source=SOURCE,
                    dedupe_key=renewal_task_key(renewal.pk, f"reminder:{reminder.kind}"),
                    kind=TaskKind.RENEWAL,
                    priority=TaskPriority.HIGH if renewal.at_risk else TaskPriority.NORMAL,
                    due_date=today,
                    description=_("Open the renewal: %(url)s")
                    % {"url": settings.SITE_URL + renewal.get_absolute_url()},
                )
                reminder.task = task
                reminder.email_id = _email(reminder, renewal, days)
                due.append((renewal.pk, renewal.account_id, reminder.kind, reminder.lead_days))
            reminder.save(update_fields=["processed_at", "task", "email"])
            done.append(reminder.pk)
        if due:
            announce_on_commit(signals.renewal_reminders_due, reminders=due)
    return done


def renewal_reminders_send(*, today: dt.date | None = None) -> list[int]:
    """Claim today's reminders and process every claimed one, in batches."""
    today = today or timezone.localdate()
    renewal_reminders_claim(today=today)
    processed: list[int] = []
    while True:
        batch = renewal_reminders_process(today=today)
        processed += batch
        if len(batch) < BATCH:
            return processed


def renewal_cadence_tasks(*, today: dt.date | None = None) -> int:
    """Check-in tasks for accounts with a renewal coming up and nobody in touch lately.

    Two statements (one per cadence), whatever the number of renewals; the partial unique
    index on open tasks keeps one open check-in per account even when two runs overlap.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    final_from = today + dt.timedelta(days=settings.RENEWALS_CADENCE_FINAL_WINDOW_DAYS)
    windows = (
        (
            Q(renewal_date__gt=final_from),
            settings.RENEWALS_CADENCE_DAYS,
        ),
        (
            Q(renewal_date__gte=today, renewal_date__lte=final_from),
            settings.RENEWALS_CADENCE_FINAL_DAYS,
        ),
    )
    created = 0
    horizon = today + dt.timedelta(days=settings.RENEWALS_CADENCE_START_DAYS)
    for window, every in windows:
        since = now - dt.timedelta(days=every)
        touched = Activity.objects.filter(
            account_id=OuterRef("account_id"), kind__in=TOUCH_KINDS, occurred_at__gte=since
        )
        checked_in = Task.objects.filter(
            account_id=OuterRef("account_id"), dedupe_key=CADENCE_KEY, completed_at__gte=since
        )
        open_task = Task.objects.filter(
            account_id=OuterRef("account_id"), dedupe_key=CADENCE_KEY, status=TaskStatus.OPEN
        )
        due = (
            Renewal.objects.filter(window, outcome="", renewal_date__lte=horizon)
            .filter(~Exists(touched), ~Exists(checked_in), ~Exists(open_task))
            .order_by("account_id", "renewal_date")
            .values_list(
                "account_id", "account__name", "owner_id", "account__owner_id", "renewal_date"
            )
        )
        tasks: dict[int, Task] = {}
        for account_id, name, owner_id, account_owner_id, renewal_date in due:
            if account_id in tasks:
                continue  # the soonest renewal of the account speaks for it
            tasks[account_id] = Task(
                account_id=account_id,
                title=_("Renewal check-in with %(account)s (renews %(date)s)")
                % {"account": name, "date": renewal_date.isoformat()},
                kind=TaskKind.CALL,
                due_date=today,
                assignee_id=owner_id or account_owner_id,
                source=SOURCE,
                dedupe_key=CADENCE_KEY,
                description=_(
                    "Nobody has called, met or emailed this customer for %(n)s days and "
                    "their renewal is coming up."
                )
                % {"n": every},
            )
        Task.objects.bulk_create(list(tasks.values()), batch_size=1000, ignore_conflicts=True)
        created += len(tasks)
    return created
