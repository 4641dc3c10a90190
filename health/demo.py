"""Demo health: the starter scorecard, and a few CSM sentiments and an override.

Scores themselves follow the demo's metric backfill (health.tasks.health_after_metrics):
the starter scorecard reads what the demo signals make of each account, so declining and
churning usage patterns come out yellow and red.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from accounts.models import Account
from health.choices import Sentiment
from health.models import CsmSentiment, HealthOverride, Scorecard
from health.services.scorecards import scorecard_create_starter

PATTERN_FIELD = "demo_usage_pattern"  # written by metrics.demo
SENTIMENT_BY_PATTERN = {
    "declining": (Sentiment.AT_RISK, "Usage keeps falling since their champion left."),
    "churning": (Sentiment.AT_RISK, "They asked about the cancellation terms."),
    "healthy": (Sentiment.POSITIVE, "Happy sponsor; open to a case study."),
}


def demo_health_create(*, account_ids: list[int], seed: int, today: dt.date) -> None:
    """The starter scorecard (when there is none) and sentiments on some demo accounts."""
    if not Scorecard.objects.exists():
        scorecard_create_starter()
    rng = random.Random(seed * 31 + 7)
    accounts = list(
        Account.objects.filter(pk__in=account_ids, owner__isnull=False)
        .exclude(status="churned")
        .only("pk", "owner_id", "custom_fields")
        .order_by("pk")
    )
    sentiments = []
    for account in accounts:
        pattern = (account.custom_fields or {}).get(PATTERN_FIELD)
        if pattern not in SENTIMENT_BY_PATTERN or rng.random() > 0.3:
            continue
        value, reason = SENTIMENT_BY_PATTERN[pattern]
        sentiments.append(
            CsmSentiment(
                account_id=account.pk,
                sentiment=value,
                reason=reason,
                expires_on=today + dt.timedelta(days=rng.randint(20, 90)),
                created_by_id=account.owner_id,
            )
        )
    CsmSentiment.objects.bulk_create(sentiments, batch_size=2000, ignore_conflicts=True)
    # One override, so the panel shows what an override looks like.
    declining = next(
        (a for a in accounts if (a.custom_fields or {}).get(PATTERN_FIELD) == "declining"), None
    )
    if declining is not None:
        HealthOverride.objects.get_or_create(
            account_id=declining.pk,
            ended_at=None,
            defaults={
                "score": Decimal(35),
                "reason": "Exec sponsor told us they are evaluating a competitor.",
                "expires_on": today + dt.timedelta(days=21),
                "created_by_id": declining.owner_id,
            },
        )


def demo_seeded_receiver(
    sender: Any, *, account_ids: list[int], seed: int, today: dt.date, **kwargs: Any
) -> None:
    demo_health_create(account_ids=account_ids, seed=seed, today=today)
