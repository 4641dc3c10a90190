"""The mutual action plan behind a share link: what a customer can see and change, and not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import AccountFactory, ContactFactory
from onboarding.choices import PlanStatus
from onboarding.models import PlanShareLink, PlanTask
from onboarding.services.plans import plan_complete, plan_start
from onboarding.services.sharing import share_link_create, share_link_revoke
from onboarding.tests.factories import standard_template


@pytest.fixture
def shared(alice):
    """Alice's plan for Acme, shared with Carla; and Globex's plan, shared too."""
    template = standard_template(name="Guided")
    acme = AccountFactory(name="Acme Rockets", owner=alice)
    carla = ContactFactory(account=acme, first_name="Carla", last_name="Diaz")
    plan = plan_start(account=acme, template=template, actor=alice)
    link, token = share_link_create(plan=plan, actor=alice, contact=carla, days=30)
    globex = plan_start(account=AccountFactory(name="Globex"), template=template)
    share_link_create(plan=globex, actor=alice)
    return {"plan": plan, "link": link, "token": token, "carla": carla, "other": globex}


def page_url(token):
    return reverse("onboarding:shared_plan", kwargs={"token": token})


def tick_url(token, task):
    return reverse("onboarding:shared_task_toggle", kwargs={"token": token, "task_pk": task.pk})


def customer_client(token) -> tuple[Client, str]:
    """A browser without a login that opened the link: it holds the CSRF cookie."""
    client = Client(enforce_csrf_checks=True)
    response = client.get(page_url(token))
    assert response.status_code == 200
    return client, client.cookies["csrftoken"].value


def _done(task):
    return PlanTask.objects.get(pk=task.pk).completed_at is not None


def test_the_link_shows_the_plan_without_a_login_and_is_never_cached(client, shared):
    response = client.get(page_url(shared["token"]))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Onboarding plan for Acme Rockets" in body
    assert "Invite your admins" in body and "Kick-off call" in body
    assert "Globex" not in body
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert '<meta name="robots" content="noindex, nofollow">' in body
    assert '<meta name="referrer" content="no-referrer">' in body
    # Only the customer's tasks carry a tick box.
    invite = shared["plan"].tasks.get(title="Invite your admins")
    call = shared["plan"].tasks.get(title="Kick-off call")
    assert tick_url(shared["token"], invite) in body
    assert tick_url(shared["token"], call) not in body
    assert PlanShareLink.objects.get(pk=shared["link"].pk).last_used_at is not None


def test_a_customer_ticks_their_task_and_it_lands_on_the_timeline(shared):
    client, csrf = customer_client(shared["token"])
    task = shared["plan"].tasks.get(title="Invite your admins")

    response = client.post(
        tick_url(shared["token"], task), {"done": "1", "csrfmiddlewaretoken": csrf}
    )

    assert response.status_code == 302
    assert response["Location"] == page_url(shared["token"]) + f"#task-{task.pk}"
    task.refresh_from_db()
    assert task.completed_at is not None
    assert task.completed_by is None and task.completed_by_contact == shared["carla"]
    assert task.completed_via == shared["link"]
    entry = Activity.objects.get(account=shared["plan"].account, metadata__plan_task_id=task.pk)
    assert entry.subject == "Carla Diaz ticked off: Invite your admins"
    assert list(entry.contacts.all()) == [shared["carla"]]
    assert entry.summary == f"Through the shared plan link {shared['link'].token_prefix}…"

    undo = client.post(tick_url(shared["token"], task), {"done": "0", "csrfmiddlewaretoken": csrf})
    assert undo.status_code == 302
    assert not _done(task)
    assert Activity.objects.filter(subject="Onboarding task reopened: Invite your admins").exists()


def test_a_post_without_the_csrf_token_is_refused(shared):
    client, _csrf = customer_client(shared["token"])
    task = shared["plan"].tasks.get(title="Invite your admins")

    response = client.post(tick_url(shared["token"], task), {"done": "1"})

    assert response.status_code == 403
    assert not _done(task)


def test_our_side_tasks_cannot_be_ticked_through_the_link(shared):
    client, csrf = customer_client(shared["token"])
    ours = shared["plan"].tasks.get(title="Kick-off call")

    response = client.post(
        tick_url(shared["token"], ours), {"done": "1", "csrfmiddlewaretoken": csrf}
    )

    assert response.status_code == 403
    assert not _done(ours)
    assert ours.task.status == "open"


def test_another_accounts_plan_cannot_be_touched_through_the_link(shared):
    client, csrf = customer_client(shared["token"])
    theirs = shared["other"].tasks.get(title="Invite your admins")

    response = client.post(
        tick_url(shared["token"], theirs), {"done": "1", "csrfmiddlewaretoken": csrf}
    )

    assert response.status_code == 403
    assert not _done(theirs)
    assert not Activity.objects.filter(
        account=shared["other"].account, metadata__plan_task_id=theirs.pk
    ).exists()


def test_a_revoked_link_stops_working_for_reading_and_ticking(shared, alice):
    client, csrf = customer_client(shared["token"])
    task = shared["plan"].tasks.get(title="Invite your admins")
    share_link_revoke(link=shared["link"], actor=alice)

    assert client.get(page_url(shared["token"])).status_code == 410
    response = client.post(
        tick_url(shared["token"], task), {"done": "1", "csrfmiddlewaretoken": csrf}
    )
    assert response.status_code == 410
    assert b"no longer active" in response.content
    assert not _done(task)


def test_an_expired_link_stops_working(shared):
    client, csrf = customer_client(shared["token"])
    task = shared["plan"].tasks.get(title="Invite your admins")
    PlanShareLink.objects.filter(pk=shared["link"].pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )

    page = client.get(page_url(shared["token"]))
    response = client.post(
        tick_url(shared["token"], task), {"done": "1", "csrfmiddlewaretoken": csrf}
    )

    assert page.status_code == 410 and b"has expired" in page.content
    assert response.status_code == 410
    assert not _done(task)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character changed
        lambda t: t[:-4],  # cut short
        lambda t: t + "x" * 80,  # too long to be a token
        lambda t: "not-a-token",
    ],
)
def test_a_tampered_token_reads_and_changes_nothing(client, shared, tamper):
    token = tamper(shared["token"])
    task = shared["plan"].tasks.get(title="Invite your admins")

    assert client.get(page_url(token)).status_code == 404
    assert client.post(tick_url(token, task), {"done": "1"}).status_code in (403, 404)
    assert not _done(task)


def test_a_closed_plan_can_be_read_but_not_ticked(shared, alice):
    client, csrf = customer_client(shared["token"])
    task = shared["plan"].tasks.get(title="Invite your admins")
    plan_complete(plan=shared["plan"], actor=alice)

    page = client.get(page_url(shared["token"]))
    response = client.post(
        tick_url(shared["token"], task), {"done": "1", "csrfmiddlewaretoken": csrf}
    )

    assert page.status_code == 200 and b"Onboarding is complete" in page.content
    assert tick_url(shared["token"], task).encode() not in page.content
    assert response.status_code == 403
    assert not _done(task)
    assert shared["plan"].status == PlanStatus.COMPLETED


def test_requests_beyond_the_rate_are_answered_429(client, shared, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "public_link": "2/minute",
        },
    }

    statuses = [client.get(page_url(shared["token"])).status_code for _ in range(3)]
    guess = client.get(page_url("guessed-token"))

    assert statuses == [200, 200, 429]
    assert guess.status_code == 429
    assert int(guess["Retry-After"]) > 0


def test_the_page_runs_the_same_queries_for_a_small_and_a_big_plan(
    client, shared, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from onboarding.models import PlanTask as Task_

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(page_url(shared["token"])).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    plan = shared["plan"]
    milestone = plan.milestones.first()
    Task_.objects.bulk_create(
        Task_(
            plan=plan,
            milestone=milestone,
            title=f"Extra {i}",
            side="customer",
            due_on=timezone.localdate(),
            position=10 + i,
        )
        for i in range(50)
    )
    with django_assert_max_num_queries(small):
        count()
