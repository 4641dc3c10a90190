"""What CSMs set by hand: score overrides and sentiment, each with a reason and an expiry.

Recalculation never wipes them: the computed score is kept beside the overridden one and
takes over again the day after the override expires (or once it is removed). A sentiment
is scored by the csm_sentiment measure while it lasts. Every change, and every expiry, goes
on the account's timeline, and the account is rescored at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.choices import ActivityKind
from accounts.models import Account
from accounts.services import activity_record
from csplatform.models import User
from health.choices import Sentiment
from health.models import CsmSentiment, HealthOverride, HealthScore
from health.services.scores import SOURCE, HealthRun, health_recalculate
from metrics.models import AccountDailyMetrics
from metrics.services.engine import account_figures_refresh

# An override or sentiment lasts at most this long: a reading of an account goes stale.
MAX_DAYS = 180


def health_rescore(*, account_ids: Sequence[int]) -> HealthRun:
    """Score accounts now, on today's figures: those missing today are built first (a few
    statements); while a full recalculation holds the engine and some are still missing,
    the day they were last scored is scored again (so an override shows at once)."""
    today = timezone.now().date()
    ids = sorted(set(account_ids))
    have = set(
        AccountDailyMetrics.objects.filter(account_id__in=ids, date=today).values_list(
            "account_id", flat=True
        )
    )
    missing = [pk for pk in ids if pk not in have]
    if not missing or account_figures_refresh(account_ids=missing, day=today) >= 0:
        return health_recalculate(as_of=today, account_ids=ids)
    last = (
        HealthScore.objects.filter(account_id__in=ids)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    return health_recalculate(as_of=last or today - timedelta(days=1), account_ids=ids)


def _check_expiry(expires_on: date) -> None:
    today = timezone.now().date()
    if expires_on < today:
        raise ValidationError({"expires_on": _("The expiry date cannot be in the past.")})
    if expires_on > today + timedelta(days=MAX_DAYS):
        raise ValidationError(
            {"expires_on": _("At most %(days)d days ahead.") % {"days": MAX_DAYS}}
        )


def _check_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why: the next person to read it will ask.")})
    return reason


def override_set(
    *, account: Account, score: Decimal, reason: str, expires_on: date, actor: User | None
) -> HealthOverride:
    """Override the account's health score until `expires_on` (inclusive)."""
    reason = _check_reason(reason)
    _check_expiry(expires_on)
    if not Decimal(0) <= score <= Decimal(100):
        raise ValidationError({"score": _("A score runs from 0 to 100.")})
    with transaction.atomic():
        now = timezone.now()
        HealthOverride.objects.filter(account=account, ended_at__isnull=True).update(
            ended_at=now, end_reason="replaced"
        )
        override = HealthOverride.objects.create(
            account=account, score=score, reason=reason, expires_on=expires_on, created_by=actor
        )
        activity_record(
            account_id=account.pk,
            kind=ActivityKind.SYSTEM,
            subject=_("Health score overridden to %(score)s until %(date)s")
            % {"score": f"{score:.0f}", "date": expires_on.isoformat()},
            summary=reason,
            author=actor,
            source=SOURCE,
            metadata={"override": override.pk, "score": str(score)},
        )
        health_rescore(account_ids=[account.pk])
    return override


def override_remove(*, override: HealthOverride, actor: User | None) -> None:
    """End an override now; the computed score counts again."""
    _remove(
        HealthOverride,
        override,
        subject=_("Health override removed: the computed score counts again"),
        key="override",
        actor=actor,
    )


def sentiment_set(
    *, account: Account, sentiment: str, reason: str, expires_on: date, actor: User | None
) -> CsmSentiment:
    """Record the CSM's sentiment on the account until `expires_on` (inclusive)."""
    reason = _check_reason(reason)
    _check_expiry(expires_on)
    if sentiment not in Sentiment.values:
        raise ValidationError({"sentiment": _("Choose at risk, neutral or positive.")})
    with transaction.atomic():
        now = timezone.now()
        CsmSentiment.objects.filter(account=account, ended_at__isnull=True).update(
            ended_at=now, end_reason="replaced"
        )
        record = CsmSentiment.objects.create(
            account=account,
            sentiment=sentiment,
            reason=reason,
            expires_on=expires_on,
            created_by=actor,
        )
        activity_record(
            account_id=account.pk,
            kind=ActivityKind.SYSTEM,
            subject=_("CSM sentiment: %(sentiment)s until %(date)s")
            % {"sentiment": Sentiment(sentiment).label, "date": expires_on.isoformat()},
            summary=reason,
            author=actor,
            source=SOURCE,
            metadata={"sentiment": record.pk, "value": sentiment},
        )
        health_rescore(account_ids=[account.pk])
    return record


def sentiment_remove(*, record: CsmSentiment, actor: User | None) -> None:
    _remove(CsmSentiment, record, subject=_("CSM sentiment removed"), key="sentiment", actor=actor)


def _remove(
    model: type[HealthOverride] | type[CsmSentiment],
    record: HealthOverride | CsmSentiment,
    *,
    subject: str,
    key: str,
    actor: User | None,
) -> None:
    """End an override or a sentiment now, say so on the timeline and rescore the account;
    a second call finds it ended and does nothing."""
    with transaction.atomic():
        updated = model.objects.filter(pk=record.pk, ended_at__isnull=True).update(
            ended_at=timezone.now(), end_reason="removed"
        )
        if not updated:
            return
        activity_record(
            account_id=record.account_id,
            kind=ActivityKind.SYSTEM,
            subject=subject,
            author=actor,
            source=SOURCE,
            metadata={key: record.pk},
        )
        health_rescore(account_ids=[record.account_id])


def overrides_expire(*, today: date | None = None) -> list[int]:
    """End the overrides and sentiments whose expiry date has passed, say so on each
    account's timeline, and rescore those accounts. Safe to run twice: an ended one is
    never ended again."""
    today = today or timezone.now().date()
    now = timezone.now()
    touched: set[int] = set()
    with transaction.atomic():
        for model, subject in (
            (HealthOverride, _("Health override expired: the computed score counts again")),
            (CsmSentiment, _("CSM sentiment expired")),
        ):
            ended = list(
                model.objects.select_for_update(skip_locked=True)
                .filter(ended_at__isnull=True, expires_on__lt=today)
                .values_list("pk", "account_id")
            )
            if not ended:
                continue
            model.objects.filter(pk__in=[pk for pk, _a in ended]).update(
                ended_at=now, end_reason="expired"
            )
            _timeline_many(((a, subject, pk) for pk, a in ended), now=now)
            touched.update(a for _pk, a in ended)
        if touched:
            health_rescore(account_ids=sorted(touched))
    return sorted(touched)


def _timeline_many(rows: Iterable[tuple[int, str, int]], *, now: datetime) -> None:
    from accounts.models import Activity

    Activity.objects.bulk_create(
        [
            Activity(
                account_id=account_id,
                kind=ActivityKind.SYSTEM,
                subject=subject,
                occurred_at=now,
                source=SOURCE,
                metadata={"ended": pk},
            )
            for account_id, subject, pk in rows
        ]
    )
