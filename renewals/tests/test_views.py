"""The renewal pages read like the role matrix of SPEC §0: everyone reads (the forecast
too), a CSM changes the renewals of the accounts they own, a CS Lead every one."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Subscription
from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.models import User
from renewals.models import CounterOffer, ExitInterview, Renewal
from renewals.services.closing import renewal_close
from renewals.services.offboarding import counter_offer_save
from renewals.tests.factories import CounterOfferFactory, annual_line, renewal_of

TODAY = timezone.localdate


@dataclass
class World:
    renewal: Renewal
    churned: Renewal
    offer: CounterOffer


@pytest.fixture
def world(alice, bob, lead, vic, admin_user) -> World:
    """Alice's Acme Rockets renewing in 40 days with a pending offer, and Gone Ltd churned."""
    account = AccountFactory(name="Acme Rockets", owner=alice)
    ContactFactory(account=account, first_name="Carla")
    renewal = renewal_of(annual_line(account, renews_on=TODAY() + dt.timedelta(days=40)))
    gone = AccountFactory(name="Gone Ltd", owner=alice)
    contact = ContactFactory(account=gone, first_name="Gina")
    churned = renewal_close(
        renewal=renewal_of(annual_line(gone, renews_on=TODAY() - dt.timedelta(days=3))),
        outcome="churned",
        reason="price",
    )
    churned.contact_id = contact.pk  # type: ignore[attr-defined]
    offer = counter_offer_save(offer=CounterOfferFactory.build(renewal=renewal))
    return World(renewal=renewal, churned=churned, offer=offer)


PERSONAS = ["alice", "bob", "lead", "vic", "admin_user"]

READ_PAGES = {
    "list": lambda w: reverse("renewals:list"),
    "list_all_sorted": lambda w: reverse("renewals:list") + "?state=all&ordering=-weighted",
    "list_csv": lambda w: reverse("renewals:list") + "?format=csv",
    "pipeline": lambda w: reverse("renewals:pipeline"),
    "pipeline_quarter_csv": lambda w: reverse("renewals:pipeline") + "?by=quarter&format=csv",
    "retention": lambda w: reverse("renewals:retention"),
    "retention_csv": lambda w: reverse("renewals:retention") + "?by=quarter&format=csv",
    "calendar": lambda w: reverse("renewals:calendar") + f"?month={w.renewal.renewal_date:%Y-%m}",
    "churn": lambda w: reverse("renewals:churn"),
    "churn_csv": lambda w: reverse("renewals:churn") + "?format=csv",
    "detail": lambda w: reverse("renewals:detail", args=[w.renewal.pk]),
    "detail_churned": lambda w: reverse("renewals:detail", args=[w.churned.pk]),
    "account_360": lambda w: w.renewal.account.get_absolute_url(),
}
# What each page must show of the world.
SHOWS = {
    "list": b"Acme Rockets",
    "list_all_sorted": b"Gone Ltd",
    "list_csv": b"Acme Rockets",
    "pipeline": b"12,000.00",
    "pipeline_quarter_csv": b"12000.00",
    "retention": b"Realised GRR and NRR",
    "retention_csv": b"GRR %",
    "calendar": b"Acme Rockets",
    "churn": b"Price / too expensive",
    "churn_csv": b"Price / too expensive",
    "detail": b"Free months",
    "detail_churned": b"Gone Ltd",
    "account_360": b'data-testid="renewal-panel"',
}


@pytest.mark.django_db
@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_logged_in_reads_every_page(request, client_for, world, page, persona):
    response = client_for(request.getfixturevalue(persona)).get(READ_PAGES[page](world))

    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert SHOWS[page] in body


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["list", "pipeline", "detail", "churn"])
def test_anonymous_is_sent_to_the_login_page(client, world, page):
    response = client.get(READ_PAGES[page](world))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_user_without_a_role_is_refused(client_for, world):
    nobody = User.objects.create_user("nobody", password="x")
    assert client_for(nobody).get(reverse("renewals:list")).status_code == 403


@pytest.mark.django_db
def test_only_editors_see_the_buttons_that_change_a_renewal(client_for, world, alice, bob, vic):
    url = reverse("renewals:detail", args=[world.renewal.pk])
    close = reverse("renewals:close", args=[world.renewal.pk]).encode()
    assert close in client_for(alice).get(url).content
    assert close in client_for(alice).get(world.renewal.account.get_absolute_url()).content
    for user in (bob, vic):
        assert close not in client_for(user).get(url).content
        assert close not in client_for(user).get(world.renewal.account.get_absolute_url()).content


@pytest.mark.django_db
def test_the_menu_offers_renewals_to_every_role(client_for, world, alice, vic):
    for user in (alice, vic):
        assert reverse("renewals:pipeline").encode() in client_for(user).get("/").content


@pytest.mark.django_db
def test_the_csv_has_a_row_per_renewal_with_its_figures(client_for, world, vic):
    response = client_for(vic).get(reverse("renewals:list") + "?state=all&format=csv")

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, *body = rows
    assert header[:4] == ["id", "account", "owner", "plan"]
    by_account = {r[1]: dict(zip(header, r, strict=True)) for r in body}
    assert set(by_account) == {"Acme Rockets", "Gone Ltd"}
    assert by_account["Acme Rockets"]["ARR"] == "12000.00"
    assert by_account["Acme Rockets"]["weighted ARR"] == "8400.00"  # 70 %
    assert by_account["Gone Ltd"]["outcome"] == "Churned"
    assert by_account["Gone Ltd"]["reason"] == "Price / too expensive"


