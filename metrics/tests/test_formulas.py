"""Every formula of SPEC §3 against figures computed by hand.

The March 2025 portfolio (opening = MRR on 28 Feb, closing = MRR on 31 Mar):

    A  quarterly 3,000 → 1,000/month, all along                 1,000 → 1,000
    B  annual 12,000 → 1,000/month, + add-on 500 from 10 Mar    1,000 → 1,500  expansion 500
    C  800 − 25 % = 600; renewed 15 Mar at 4 seats (300)          600 →   300  contraction 300
    D  200, cancelled effective 15 Mar                            200 →     0  churned 200
    E  first line from 5 Mar, 300 (SMB)                             0 →   300  new 300
    F  paid 400 in 2024, back from 20 Mar with 250 (enterprise)     0 →   250  reactivation 250
    G  trial in March, paid 100 from 31 Mar (SMB)                   0 →   100  new 100
    H  trial in March, never converted (SMB)                        0 →     0

    opening 2,800 + new 400 + expansion 500 + reactivation 250 − contraction 300 − churned 200
    = closing 3,450.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.choices import BillingPeriod, DiscountType, SubscriptionStatus, Tier
from accounts.tests.factories import AccountFactory, SubscriptionFactory
from metrics.models import (
    AccountDailyMetrics,
    AccountFeatureDailyUsage,
    EndUser,
    EndUserDailyActivity,
    EndUserFeatureDaily,
    Feature,
    MetricSnapshot,
    MrrMovement,
    SurveyResponse,
    Ticket,
)
from metrics.services.engine import metrics_recalculate

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2025, 6, 1)


def sub(account, start, end=None, *, price="100", qty=1, period=BillingPeriod.MONTHLY, **kw):
    return SubscriptionFactory(
        account=account,
        start_date=start,
        end_date=end,
        unit_price=Decimal(price),
        quantity=qty,
        billing_period=period,
        **kw,
    )


def snap(metric, date, *, period="month", segment=""):
    return MetricSnapshot.objects.get(metric=metric, period=period, segment=segment, date=date)


def value(metric, date, **kw):
    return snap(metric, date, **kw).value


@pytest.fixture
def march():
    a = AccountFactory(name="A")
    sub(a, D(2024, 1, 1), price="3000", period=BillingPeriod.QUARTERLY)
    b = AccountFactory(name="B")
    sub(b, D(2024, 6, 1), D(2025, 5, 31), price="1200", qty=10, period=BillingPeriod.ANNUAL)
    sub(b, D(2025, 3, 10), D(2025, 5, 31), price="500", product="Add-on")
    c = AccountFactory(name="C")
    discount = {"discount_type": DiscountType.PERCENT, "discount_value": Decimal("25")}
    sub(c, D(2024, 3, 15), D(2025, 3, 14), qty=8, status=SubscriptionStatus.EXPIRED, **discount)
    sub(c, D(2025, 3, 15), D(2026, 3, 14), qty=4, **discount)
    d = AccountFactory(name="D", customer_since=D(2024, 3, 15), churned_at=D(2025, 3, 15))
    sub(d, D(2024, 3, 15), D(2025, 3, 15), price="200", status=SubscriptionStatus.CANCELLED)
    e = AccountFactory(name="E", tier=Tier.SMB)
    sub(e, D(2025, 3, 5), price="300")
    f = AccountFactory(name="F", tier=Tier.ENTERPRISE)
    sub(f, D(2024, 1, 1), D(2024, 12, 31), price="400", status=SubscriptionStatus.EXPIRED)
    sub(f, D(2025, 3, 20), price="250")
    g = AccountFactory(name="G", tier=Tier.SMB)
    sub(g, D(2025, 3, 1), D(2025, 3, 30), status=SubscriptionStatus.TRIAL)
    sub(g, D(2025, 3, 31), price="100")
    h = AccountFactory(name="H", tier=Tier.SMB)
    sub(h, D(2025, 3, 1), D(2025, 3, 30), status=SubscriptionStatus.TRIAL)
    metrics_recalculate(start=D(2025, 2, 27), end=D(2025, 3, 31), today=TODAY)
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f, "G": g, "H": h}


MAR = D(2025, 3, 31)


def test_mrr_and_arr_count_paid_lines_normalised_to_a_month_with_discounts(march):
    assert value("mrr", MAR) == Decimal("3450")
    assert value("arr", MAR) == Decimal("41400")
    rows = dict(AccountDailyMetrics.objects.filter(date=MAR).values_list("account__name", "mrr"))
    assert rows == {
        "A": Decimal("1000"),
        "B": Decimal("1500"),
        "C": Decimal("300"),
        "D": Decimal("0"),
        "E": Decimal("300"),
        "F": Decimal("250"),
        "G": Decimal("100"),
        "H": Decimal("0"),
    }


def test_renewal_the_next_day_neither_gaps_nor_double_counts_and_cancellation_counts_to_its_end(
    march,
):
    def mrr(name, day):
        return AccountDailyMetrics.objects.get(account=march[name], date=day).mrr

    assert mrr("C", D(2025, 3, 14)) == Decimal("600")
    assert mrr("C", D(2025, 3, 15)) == Decimal("300")
    assert mrr("D", D(2025, 3, 15)) == Decimal("200")
    assert mrr("D", D(2025, 3, 16)) == Decimal("0")
    # A trial line never counts: G pays only from 31 March.
    assert mrr("G", D(2025, 3, 30)) == Decimal("0")


def test_renewal_written_to_start_on_the_old_end_date_counts_the_handover_day_once():
    acc = AccountFactory()
    sub(acc, D(2025, 1, 1), D(2025, 3, 10), price="100", status=SubscriptionStatus.EXPIRED)
    sub(acc, D(2025, 3, 10), D(2026, 3, 9), price="100")
    metrics_recalculate(start=D(2025, 3, 9), end=D(2025, 3, 11), today=TODAY)
    got = list(
        AccountDailyMetrics.objects.filter(account=acc)
        .order_by("date")
        .values_list("mrr", flat=True)
    )
    assert got == [Decimal("100")] * 3


def test_mrr_movements_of_the_month_per_account(march):
    got = {
        (m.account.name, m.kind, m.amount, m.opening_mrr, m.closing_mrr)
        for m in MrrMovement.objects.filter(month=D(2025, 3, 1)).select_related("account")
    }
    assert got == {
        ("B", "expansion", Decimal("500"), Decimal("1000"), Decimal("1500")),
        ("C", "contraction", Decimal("300"), Decimal("600"), Decimal("300")),
        ("D", "churn", Decimal("200"), Decimal("200"), Decimal("0")),
        ("E", "new", Decimal("300"), Decimal("0"), Decimal("300")),
        ("F", "reactivation", Decimal("250"), Decimal("0"), Decimal("250")),
        ("G", "new", Decimal("100"), Decimal("0"), Decimal("100")),
    }


def test_movement_snapshots_satisfy_opening_plus_movements_equals_closing(march):
    assert value("mrr_new", MAR) == Decimal("400")
    assert value("mrr_expansion", MAR) == Decimal("500")
    assert value("mrr_reactivation", MAR) == Decimal("250")
    assert value("mrr_contraction", MAR) == Decimal("300")
    assert value("mrr_churned", MAR) == Decimal("200")
    opening = snap("gross_mrr_churn", MAR).denominator
    assert opening == Decimal("2800")
    assert opening + Decimal("400") + 500 + 250 - 300 - 200 == value("mrr", MAR)


def test_customer_churn_rate_and_crr(march):
    churn = snap("customer_churn_rate", MAR)
    assert (churn.value, churn.numerator, churn.denominator) == (Decimal("25"), 1, 4)
    crr = snap("crr", MAR)  # ((E − N) ÷ S) = (6 − 3) ÷ 4
    assert (crr.value, crr.numerator, crr.denominator) == (Decimal("75"), 3, 4)
    assert value("customers", MAR) == 6


def test_gross_and_net_mrr_churn_and_negative_net_churn(march):
    assert value("gross_mrr_churn", MAR) == Decimal("17.8571")  # 500 ÷ 2,800
    assert value("net_mrr_churn", MAR) == Decimal("-8.9286")  # (500 − 750) ÷ 2,800


def test_nrr_excludes_new_customers_and_grr_is_capped(march):
    assert value("nrr", MAR) == Decimal("100")  # (2,800 + 500 − 300 − 200) ÷ 2,800
    assert value("grr", MAR) == Decimal("82.1429")  # (2,800 − 500) ÷ 2,800


def test_grr_never_exceeds_100_when_only_expansion_happens():
    acc = AccountFactory()
    sub(acc, D(2025, 1, 1), price="100")
    sub(acc, D(2025, 2, 10), price="50", product="Seats")
    metrics_recalculate(start=D(2025, 2, 1), end=D(2025, 2, 28), today=TODAY)
    assert value("nrr", D(2025, 2, 28)) == Decimal("150")
    assert value("grr", D(2025, 2, 28)) == Decimal("100")


def test_no_customers_at_the_start_of_the_period_leaves_rates_empty(march):
    # SMB had no paying customer on 28 Feb: E and G are new.
    assert value("customer_churn_rate", MAR, segment="tier:smb") is None
    assert value("crr", MAR, segment="tier:smb") is None
    assert value("nrr", MAR, segment="tier:smb") is None
    assert value("mrr_new", MAR, segment="tier:smb") == Decimal("400")
    assert value("customers", MAR, segment="tier:smb") == 2


def test_arpa_and_ltv_from_average_lifetime(march):
    assert value("arpa", MAR) == Decimal("575")  # 3,450 ÷ 6
    # D lived 365 days = 11.9918 months of 30.4375 days: 575 × 365 ÷ 30.4375.
    assert value("ltv", MAR) == Decimal("6895.2772")


def test_ltv_falls_back_to_arpa_over_monthly_churn_when_no_account_has_churned():
    for price in ("100", "100", "100", "100"):
        sub(AccountFactory(), D(2025, 1, 1), price=price)
    sub(AccountFactory(), D(2025, 1, 1), D(2025, 2, 10), price="100")
    metrics_recalculate(start=D(2025, 2, 1), end=D(2025, 2, 28), today=TODAY)
    # Churn 1 of 5 over February's 28 days = 20 %; monthly = 20 × 30.4375 ÷ 28 = 21.7411 %.
    assert value("customer_churn_rate", D(2025, 2, 28)) == Decimal("20")
    assert value("ltv", D(2025, 2, 28)) == Decimal("459.9589")  # ARPA 100 ÷ 0.217410714…


def test_win_back_rate_and_trial_conversion(march):
    assert value("win_back_rate", MAR) == Decimal("100")  # F, the only former customer
    conversion = snap("trial_conversion", MAR)  # G converted, H did not
    assert (conversion.value, conversion.numerator, conversion.denominator) == (50, 1, 2)


def _responses(account, kind, scores, day):
    for score in scores:
        SurveyResponse.objects.create(
            account=account,
            kind=kind,
            score=score,
            responded_at=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
        )


def test_nps_csat_and_ces():
    acc = AccountFactory()
    day = D(2025, 3, 10)
    _responses(acc, "nps", [10, 10, 9, 7, 3], day)
    _responses(acc, "csat", [5, 4, 3, 1], day)
    _responses(acc, "ces", [7, 5, 3], day)
    metrics_recalculate(start=day, end=day, today=TODAY)
    assert value("nps", day, period="day") == Decimal("40")  # 60 % − 20 %
    assert value("csat", day, period="day") == Decimal("50")
    assert value("ces", day, period="day") == Decimal("5")
    row = AccountDailyMetrics.objects.get(account=acc, date=day)
    assert (row.nps_365d, row.csat_365d) == (Decimal("40"), Decimal("50"))


def test_all_detractors_give_an_nps_of_minus_100():
    acc = AccountFactory()
    day = D(2025, 3, 10)
    _responses(acc, "nps", [0, 3, 6], day)
    metrics_recalculate(start=day, end=day, today=TODAY)
    assert value("nps", day, period="day") == Decimal("-100")
    assert AccountDailyMetrics.objects.get(account=acc, date=day).nps_365d == Decimal("-100")


def _at(day, hour):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def test_ticket_volume_first_response_and_resolution_hours():
    acc = AccountFactory()
    d10, d11 = D(2025, 3, 10), D(2025, 3, 11)
    Ticket.objects.create(
        account=acc,
        subject="a",
        opened_at=_at(d10, 9),
        first_response_at=_at(d10, 11),
        resolved_at=_at(d11, 9),
    )
    Ticket.objects.create(
        account=acc, subject="b", opened_at=_at(d10, 10), first_response_at=_at(d10, 14)
    )
    metrics_recalculate(start=d10, end=d11, today=TODAY)
    assert value("tickets", d10, period="day") == 2
    assert value("ticket_first_response_hours", d10, period="day") == Decimal("3")
    assert value("ticket_resolution_hours", d11, period="day") == Decimal("24")
    assert value("tickets", d11, period="day") == 0
    rows = {r.date: r for r in AccountDailyMetrics.objects.filter(account=acc)}
    assert (rows[d10].tickets_open, rows[d11].tickets_open) == (2, 1)
    assert rows[d11].tickets_30d == 2


@pytest.fixture
def usage():
    acc = AccountFactory()
    sub(acc, D(2024, 1, 1), price="300")
    users = {
        name: EndUser.objects.create(external_id=name, account=acc, first_seen_at=_at(first, 8))
        for name, first in (("u1", D(2025, 3, 1)), ("u2", D(2025, 3, 4)), ("u3", D(2025, 2, 10)))
    }
    days = [D(2025, 3, 1) + dt.timedelta(days=i) for i in range(10)]
    rows = [(users["u1"], day, 1) for day in days]
    rows += [(users["u2"], D(2025, 3, 4), 0), (users["u2"], D(2025, 3, 10), 0)]
    rows += [(users["u3"], D(2025, 2, 10), 1)]
    for user, day, core in rows:
        EndUserDailyActivity.objects.create(
            end_user=user, account=acc, date=day, events=3, core_events=core
        )
    reports = Feature.objects.create(
        key="reports", name="Reports", is_core=True, release_date=D(2025, 3, 5)
    )
    EndUserFeatureDaily.objects.create(
        end_user=users["u1"], account=acc, feature=reports, date=D(2025, 3, 6), events=1
    )
    AccountFeatureDailyUsage.objects.create(
        account=acc, feature=reports, date=D(2025, 3, 6), events=1, users=1
    )
    metrics_recalculate(start=D(2025, 3, 1), end=D(2025, 3, 31), today=TODAY)
    return acc


def test_dau_wau_mau_count_distinct_users_over_1_7_and_30_days(usage):
    rows = {r.date: r for r in AccountDailyMetrics.objects.filter(account=usage)}
    assert (rows[D(2025, 3, 10)].dau, rows[D(2025, 3, 10)].wau, rows[D(2025, 3, 10)].mau) == (
        2,
        2,
        3,
    )
    # 12 March: u3 (10 Feb) has left the 30 days, u2 (10 Mar) and u1 (until 10 Mar) remain.
    assert (rows[D(2025, 3, 12)].dau, rows[D(2025, 3, 12)].wau, rows[D(2025, 3, 12)].mau) == (
        0,
        2,
        2,
    )
    assert rows[D(2025, 3, 12)].days_since_last_activity is None  # no AccountDailyUsage rows


def test_stickiness_is_dau_over_mau_and_the_week_dau_is_the_daily_mean(usage):
    day = D(2025, 3, 10)
    assert value("stickiness", day, period="day") == Decimal("66.6667")  # 2 ÷ 3
    # ISO week 3–9 March: u1 seven days, u2 one day → 8 user-days ÷ 7.
    assert value("dau", D(2025, 3, 9), period="week") == Decimal("1.1429")
    # March: u1 ten days, u2 two days → 12 ÷ 31; the quarter adds u3's day in February → 13 ÷ 90.
    assert value("dau", MAR) == Decimal("0.3871")
    assert value("dau", MAR, period="quarter") == Decimal("0.1444")
    assert value("arpu", day, period="day") == Decimal("100")  # 300 ÷ 3 monthly users


def test_logins_without_a_core_action(usage):
    assert value("logins_without_action", D(2025, 3, 10), period="day") == 1  # u2


def test_feature_adoption_since_release_and_for_core_features(usage):
    week = D(2025, 3, 9)
    # Since release (5–9 March) only u1 was active, and u1 used reports.
    per_feature = snap("feature_adoption", week, period="week", segment="feature:reports")
    assert (per_feature.value, per_feature.numerator, per_feature.denominator) == (100, 1, 1)
    # Over the whole week u1 and u2 were active; one of them used a core feature.
    assert value("feature_adoption", week, period="week") == Decimal("50")
    # The same over March; the first quarter (built from whole months) adds u3 (February).
    assert value("feature_adoption", MAR) == Decimal("50")
    assert value("feature_adoption", MAR, period="quarter") == Decimal("33.3333")
    assert AccountDailyMetrics.objects.get(
        account=usage, date=D(2025, 3, 6)
    ).core_adoption_30d == Decimal("100")


def test_product_adoption_is_new_users_who_became_active(usage):
    # First seen in March: u1 (core events) and u2 (none).
    adoption = snap("product_adoption", MAR)
    assert (adoption.value, adoption.numerator, adoption.denominator) == (50, 1, 2)


def test_segments_split_the_portfolio(march):
    total = value("mrr", MAR)
    by_tier = sum(
        value("mrr", MAR, segment=f"tier:{t}") for t in ("enterprise", "mid_market", "smb")
    )
    assert by_tier == total == Decimal("3450")
    assert value("mrr", MAR, segment="touch_model:low") == total
    assert value("mrr", MAR, segment="business_model:b2b") == total
