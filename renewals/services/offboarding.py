"""Churn and offboarding: reasons, counter-offers, exit interviews and win-back (SPEC §7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import (
    AccountStatus,
    ActivityKind,
    LifecycleStage,
    SubscriptionStatus,
    TaskStatus,
)
from accounts.models import Account, Subscription, Task
from accounts.selectors import subscriptions_paying_on
from accounts.services import account_update, activity_record, task_complete
from csplatform.models import User
from renewals.choices import (
    CounterOfferStatus,
    ForecastCategory,
    Outcome,
    ReasonCode,
    WinBackStatus,
)
from renewals.models import CounterOffer, ExitInterview, Renewal
from renewals.services.closing import SOURCE, renewal_task_key


def lost_customer(prefix: str = "") -> Any:
    """A churned renewal that lost the customer: no other paid line ran on its effective day
    (a churned add-on of a customer who stays is not a lost customer)."""
    return ~Exists(
        Subscription.objects.filter(
            account_id=OuterRef(f"{prefix}account_id"),
            start_date__lte=OuterRef(f"{prefix}effective_on"),
        )
        .exclude(status=SubscriptionStatus.TRIAL)
        .exclude(mrr__lte=0)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=OuterRef(f"{prefix}effective_on")))
    )


def _record(renewal: Renewal, actor: User | None, subject: str, summary: str = "") -> None:
    activity_record(
        account_id=renewal.account_id,
        subject=subject,
        summary=summary,
        kind=ActivityKind.SYSTEM,
        author=actor,
        source=SOURCE,
        metadata={"renewal_id": renewal.pk},
    )


def _exit_task_done(renewal: Renewal, actor: User | None) -> None:
    """The "record the reason and hold the exit interview" task is done once both are."""
    if not renewal.reason or not ExitInterview.objects.filter(renewal=renewal).exists():
        return
    task = Task.objects.filter(
        account_id=renewal.account_id,
        dedupe_key=renewal_task_key(renewal.pk, "exit"),
        status=TaskStatus.OPEN,
    ).first()
    if task is not None:
        task_complete(task=task, actor=actor, outcome=_("Reason and exit interview recorded."))


# Reasons ---------------------------------------------------------------------------------


def renewal_reason_update(
    *,
    renewal: Renewal,
    actor: User | None = None,
    reason: str,
    reason_note: str = "",
    competitor: str = "",
) -> Renewal:
    """Record (or correct) why a closed renewal churned or contracted."""
    errors: dict[str, list[str]] = {}
    if renewal.outcome not in (Outcome.CHURNED, Outcome.CONTRACTED):
        raise ValidationError(_("Only a churned or contracted renewal has a churn reason."))
    if reason not in ReasonCode.values:
        errors["reason"] = [_("Choose a reason from the list.")]
    elif reason == ReasonCode.COMPETITOR and not competitor.strip():
        errors["competitor"] = [_("Name the competitor the customer moved to.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        renewal.reason = reason
        renewal.reason_note = reason_note
        renewal.competitor = competitor.strip()
        if renewal.outcome == Outcome.CHURNED:
            renewal.churn_type = ReasonCode(reason).churn_type
        renewal.save(
            update_fields=["reason", "reason_note", "competitor", "churn_type", "updated_at"]
        )
        _record(
            renewal,
            actor,
            _("Churn reason recorded: %(reason)s") % {"reason": ReasonCode(reason).label},
            "\n".join(p for p in (renewal.competitor, reason_note) if p),
        )
        _exit_task_done(renewal, actor)
    return renewal


# Counter-offers --------------------------------------------------------------------------


def counter_offer_save(
    *, offer: CounterOffer, actor: User | None = None, today: dt.date | None = None
) -> CounterOffer:
    """Make (or correct) a counter-offer on a renewal; a decided one carries its date."""
    today = today or timezone.localdate()
    created = offer.pk is None
    if offer.offered_on and offer.offered_on > today:
        raise ValidationError({"offered_on": [_("An offer is recorded once it was made.")]})
    if offer.status == CounterOfferStatus.OFFERED:
        offer.decided_on = None
    elif offer.decided_on is None:
        offer.decided_on = today
    if offer.decided_on and offer.offered_on and offer.decided_on < offer.offered_on:
        raise ValidationError({"decided_on": [_("A decision cannot come before the offer.")]})
    if created:
        offer.created_by = actor
    with transaction.atomic():
        offer.full_clean()
        offer.save()
        if created:
            _record(
                offer.renewal,
                actor,
                _("Counter-offer made: %(kind)s") % {"kind": offer.get_kind_display()},
                offer.description,
            )
    return offer


def counter_offer_decide(
    *, offer: CounterOffer, status: str, actor: User | None = None, today: dt.date | None = None
) -> CounterOffer:
    """The customer accepted or declined the offer."""
    if status not in (CounterOfferStatus.ACCEPTED, CounterOfferStatus.DECLINED):
        raise ValidationError({"status": [_("Say whether the customer accepted or declined.")]})
    if offer.status != CounterOfferStatus.OFFERED:
        raise ValidationError(_("This offer has been decided already."))
    offer.status = status
    offer.decided_on = today or timezone.localdate()
    with transaction.atomic():
        offer.save(update_fields=["status", "decided_on"])
        _record(
            offer.renewal,
            actor,
            (
                _("Counter-offer accepted: %(kind)s")
                if status == CounterOfferStatus.ACCEPTED
                else _("Counter-offer declined: %(kind)s")
            )
            % {"kind": offer.get_kind_display()},
            offer.description,
        )
    return offer


# Exit interviews -------------------------------------------------------------------------


def exit_interview_can_start(renewal: Renewal) -> bool:
    """After a churn, or before it once the owner forecasts one."""
    if renewal.is_open:
        return renewal.forecast_category == ForecastCategory.CHURN
    return renewal.outcome == Outcome.CHURNED


def exit_interview_save(
    *, interview: ExitInterview, actor: User | None = None, today: dt.date | None = None
) -> ExitInterview:
    """Record the standard exit interview; the competitor named fills the renewal's own."""
    today = today or timezone.localdate()
    renewal = interview.renewal
    errors: dict[str, list[str]] = {}
    if not exit_interview_can_start(renewal):
        raise ValidationError(
            _("An exit interview belongs to a churned renewal, or one forecast to churn.")
        )
    if interview.interviewed_on and interview.interviewed_on > today:
        errors["interviewed_on"] = [_("Record the interview once it has taken place.")]
    contact = interview.contact if interview.contact_id else None
    if contact is not None and contact.account_id != renewal.account_id:
        errors["contact"] = [_("Choose a contact of this account.")]
    for name in ("why_cancel", "used_for", "how_to_improve"):
        value = getattr(interview, name)
        setattr(interview, name, (value or "").strip())
    interview.moving_to = (interview.moving_to or "").strip()
    if renewal.reason == ReasonCode.COMPETITOR and not (interview.moving_to or renewal.competitor):
        errors["moving_to"] = [_("The customer moved to a competitor: name it.")]
    if errors:
        raise ValidationError(errors)
    created = interview.pk is None
    if created:
        interview.conducted_by = interview.conducted_by or actor
    with transaction.atomic():
        interview.full_clean()
        interview.save()
        if interview.moving_to and not renewal.competitor:
            renewal.competitor = interview.moving_to
            renewal.save(update_fields=["competitor", "updated_at"])
        if created:
            _record(
                renewal,
                actor,
                _("Exit interview recorded"),
                interview.why_cancel,
            )
        _exit_task_done(renewal, actor)
    return interview


