"""The documents: a PDF whose text holds the account's figures, a PowerPoint deck with the
expected slides, charts and figures, and customer text inert in PDF, PPTX, HTML and email."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.core import mail
from pptx import Presentation
from pypdf import PdfReader

from accounts.tests.factories import ContactFactory
from csplatform.models import OutboundEmail
from qbr.choices import ExportFormat, QbrKind
from qbr.documents import qbr_document
from qbr.documents.pdf import render_html
from qbr.services import qbrs
from qbr.services.export import qbr_export
from qbr.tests.builders import full_account
from qbr.tests.factories import QbrFactory

pytestmark = pytest.mark.django_db

HOSTILE = "<script>alert('x')</script> {{ 7*7 }} {% load static %} & <b>bold</b>"


@pytest.fixture
def world(alice):
    return full_account(alice)


@pytest.fixture
def qbr(world, alice):
    start, end = world.period
    q = QbrFactory(account=world.account, period_start=start, period_end=end, owner=alice)
    q.attendee_contacts.set(world.account.contacts.all())
    qbrs.qbr_prepare(qbr=q, actor=alice, today=world.today)
    qbrs.qbr_narrative_save(
        qbr=q,
        actor=alice,
        narrative={"summary": "Adoption grew in every team.", "gaps": HOSTILE},
        optional_sections=["tickets", "wins"],
    )
    return q


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pptx_texts(prs) -> list[str]:
    out = []
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                out.append(shape.text_frame.text)
            if shape.has_table:
                out += [cell.text for row in shape.table.rows for cell in row.cells]
    return out


def test_the_pdf_holds_the_accounts_figures(qbr, world):
    name, data = qbr_export(qbr=qbr, fmt=ExportFormat.PDF)
    assert data.startswith(b"%PDF") and name.endswith(".pdf")
    text = pdf_text(data)
    for expected in (
        "Acme Rockets GmbH",
        "Quarterly business review",
        "28,080.00 EUR",  # ARR
        "Monthly active users",
        "Month-end close in 3 days",
        "Export fails for large files",
        "Adoption grew in every team.",
        "Performance over the period",
        "Results against the goals set last time",
        "Gaps and new goals",
        "Action plan",
        "40,000.00 EUR",  # next price-tier threshold
    ):
        assert expected in text, expected
    pages = len(PdfReader(io.BytesIO(data)).pages)
    assert f"Page 1 / {pages}" in text and f"Page {pages} / {pages}" in text
    qbr.refresh_from_db()
    assert qbr.pdf.name.endswith(".pdf") and qbr.exported_at is not None


def test_the_deck_has_the_slides_charts_and_figures(qbr, world):
    _name, data = qbr_export(qbr=qbr, fmt=ExportFormat.PPTX)
    prs = Presentation(io.BytesIO(data))
    texts = pptx_texts(prs)
    joined = "\n".join(texts)
    titles = [t for t in texts if t[:2].strip(". ").isdigit() or t == "Agenda"]
    assert "Agenda" in titles
    for n, title in enumerate(
        [
            "Executive summary",
            "Performance over the period",
            "Results against the goals set last time",
            "Gaps and new goals",
            "Action plan",
        ],
        1,
    ):
        assert f"{n}. {title}" in texts
    # The optional sections chosen come after the mandatory ones.
    assert "7. Notable tickets and incidents" in texts and "8. Wins" in texts
    assert "Acme Rockets GmbH" in joined and "28,080.00 EUR" in joined
    charts = [shape.chart for slide in prs.slides for shape in slide.shapes if shape.has_chart]
    assert len(charts) == 3  # active users, health, feature adoption
    usage = charts[0]
    mau = next(s for s in usage.plots[0].series if s.name == "Monthly active users")
    values = [v for v in mau.values if v is not None]
    assert values[0] == 40 and values[-1] == 52
    health = charts[1].plots[0].series[0]
    assert [v for v in health.values if v is not None][-1] == 72
    # Every slide after the cover is numbered "n / N".
    total = len(prs.slides)
    assert f"2 / {total}" in texts and f"{total} / {total}" in texts
    # The logo is on every slide.
    pictures = [s for s in prs.slides[1].shapes if s.shape_type == 13]
    assert pictures


def test_the_adoption_chart_shows_each_features_share_of_active_users(qbr):
    _name, data = qbr_export(qbr=qbr, fmt=ExportFormat.PPTX)
    prs = Presentation(io.BytesIO(data))
    bars = [
        sh.chart
        for sl in prs.slides
        for sh in sl.shapes
        if sh.has_chart and sh.chart.chart_type == 51  # clustered columns
    ]
    assert len(bars) == 1
    assert list(bars[0].plots[0].categories) == ["Reports", "Exports"]
    assert list(bars[0].plots[0].series[0].values) == [75.0, 25.0]


def test_customer_text_is_inert_in_the_pdf_the_deck_and_the_preview(qbr):
    text = pdf_text(qbr_export(qbr=qbr, fmt=ExportFormat.PDF)[1])
    assert (
        "<script>alert('x')</script>" in text
        and "{{ 7*7 }}" in text
        and "{% load static %}" in text
    )
    prs = Presentation(io.BytesIO(qbr_export(qbr=qbr, fmt=ExportFormat.PPTX)[1]))
    assert any(HOSTILE in t for t in pptx_texts(prs))
    # The deck's XML holds it escaped, never as markup.
    with zipfile.ZipFile(io.BytesIO(qbr_export(qbr=qbr, fmt=ExportFormat.PPTX)[1])) as z:
        xml = "".join(z.read(n).decode() for n in z.namelist() if n.startswith("ppt/slides/slide"))
    assert "&lt;script&gt;" in xml and "<script>" not in xml
    html = render_html(qbr_document(qbr))
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<script>" not in html and "{{ 7*7 }}" in html and "<b>bold</b>" not in html


def test_an_account_name_cannot_break_out_of_the_pdf_footer(alice):
    world = full_account(alice, name='Evil"; } @page { size: 1mm } <x>')
    q = QbrFactory(account=world.account, period_start=world.period[0], period_end=world.period[1])
    html = render_html(
        qbr_document(
            q,
            qbrs.selectors.prep_pack(
                account=world.account, period_start=world.period[0], period_end=world.period[1]
            ),
        )
    )
    style = html.split("<style>")[1].split("</style>")[0]
    assert 'Evil"' not in style and "@page { size: 1mm }" not in style
    text = pdf_text(qbr_export(qbr=q, fmt=ExportFormat.PDF)[1])
    assert 'Evil"; } @page { size: 1mm } <x>' in text


def test_customer_text_is_inert_in_the_emails(
    qbr, world, alice, django_capture_on_commit_callbacks
):
    contact = ContactFactory(
        account=world.account, first_name="<i>Pat</i>", email="pat@acme.example"
    )
    with django_capture_on_commit_callbacks(execute=True):
        qbrs.qbr_invite(qbr=qbr, actor=alice, contact_ids=[contact.pk], message=HOSTILE)
    email = OutboundEmail.objects.get(idempotency_key=f"qbr:{qbr.pk}:invite:{contact.pk}")
    assert "&lt;script&gt;" in email.body_html and "<script>" not in email.body_html
    assert "&lt;i&gt;Pat&lt;/i&gt;" in email.body_html
    assert "{{ 7*7 }}" in email.body_html and "{% load static %}" in email.body_html
    # The plain-text part is not HTML: the text arrives as written, never evaluated.
    assert HOSTILE in email.body_text and "49" not in email.body_text
    sent = mail.outbox[-1]
    assert sent.to == ["pat@acme.example"] and "Acme Rockets GmbH" in sent.subject


def test_an_ebr_is_the_executive_version(world, alice):
    start, end = world.period
    q = QbrFactory(account=world.account, kind=QbrKind.EBR, period_start=start, period_end=end)
    qbrs.qbr_prepare(qbr=q, actor=alice, today=world.today)
    doc = qbr_document(q)
    assert doc.kind_label == "Executive business review"
    performance = next(s for s in doc.sections if s.key == "performance")
    table = performance.blocks[0]
    assert "Daily active users" not in [row[0] for row in table.rows]
    usage = performance.blocks[1]
    assert [name for name, _v in usage.series] == ["Monthly active users"]


def test_a_pasted_control_character_does_not_break_the_deck(qbr, alice):
    qbrs.qbr_narrative_save(qbr=qbr, actor=alice, narrative={"wins": "Go\x0blive\x00 done"})
    qbr.refresh_from_db()
    assert qbr.narrative["wins"] == "Golive done"
    prs = Presentation(io.BytesIO(qbr_export(qbr=qbr, fmt=ExportFormat.PPTX)[1]))
    assert any("Golive done" in t for t in pptx_texts(prs))


def test_long_narratives_continue_on_further_slides(qbr, alice):
    long = "\n".join(
        f"Paragraph {i}: " + "the team adopted the new workflow. " * 12 for i in range(12)
    )
    qbrs.qbr_narrative_save(qbr=qbr, actor=alice, narrative={"summary": long})
    prs = Presentation(io.BytesIO(qbr_export(qbr=qbr, fmt=ExportFormat.PPTX)[1]))
    texts = pptx_texts(prs)
    assert "1. Executive summary (continued)" in texts
    assert sum("Paragraph" in t for t in texts) >= 3
    joined = "\n".join(texts)
    assert all(f"Paragraph {i}:" in joined for i in range(12))


def test_a_period_change_drops_the_prepared_figures(qbr, alice):
    qbrs.qbr_update(qbr=qbr, actor=alice, period_end=qbr.period_end - dt.timedelta(days=1))
    qbr.refresh_from_db()
    assert qbr.prep == {} and qbr.status == "planned"


def test_a_qbr_without_a_date_says_its_meeting_is_to_be_agreed(qbr):
    assert qbr.scheduled_at is None and qbr.held_on is None
    assert qbr_document(qbr).date_label == "to be agreed"


def test_the_meeting_date_is_the_day_where_the_reader_is(qbr):
    from django.utils import timezone

    qbr.scheduled_at = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.UTC)
    with timezone.override("Europe/Berlin"):  # 00:30 on the 11th there
        assert qbr_document(qbr).date_label == "March 11, 2026"
    with timezone.override("America/New_York"):
        assert qbr_document(qbr).date_label == "March 10, 2026"


def test_the_draft_leaves_out_a_health_change_it_cannot_know(qbr):
    from qbr.documents import draft_narrative

    prep = {**qbr.prep, "health": {**qbr.prep["health"], "start": None, "end": 72}}
    summary = draft_narrative(prep)["summary"]
    assert "Health stands at 72." in summary and "—" not in summary
    prep["health"]["start"] = 70
    assert "Health stands at 72 (+2.0 pts over the period)." in draft_narrative(prep)["summary"]


def test_the_deck_shows_the_next_steps_placeholder_as_a_sentence_not_step_one(qbr):
    assert not qbr.next_steps.exists()
    _name, data = qbr_export(qbr=qbr, fmt=ExportFormat.PPTX)
    texts = pptx_texts(Presentation(io.BytesIO(data)))
    assert "Next steps\nNext steps are agreed at the meeting." in texts
    assert not any("1. Next steps are agreed" in t for t in texts)


def test_the_nps_tile_says_which_nps_it_shows(qbr):
    def nps_tile(prep):
        summary = next(s for s in qbr_document(qbr, prep).sections if s.key == "summary")
        return next(k for k in summary.kpis if k.label == "NPS")

    prep = {**qbr.prep, "sentiment": {**qbr.prep["sentiment"], "nps": 50, "nps_responses": 2}}
    tile = nps_tile(prep)
    assert (tile.value, tile.note) == ("50", "2 answers in the period")

    prep["sentiment"] = {**prep["sentiment"], "nps": None, "nps_responses": 0}
    prep["kpis"] = [{**k, "end": 33} if k["key"] == "nps_365d" else k for k in qbr.prep["kpis"]]
    tile = nps_tile(prep)
    assert (tile.value, tile.note) == ("33", "last 12 months")
