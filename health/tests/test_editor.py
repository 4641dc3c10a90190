"""The scorecard editor reads like the role matrix of SPEC §0: everyone logged in reads,
CS Leads and Admins change, and a refused request changes nothing. Then the editor's
rules: weights that add up, spreading them, publishing refused with its problems, one
default scorecard, the measure form's defaults and bands."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from health.choices import ScoringMethod, VersionStatus
from health.models import Measure, MeasureGroup, Scorecard, ScorecardVersion
from health.services import scorecards as services
from health.tests.factories import bands, build_scorecard, linear

pytestmark = pytest.mark.django_db


@dataclass
class World:
    main: Scorecard  # the default: published v1 and draft v2
    draft: ScorecardVersion
    other: Scorecard  # enterprise accounts: published, no draft

    def group(self, name: str) -> MeasureGroup:
        return self.draft.groups.get(name=name)

    def measure(self, kind: str) -> Measure:
        return Measure.objects.get(group__version=self.draft, kind=kind)


def usage_and_sentiment(**scorecard: Any) -> ScorecardVersion:
    return build_scorecard(
        [
            (
                "Usage",
                60,
                [
                    ("stickiness", 50, bands((0, 0), (25, 50), (40, 75), (60, 100))),
                    ("mau_trend", 50, bands((-100, 0), (0, 60), (10, 100))),
                ],
            ),
            ("Sentiment", 40, [("nps", 100, linear(-100, 100))]),
        ],
        **scorecard,
    )


@pytest.fixture
def world(alice, bob, lead, vic, admin_user) -> World:
    main = usage_and_sentiment(name="Main").scorecard
    other = usage_and_sentiment(
        name="Enterprise", is_default=False, priority=10, tiers=["enterprise"]
    ).scorecard
    draft = services.version_draft(scorecard=main, actor=lead)
    return World(main=main, draft=draft, other=other)


def snapshot() -> list[Any]:
    """Every row the editor can touch, to show that a refused request changed nothing."""
    return [
        list(Scorecard.objects.order_by("pk").values()),
        list(ScorecardVersion.objects.order_by("pk").values()),
        list(MeasureGroup.objects.order_by("pk").values()),
        list(Measure.objects.order_by("pk").values()),
    ]


def _persona(request: pytest.FixtureRequest, name: str) -> Any:
    return request.getfixturevalue(name)


PERSONAS = ["alice", "bob", "lead", "vic", "admin_user"]

READ_PAGES: dict[str, Callable[[World], str]] = {
    "list": lambda w: reverse("health:scorecards"),
    "detail": lambda w: reverse("health:scorecard", args=[w.main.pk]),
    "published": lambda w: (
        reverse("health:scorecard", args=[w.main.pk])
        + f"?version={w.main.versions.get(status='published').number}"
    ),
    "other": lambda w: reverse("health:scorecard", args=[w.other.pk]),
    "preview": lambda w: reverse("health:draft_preview", args=[w.main.pk]),
}


@pytest.mark.parametrize("page", READ_PAGES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_everyone_logged_in_reads_the_scorecards(request, client_for, world, page, persona):
    response = client_for(_persona(request, persona)).get(READ_PAGES[page](world))
    assert response.status_code == 200
    assert b"Main" in response.content or b"Enterprise" in response.content


def test_anonymous_is_sent_to_the_login_page(client, world):
    response = client.get(reverse("health:scorecards"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_only_editors_see_the_editor(client_for, world, lead, alice, vic):
    url = reverse("health:scorecard", args=[world.main.pk])
    weights = reverse("health:draft_weights", args=[world.main.pk]).encode()
    assert weights in client_for(lead).get(url).content
    for user in (alice, vic):
        body = client_for(user).get(url).content
        assert weights not in body
        assert b'data-testid="publish"' not in body
        assert b"Stickiness" in body or b"Weekly stickiness" in body  # the draft is readable


# Writes ------------------------------------------------------------------------------------


@dataclass
class WriteCase:
    url: Callable[[World], str]
    data: Callable[[World], dict[str, Any]]
    changed: Callable[[World], bool]  # did the write reach the database?
    get: bool = False  # the page also answers GET (a form)
    prepare: Callable[[World], None] | None = None


def _draft_exists(w: World) -> bool:
    return w.main.versions.filter(status=VersionStatus.DRAFT).exists()


def _unbalance(w: World) -> None:
    MeasureGroup.objects.filter(pk=w.group("Usage").pk).update(weight=80)


WRITES: dict[str, WriteCase] = {
    "create": WriteCase(
        lambda w: reverse("health:scorecard_create"),
        lambda w: {"name": "SMB", "priority": "20", "tiers": ["smb"], "start_from": "starter"},
        lambda w: Scorecard.objects.filter(name="SMB", versions__groups__isnull=False).exists(),
        get=True,
    ),
    "edit": WriteCase(
        lambda w: reverse("health:scorecard_edit", args=[w.other.pk]),
        lambda w: {"name": "Enterprise", "priority": "5", "tiers": ["enterprise", "mid_market"]},
        lambda w: Scorecard.objects.get(pk=w.other.pk).tiers == ["enterprise", "mid_market"],
        get=True,
    ),
    "switch_off": WriteCase(
        lambda w: reverse("health:scorecard_active", args=[w.other.pk]),
        lambda w: {"active": "0"},
        lambda w: not Scorecard.objects.get(pk=w.other.pk).is_active,
    ),
    "duplicate": WriteCase(
        lambda w: reverse("health:scorecard_duplicate", args=[w.other.pk]),
        lambda w: {"name": "Enterprise EMEA"},
        lambda w: Scorecard.objects.filter(name="Enterprise EMEA").exists(),
        get=True,
    ),
    "draft_start": WriteCase(
        lambda w: reverse("health:draft_start", args=[w.other.pk]),
        lambda w: {},
        lambda w: w.other.versions.filter(status=VersionStatus.DRAFT).exists(),
    ),
    "discard": WriteCase(
        lambda w: reverse("health:draft_discard", args=[w.main.pk]),
        lambda w: {},
        lambda w: not _draft_exists(w),
        get=True,
    ),
    "publish": WriteCase(
        lambda w: reverse("health:draft_publish", args=[w.main.pk]),
        lambda w: {"note": "Same again"},
        lambda w: ScorecardVersion.objects.get(pk=w.draft.pk).status == VersionStatus.PUBLISHED,
    ),
    "normalise": WriteCase(
        lambda w: reverse("health:draft_normalise", args=[w.main.pk]),
        lambda w: {},
        lambda w: w.group("Usage").weight == Decimal("66.67"),
        prepare=_unbalance,
    ),
    "weights": WriteCase(
        lambda w: reverse("health:draft_weights", args=[w.main.pk]),
        lambda w: {f"g{w.group('Usage').pk}": "70", f"m{w.measure('nps').pk}": "90"},
        lambda w: (w.group("Usage").weight, w.measure("nps").weight) == (Decimal(70), Decimal(90)),
    ),
    "bands": WriteCase(
        lambda w: reverse("health:draft_bands", args=[w.main.pk]),
        lambda w: {"red_max": "40", "yellow_max": "70"},
        lambda w: ScorecardVersion.objects.get(pk=w.draft.pk).red_max == 40,
        get=True,
    ),
    "group_create": WriteCase(
        lambda w: reverse("health:group_create", args=[w.main.pk]),
        lambda w: {"name": "Support", "weight": "10"},
        lambda w: w.draft.groups.filter(name="Support").exists(),
        get=True,
    ),
    "group_edit": WriteCase(
        lambda w: reverse("health:group_edit", args=[w.group("Usage").pk]),
        lambda w: {"name": "Product usage", "weight": "60"},
        lambda w: w.draft.groups.filter(name="Product usage").exists(),
        get=True,
    ),
    "group_delete": WriteCase(
        lambda w: reverse("health:group_delete", args=[w.group("Sentiment").pk]),
        lambda w: {},
        lambda w: not w.draft.groups.filter(name="Sentiment").exists(),
        get=True,
    ),
    "group_move": WriteCase(
        lambda w: reverse("health:group_move", args=[w.group("Sentiment").pk]),
        lambda w: {"direction": "up"},
        lambda w: w.group("Sentiment").position == 0,
    ),
    "measure_create": WriteCase(
        lambda w: reverse("health:measure_create", args=[w.group("Sentiment").pk]),
        lambda w: {
            "kind": "csat",
            "weight": "25",
            "method": ScoringMethod.LINEAR,
            "low": "50",
            "high": "95",
        },
        lambda w: w.group("Sentiment").measures.filter(kind="csat").exists(),
    ),
    "measure_edit": WriteCase(
        lambda w: reverse("health:measure_edit", args=[w.measure("nps").pk]),
        lambda w: {
            "kind": "nps",
            "label": "Survey NPS",
            "weight": "100",
            "method": ScoringMethod.BANDS,
            "band_from_0": "-100",
            "band_score_0": "0",
            "band_from_1": "30",
            "band_score_1": "100",
        },
        lambda w: (
            w.measure("nps").bands == [{"from": "-100", "score": 0}, {"from": "30", "score": 100}]
        ),
        get=True,
    ),
    "measure_delete": WriteCase(
        lambda w: reverse("health:measure_delete", args=[w.measure("mau_trend").pk]),
        lambda w: {},
        lambda w: not Measure.objects.filter(group__version=w.draft, kind="mau_trend").exists(),
        get=True,
    ),
    "measure_move": WriteCase(
        lambda w: reverse("health:measure_move", args=[w.measure("mau_trend").pk]),
        lambda w: {"direction": "up"},
        lambda w: w.measure("mau_trend").position == 0,
    ),
}

MATRIX = [("alice", False), ("bob", False), ("vic", False), ("lead", True), ("admin_user", True)]


@pytest.mark.parametrize("case", WRITES)
@pytest.mark.parametrize(("persona", "allowed"), MATRIX)
def test_write_matrix(request, client_for, world, case, persona, allowed):
    write = WRITES[case]
    if write.prepare:
        write.prepare(world)
    c = client_for(_persona(request, persona))
    url = write.url(world)
    before = snapshot()
    if write.get:
        assert c.get(url).status_code == (200 if allowed else 403)
    response = c.post(url, write.data(world))
    if allowed:
        assert response.status_code == 302, response.content[:800]
        assert write.changed(world)
    else:
        assert response.status_code == 403
        assert not write.changed(world)
        assert snapshot() == before


def test_the_starter_scorecard_is_offered_when_there_is_none(client_for, lead, vic):
    url = reverse("health:scorecards")
    assert b'data-testid="add-starter"' not in client_for(vic).get(url).content
    assert client_for(vic).post(reverse("health:scorecard_starter")).status_code == 403
    assert not Scorecard.objects.exists()
    assert b'data-testid="add-starter"' in client_for(lead).get(url).content
    client_for(lead).post(reverse("health:scorecard_starter"))
    starter = Scorecard.objects.get()
    assert starter.is_default
    published = starter.versions.get(status=VersionStatus.PUBLISHED)
    assert [g.name for g in published.groups.all()] == [
        "Product usage",
        "Sentiment",
        "Support",
        "Financial",
        "Relationship",
    ]
    # Once there is a scorecard the button is gone and a second click is refused.
    client_for(lead).post(reverse("health:scorecard_starter"))
    assert Scorecard.objects.count() == 1
    assert b'data-testid="add-starter"' not in client_for(lead).get(url).content


# Weights -----------------------------------------------------------------------------------


def test_the_editor_shows_each_levels_sum_and_warns_when_it_is_not_100(client_for, world, lead):
    MeasureGroup.objects.filter(pk=world.group("Usage").pk).update(weight=45)
    Measure.objects.filter(pk=world.measure("nps").pk).update(weight=80)
    body = client_for(lead).get(reverse("health:scorecard", args=[world.main.pk])).content.decode()
    # Groups 45 + 40 = 85; Sentiment's measures 80; Usage's 50 + 50 = 100.
    assert "Groups add up to <strong>85 %</strong>" in body
    assert "The group weights add up to 85 %, not 100 %." in body
    assert "The measure weights of “Sentiment” add up to 80 %, not 100 %." in body
    assert "The measure weights of “Usage”" not in body
    sums = [s.split("</td>")[0] for s in body.split('fw-semibold">')[1:] if s[:1].isdigit()]
    assert sums[:2] == ["100 %", "80 %"]
    assert 'data-testid="publish" disabled' in body


def test_spread_to_100_keeps_the_proportions_at_every_level(world):
    MeasureGroup.objects.filter(pk=world.group("Usage").pk).update(weight=30)  # 30 + 40 = 70
    Measure.objects.filter(pk=world.measure("stickiness").pk).update(weight=10)  # 10 + 50
    Measure.objects.filter(pk=world.measure("nps").pk).update(weight=0)  # alone, at 0
    services.weights_normalise(version=world.draft)
    # 30/70 → 42.86, 40/70 → 57.14; 10/60 → 16.67, 50/60 → 83.33; a lone 0 → 100.
    assert (world.group("Usage").weight, world.group("Sentiment").weight) == (
        Decimal("42.86"),
        Decimal("57.14"),
    )
    assert (world.measure("stickiness").weight, world.measure("mau_trend").weight) == (
        Decimal("16.67"),
        Decimal("83.33"),
    )
    assert world.measure("nps").weight == Decimal(100)
    assert services.version_problems(world.draft) == []


def test_weights_of_another_version_are_ignored_and_bad_weights_refused(world):
    published = world.main.versions.get(status=VersionStatus.PUBLISHED)
    theirs = published.groups.get(name="Usage")
    services.weights_save(version=world.draft, groups={theirs.pk: Decimal(5)}, measures={})
    assert MeasureGroup.objects.get(pk=theirs.pk).weight == Decimal(60)
    with pytest.raises(services.ValidationError):
        services.weights_save(
            version=world.draft, groups={world.group("Usage").pk: Decimal(101)}, measures={}
        )


# Publishing --------------------------------------------------------------------------------


def test_publishing_is_refused_with_the_problems_listed_then_accepted(
    client_for, world, lead, django_capture_on_commit_callbacks
):
    url = reverse("health:draft_publish", args=[world.main.pk])
    first = world.main.versions.get(status=VersionStatus.PUBLISHED)
    MeasureGroup.objects.filter(pk=world.group("Usage").pk).update(weight=50)
    Measure.objects.filter(pk=world.measure("nps").pk).update(method="linear", low=None)
    c = client_for(lead)
    response = c.post(url, {"note": "Heavier usage"}, follow=True)
    body = response.content.decode()
    assert "Not published: The group weights add up to 90 %, not 100 %." in body
    assert "“NPS of the account” in “Sentiment” is not set up completely." in body
    assert ScorecardVersion.objects.get(pk=world.draft.pk).status == VersionStatus.DRAFT
    MeasureGroup.objects.filter(pk=world.group("Usage").pk).update(weight=60)
    Measure.objects.filter(pk=world.measure("nps").pk).update(low=-100)
    with django_capture_on_commit_callbacks() as callbacks:
        c.post(url, {"note": "Heavier usage"})
    draft = ScorecardVersion.objects.get(pk=world.draft.pk)
    assert (draft.status, draft.note, draft.published_by) == ("published", "Heavier usage", lead)
    assert ScorecardVersion.objects.get(pk=first.pk).status == VersionStatus.ARCHIVED
    assert len(callbacks) == 1  # the rescore, after commit
    history = c.get(reverse("health:scorecard", args=[world.main.pk])).content.decode()
    assert "Heavier usage" in history and "Archived" in history


def test_a_published_version_cannot_be_edited(client_for, world, lead):
    published = world.main.versions.get(status=VersionStatus.PUBLISHED)
    group = published.groups.get(name="Usage")
    c = client_for(lead)
    assert c.get(reverse("health:group_edit", args=[group.pk])).status_code == 404
    assert c.post(reverse("health:group_delete", args=[group.pk])).status_code == 404
    assert MeasureGroup.objects.filter(pk=group.pk).exists()


# Scorecard settings ------------------------------------------------------------------------


def test_exactly_one_scorecard_is_the_default(world):
    other = world.other
    other.tiers = []
    other.is_default = True
    services.scorecard_save(scorecard=other)
    assert list(Scorecard.objects.filter(is_default=True)) == [other]
    main = Scorecard.objects.get(pk=world.main.pk)
    with pytest.raises(services.ValidationError) as refused:
        other.is_default = False
        services.scorecard_save(scorecard=other)
    assert "make another one the default instead" in str(refused.value)
    with pytest.raises(services.ValidationError):
        services.scorecard_set_active(scorecard=Scorecard.objects.get(pk=other.pk), active=False)
    with pytest.raises(services.ValidationError):
        main.is_default, main.tiers = True, ["smb"]
        services.scorecard_save(scorecard=main)
    assert list(Scorecard.objects.filter(is_default=True)) == [Scorecard.objects.get(pk=other.pk)]


def test_the_first_scorecard_is_the_default_and_starts_as_a_draft(client_for, lead):
    client_for(lead).post(
        reverse("health:scorecard_create"), {"name": "Ours", "priority": "100", "start_from": ""}
    )
    ours = Scorecard.objects.get()
    assert ours.is_default
    (draft,) = ours.versions.all()
    assert (draft.status, draft.groups.count()) == (VersionStatus.DRAFT, 0)
    assert services.version_problems(draft) == ["Add at least one group of measures."]


def test_a_copy_starts_from_the_published_tree_switched_off(world, lead):
    copy = services.scorecard_create(
        scorecard=Scorecard(name="Copy", is_active=False), start_from=world.other, actor=lead
    )
    draft = copy.versions.get()
    assert [(g.name, g.weight) for g in draft.groups.all()] == [
        ("Usage", Decimal(60)),
        ("Sentiment", Decimal(40)),
    ]
    assert Measure.objects.filter(group__version=draft).count() == 3
    assert not copy.is_active and not copy.is_default


# The measure form --------------------------------------------------------------------------


def test_a_new_measure_starts_from_its_kinds_default_scoring(client_for, world, lead):
    url = reverse("health:measure_create", args=[world.group("Sentiment").pk])
    catalogue = client_for(lead).get(url).content.decode()
    assert "?kind=csat" in catalogue and "Executive sponsor engaged" in catalogue
    form = client_for(lead).get(url + "?kind=open_p1_tickets").context["form"]
    # open_p1_tickets: bands 0 → 100, 1 → 40, 2 → 0; 3 bands + 2 blank rows, 5 at least.
    assert form.initial["method"] == ScoringMethod.BANDS
    assert [
        (form.initial[f"band_from_{i}"], form.initial[f"band_score_{i}"]) for i in range(3)
    ] == [
        (Decimal(0), 100),
        (Decimal(1), 40),
        (Decimal(2), 0),
    ]
    assert form.band_rows == 5
    # The weight proposed is what the group still lacks: Sentiment's NPS has 100 already.
    assert form.initial.get("weight", form.instance.weight) == Decimal(0)


def test_the_measure_form_says_what_is_wrong_and_changes_nothing(client_for, world, lead):
    url = reverse("health:measure_edit", args=[world.measure("nps").pk])
    before = snapshot()
    response = client_for(lead).post(
        url,
        {
            "kind": "nps",
            "weight": "100",
            "method": ScoringMethod.BANDS,
            "band_from_0": "0",
            "band_score_0": "50",
            "band_from_1": "0",
            "band_score_1": "70",
            "band_from_2": "20",
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["band_score_2"] == ["Enter both a start and a score, or neither."]
    assert snapshot() == before
    response = client_for(lead).post(
        url,
        {
            "kind": "nps",
            "weight": "100",
            "method": "bands",
            "band_from_0": "0",
            "band_score_0": "50",
            "band_from_1": "0",
            "band_score_1": "70",
        },
    )
    assert response.context["form"].non_field_errors() == ["Two bands start at the same value."]
    response = client_for(lead).post(
        url, {"kind": "nps", "weight": "100", "method": "linear", "low": "10", "high": "10"}
    )
    assert response.context["form"].errors["high"] == ["The values scoring 0 and 100 must differ."]
    assert snapshot() == before


def test_a_kind_with_options_asks_for_them(client_for, world, lead):
    url = reverse("health:measure_create", args=[world.group("Sentiment").pk])
    data = {
        "kind": "custom_field",
        "weight": "10",
        "method": "bands",
        "band_from_0": "0",
        "band_score_0": "100",
    }
    response = client_for(lead).post(url + "?kind=custom_field", data)
    assert response.status_code == 400
    assert response.context["form"].errors["opt_field"] == ["This field is required."]
    client_for(lead).post(url + "?kind=custom_field", {**data, "opt_field": "overdue_invoices"})
    measure = world.group("Sentiment").measures.get(kind="custom_field")
    assert (measure.options, measure.position) == ({"field": "overdue_invoices"}, 1)


def test_the_editor_and_the_backtest_speak_russian(client_for, world, lead):
    c = client_for(lead)
    scorecards = c.get(reverse("health:scorecards"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Карты здоровья" in scorecards and "По умолчанию" in scorecards
    page = c.get(world.main.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Распределить до 100 %" in page and "История версий" in page
    backtest = c.get(reverse("health:backtest"), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Предупредила бы вас оценка?" in backtest