# Writes ----------------------------------------------------------------------------------


@dataclass
class WriteCase:
    url: Any
    data: Any
    changed: Any  # world -> bool: did the write reach the database?
    get: bool = True


def _fresh(renewal: Renewal) -> Renewal:
    return Renewal.objects.get(pk=renewal.pk)


WRITES: dict[str, WriteCase] = {
    "forecast": WriteCase(
        lambda w: reverse("renewals:edit", args=[w.renewal.pk]),
        # As the browser sends it: the probability field still holds the old 70.
        lambda w: {
            "stage": "in_progress",
            "forecast_category": "at_risk",
            "probability": "70",
            "notes": "Exec call",
        },
        lambda w: (
            (_fresh(w.renewal).forecast_category, _fresh(w.renewal).probability) == ("at_risk", 30)
        ),
    ),
    "close": WriteCase(
        lambda w: reverse("renewals:close", args=[w.renewal.pk]),
        lambda w: {
            "outcome": "contracted",
            "quantity": "8",
            "unit_price": "1200",
            "reason": "budget",
        },
        lambda w: _fresh(w.renewal).outcome == "contracted",
    ),
    "mitigation": WriteCase(
        lambda w: reverse("renewals:mitigation", args=[w.renewal.pk]),
        lambda w: {},
        lambda w: _fresh(w.renewal).mitigation_started_on is not None,
        get=False,
    ),
    "offer": WriteCase(
        lambda w: reverse("renewals:offer_create", args=[w.renewal.pk]),
        lambda w: {
            "kind": "consulting",
            "description": "3 sessions",
            "status": "offered",
            "offered_on": TODAY().isoformat(),
        },
        lambda w: CounterOffer.objects.filter(kind="consulting").exists(),
    ),
    "offer_decide": WriteCase(
        lambda w: reverse("renewals:offer_decide", args=[w.offer.pk]),
        lambda w: {"status": "accepted"},
        lambda w: CounterOffer.objects.get(pk=w.offer.pk).status == "accepted",
        get=False,
    ),
    "exit_interview": WriteCase(
        lambda w: reverse("renewals:exit_interview", args=[w.churned.pk]),
        lambda w: {
            "interviewed_on": TODAY().isoformat(),
            "why_cancel": "Too expensive",
            "used_for": "Reports",
            "how_to_improve": "Cheaper plan",
            "communication": "well",
        },
        lambda w: ExitInterview.objects.filter(renewal=w.churned).exists(),
    ),
    "win_back": WriteCase(
        lambda w: reverse("renewals:win_back", args=[w.churned.pk]),
        lambda w: {"status": "planned", "next_on": (TODAY() + dt.timedelta(days=60)).isoformat()},
        lambda w: _fresh(w.churned).win_back_status == "planned",
    ),
    "reason": WriteCase(
        lambda w: reverse("renewals:reason", args=[w.churned.pk]),
        lambda w: {"reason": "budget"},
        lambda w: _fresh(w.churned).reason == "budget",
    ),
}

MATRIX = [("alice", True), ("bob", False), ("lead", True), ("vic", False), ("admin_user", True)]


@pytest.mark.django_db
@pytest.mark.parametrize("case", WRITES)
@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_write_matrix(request, client_for, world, case, persona, allowed):
    write = WRITES[case]
    c = client_for(request.getfixturevalue(persona))
    url = write.url(world)
    subscriptions = Subscription.objects.count()
    if write.get:
        assert c.get(url).status_code == (200 if allowed else 403)
    response = c.post(url, write.data(world))
    if allowed:
        assert response.status_code in (200, 302), response.content[:800]
        assert write.changed(world)
    else:
        assert response.status_code == 403
        assert not write.changed(world)
        assert Subscription.objects.count() == subscriptions


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("case", "data", "message"),
    [
        ("close", {"outcome": "contracted", "quantity": "8", "unit_price": "1200"}, b"Say why"),
        ("close", {"outcome": "expanded", "quantity": "abc"}, b"Enter a whole number"),
        ("close", {}, b"This field is required"),
        ("forecast", {"stage": "closed", "forecast_category": "commit"}, b"valid choice"),
        (
            "forecast",
            {"stage": "in_progress", "forecast_category": "commit", "probability": "150"},
            b"100",
        ),
        ("exit_interview", {"why_cancel": "", "communication": "well"}, b"This field is required"),
        ("win_back", {"status": "planned"}, b"approach the customer again"),
    ],
)
def test_bad_input_shows_the_form_again_and_changes_nothing(
    client_for, world, alice, case, data, message
):
    write = WRITES[case]
    before = (
        list(
            Renewal.objects.order_by("pk").values_list(
                "outcome", "forecast_category", "win_back_status"
            )
        ),
        Subscription.objects.count(),
        ExitInterview.objects.count(),
    )

    response = client_for(alice).post(write.url(world), data)

    assert response.status_code == 400
    assert message in response.content
    after = (
        list(
            Renewal.objects.order_by("pk").values_list(
                "outcome", "forecast_category", "win_back_status"
            )
        ),
        Subscription.objects.count(),
        ExitInterview.objects.count(),
    )
    assert after == before


@pytest.mark.django_db
def test_a_bad_filter_shows_its_error_and_the_default_list(client_for, world, vic):
    response = client_for(vic).get(
        reverse("renewals:list") + "?renewal_after=yesterday&at_risk=maybe"
    )

    assert response.status_code == 200
    assert b"Acme Rockets" in response.content and b"Enter a valid date" in response.content
