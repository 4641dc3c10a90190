"""The cadence at work (SPEC §8): a task when an account's QBR falls due, and the quarterly
temperature-check email of quiet accounts. Both read every account's cadence in one query
and are safe to run twice at once (tasks by their dedupe key, emails by their key and the
one-per-quarter row)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.choices import TaskKind, TaskStatus
from accounts.models import Contact, Task
from accounts.services import ActivitySpec, TaskSpec, activities_add, tasks_upsert
from csplatform.choices import NotificationCategory
from csplatform.services import email_enqueue
from onboarding.services.plans import FIRST_QBR_KEY
from qbr.choices import Cadence, CadenceReason
from qbr.models import TemperatureCheck
from qbr.selectors import accounts_with_cadence
from qbr.services.qbrs import DUE_TASK_KEY, SOURCE


@dataclass(frozen=True)
class CadenceRun:
    tasks: int
    temperature_checks: int


def quarter_of(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def qbr_due_tasks(*, today: dt.date | None = None) -> int:
    """A "prepare the QBR" task for every account whose QBR falls due within
    QBR_DUE_TASK_DAYS and that has no QBR planned, nor onboarding's first-QBR task."""
    today = today or timezone.localdate()
    first_task = Task.objects.filter(
        account=OuterRef("pk"), status=TaskStatus.OPEN, dedupe_key=FIRST_QBR_KEY
    )
    due = (
        accounts_with_cadence(today=today)
        .filter(
            due_on__isnull=False, due_on__lte=today + dt.timedelta(days=settings.QBR_DUE_TASK_DAYS)
        )
        .filter(next_qbr_id__isnull=True)
        .exclude(Exists(first_task))
        .values_list("pk", "owner_id", "due_on")
    )
    specs = [
        TaskSpec(
            account_id=pk,
            title=_("Prepare the QBR due %(date)s")
            % {"date": date_format(due_on, "SHORT_DATE_FORMAT")},
            dedupe_key=DUE_TASK_KEY,
            source=SOURCE,
            description=_("Plan the meeting, prepare the deck and invite the customer."),
            kind=TaskKind.MEETING,
            due_date=max(due_on, today),
            assignee_id=owner_id,
        )
        for pk, owner_id, due_on in due
    ]
    return tasks_upsert(tasks=specs) if specs else 0


def temperature_checks_send(*, today: dt.date | None = None) -> int:
    """Quiet accounts meet twice a year; in the quarter between, their primary contact gets
    a short check-in email from the owner, once per quarter."""
    if not settings.QBR_TEMPERATURE_CHECK:
        return 0
    today = today or timezone.localdate()
    quarter = quarter_of(today)
    sent_this_quarter = TemperatureCheck.objects.filter(account=OuterRef("pk"), quarter=quarter)
    primary = Contact.objects.filter(account=OuterRef("pk"), is_primary=True).exclude(email="")
    # Half-way between two QBRs: at least a quarter since the last one, and not yet due.
    rows = list(
        accounts_with_cadence(today=today)
        .filter(cadence=Cadence.SEMIANNUAL, cadence_reason=CadenceReason.QUIET)
        .filter(due_on__gt=today)
        .filter(
            Q(last_held_on__lte=today - dt.timedelta(days=Cadence.QUARTERLY.days or 91))
            | Q(last_held_on__isnull=True)
        )
        .filter(Exists(primary))
        .exclude(Exists(sent_this_quarter))
        .select_related("owner")
    )
    if not rows:
        return 0
    contacts = {
        c.account_id: c
        for c in Contact.objects.filter(account__in=[a.pk for a in rows], is_primary=True)
        .exclude(email="")
        .order_by("account_id", "pk")
    }
    sent = 0
    entries = []
    with transaction.atomic():
        for account in rows:
            contact = contacts.get(account.pk)
            if contact is None:
                continue
            # The row claims the quarter: a second run (or two at once) sends nothing more.
            _check, created = TemperatureCheck.objects.get_or_create(
                account=account, quarter=quarter, defaults={"contact": contact}
            )
            if not created:
                continue
            owner = account.owner
            email_enqueue(
                idempotency_key=f"qbr:temperature:{account.pk}:{quarter}",
                template="qbr_temperature_check",
                context={
                    "contact_name": contact.first_name,
                    "account_name": account.name,
                    "sender": (owner.get_full_name() or owner.username) if owner else "",
                    "next_qbr_on": account.due_on,
                },
                to=[contact.email],
                category=NotificationCategory.ASSIGNMENTS,
                headers={"Reply-To": owner.email} if owner and owner.email else {},
            )
            entries.append(
                ActivitySpec(
                    account_id=account.pk,
                    subject=_("Quarterly temperature check sent to %(name)s")
                    % {"name": f"{contact.first_name} {contact.last_name}".strip()},
                    source=SOURCE,
                    metadata={"quarter": quarter},
                )
            )
            sent += 1
        activities_add(entries=entries)
    return sent


def qbr_cadence_run(*, today: dt.date | None = None) -> CadenceRun:
    return CadenceRun(
        tasks=qbr_due_tasks(today=today), temperature_checks=temperature_checks_send(today=today)
    )