# Win-back --------------------------------------------------------------------------------


def win_back_update(
    *,
    renewal: Renewal,
    actor: User | None = None,
    status: str,
    next_on: dt.date | None = None,
    today: dt.date | None = None,
) -> Renewal:
    """Plan (or give up) winning a churned customer back."""
    today = today or timezone.localdate()
    if renewal.outcome != Outcome.CHURNED:
        raise ValidationError(_("Only a churned customer can be won back."))
    if status not in ("", *WinBackStatus.values):
        raise ValidationError({"status": [_("Choose a win-back status.")]})
    if status == WinBackStatus.PLANNED and next_on is None:
        raise ValidationError({"next_on": [_("Say when to approach the customer again.")]})
    if next_on is not None and next_on < today and status == WinBackStatus.PLANNED:
        raise ValidationError({"next_on": [_("Choose a day from today on.")]})
    with transaction.atomic():
        renewal.win_back_status = status
        renewal.win_back_next_on = next_on if status == WinBackStatus.PLANNED else None
        if status == WinBackStatus.WON and renewal.won_back_on is None:
            renewal.won_back_on = today
        if status != WinBackStatus.WON:
            renewal.won_back_on = None
        renewal.save(
            update_fields=["win_back_status", "win_back_next_on", "won_back_on", "updated_at"]
        )
        if status:
            _record(
                renewal,
                actor,
                _("Win-back: %(status)s") % {"status": WinBackStatus(status).label},
            )
    return renewal


def churned_renewals() -> QuerySet[Renewal]:
    """Churned renewals that lost the customer (the win-back pool)."""
    return Renewal.objects.filter(outcome=Outcome.CHURNED).filter(lost_customer())


def win_backs_detect(*, today: dt.date | None = None) -> list[int]:
    """Lost customers paying again are won back (on the new line's start); a churned account
    that pays today becomes active again (one that came back and left again stays churned).
    Set-based; returns the renewals marked."""
    today = today or timezone.localdate()
    comeback = (
        Subscription.objects.filter(
            account_id=OuterRef("account_id"),
            start_date__gte=OuterRef("effective_on"),
            start_date__lte=today,
            mrr__gt=0,
        )
        .exclude(status=SubscriptionStatus.TRIAL)
        .order_by()
        .values("account_id")
        .annotate(first=Min("start_date"))
        .values("first")
    )
    with transaction.atomic():
        found = list(
            churned_renewals()
            .filter(won_back_on__isnull=True)
            .annotate(back_on=Subquery(comeback))
            .filter(back_on__isnull=False)
            .values_list("pk", "account_id")
        )
        ids = [pk for pk, _a in found]
        if not ids:
            return []
        Renewal.objects.filter(pk__in=ids).update(
            win_back_status=WinBackStatus.WON,
            won_back_on=Subquery(comeback),
            win_back_next_on=None,
            updated_at=timezone.now(),
        )
        paying_today = subscriptions_paying_on(today).values("account_id")
        for account in Account.objects.filter(
            pk__in={a for _pk, a in found}, status=AccountStatus.CHURNED
        ).filter(pk__in=paying_today):
            account_update(
                account=account,
                status=AccountStatus.ACTIVE,
                churned_at=None,
                lifecycle_stage=LifecycleStage.ONBOARDING,
            )
            activity_record(
                account_id=account.pk,
                subject=_("Account won back"),
                kind=ActivityKind.SYSTEM,
                source=SOURCE,
            )
    return ids
