"""The owner's view of an open renewal: stage, forecast, expectation, and the mitigation plan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.choices import ActivityKind, TaskKind, TaskPriority
from accounts.models import Account, Task
from accounts.services import activity_record, task_create
from csplatform.models import User
from renewals.choices import ForecastCategory, Outcome, RenewalStage
from renewals.models import FORECAST_FIELDS, Renewal
from renewals.services.closing import SOURCE, renewal_task_key


def default_probability(category: str) -> int:
    return int(settings.RENEWALS_PROBABILITY[ForecastCategory(category).value])


def renewal_update(*, renewal: Renewal, actor: User | None = None, **fields: Any) -> Renewal:
    """Change the forecast of an open renewal: stage, category, probability, expectation, notes.

    A category chosen by a person sticks (risk changes no longer move it); a new category
    without a probability takes the category's default one; a renewal moved to the
    committed stage is forecast as commit unless a category is given.
    """
    unknown = set(fields) - set(FORECAST_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    if not renewal.is_open:
        raise ValidationError(_("This renewal is closed; its forecast no longer changes."))
    if fields.get("stage") == RenewalStage.CLOSED:
        raise ValidationError({"stage": [_("Close the renewal with its outcome instead.")]})
    if "forecast_category" in fields and fields["forecast_category"] not in ForecastCategory.values:
        raise ValidationError({"forecast_category": [_("Choose a forecast category.")]})
    if fields.get("probability", 0) is None:
        del fields["probability"]
    before = (renewal.stage, renewal.forecast_category, renewal.probability)
    category_given = "forecast_category" in fields and (
        fields["forecast_category"] != renewal.forecast_category
    )
    if (
        fields.get("stage") == RenewalStage.COMMITTED
        and renewal.stage != RenewalStage.COMMITTED
        and "forecast_category" not in fields
    ):
        fields["forecast_category"] = ForecastCategory.COMMIT
        category_given = True
    probability_given = fields.get("probability") not in (None, renewal.probability)
    for name, value in fields.items():
        setattr(renewal, name, value)
    if probability_given:
        renewal.forecast_manual = True
    if category_given:
        renewal.forecast_manual = True
        if "probability" not in fields:
            renewal.probability = default_probability(renewal.forecast_category)
    if renewal.expected_outcome == Outcome.CHURNED and renewal.expected_arr is None:
        renewal.expected_arr = Decimal(0)
    with transaction.atomic():
        renewal.full_clean()
        renewal.save()
        after = (renewal.stage, renewal.forecast_category, renewal.probability)
        if after != before:
            activity_record(
                account_id=renewal.account_id,
                subject=_("Renewal of %(date)s: %(stage)s, forecast %(category)s (%(p)s %%)")
                % {
                    "date": renewal.renewal_date.isoformat(),
                    "stage": renewal.get_stage_display(),
                    "category": renewal.get_forecast_category_display(),
                    "p": renewal.probability,
                },
                kind=ActivityKind.SYSTEM,
                author=actor,
                source=SOURCE,
                metadata={"renewal_id": renewal.pk, "forecast": renewal.forecast_category},
            )
    return renewal


@dataclass(frozen=True)
class MitigationStep:
    key: str
    title: Promise
    kind: str
    due_days: int


# The standard plan for a renewal at risk: who to talk to and what to prove, in order.
MITIGATION_PLAN = (
    MitigationStep("review", gettext_lazy("Review the risk with your CS Lead"), TaskKind.REVIEW, 2),
    MitigationStep(
        "sponsor",
        gettext_lazy("Call the executive sponsor: confirm priorities and concerns"),
        TaskKind.CALL,
        7,
    ),
    MitigationStep(
        "issues",
        gettext_lazy("Resolve open escalations and blockers with support"),
        TaskKind.FOLLOW_UP,
        10,
    ),
    MitigationStep(
        "value",
        gettext_lazy("Value review: usage, ROI and goals reached so far"),
        TaskKind.MEETING,
        14,
    ),
    MitigationStep(
        "success_plan",
        gettext_lazy("Agree a success plan for the rest of the term"),
        TaskKind.FOLLOW_UP,
        21,
    ),
    MitigationStep(
        "proposal",
        gettext_lazy("Prepare the renewal proposal (counter-offer if needed)"),
        TaskKind.RENEWAL,
        30,
    ),
)


def mitigation_task_key(renewal_id: int, step: str) -> str:
    return renewal_task_key(renewal_id, f"mitigation:{step}")


def mitigation_plan_attach(
    *, renewal: Renewal, actor: User | None = None, today: dt.date | None = None
) -> list[Task]:
    """Give the owner the standard mitigation plan as tasks, due before the renewal date."""
    today = today or timezone.localdate()
    if not renewal.is_open:
        raise ValidationError(_("This renewal is closed."))
    if renewal.mitigation_started_on:
        raise ValidationError(
            _("A mitigation plan is attached since %(date)s.")
            % {"date": renewal.mitigation_started_on.isoformat()}
        )
    last_day = max(today, renewal.renewal_date - dt.timedelta(days=1))
    with transaction.atomic():
        account = Account.objects.select_related("owner").get(pk=renewal.account_id)
        tasks = [
            task_create(
                account=account,
                title=str(step.title),
                actor=actor,
                assignee=renewal.owner or account.owner,
                source=SOURCE,
                dedupe_key=mitigation_task_key(renewal.pk, step.key),
                kind=step.kind,
                priority=TaskPriority.HIGH,
                due_date=min(today + dt.timedelta(days=step.due_days), last_day),
                description=_("Mitigation plan for the renewal of %(date)s.")
                % {"date": renewal.renewal_date.isoformat()},
            )
            for step in MITIGATION_PLAN
        ]
        renewal.mitigation_started_on = today
        renewal.save(update_fields=["mitigation_started_on", "updated_at"])
        activity_record(
            account_id=renewal.account_id,
            subject=_("Risk mitigation plan attached to the renewal of %(date)s")
            % {"date": renewal.renewal_date.isoformat()},
            summary="\n".join(f"• {t.title}" for t in tasks),
            kind=ActivityKind.SYSTEM,
            author=actor,
            source=SOURCE,
            metadata={"renewal_id": renewal.pk},
        )
    return tasks
