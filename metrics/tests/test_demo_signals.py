"""seed_demo's signals: usage, tickets, surveys and contract changes that tell the truth."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from accounts.choices import AccountStatus, SubscriptionStatus
from accounts.demo import demo_seeded
from accounts.models import Account, Subscription
from accounts.tests.factories import receivers_kept
from metrics.choices import SurveyKind, TicketPriority
from metrics.demo import (
    CHURNING,
    DECLINING,
    FULL_DAYS,
    HEALTHY,
    PATTERN_FIELD,
    REACTIVATED,
    SHORT_DAYS,
    demo_scale,
    demo_signals_create,
)
from metrics.models import (
    AccountDailyUsage,
    AccountFeatureDailyUsage,
    EndUser,
    EndUserDailyActivity,
    EndUserFeatureDaily,
    Event,
    Feature,
    FeatureEvent,
    SurveyResponse,
    SurveySchedule,
    Ticket,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> None:
    call_command("seed_demo", *args, "--no-progress", stdout=StringIO(), stderr=StringIO())


def patterns() -> dict[int, str]:
    return {a.pk: a.custom_fields.get(PATTERN_FIELD) for a in Account.objects.all()}


def window(account_id: int, newest_ago: int, oldest_ago: int) -> dict:
    today = timezone.localdate()
    return AccountDailyUsage.objects.filter(
        account_id=account_id,
        date__gte=today - dt.timedelta(days=oldest_ago),
        date__lte=today - dt.timedelta(days=newest_ago),
    ).aggregate(user_days=Sum("active_users"), events=Sum("events"))


def distinct_users(account_ids, newest_ago: int, oldest_ago: int) -> int:
    today = timezone.localdate()
    return (
        EndUserDailyActivity.objects.filter(
            account_id__in=account_ids,
            date__gte=today - dt.timedelta(days=oldest_ago),
            date__lte=today - dt.timedelta(days=newest_ago),
        )
        .values("end_user_id")
        .distinct()
        .count()
    )


def totals() -> dict:
    by_account = {
        row["account__external_id"]: (row["events"], row["users"], row["core"])
        for row in AccountDailyUsage.objects.values("account__external_id").annotate(
            events=Sum("events"), users=Sum("active_users"), core=Sum("core_events")
        )
    }
    features = sorted(
        AccountFeatureDailyUsage.objects.values_list("account__external_id", "feature__key")
        .annotate(events=Sum("events"), users=Sum("users"))
        .order_by()
    )
    return {
        "usage": by_account,
        "features": features,
        # Dates, not times: times on the run's day are capped at the moment of the run.
        "end_users": sorted(
            (u.external_id, u.email, u.last_seen_at.date()) for u in EndUser.objects.all()
        ),
        "tickets": sorted(
            (t.account.external_id, t.priority, t.status, t.opened_at.date())
            for t in Ticket.objects.select_related("account")
        ),
        "responses": sorted(
            SurveyResponse.objects.values_list("account__external_id", "kind", "score")
        ),
        "patterns": sorted(
            (a.external_id, a.custom_fields[PATTERN_FIELD], a.status, a.mrr)
            for a in Account.objects.all()
        ),
    }


def test_the_same_seed_gives_the_same_rollup_totals():
    seed("--accounts", "30", "--seed", "7")
    first = totals()
    assert first["usage"] and first["tickets"] and first["responses"]
    Account.objects.all().delete()
    seed("--accounts", "30", "--seed", "7")
    assert totals() == first
    Account.objects.all().delete()
    seed("--accounts", "30", "--seed", "8")
    assert totals()["usage"] != first["usage"]


def test_account_rollups_equal_the_aggregates_of_the_user_rows():
    seed("--accounts", "30")
    expected = {
        (r["account_id"], r["date"]): (r["events"], r["core"], r["users"])
        for r in EndUserDailyActivity.objects.values("account_id", "date").annotate(
            events=Sum("events"), core=Sum("core_events"), users=Count("end_user_id", distinct=True)
        )
    }
    actual = {
        (r.account_id, r.date): (r.events, r.core_events, r.active_users)
        for r in AccountDailyUsage.objects.all()
    }
    assert actual == expected and len(actual) > 1000
    expected_features = {
        (r["account_id"], r["feature_id"], r["date"]): (r["events"], r["users"])
        for r in EndUserFeatureDaily.objects.values("account_id", "feature_id", "date").annotate(
            events=Sum("events"), users=Count("end_user_id", distinct=True)
        )
    }
    actual_features = {
        (r.account_id, r.feature_id, r.date): (r.events, r.users)
        for r in AccountFeatureDailyUsage.objects.all()
    }
    assert actual_features == expected_features and len(actual_features) > 1000
    # A user's day counts at least the events of the features used that day, core ones apart.
    per_day = defaultdict(int)
    for end_user_id, day, events in EndUserFeatureDaily.objects.values_list(
        "end_user_id", "date", "events"
    ):
        per_day[end_user_id, day] += events
    for row in EndUserDailyActivity.objects.all()[:2000]:
        assert row.events >= per_day[row.end_user_id, row.date] >= row.core_events


def test_raw_events_of_the_last_two_days_are_the_events_counted_in_the_rollups():
    seed("--accounts", "30")
    today = timezone.localdate()
    counted = Counter(
        {
            (r.end_user_id, r.date): r.events
            for r in EndUserDailyActivity.objects.filter(
                date__gte=today - dt.timedelta(days=1),
                account_id__in=Event.objects.values("account_id"),
            )
        }
    )
    raw = Counter((e.end_user_id, e.timestamp.date()) for e in Event.objects.all())
    assert raw and raw == counted
    assert Event.objects.values("message_id").distinct().count() == Event.objects.count()
    mapped = set(FeatureEvent.objects.values_list("event_name", flat=True))
    assert set(Event.objects.values_list("name", flat=True)) - mapped == {"signed_in"}


def test_declining_accounts_use_less_in_the_last_30_days_than_60_to_90_days_ago():
    seed("--accounts", "40")
    declining = [pk for pk, p in patterns().items() if p == DECLINING]
    assert declining
    for account_id in declining:
        recent, earlier = window(account_id, 0, 29), window(account_id, 60, 89)
        assert recent["user_days"] < earlier["user_days"] * 0.8
        assert recent["events"] < earlier["events"] * 0.8
    assert distinct_users(declining, 0, 29) < distinct_users(declining, 60, 89) * 0.8
    healthy = [pk for pk, p in patterns().items() if p == HEALTHY]
    assert distinct_users(healthy, 0, 29) >= distinct_users(healthy, 60, 89) * 0.9


def test_churned_accounts_have_near_zero_recent_activity():
    seed("--accounts", "60")
    today = timezone.localdate()
    churned = Account.objects.filter(status=AccountStatus.CHURNED)
    assert churned.exists()
    assert set(churned.values_list("custom_fields__" + PATTERN_FIELD, flat=True)) == {CHURNING}
    had_usage_before = 0
    for account in churned:
        usage = AccountDailyUsage.objects.filter(account=account)
        days_after = (today - account.churned_at).days
        after = usage.filter(date__gt=account.churned_at).aggregate(n=Sum("active_users"))["n"]
        # One user lingers at a trickle: about one active day a month, never more.
        assert (after or 0) <= 2 + days_after / 15, account.name
        before = usage.filter(
            date__lt=account.churned_at - dt.timedelta(days=30),
            date__gte=account.churned_at - dt.timedelta(days=60),
        ).aggregate(n=Sum("active_users"))["n"]
        if before:
            had_usage_before += 1
            assert (after or 0) / max(1, days_after) < 0.1 * before / 30
    assert had_usage_before >= 1


def test_tickets_and_nps_skew_worse_for_declining_accounts():
    seed("--accounts", "80")
    by_pattern = defaultdict(list)
    for pk, pattern in patterns().items():
        by_pattern[pattern].append(pk)
    since = timezone.now() - dt.timedelta(days=45)

    def tickets_per_account(pattern: str) -> float:
        ids = by_pattern[pattern]
        return Ticket.objects.filter(account_id__in=ids, opened_at__gte=since).count() / len(ids)

    def urgent_share(pattern: str) -> float:
        qs = Ticket.objects.filter(account_id__in=by_pattern[pattern])
        urgent = qs.filter(priority__in=[TicketPriority.P1, TicketPriority.P2]).count()
        return urgent / max(1, qs.count())

    def nps(pattern: str, days: int) -> float:
        scores = list(
            SurveyResponse.objects.filter(
                account_id__in=by_pattern[pattern],
                kind=SurveyKind.NPS,
                responded_at__gte=timezone.now() - dt.timedelta(days=days),
            ).values_list("score", flat=True)
        )
        assert scores
        promoters = sum(s >= 9 for s in scores)
        detractors = sum(s <= 6 for s in scores)
        return 100 * (promoters - detractors) / len(scores)

    assert tickets_per_account(DECLINING) > tickets_per_account(HEALTHY) * 1.5
    assert urgent_share(DECLINING) > urgent_share(HEALTHY)
    assert nps(DECLINING, 75) < nps(HEALTHY, 365) - 30
    assert nps(HEALTHY, 365) > 20
    csat = SurveyResponse.objects.filter(kind=SurveyKind.CSAT)
    assert csat.exists() and SurveyResponse.objects.filter(kind=SurveyKind.CES).exists()
    # Answers carry the stage the account was in and never come from the future.
    assert not SurveyResponse.objects.filter(lifecycle_stage="").exists()
    assert not SurveyResponse.objects.filter(responded_at__gt=timezone.now()).exists()
    assert not Ticket.objects.filter(first_response_at__lt=F("opened_at")).exists()
    assert Ticket.objects.filter(status__in=["open", "pending"], resolved_at__isnull=True).exists()


def test_features_exist_with_event_mappings_plans_and_release_dates():
    seed("--accounts", "30")
    today = timezone.localdate()
    features = list(Feature.objects.annotate(n=Count("events")))
    assert len(features) >= 10
    assert all(f.n >= 1 for f in features)
    assert any(f.is_core for f in features) and not all(f.is_core for f in features)
    assert any(f.is_key for f in features)
    recent = [f for f in features if f.release_date >= today - dt.timedelta(days=60)]
    assert len(recent) >= 2
    sso = Feature.objects.get(key="sso")
    assert sso.plans == ["Enterprise"]
    # Nobody uses a feature their plan lacks, nor one before it was released.
    plans = defaultdict(set)
    for account_id, plan in Subscription.objects.filter(product="Platform").values_list(
        "account_id", "plan_name"
    ):
        plans[account_id].add(plan)
    for f in features:
        used = EndUserFeatureDaily.objects.filter(feature=f)
        assert not used.filter(date__lt=f.release_date).exists()
        if f.plans:
            for account_id in used.values_list("account_id", flat=True).distinct():
                assert plans[account_id] & set(f.plans)
    assert SurveySchedule.objects.filter(
        kind=SurveyKind.NPS, first_after_days=90, repeat_every_days=182, quiet_period_days=60
    ).exists()
    seed("--accounts", "5")
    assert Feature.objects.count() == len(features)
    assert SurveySchedule.objects.count() == 1


def test_subscription_changes_exist_and_mrr_is_the_sum_of_active_subscriptions():
    seed("--accounts", "30")
    today = timezone.localdate()
    subs = defaultdict(list)
    for sub in Subscription.objects.order_by("start_date", "pk"):
        subs[sub.account_id].append(sub)

    def changed(more: bool) -> bool:
        for lines in subs.values():
            for old in lines:
                for new in lines:
                    if (
                        old.status == SubscriptionStatus.EXPIRED
                        and new.status == SubscriptionStatus.ACTIVE
                        and old.product == new.product
                        and old.end_date == new.start_date - dt.timedelta(days=1)
                        and new.start_date >= today - dt.timedelta(days=366)
                        and (new.quantity > old.quantity if more else new.quantity < old.quantity)
                    ):
                        return True
        return False

    assert changed(more=True), "an upgrade"
    assert changed(more=False), "a downgrade"
    cancelled = Account.objects.filter(
        status=AccountStatus.CHURNED,
        churned_at__gte=today - dt.timedelta(days=365),
        subscriptions__status=SubscriptionStatus.CANCELLED,
        subscriptions__end_date__lt=today,
    ).distinct()
    assert cancelled.exists(), "a cancellation"
    for account in cancelled:
        assert account.mrr == 0 and account.renewal_date is None
    reactivated = [pk for pk, p in patterns().items() if p == REACTIVATED]
    assert reactivated, "a reactivation"
    for pk in reactivated:
        account = Account.objects.get(pk=pk)
        assert account.status == AccountStatus.ACTIVE and account.mrr > 0
        lines = subs[pk]
        new = lines[-1]
        assert new.status == SubscriptionStatus.ACTIVE
        assert any(old.end_date < new.start_date for old in lines[:-1])
    active = Subscription.objects.filter(
        status=SubscriptionStatus.ACTIVE, start_date__lte=today
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    expected: dict[int, Decimal] = defaultdict(Decimal)
    for account_id, mrr in active.values_list("account_id", "mrr"):
        expected[account_id] += mrr
    for account in Account.objects.all():
        assert account.mrr == expected.get(account.pk, Decimal(0)), account.name


def test_if_empty_adds_no_signals_the_second_time():
    seed("--accounts", "20", "--if-empty")

    def counts() -> tuple[int, ...]:
        return tuple(
            m.objects.count()
            for m in (
                EndUser,
                EndUserDailyActivity,
                AccountDailyUsage,
                Event,
                Ticket,
                SurveyResponse,
                Subscription,
                Feature,
            )
        )

    first = counts()
    assert all(first)
    seed("--accounts", "20", "--if-empty")
    assert counts() == first


def test_big_books_get_a_shorter_history_and_fewer_users_but_at_least_two_each():
    assert demo_scale(200) == (FULL_DAYS, 1.0)
    days, factor = demo_scale(20_000)
    assert days == SHORT_DAYS >= 90 and 0 < factor < 0.1
    with receivers_kept(demo_seeded):
        demo_seeded.disconnect(dispatch_uid="metrics.demo_signals")
        seed("--accounts", "25")
    assert not EndUser.objects.exists()
    ids = list(Account.objects.values_list("pk", flat=True))
    result = demo_signals_create(
        account_ids=ids, seed=42, today=timezone.localdate(), days=days, user_factor=factor
    )
    assert result.user_days == EndUserDailyActivity.objects.count() > 0
    dates = AccountDailyUsage.objects.values_list("date", flat=True)
    assert (timezone.localdate() - min(dates)).days == SHORT_DAYS - 1
    per_account = Counter(EndUser.objects.values_list("account_id", flat=True))
    assert set(per_account) == set(ids) and min(per_account.values()) == 2
    assert max(per_account.values()) < 20


@pytest.mark.django_db
def test_demo_data_asks_the_worker_to_backfill_metrics_once_committed(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    from metrics.tasks import engine

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.DEMO_METRICS_BACKFILL_DAYS = 12
    queued: list[dict] = []
    monkeypatch.setattr(engine.metrics_backfill, "delay", lambda **kw: queued.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        seed("--accounts", "3", "--seed", "5")
    assert queued == [{"days": 12}]


@pytest.mark.django_db
def test_the_backfill_task_recalculates_the_requested_days():
    from metrics.models import AccountDailyMetrics
    from metrics.tasks.engine import metrics_backfill

    seed("--accounts", "3", "--seed", "5")
    metrics_backfill(days=3)
    days = set(AccountDailyMetrics.objects.values_list("date", flat=True))
    today = timezone.now().date()
    assert days == {today - dt.timedelta(days=n) for n in range(3)}
