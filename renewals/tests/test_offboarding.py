"""Churn reasons, counter-offers, exit interviews (validation) and win-back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.choices import AccountStatus, SubscriptionStatus, TaskStatus
from accounts.models import Account, Activity, Task
from accounts.services import subscription_save
from accounts.tests.factories import AccountFactory, ContactFactory
from renewals.choices import ForecastCategory, WinBackStatus
from renewals.models import CounterOffer, ExitInterview, Renewal
from renewals.selectors import churn_analysis
from renewals.services.closing import renewal_close
from renewals.services.forecast import renewal_update
from renewals.services.offboarding import (
    counter_offer_decide,
    counter_offer_save,
    exit_interview_save,
    renewal_reason_update,
    win_back_update,
    win_backs_detect,
)
from renewals.tests.factories import (
    CounterOfferFactory,
    ExitInterviewFactory,
    annual_line,
    renewal_of,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


@pytest.fixture
def churned(alice):
    account = AccountFactory(owner=alice, name="Gone Ltd")
    line = annual_line(account, renews_on=TODAY() - dt.timedelta(days=5))
    return renewal_close(renewal=renewal_of(line), outcome="churned", reason="price", actor=alice)


def _interview(renewal, **fields) -> ExitInterview:
    return ExitInterviewFactory.build(renewal=renewal, **fields)


# Exit interviews -------------------------------------------------------------------------


def test_an_exit_interview_records_the_standard_answers_and_closes_the_exit_task(churned, alice):
    contact = ContactFactory(account=churned.account)

    interview = exit_interview_save(
        interview=_interview(churned, contact=contact, moving_to="Retainly"), actor=alice
    )

    assert interview.conducted_by == alice and interview.contact == contact
    churned.refresh_from_db()
    assert churned.competitor == "Retainly"
    task = Task.objects.get(dedupe_key=f"renewals:{churned.pk}:exit")
    assert task.status == TaskStatus.DONE
    assert Activity.objects.filter(
        account=churned.account, subject="Exit interview recorded"
    ).exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"why_cancel": ""}, "why_cancel"),
        ({"used_for": "   "}, "used_for"),
        ({"how_to_improve": ""}, "how_to_improve"),
        ({"communication": ""}, "communication"),
        ({"communication": "brilliant"}, "communication"),
        ({"interviewed_on": dt.date(2999, 1, 1)}, "interviewed_on"),
        ({"would_return": "perhaps"}, "would_return"),
    ],
)
def test_exit_interview_validation_names_the_field_and_saves_nothing(churned, fields, field):
    with pytest.raises(ValidationError) as raised:
        exit_interview_save(interview=_interview(churned, **fields))

    assert field in raised.value.message_dict
    assert not ExitInterview.objects.exists()


def test_the_interviewee_must_be_a_contact_of_the_account(churned):
    stranger = ContactFactory(account=AccountFactory())

    with pytest.raises(ValidationError) as raised:
        exit_interview_save(interview=_interview(churned, contact=stranger))

    assert "contact" in raised.value.message_dict
    assert not ExitInterview.objects.exists()


def test_a_customer_gone_to_a_competitor_names_it(alice):
    line = annual_line(AccountFactory(owner=alice), renews_on=TODAY() - dt.timedelta(days=1))
    renewal = renewal_close(
        renewal=renewal_of(line), outcome="churned", reason="competitor", competitor="Pulse360"
    )
    renewal.competitor = ""
    Renewal.objects.filter(pk=renewal.pk).update(competitor="")

    with pytest.raises(ValidationError) as raised:
        exit_interview_save(interview=_interview(renewal, moving_to=""))
    assert "moving_to" in raised.value.message_dict

    exit_interview_save(interview=_interview(renewal, moving_to="Pulse360"))
    assert Renewal.objects.get(pk=renewal.pk).competitor == "Pulse360"


def test_an_interview_needs_a_churn_or_a_churn_forecast(alice):
    renewal = renewal_of(annual_line(AccountFactory(owner=alice)))
    with pytest.raises(ValidationError):
        exit_interview_save(interview=_interview(renewal))

    renewal_update(renewal=renewal, forecast_category=ForecastCategory.CHURN)
    exit_interview_save(interview=_interview(renewal))
    assert ExitInterview.objects.filter(renewal=renewal).exists()


# Reasons ---------------------------------------------------------------------------------


def test_a_reason_recorded_after_an_automatic_churn_sets_the_churn_type(alice):
    account = AccountFactory(owner=alice)
    line = annual_line(account, renews_on=TODAY() - dt.timedelta(days=2))
    line.status = SubscriptionStatus.CANCELLED
    subscription_save(subscription=line)
    renewal = Renewal.objects.get(subscription=line)
    assert renewal.reason == ""

    with pytest.raises(ValidationError) as raised:
        renewal_reason_update(renewal=renewal, reason="competitor")
    assert "competitor" in raised.value.message_dict

    renewal_reason_update(
        renewal=renewal, actor=alice, reason="out_of_business", reason_note="Closed in May"
    )
    renewal.refresh_from_db()
    assert (renewal.reason, renewal.churn_type) == ("out_of_business", "involuntary")


# Counter-offers --------------------------------------------------------------------------


def test_a_counter_offer_is_made_then_decided_once(alice):
    renewal = renewal_of(annual_line(AccountFactory(owner=alice)))
    offer = counter_offer_save(offer=CounterOfferFactory.build(renewal=renewal), actor=alice)
    assert offer.status == "offered" and offer.decided_on is None and offer.created_by == alice

    counter_offer_decide(offer=offer, status="accepted", actor=alice)

    offer.refresh_from_db()
    assert offer.status == "accepted" and offer.decided_on == TODAY()
    with pytest.raises(ValidationError):
        counter_offer_decide(offer=offer, status="declined")
    assert CounterOffer.objects.get(pk=offer.pk).status == "accepted"
    subjects = set(
        Activity.objects.filter(account=renewal.account).values_list("subject", flat=True)
    )
    assert {"Counter-offer made: Free months", "Counter-offer accepted: Free months"} <= subjects


def test_counter_offers_cannot_be_made_in_the_future_or_decided_before_made():
    renewal = renewal_of(annual_line())

    with pytest.raises(ValidationError) as future:
        counter_offer_save(
            offer=CounterOfferFactory.build(
                renewal=renewal, offered_on=TODAY() + dt.timedelta(days=1)
            )
        )
    with pytest.raises(ValidationError) as backwards:
        counter_offer_save(
            offer=CounterOfferFactory.build(
                renewal=renewal,
                offered_on=TODAY(),
                status="declined",
                decided_on=TODAY() - dt.timedelta(days=3),
            )
        )

    assert "offered_on" in future.value.message_dict
    assert "decided_on" in backwards.value.message_dict
    assert not CounterOffer.objects.exists()


# Win-back --------------------------------------------------------------------------------


def test_a_lost_customer_paying_again_is_won_back_and_active(churned):
    win_back_update(renewal=churned, status="planned", next_on=TODAY() + dt.timedelta(days=30))
    account = Account.objects.get(pk=churned.account_id)
    assert account.status == AccountStatus.CHURNED
    back_on = TODAY() - dt.timedelta(days=1)
    annual_line(account, start_date=back_on, renews_on=back_on + dt.timedelta(days=365))

    assert win_backs_detect() == [churned.pk]
    assert win_backs_detect() == []

    churned.refresh_from_db()
    assert (churned.win_back_status, churned.won_back_on) == (WinBackStatus.WON, back_on)
    assert churned.win_back_next_on is None
    account.refresh_from_db()
    assert account.status == AccountStatus.ACTIVE and account.churned_at is None


def test_a_customer_who_came_back_and_left_again_is_won_back_but_stays_churned(churned):
    account = Account.objects.get(pk=churned.account_id)
    # Churned five days ago, back three days ago for two days, gone again yesterday.
    back_on = TODAY() - dt.timedelta(days=3)
    annual_line(
        account,
        start_date=back_on,
        renews_on=TODAY() - dt.timedelta(days=1),
        status=SubscriptionStatus.CANCELLED,
    )

    assert win_backs_detect() == [churned.pk]
    churned.refresh_from_db()
    assert churned.win_back_status == WinBackStatus.WON
    account.refresh_from_db()
    assert account.status == AccountStatus.CHURNED


def test_win_back_rate_counts_churned_customers_not_churned_add_ons(churned, alice):
    # A second lost customer who stays lost, and an add-on churned by a customer who stays.
    other = AccountFactory(owner=alice)
    line = annual_line(other, renews_on=TODAY() - dt.timedelta(days=3))
    renewal_close(renewal=renewal_of(line), outcome="churned", reason="budget")
    stays = AccountFactory(owner=alice)
    annual_line(stays, renews_on=TODAY() + dt.timedelta(days=300))
    addon = annual_line(stays, product="Add-on", renews_on=TODAY() - dt.timedelta(days=3))
    renewal_close(renewal=renewal_of(addon), outcome="churned", reason="budget")
    back_on = TODAY() - dt.timedelta(days=1)
    annual_line(churned.account, start_date=back_on, renews_on=back_on + dt.timedelta(days=365))
    win_backs_detect()

    analysis = churn_analysis(qs=Renewal.objects.exclude(outcome=""))

    assert (analysis.lost_customers, analysis.won_back) == (2, 1)
    assert analysis.win_back_rate == Decimal("50.0")


@pytest.mark.parametrize(
    ("status", "next_on", "field"),
    [
        ("planned", None, "next_on"),
        ("planned", dt.date(2000, 1, 1), "next_on"),
        ("maybe", None, "status"),
    ],
)
def test_win_back_plans_need_a_day_to_approach_again(churned, status, next_on, field):
    with pytest.raises(ValidationError) as raised:
        win_back_update(renewal=churned, status=status, next_on=next_on)

    assert field in raised.value.message_dict
    assert Renewal.objects.get(pk=churned.pk).win_back_status == ""


def test_churn_analysis_sums_lost_arr_by_reason(churned, alice):
    line = annual_line(AccountFactory(owner=alice), quantity=20, renews_on=TODAY())
    renewal_close(renewal=renewal_of(line), outcome="contracted", quantity=15, reason="price")
    line = annual_line(AccountFactory(owner=alice), quantity=5, renews_on=TODAY())
    renewal_close(renewal=renewal_of(line), outcome="churned", reason="failed_payment")

    analysis = churn_analysis(qs=Renewal.objects.exclude(outcome=""))

    by_reason = {r.reason: (r.churned, r.contracted, r.lost_arr) for r in analysis.reasons}
    assert by_reason == {
        "price": (1, 1, Decimal("18000")),  # 12,000 churned + 6,000 contracted away
        "failed_payment": (1, 0, Decimal("6000")),
    }
    assert analysis.reasons[0].reason == "price"
    assert analysis.by_type["voluntary"] == (1, Decimal("12000"))
    assert analysis.by_type["involuntary"] == (1, Decimal("6000"))
    assert analysis.lost_arr == Decimal("24000")
