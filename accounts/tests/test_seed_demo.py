"""manage.py seed_demo: deterministic, idempotent with --if-empty, realistic, MRR consistent."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from accounts.choices import (
    AccountStatus,
    BillingPeriod,
    DiscountType,
    PowerRole,
    SubscriptionStatus,
    TaskStatus,
    Tier,
)
from accounts.models import Account, Activity, Contact, Goal, Subscription, Task
from csplatform.choices import Role
from csplatform.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, "--no-progress", stdout=out, stderr=StringIO())
    return out.getvalue()


def snapshot() -> list[tuple]:
    accounts = list(
        Account.objects.order_by("external_id").values_list(
            "external_id",
            "name",
            "tier",
            "status",
            "lifecycle_stage",
            "country",
            "currency",
            "customer_since",
            "owner__username",
            "mrr",
            "renewal_date",
        )
    )
    subs = list(
        Subscription.objects.order_by("account__external_id", "start_date", "product").values_list(
            "account__external_id",
            "plan_name",
            "product",
            "quantity",
            "unit_price",
            "discount_type",
            "discount_value",
            "billing_period",
            "billing_period_months",
            "mrr",
            "start_date",
            "end_date",
            "status",
        )
    )
    contacts = sorted(
        Contact.objects.values_list("account__external_id", "email", "power_role", "is_primary")
    )
    tasks = sorted(Task.objects.values_list("account__external_id", "title", "due_date", "status"))
    return [accounts, subs, contacts, tasks, Activity.objects.count(), Goal.objects.count()]


def test_the_same_seed_gives_the_same_data():
    seed("--accounts", "40", "--seed", "7")
    first = snapshot()
    Account.objects.all().delete()
    seed("--accounts", "40", "--seed", "7")
    assert snapshot() == first
    Account.objects.all().delete()
    seed("--accounts", "40", "--seed", "8")
    assert snapshot()[0] != first[0]


def test_demo_users_exist_with_their_roles_and_printed_passwords():
    out = seed("--accounts", "0")
    expected = {
        "alice": Role.CSM,
        "bob": Role.CSM,
        "lead": Role.CS_LEAD,
        "admin": Role.ADMIN,
        "vic": Role.VIEWER,
    }
    for username, role in expected.items():
        user = User.objects.get(username=username)
        assert user.role == role
        password = f"{username}-demo-2024"
        assert user.check_password(password)
        assert username in out and password in out
    assert "http://" in out and "/login/" in out
    assert User.objects.get(username="admin").is_superuser


def test_if_empty_adds_nothing_the_second_time_but_still_prints_the_users():
    seed("--accounts", "25", "--if-empty")
    counts = (Account.objects.count(), Subscription.objects.count(), User.objects.count())
    assert counts[0] == 25
    out = seed("--accounts", "25", "--if-empty")
    assert (Account.objects.count(), Subscription.objects.count(), User.objects.count()) == counts
    assert "alice-demo-2024" in out and "already existed" in out


def test_a_password_someone_changed_is_kept_and_not_printed():
    seed("--accounts", "0")
    alice = User.objects.get(username="alice")
    alice.set_password("my own secret phrase")
    alice.save()
    out = seed("--accounts", "0", "--if-empty")
    alice.refresh_from_db()
    assert alice.check_password("my own secret phrase")
    assert "alice-demo-2024" not in out


def test_without_if_empty_a_second_run_adds_new_accounts():
    seed("--accounts", "10")
    seed("--accounts", "10")
    assert Account.objects.count() == 20
    assert Account.objects.values("external_id").distinct().count() == 20


def test_every_billing_period_and_discount_kind_is_present():
    seed("--accounts", "60")
    periods = set(Subscription.objects.values_list("billing_period", flat=True))
    assert periods == set(BillingPeriod.values)
    custom = Subscription.objects.filter(billing_period=BillingPeriod.CUSTOM).first()
    assert custom.billing_period_months not in (1, 3, 6, 12)
    discounts = set(Subscription.objects.values_list("discount_type", flat=True))
    assert discounts == set(DiscountType.values)
    assert Subscription.objects.filter(one_time_fees__gt=0).exists()


def test_account_mrr_is_the_sum_of_its_active_subscriptions():
    seed("--accounts", "80")
    today = timezone.localdate()
    expected: dict[int, Decimal] = defaultdict(Decimal)
    active = Subscription.objects.filter(
        status=SubscriptionStatus.ACTIVE, start_date__lte=today
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    for account_id, mrr in active.values_list("account_id", "mrr"):
        expected[account_id] += mrr
    for account in Account.objects.all():
        assert account.mrr == expected.get(account.pk, Decimal(0)), account.name
    assert Account.objects.filter(mrr__gt=0).count() > 50
    assert not Account.objects.filter(status=AccountStatus.CHURNED, mrr__gt=0).exists()


def test_the_book_looks_like_a_real_customer_base():
    seed("--accounts", "200")
    today = timezone.localdate()
    statuses = set(Account.objects.values_list("status", flat=True))
    assert statuses == set(AccountStatus.values)
    assert set(Account.objects.values_list("tier", flat=True)) == set(Tier.values)
    owners = {
        row["owner__username"]: row["n"]
        for row in Account.objects.values("owner__username").annotate(n=Count("pk"))
    }
    assert owners["alice"] > 60 and owners["bob"] > 60 and 0 < owners[None] < 60
    currencies = list(Account.objects.values_list("currency", flat=True))
    assert sum(c in ("USD", "EUR", "GBP") for c in currencies) / len(currencies) > 0.8
    oldest = Account.objects.order_by("customer_since").values_list("customer_since", flat=True)
    assert (today - next(d for d in oldest if d)).days <= 4 * 365
    # One primary contact per account; an executive sponsor at every enterprise account.
    for account in Account.objects.prefetch_related("contacts"):
        contacts = list(account.contacts.all())
        assert sum(c.is_primary for c in contacts) == 1
        if account.tier == Tier.ENTERPRISE:
            assert any(c.power_role == PowerRole.EXECUTIVE_SPONSOR for c in contacts)
    renewals = Account.objects.filter(status=AccountStatus.ACTIVE).values_list(
        "renewal_date", flat=True
    )
    in_a_year = [d for d in renewals if d and 0 <= (d - today).days <= 366]
    assert len(in_a_year) / len(renewals) > 0.8
    alice_tasks = Task.objects.filter(assignee__username="alice", status=TaskStatus.OPEN)
    assert alice_tasks.filter(due_date__lt=today).exists()
    assert alice_tasks.filter(due_date=today).exists()
    assert alice_tasks.filter(due_date__gt=today).exists()
    assert Activity.objects.filter(occurred_at__lt=timezone.now()).count() > 400
    assert Goal.objects.exists()
