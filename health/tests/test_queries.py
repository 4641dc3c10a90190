"""The editor's and the backtest's pages cost the same queries for 5 rows as for 50."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.choices import AccountStatus
from accounts.tests.factories import AccountFactory
from health.choices import VersionStatus
from health.models import HealthScore, Measure, MeasureGroup, ScorecardVersion
from health.services.scorecards import version_draft
from health.tests.factories import build_scorecard, linear
from metrics.models import AccountDailyMetrics
from onboarding.tests.test_queries import queries

pytestmark = pytest.mark.django_db

# Generous ceilings; the real guarantee is "the same for 5 as for 50".
MAX_QUERIES = 25


def same_for_5_and_50(client, url, grow, django_assert_max_num_queries):
    grow(5)
    queries(client, url)  # warm the session and content-type caches
    small = queries(client, url)
    grow(45)
    with django_assert_max_num_queries(MAX_QUERIES):
        large = queries(client, url)
    assert small == large, f"{url}: {small} queries for 5, {large} for 50"


def usage():
    return build_scorecard([("Usage", 100, [("stickiness", 100, linear(0, 100))])])


def test_scorecard_list(client_for, lead, django_assert_max_num_queries):
    def grow(n):
        for _ in range(n):
            version = build_scorecard(
                [("Usage", 100, [("stickiness", 100, linear(0, 100))])],
                is_default=False,
                tiers=["smb"],
            )
            HealthScore.objects.create(
                account=AccountFactory(), version=version, as_of=timezone.now().date()
            )
            version_draft(scorecard=version.scorecard)

    usage()
    same_for_5_and_50(
        client_for(lead), reverse("health:scorecards"), grow, django_assert_max_num_queries
    )


def test_scorecard_page_with_its_draft(client_for, lead, django_assert_max_num_queries):
    scorecard = usage().scorecard
    draft = version_draft(scorecard=scorecard)
    group = draft.groups.get()

    def grow(n):
        start = Measure.objects.filter(group=group).count()
        Measure.objects.bulk_create(
            Measure(
                group=group, kind="nps", weight=Decimal(1), position=start + i, **linear(-100, 100)
            )
            for i in range(n)
        )
        MeasureGroup.objects.bulk_create(
            MeasureGroup(version=draft, name=f"G{start + i}", weight=Decimal(0), position=9)
            for i in range(n)
        )
        number = max(v.number for v in scorecard.versions.all()) + 1
        ScorecardVersion.objects.bulk_create(
            ScorecardVersion(scorecard=scorecard, number=number + i, status=VersionStatus.ARCHIVED)
            for i in range(n)
        )

    same_for_5_and_50(
        client_for(lead),
        reverse("health:scorecard", args=[scorecard.pk]),
        grow,
        django_assert_max_num_queries,
    )


def test_preview(client_for, lead, django_assert_max_num_queries):
    scorecard = usage().scorecard
    draft = version_draft(scorecard=scorecard)
    Measure.objects.filter(group__version=draft).update(high=50)
    today = timezone.now().date()

    def grow(n):
        for i in range(n):
            account = AccountFactory()
            AccountDailyMetrics.objects.create(
                account=account, date=today, mrr=0, dau=0, wau=i % 100, mau=100, events_30d=0
            )
            HealthScore.objects.create(
                account=account, as_of=today, score=90, color="green", version=None
            )

    same_for_5_and_50(
        client_for(lead),
        reverse("health:draft_preview", args=[scorecard.pk]),
        grow,
        django_assert_max_num_queries,
    )


def test_backtest_page(client_for, vic, django_assert_max_num_queries):
    usage()
    today = timezone.now().date()

    def grow(n):
        for i in range(n):
            on = today - dt.timedelta(days=40 + i)
            account = AccountFactory(status=AccountStatus.CHURNED, churned_at=on)
            AccountDailyMetrics.objects.create(
                account=account,
                date=on - dt.timedelta(days=30),
                mrr=0,
                dau=0,
                wau=i % 100,
                mau=100,
                events_30d=0,
            )

    same_for_5_and_50(
        client_for(vic), reverse("health:backtest"), grow, django_assert_max_num_queries
    )
