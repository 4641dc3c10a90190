"""Emailed surveys: send → outbox → one-click answer → comment; tokens; quiet period."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.choices import LifecycleStage
from accounts.tests.factories import AccountFactory, ContactFactory
from csplatform.models import OutboundEmail
from metrics.choices import ResponseSource, SurveyKind
from metrics.models import SurveyResponse, SurveySend
from metrics.services import feedback as services

LINK = re.compile(r"/metrics/survey/(?P<token>[A-Za-z0-9_-]+)/(?P<score>\d+)/")


@pytest.fixture
def account(alice):
    return AccountFactory(owner=alice, lifecycle_stage=LifecycleStage.ADOPTION)


@pytest.fixture
def contact(account):
    return ContactFactory(account=account, first_name="Ada", email="ada@northwind.example")


def _links(email: OutboundEmail) -> dict[int, str]:
    return {int(m["score"]): m.group(0) for m in LINK.finditer(email.body_text)}


def _send_and_links(contact, kind=SurveyKind.NPS):
    send = services.survey_send(contact=contact, kind=kind)
    email = OutboundEmail.objects.get(idempotency_key=f"survey:{send.pk}")
    return send, email, _links(email)


def test_send_puts_one_email_with_a_link_per_score_in_the_outbox(contact):
    send, email, links = _send_and_links(contact)

    assert email.to == ["ada@northwind.example"]
    assert sorted(links) == list(range(0, 11))
    assert all(path in email.body_html for path in links.values())
    token = LINK.search(email.body_text)["token"]
    # Only the hash is stored; the raw token lives in the email alone.
    assert send.token_hash == services.survey_token_hash(token)
    assert token not in send.token_hash
    assert send.expires_at > timezone.now() + timedelta(days=29)


def test_csat_email_has_the_one_to_five_scale(contact):
    _send, _email, links = _send_and_links(contact, kind=SurveyKind.CSAT)
    assert sorted(links) == [1, 2, 3, 4, 5]


def test_following_a_link_records_nothing_until_the_page_posts(client, contact):
    _send, _email, links = _send_and_links(contact)

    page = client.get(links[9])

    assert page.status_code == 200
    assert b"survey-answer" in page.content
    assert not SurveyResponse.objects.exists()


def test_whole_flow_click_records_once_with_stage_then_comment(client, contact, account):
    send, _email, links = _send_and_links(contact)

    first = client.post(links[9])
    comment_url = reverse(
        "metrics:survey_comment", kwargs={"token": LINK.search(links[9])["token"]}
    )
    assert first.status_code == 302
    assert first["Location"].startswith(comment_url)
    response = SurveyResponse.objects.get()
    assert (response.kind, response.score, response.source) == ("nps", 9, ResponseSource.EMAIL)
    assert response.lifecycle_stage == LifecycleStage.ADOPTION
    assert response.contact_id == contact.pk and response.account_id == account.pk
    send.refresh_from_db()
    assert send.answered_at is not None and response.survey_send_id == send.pk

    # A second click, even on another score, changes nothing and says so.
    second = client.post(links[3])
    assert second.status_code == 302
    assert SurveyResponse.objects.count() == 1
    assert SurveyResponse.objects.get().score == 9
    again = client.get(links[3], follow=True)
    assert b"survey-already-answered" in again.content

    saved = client.post(comment_url, {"comment": "  Great onboarding team  "})
    assert saved.status_code == 302 and saved["Location"] == reverse("metrics:survey_thanks")
    assert SurveyResponse.objects.get().comment == "Great onboarding team"
    assert client.get(saved["Location"]).status_code == 200


def test_the_stage_is_the_one_at_answer_time(client, contact, account):
    _send, _email, links = _send_and_links(contact)
    account.lifecycle_stage = LifecycleStage.RENEWAL
    account.save()

    client.post(links[10])

    assert SurveyResponse.objects.get().lifecycle_stage == LifecycleStage.RENEWAL


def test_answering_twice_through_the_service_creates_one_response(contact):
    _send, _email, links = _send_and_links(contact)
    token = LINK.search(links[7])["token"]

    first = services.survey_answer(token=token, score=7)
    second = services.survey_answer(token=token, score=2)

    assert first.created and not second.created
    assert second.response.pk == first.response.pk
    assert SurveyResponse.objects.count() == 1


def test_tampered_token_is_rejected_and_changes_nothing(client, contact):
    send, _email, links = _send_and_links(contact)
    token = LINK.search(links[8])["token"]
    tampered = ("A" if token[0] != "A" else "B") + token[1:]

    answer = client.post(f"/metrics/survey/{tampered}/8/")
    comment = client.post(f"/metrics/survey/{tampered}/comment/", {"comment": "x"})

    assert answer.status_code == 404 and b"survey-link-invalid" in answer.content
    assert comment.status_code == 404
    assert not SurveyResponse.objects.exists()
    send.refresh_from_db()
    assert send.answered_at is None


def test_expired_token_is_rejected_with_410_and_changes_nothing(client, contact):
    send, _email, links = _send_and_links(contact)
    SurveySend.objects.filter(pk=send.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    page = client.get(links[9])
    posted = client.post(links[9])

    assert page.status_code == 410 and b"survey-link-expired" in page.content
    assert posted.status_code == 410
    assert not SurveyResponse.objects.exists()


def test_a_score_off_the_scale_is_rejected(client, contact):
    _send, _email, links = _send_and_links(contact, kind=SurveyKind.CSAT)
    token = LINK.search(links[5])["token"]

    assert client.post(f"/metrics/survey/{token}/9/").status_code == 404
    with pytest.raises(ValidationError):
        services.survey_answer(token=token, score=0)
    assert not SurveyResponse.objects.exists()


def test_comment_page_before_answering_offers_the_scale(client, contact):
    _send, _email, links = _send_and_links(contact)
    token = LINK.search(links[1])["token"]

    page = client.get(reverse("metrics:survey_comment", kwargs={"token": token}))

    assert page.status_code == 200 and b"survey-scale" in page.content
    with pytest.raises(ValidationError):
        services.survey_comment_save(token=token, comment="why")


def test_public_pages_do_not_show_the_logged_in_navigation(client, contact):
    _send, _email, links = _send_and_links(contact)
    page = client.get(links[9])
    assert b"navbar" not in page.content and b"user-menu" not in page.content


# Quiet period and who may send ------------------------------------------------------------


def test_manual_send_respects_the_quiet_period(contact, settings):
    settings.SURVEY_QUIET_PERIOD_DAYS = 60
    services.survey_send(contact=contact)

    with pytest.raises(ValidationError) as exc:
        services.survey_send(contact=contact, kind=SurveyKind.CSAT)

    assert "quiet period" in str(exc.value)
    assert SurveySend.objects.count() == 1
    assert OutboundEmail.objects.filter(idempotency_key__startswith="survey:").count() == 1


def test_manual_send_after_the_quiet_period_goes(contact, settings):
    settings.SURVEY_QUIET_PERIOD_DAYS = 60
    first = services.survey_send(contact=contact)
    SurveySend.objects.filter(pk=first.pk).update(sent_at=timezone.now() - timedelta(days=61))

    services.survey_send(contact=contact)

    assert SurveySend.objects.count() == 2


def test_a_contact_without_email_cannot_be_surveyed(account):
    contact = ContactFactory(account=account, email="")
    with pytest.raises(ValidationError):
        services.survey_send(contact=contact)
    assert not SurveySend.objects.exists()


def test_ces_is_not_emailed(contact):
    with pytest.raises(ValidationError):
        services.survey_send(contact=contact, kind=SurveyKind.CES)


@pytest.mark.parametrize(
    ("persona", "status"), [("alice", 302), ("lead", 302), ("bob", 403), ("vic", 403)]
)
def test_send_page_is_for_the_owner_and_the_lead(
    request, client_for, contact, account, persona, status
):
    user = request.getfixturevalue(persona)
    url = reverse("metrics:survey_send", args=[account.pk])

    response = client_for(user).post(url, {"contact": contact.pk, "kind": "nps"})

    assert response.status_code == status
    assert SurveySend.objects.count() == (1 if status == 302 else 0)


def test_send_page_shows_the_quiet_period_error(client_for, alice, contact, account):
    services.survey_send(contact=contact)
    url = reverse("metrics:survey_send", args=[account.pk])

    response = client_for(alice).post(url, {"contact": contact.pk, "kind": "nps"})

    assert response.status_code == 400
    assert "quiet period" in response.content.decode()
    assert SurveySend.objects.count() == 1


def test_send_page_lists_only_this_accounts_contacts(client_for, alice, account, contact):
    other = ContactFactory(email="other@else.example")
    url = reverse("metrics:survey_send", args=[account.pk])

    response = client_for(alice).post(url, {"contact": other.pk, "kind": "nps"})

    assert response.status_code == 400
    assert not SurveySend.objects.exists()


def test_sending_and_answering_appear_on_the_timeline(client, alice, contact, account):
    _send, _email, links = _send_and_links(contact)
    client.post(links[4])

    subjects = list(account.activities.values_list("subject", flat=True))
    assert any("NPS survey emailed to Ada" in s for s in subjects)
    assert any("NPS answer from Ada" in s and s.endswith(": 4") for s in subjects)


def test_token_pages_are_never_cached(client, contact):
    _send, _email, links = _send_and_links(contact)
    page = client.get(links[9])
    assert "no-store" in page["Cache-Control"]
