"""The document as HTML (the browser preview) and as PDF (WeasyPrint, from the same HTML)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from qbr.documents import BASE_DIR, Document

TEMPLATE = "qbr/documents/document.html"


def render_html(doc: Document, *, show_placeholders: bool = False) -> str:
    return render_to_string(
        TEMPLATE,
        {"doc": doc, "page_label": _("Page"), "show_placeholders": show_placeholders},
    )


def render_pdf(doc: Document) -> bytes:
    # Imported here: WeasyPrint takes half a second to load, which web start-up need not pay.
    import weasyprint
    from weasyprint.urls import URLFetcher

    html = render_html(doc)
    # Only inline data: URIs load; a PDF never reaches out to the network or the disk.
    fetcher = URLFetcher(allowed_protocols={"data"})
    return weasyprint.HTML(string=html, base_url=str(BASE_DIR), url_fetcher=fetcher).write_pdf()
