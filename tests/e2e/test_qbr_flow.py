"""A CSM prepares a QBR in a real browser: plans it from the account, fills the prep pack
from the platform, edits the narrative, exports the PDF and downloads it; the PDF holds the
account's figures and her text, with the customer's markup inert."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfReader

from accounts.models import Activity
from qbr.models import Qbr
from qbr.tests.builders import full_account

pytestmark = pytest.mark.e2e

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_csm_prepares_a_qbr_edits_it_and_downloads_the_pdf(
    live_server, browser_context, alice, tmp_path
):
    world = full_account(alice, name="Acme Rockets GmbH")
    expect = sync_api.expect

    page = browser_context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="My book")).to_be_visible()

    # From the account's 360 page, plan a QBR for the last quarter (the form's default).
    page.goto(f"{live_server.url}{world.account.get_absolute_url()}")
    page.get_by_test_id("plan-qbr").click()
    page.check("input[name=attendee_contacts]")
    page.click("input[type=submit][value=Save]")
    expect(page.get_by_test_id("qbr-status")).to_have_text("Planned")

    # Prepare: the prep pack fills itself from the platform's records.
    page.get_by_test_id("prepare").click()
    expect(page.get_by_test_id("qbr-status")).to_have_text("Prepared")
    expect(page.get_by_test_id("prep-licenses")).to_have_text("30")
    summary = page.get_by_test_id("narrative-summary")
    expect(summary).to_contain_text("The contract covers 30 licenses")  # the first draft

    # Edit the narrative; one section saves in place as she leaves it.
    summary.fill("A strong quarter: finance closed the books in 3 days.\n<script>alert(1)</script>")
    page.get_by_test_id("narrative-gaps").fill("Regions two to four are not live yet.")
    page.get_by_test_id("narrative-summary").focus()
    expect(page.locator("#status-gaps")).to_contain_text("Saved")
    page.check("input[name=optional_sections][value=wins]")
    page.get_by_test_id("save-document").click()
    expect(page.get_by_text("Document saved.")).to_be_visible()
    expect(page.get_by_test_id("narrative-wins")).to_be_visible()

    # Export the PDF and download it. The first PDF of a fresh process loads its fonts,
    # which on a cold machine with the other test worker busy takes more than 15 s.
    with page.expect_download(timeout=60_000) as info:
        page.get_by_test_id("export-pdf").click()
    download = info.value
    assert download.suggested_filename.startswith("acme-rockets-gmbh-qbr-")
    assert download.suggested_filename.endswith(".pdf")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    data = Path(path).read_bytes()
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Acme Rockets GmbH" in text
    assert "A strong quarter: finance closed the books in 3 days." in text
    assert "<script>alert(1)</script>" in text  # shown as text, never run
    assert "Regions two to four are not live yet." in text
    assert "28,080.00 EUR" in text and "Month-end close in 3 days" in text
    assert "Wins" in text

    qbr = Qbr.objects.get(account=world.account, status="prepared")
    assert qbr.pdf.name.endswith(".pdf")
    assert Activity.objects.filter(account=world.account, subject="QBR prepared").exists()
