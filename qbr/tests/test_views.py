"""The QBR pages: who may do what (SPEC §0), bad input answered 400 with the form, the
in-place section save, exports and the deck link, and query counts that do not grow."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory, ContactFactory
from onboarding.tests.test_queries import same_for_5_and_50
from qbr.choices import QbrStatus
from qbr.models import Qbr
from qbr.services import qbrs
from qbr.tests.factories import QbrFactory, grow_with_qbrs, held

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(alice):
    return AccountFactory(name="Acme", owner=alice)


@pytest.fixture
def qbr(account):
    return QbrFactory(account=account)


def url(name, *args):
    return reverse(f"qbr:{name}", args=args)


@pytest.mark.parametrize(
    ("persona", "reads", "changes"),
    [("alice", 200, 302), ("bob", 200, 403), ("lead", 200, 302), ("vic", 200, 403)],
)
def test_role_matrix(request, client_for, qbr, persona, reads, changes):
    c = client_for(request.getfixturevalue(persona))
    for page in (url("due"), url("list"), url("detail", qbr.pk), url("preview", qbr.pk)):
        assert c.get(page).status_code == reads, page
    assert c.post(url("prepare", qbr.pk)).status_code == changes
    qbr.refresh_from_db()
    assert (qbr.status == QbrStatus.PREPARED) == (changes == 302)
    for page in (
        url("edit", qbr.pk),
        url("hold", qbr.pk),
        url("invite", qbr.pk),
        url("create", qbr.account_id),
    ):
        assert c.get(page).status_code == (200 if changes == 302 else 403), page


def test_a_viewer_downloads_the_deck_without_changing_the_qbr(client_for, vic, qbr):
    response = client_for(vic).get(url("export", qbr.pk) + "?format=pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    qbr.refresh_from_db()
    assert not qbr.pdf and qbr.exported_at is None


def test_the_owner_exports_and_the_file_is_kept(client_for, alice, qbr):
    response = client_for(alice).get(url("export", qbr.pk) + "?format=pptx")
    assert response.status_code == 200
    assert 'filename="acme-qbr-' in response["Content-Disposition"]
    qbr.refresh_from_db()
    assert qbr.pptx.name.endswith(".pptx")
    assert client_for(alice).get(url("export", qbr.pk) + "?format=docx").status_code == 400


def test_plan_a_qbr_and_bad_input_is_a_400_that_changes_nothing(client_for, alice, account):
    c = client_for(alice)
    contact = ContactFactory(account=account)
    other = ContactFactory()  # another account's contact cannot be invited
    data = {
        "kind": "ebr",
        "period_start": "2026-07-01",
        "period_end": "2026-06-01",
        "attendee_contacts": [contact.pk],
    }
    response = c.post(url("create", account.pk), data)
    assert response.status_code == 400 and b"The period ends after it starts." in response.content
    response = c.post(
        url("create", account.pk),
        {**data, "period_end": "2026-09-30", "attendee_contacts": [other.pk]},
    )
    assert response.status_code == 400
    response = c.post(url("create", account.pk), {**data, "period_start": "not a date"})
    assert response.status_code == 400
    assert not Qbr.objects.exists()
    response = c.post(
        url("create", account.pk),
        {**data, "period_end": "2026-09-30", "optional_sections": ["wins"]},
    )
    q = Qbr.objects.get()
    assert response.status_code == 302 and response["Location"] == q.get_absolute_url()
    assert (q.kind, q.optional_sections, list(q.attendee_contacts.all())) == (
        "ebr",
        ["wins"],
        [contact],
    )


def test_the_narrative_is_saved_whole_or_a_section_in_place(client_for, alice, qbr):
    c = client_for(alice)
    response = c.post(
        url("narrative", qbr.pk), {"summary": "A good quarter.", "optional_sections": ["tickets"]}
    )
    assert response.status_code == 302
    qbr.refresh_from_db()
    assert (qbr.narrative["summary"], qbr.optional_sections) == ("A good quarter.", ["tickets"])
    response = c.post(
        url("section", qbr.pk),
        {"section": "tickets", "text": "<b>Live</b> in 4 regions"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and b"Saved" in response.content
    qbr.refresh_from_db()
    assert qbr.narrative["tickets"] == "<b>Live</b> in 4 regions"
    assert c.post(url("section", qbr.pk), {"section": "bogus", "text": "x"}).status_code == 400
    assert (
        c.post(url("section", qbr.pk), {"section": "tickets", "text": "x" * 10_001}).status_code
        == 400
    )
    assert c.post(url("narrative", qbr.pk), {"optional_sections": ["summary"]}).status_code == 400
    qbr.refresh_from_db()
    assert qbr.narrative["tickets"] == "<b>Live</b> in 4 regions" and qbr.optional_sections == [
        "tickets"
    ]
    page = c.get(url("detail", qbr.pk)).content.decode()
    assert "&lt;b&gt;Live&lt;/b&gt; in 4 regions" in page and "<b>Live</b>" not in page


def test_hold_then_follow_up_through_the_pages(client_for, alice, account, qbr):
    c = client_for(alice)
    contact = ContactFactory(account=account, email="pat@acme.example")
    future = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    assert c.post(url("hold", qbr.pk), {"held_on": future}).status_code == 400
    response = c.post(
        url("hold", qbr.pk),
        {"held_on": timezone.localdate().isoformat(), "contacts": [contact.pk], "notes": "Good"},
    )
    assert response.status_code == 302 and response["Location"] == url("follow_up", qbr.pk)
    assert c.get(url("follow_up", qbr.pk)).status_code == 200
    management = {"steps-TOTAL_FORMS": "2", "steps-INITIAL_FORMS": "0"}
    empty = {
        **management,
        "steps-0-text": "",
        "steps-0-side": "ours",
        "steps-1-text": "",
        "steps-1-side": "ours",
        "contacts": [contact.pk],
        "send_email": "on",
        "deck": "link",
    }
    assert c.post(url("follow_up", qbr.pk), empty).status_code == 400
    bad_date = {**empty, "steps-0-text": "Send report", "steps-0-due_date": "31/31/2026"}
    assert c.post(url("follow_up", qbr.pk), bad_date).status_code == 400
    ok = {
        **empty,
        "steps-0-text": "Send report",
        "steps-1-text": "Confirm seats",
        "steps-1-side": "customer",
    }
    response = c.post(url("follow_up", qbr.pk), ok)
    assert response.status_code == 302
    qbr.refresh_from_db()
    assert qbr.status == QbrStatus.FOLLOWED_UP and qbr.next_steps.count() == 2
    assert account.tasks.filter(source="qbr").count() == 2


def test_the_deck_link_opens_without_login_and_refuses_a_forged_token(client, qbr):
    token = qbrs.deck_link_token(qbr=qbr, fmt="pdf")
    response = client.get(url("deck_link", token))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert client.get(url("deck_link", token[:-3] + "abc")).status_code == 404
    qbrs.qbr_cancel(qbr=qbr, actor=None)
    assert client.get(url("deck_link", token)).status_code == 404


def test_cadence_page(client_for, alice, bob, account):
    assert client_for(bob).get(url("cadence", account.pk)).status_code == 403
    c = client_for(alice)
    past = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    assert (
        c.post(url("cadence", account.pk), {"cadence": "monthly", "until": past}).status_code == 400
    )
    assert c.post(url("cadence", account.pk), {"cadence": "fortnightly"}).status_code == 400
    assert (
        c.post(url("cadence", account.pk), {"cadence": "monthly", "reason": "Go-live"}).status_code
        == 302
    )
    page = c.get(account.get_absolute_url()).content.decode()
    assert 'data-testid="qbr-panel"' in page and "Monthly" in page


def test_bad_filters_show_the_default_list(client_for, alice):
    c = client_for(alice)
    assert c.get(url("due") + "?overdue=maybe&cadence=weekly&window=x&owner=abc").status_code == 200
    assert c.get(url("list") + "?status=bogus&scheduled_after=not-a-date").status_code == 200


def test_csv_exports(client_for, alice, account):
    held(account, timezone.localdate() - dt.timedelta(days=120))
    due = client_for(alice).get(url("due") + "?format=csv")
    body = b"".join(due.streaming_content).decode()
    assert body.splitlines()[0].startswith("account id,account,owner,cadence")
    assert "Acme,Alice" in body
    listed = b"".join(client_for(alice).get(url("list") + "?format=csv").streaming_content).decode()
    assert ",Acme," in listed and ",Held," in listed


@pytest.mark.parametrize("name", ["due", "list"])
def test_list_pages_cost_the_same_for_5_and_50(
    client_for, alice, name, django_assert_max_num_queries
):
    same_for_5_and_50(
        client_for(alice), url(name), grow_with_qbrs(alice), django_assert_max_num_queries
    )


def test_the_account_360_page_costs_the_same_for_1_and_9_qbrs(client_for, alice, account):
    from onboarding.tests.test_queries import queries

    c = client_for(alice)
    held(account, timezone.localdate() - dt.timedelta(days=30))
    queries(c, account.get_absolute_url())  # warm the session
    one = queries(c, account.get_absolute_url())
    for i in range(1, 9):
        held(account, timezone.localdate() - dt.timedelta(days=30 + 91 * i))
    page = c.get(account.get_absolute_url())
    assert b'data-testid="qbr-panel"' in page.content and page.content.count(b"data-qbr=") == 6
    assert queries(c, account.get_absolute_url()) == one
