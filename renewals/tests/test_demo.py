"""seed_demo's renewals: history with every outcome, open ones over the next year, and
records that agree with the subscriptions."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from accounts.choices import SubscriptionStatus
from accounts.models import Account, Subscription
from renewals.choices import Outcome
from renewals.models import CounterOffer, ExitInterview, Renewal, RenewalReminder
from renewals.services.sync import renewals_sync

pytestmark = pytest.mark.django_db


def seed(*args: str) -> None:
    call_command("seed_demo", *args, "--no-progress", stdout=StringIO(), stderr=StringIO())


def signature() -> list[tuple]:
    return sorted(
        Renewal.objects.values_list(
            "account__external_id",
            "subscription__product",
            "renewal_date",
            "mrr",
            "outcome",
            "outcome_mrr",
            "forecast_category",
            "probability",
            "stage",
            "reason",
            "competitor",
            "win_back_status",
        )
    )


def test_the_demo_book_has_a_year_of_outcomes_and_a_year_of_open_renewals():
    seed("--accounts", "150", "--seed", "5")
    today = timezone.localdate()

    outcomes = Counter(Renewal.objects.exclude(outcome="").values_list("outcome", flat=True))
    assert set(outcomes) == set(Outcome.values)
    assert outcomes[Outcome.RENEWED] > outcomes[Outcome.CONTRACTED]
    recent = Renewal.objects.exclude(outcome="").filter(
        effective_on__gte=today - dt.timedelta(days=365)
    )
    assert recent.dates("effective_on", "month").count() >= 10  # history in most months
    open_ = Renewal.objects.filter(outcome="")
    months = {d.replace(day=1) for d in open_.values_list("renewal_date", flat=True)}
    assert len(months) >= 11 and max(months) <= today + dt.timedelta(days=400)
    assert set(open_.values_list("forecast_category", flat=True)) == {
        "commit",
        "probable",
        "at_risk",
        "churn",
    }
    churned = Renewal.objects.filter(outcome=Outcome.CHURNED)
    assert not churned.filter(reason="").exists()
    assert set(churned.values_list("churn_type", flat=True)) == {"voluntary", "involuntary"}
    assert ExitInterview.objects.exists() and CounterOffer.objects.exists()
    assert churned.filter(win_back_status="won").exists()
    # The reminders already due are recorded, so the first run does not send them all.
    assert not RenewalReminder.objects.filter(processed_at__isnull=True).exists()


def test_every_closed_renewal_agrees_with_the_subscriptions():
    seed("--accounts", "120", "--seed", "9")

    for r in Renewal.objects.exclude(outcome="").select_related("subscription", "successor"):
        assert r.renewal_date == r.subscription.end_date
        if r.outcome == Outcome.CHURNED:
            assert r.successor is None and r.outcome_mrr == 0
            assert r.subscription.status in (
                SubscriptionStatus.CANCELLED,
                SubscriptionStatus.EXPIRED,
            )
        else:
            assert r.successor.start_date == r.effective_on
            assert r.outcome_mrr == r.successor.mrr
    # Every active paid line with an end date has its open renewal; the roll-forward agrees.
    active = Subscription.objects.filter(
        status=SubscriptionStatus.ACTIVE, end_date__gte=timezone.localdate(), mrr__gt=0
    )
    assert active.count() == Renewal.objects.filter(outcome="", subscription__in=active).count()
    result = renewals_sync()
    assert (result.created, result.closed, result.removed) == (0, [], 0)
    one_open = Renewal.objects.filter(outcome="").values("subscription").annotate(n=Count("pk"))
    assert not one_open.filter(n__gt=1).exists()


def test_the_same_seed_gives_the_same_renewals():
    seed("--accounts", "60", "--seed", "3")
    first = signature()
    Account.objects.all().delete()
    seed("--accounts", "60", "--seed", "3")
    assert signature() == first and len(first) > 60
