"""The document as a PowerPoint deck (python-pptx): 16:9 slides drawn on the blank layout,
native charts (editable in PowerPoint and LibreOffice), the company's logo and colours,
"n / N" on every slide. Every text is written as a plain run, never parsed."""

from __future__ import annotations

import io
import re
from typing import Any

from django.utils.translation import gettext as _
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from qbr.documents import Bullets, Chart, DocSection, Document, Facts, Kpi, Table
from qbr.documents.svg import palette

W, H = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.55)
CONTENT_TOP = Inches(1.35)
CONTENT_BOTTOM = Inches(6.85)
FONT = "Liberation Sans"
GREY = RGBColor(0x6C, 0x75, 0x7D)
DARK = RGBColor(0x21, 0x25, 0x29)
LIGHT = RGBColor(0xF6, 0xF8, 0xFA)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
TABLE_ROWS = 10
ROW_HEIGHT = Inches(0.36)
NARRATIVE_CHARS = 1100
# XML 1.0 forbids most control characters; a pasted one must not break the deck.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def clean(text: Any) -> str:
    return _CONTROL.sub("", str(text))


def styled(run: Any, text: str, size: int, colour: RGBColor, *, bold: bool = False) -> Any:
    """A text run with the deck's font: plain text, never parsed."""
    run.text = clean(text)
    run.font.size, run.font.bold, run.font.name = Pt(size), bold, FONT
    run.font.color.rgb = colour
    return run


def rgb(hex_colour: str) -> RGBColor:
    return RGBColor.from_string(hex_colour.lstrip("#").upper())


class Deck:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.prs = Presentation()
        self.prs.slide_width, self.prs.slide_height = W, H
        self.blank = self.prs.slide_layouts[6]
        self.primary = rgb(doc.primary)
        self.accent = rgb(doc.accent)
        self.colours = [rgb(c) for c in palette(doc.primary, doc.accent)]

    # Drawing helpers ---------------------------------------------------------------------

    def text(
        self,
        slide: Any,
        left: int,
        top: int,
        width: int,
        height: int,
        text: str,
        *,
        size: int = 16,
        bold: bool = False,
        colour: RGBColor = DARK,
        align: Any = PP_ALIGN.LEFT,
        anchor: Any = MSO_ANCHOR.TOP,
    ) -> Any:
        box = slide.shapes.add_textbox(left, top, width, height)
        tf = box.text_frame
        tf.word_wrap = True
        tf.vertical_anchor = anchor
        tf.margin_left = tf.margin_right = Inches(0.05)
        for i, line in enumerate(clean(text).split("\n")):
            p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            p.alignment = align
            styled(p.add_run(), line, size, colour, bold=bold)
        return box

    def paragraphs(
        self,
        slide: Any,
        left: int,
        top: int,
        width: int,
        height: int,
        items: list[str],
        *,
        size: int = 15,
        numbered: bool = False,
        title: str = "",
        plain: bool = False,
    ) -> None:
        """Items as a bulleted or numbered list under an optional title; `plain`: a
        placeholder sentence, greyed and without a marker."""
        box = slide.shapes.add_textbox(left, top, width, height)
        tf = box.text_frame
        tf.word_wrap = True
        first = True
        if title:
            p = tf.paragraphs[0]
            styled(p.add_run(), title, size + 1, self.primary, bold=True)
            p.space_after = Pt(6)
            first = False
        for n, item in enumerate(items, 1):
            p = tf.paragraphs[0] if first else tf.add_paragraph()
            first = False
            p.space_after = Pt(6)
            if plain:
                styled(p.add_run(), item, size, GREY)
                continue
            styled(p.add_run(), f"{n}. " if numbered else "• ", size, self.accent, bold=True)
            styled(p.add_run(), item, size, DARK)

    def new_slide(self, title: str) -> Any:
        slide = self.prs.slides.add_slide(self.blank)
        bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, W, Inches(0.14))
        bar.fill.solid()
        bar.fill.fore_color.rgb = self.primary
        bar.line.fill.background()
        self.text(
            slide,
            MARGIN,
            Inches(0.35),
            W - 2 * MARGIN - Inches(2.4),
            Inches(0.8),
            title,
            size=28,
            bold=True,
            colour=self.primary,
        )
        line = slide.shapes.add_shape(
            MSO_SHAPE.RECTANGLE, MARGIN, Inches(1.12), Inches(1.2), Inches(0.05)
        )
        line.fill.solid()
        line.fill.fore_color.rgb = self.accent
        line.line.fill.background()
        if self.doc.logo_path:
            slide.shapes.add_picture(
                self.doc.logo_path, W - MARGIN - Inches(1.9), Inches(0.38), height=Inches(0.42)
            )
        return slide

    def footers(self) -> None:
        total = len(self.prs.slides)
        for n, slide in enumerate(self.prs.slides, 1):
            if n == 1:
                continue
            self.text(
                slide,
                MARGIN,
                Inches(7.0),
                Inches(9),
                Inches(0.35),
                f"{self.doc.company} · {self.doc.account_name} · {self.doc.kind_label}",
                size=10,
                colour=GREY,
            )
            self.text(
                slide,
                W - MARGIN - Inches(1.5),
                Inches(7.0),
                Inches(1.5),
                Inches(0.35),
                f"{n} / {total}",
                size=10,
                colour=GREY,
                align=PP_ALIGN.RIGHT,
            )

    # Slides ------------------------------------------------------------------------------

    def cover(self) -> None:
        doc = self.doc
        slide = self.prs.slides.add_slide(self.blank)
        panel = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, 0, 0, Inches(8.4), H)
        panel.fill.solid()
        panel.fill.fore_color.rgb = self.primary
        panel.line.fill.background()
        self.text(
            slide,
            Inches(0.7),
            Inches(1.6),
            Inches(7.2),
            Inches(0.5),
            doc.kind_label.upper(),
            size=16,
            bold=True,
            colour=self.accent,
        )
        name_size = 40 if len(doc.account_name) <= 28 else 30 if len(doc.account_name) <= 50 else 22
        self.text(
            slide,
            Inches(0.7),
            Inches(2.15),
            Inches(7.2),
            Inches(1.9),
            doc.account_name,
            size=name_size,
            bold=True,
            colour=WHITE,
        )
        lines = [
            f"{_('Period')}: {doc.period_label}",
            f"{_('Meeting')}: {doc.date_label}",
        ]
        if doc.prepared_by:
            lines.append(f"{_('Prepared by')}: {doc.prepared_by}, {doc.company}")
        self.text(
            slide,
            Inches(0.7),
            Inches(4.3),
            Inches(7.2),
            Inches(1.4),
            "\n".join(lines),
            size=15,
            colour=WHITE,
        )
        if doc.logo_path:
            slide.shapes.add_picture(doc.logo_path, Inches(9.0), Inches(0.8), width=Inches(3.6))
        if doc.attendees:
            self.paragraphs(
                slide,
                Inches(9.0),
                Inches(2.4),
                Inches(3.8),
                Inches(4.4),
                doc.attendees[:10],
                size=13,
                title=_("Attendees"),
            )

    def agenda(self) -> None:
        slide = self.new_slide(_("Agenda"))
        titles = self.doc.agenda
        half = (len(titles) + 1) // 2
        col_w = (W - 2 * MARGIN) // 2
        for col, chunk in enumerate((titles[:half], titles[half:])):
            box = slide.shapes.add_textbox(
                MARGIN + col * col_w, CONTENT_TOP + Inches(0.2), col_w - Inches(0.3), Inches(5)
            )
            tf = box.text_frame
            tf.word_wrap = True
            for i, title in enumerate(chunk):
                p = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
                p.space_after = Pt(14)
                styled(p.add_run(), f"{(col * half) + i + 1:02d}  ", 22, self.accent, bold=True)
                styled(p.add_run(), title, 20, DARK)

    def kpi_tiles(self, slide: Any, kpis: list[Kpi], top: int) -> int:
        n = len(kpis)
        gap = Inches(0.2)
        tile_w = (W - 2 * MARGIN - gap * (n - 1)) // n
        tile_h = Inches(1.35)
        for i, k in enumerate(kpis):
            left = MARGIN + i * (tile_w + gap)
            tile = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, left, top, tile_w, tile_h)
            tile.adjustments[0] = 0.08
            tile.fill.solid()
            tile.fill.fore_color.rgb = LIGHT
            tile.line.color.rgb = self.primary
            tile.line.width = Pt(1.25)
            self.text(
                slide,
                left + Inches(0.1),
                top + Inches(0.08),
                tile_w - Inches(0.2),
                Inches(0.3),
                k.label.upper(),
                size=10,
                colour=GREY,
            )
            size = 24 if len(k.value) <= 10 else 18 if len(k.value) <= 16 else 14
            self.text(
                slide,
                left + Inches(0.1),
                top + Inches(0.36),
                tile_w - Inches(0.2),
                Inches(0.55),
                k.value,
                size=size,
                bold=True,
                colour=self.primary,
            )
            if k.note:
                arrow = "▲ " if k.trend == "up" else "▼ " if k.trend == "down" else ""
                colour = (
                    RGBColor(0x19, 0x87, 0x54)
                    if k.good is True
                    else RGBColor(0xB0, 0x2A, 0x37)
                    if k.good is False
                    else GREY
                )
                self.text(
                    slide,
                    left + Inches(0.1),
                    top + Inches(0.92),
                    tile_w - Inches(0.2),
                    Inches(0.35),
                    arrow + k.note,
                    size=11,
                    colour=colour,
                )
        return top + tile_h + Inches(0.3)

    def narrative_chunks(self, text: str) -> list[str]:
        chunks: list[str] = []
        current = ""
        for para in [p.strip() for p in text.split("\n") if p.strip()]:
            while len(para) > NARRATIVE_CHARS:
                cut = para.rfind(" ", 0, NARRATIVE_CHARS)
                cut = cut if cut > 0 else NARRATIVE_CHARS
                if current:
                    chunks.append(current)
                    current = ""
                chunks.append(para[:cut])
                para = para[cut:].strip()
            if len(current) + len(para) > NARRATIVE_CHARS and current:
                chunks.append(current)
                current = ""
            current = f"{current}\n{para}" if current else para
        if current:
            chunks.append(current)
        return chunks

    def narrative_box(
        self, slide: Any, text: str, left: int, top: int, width: int, height: int
    ) -> None:
        size = 18 if len(text) < 350 else 15 if len(text) < 700 else 13
        self.text(slide, left, top, width, height, text, size=size)

    def chart(self, slide: Any, chart: Chart, left: int, top: int, width: int, height: int) -> None:
        data = CategoryChartData()
        labels = list(chart.labels)
        if chart.kind == "line" and len(labels) > 8:
            # About seven dates on the axis: the others are left blank (readable, unrotated).
            every = -(-len(labels) // 7)
            labels = [
                lb if i % every == 0 or i == len(labels) - 1 else "" for i, lb in enumerate(labels)
            ]
        data.categories = labels
        for name, values in chart.series:
            data.add_series(
                clean(name), values, number_format='0"%"' if chart.unit == "percent" else "#,##0"
            )
        kind = XL_CHART_TYPE.COLUMN_CLUSTERED if chart.kind == "bar" else XL_CHART_TYPE.LINE_MARKERS
        frame = slide.shapes.add_chart(kind, left, top, width, height, data)
        c = frame.chart
        c.has_title = False
        c.font.size = Pt(12)
        c.font.name = FONT
        c.has_legend = len(chart.series) > 1
        if c.has_legend:
            c.legend.position = XL_LEGEND_POSITION.BOTTOM
            c.legend.include_in_layout = False
        value_axis = c.value_axis
        value_axis.has_major_gridlines = True
        value_axis.major_gridlines.format.line.color.rgb = RGBColor(0xDE, 0xE2, 0xE6)
        value_axis.minimum_scale = 0
        if chart.y_max:
            value_axis.maximum_scale = chart.y_max
        value_axis.tick_labels.font.size = Pt(11)
        if chart.unit == "percent":
            value_axis.tick_labels.number_format = '0"%"'
            value_axis.tick_labels.number_format_is_linked = False
        c.category_axis.tick_labels.font.size = Pt(11)
        for i, series in enumerate(c.plots[0].series):
            colour = self.colours[i % len(self.colours)]
            if chart.kind == "bar":
                series.format.fill.solid()
                series.format.fill.fore_color.rgb = colour
            else:
                series.format.line.color.rgb = colour
                series.format.line.width = Pt(2.75 if i == 0 else 2)
                series.smooth = False
                series.marker.format.fill.solid()
                series.marker.format.fill.fore_color.rgb = colour
                series.marker.size = 5
        if chart.kind == "bar":
            plot = c.plots[0]
            plot.has_data_labels = True
            plot.data_labels.font.size = Pt(11)
            plot.data_labels.number_format = '0"%"' if chart.unit == "percent" else "#,##0"
            plot.data_labels.number_format_is_linked = False
            plot.gap_width = 80

    def table(self, slide: Any, table: Table, rows: list[list[str]], top: int) -> None:
        cols = len(table.headers)
        width = W - 2 * MARGIN
        height = ROW_HEIGHT * (len(rows) + 1)
        shape = slide.shapes.add_table(len(rows) + 1, cols, MARGIN, top, width, height)
        grid = shape.table
        widths = table.widths or [1] * cols
        total = sum(widths)
        for i, w in enumerate(widths):
            grid.columns[i].width = Emu(int(width * w / total))
        for row in grid.rows:
            row.height = ROW_HEIGHT
        for r, row in enumerate([table.headers, *rows]):
            for c_i, value in enumerate(row):
                cell = grid.cell(r, c_i)
                cell.text = ""
                tf = cell.text_frame
                tf.word_wrap = True
                text = clean(value)
                text = text if len(text) <= 120 else text[:119] + "…"
                header = r == 0
                styled(
                    tf.paragraphs[0].add_run(),
                    text,
                    13 if header else 12,
                    WHITE if header else DARK,
                    bold=header,
                )
                cell.margin_top = cell.margin_bottom = Inches(0.04)
                cell.fill.solid()
                cell.fill.fore_color.rgb = (
                    self.primary if header else LIGHT if r % 2 == 0 else WHITE
                )

    def facts(self, slide: Any, facts: Facts, left: int, top: int, width: int) -> None:
        label_w = int(width * 0.45)
        y = top
        if facts.title:
            self.text(
                slide,
                left,
                y,
                width,
                Inches(0.4),
                facts.title,
                size=16,
                bold=True,
                colour=self.primary,
            )
            y += Inches(0.45)
        for label, value in facts.pairs:
            self.text(slide, left, y, label_w, Inches(0.4), label, size=13, colour=GREY)
            self.text(slide, left + label_w, y, width - label_w, Inches(0.4), value, size=13)
            y += Inches(0.43) if len(value) < 45 else Inches(0.7)

    def section(self, number: int, sec: DocSection) -> None:
        title = f"{number}. {sec.title}"
        side = [b for b in sec.blocks if isinstance(b, Bullets | Facts)]
        charts = [b for b in sec.blocks if isinstance(b, Chart)]
        tables = [b for b in sec.blocks if isinstance(b, Table)]
        chunks = self.narrative_chunks(sec.narrative) if sec.narrative else []
        first_text = chunks[0] if chunks else ""
        full = W - 2 * MARGIN
        # A short text and a small table share a slide: text above, table below.
        if (
            not sec.kpis
            and not side
            and tables
            and len(tables[0].rows) <= TABLE_ROWS
            and len(first_text) <= 300
            and len(chunks) <= 1
        ):
            table = tables.pop(0)
            slide = self.new_slide(title)
            top: int = CONTENT_TOP
            if first_text:
                self.text(slide, MARGIN, top, full, Inches(0.9), first_text, size=15)
                top += Inches(1.0)
            self.table_block(slide, table, table.rows or self.no_rows(table), top)
            first_text, chunks = "", []
        if sec.kpis or first_text or side:
            slide = self.new_slide(title)
            top = self.kpi_tiles(slide, sec.kpis, CONTENT_TOP) if sec.kpis else CONTENT_TOP
            height = CONTENT_BOTTOM - top
            if first_text and side:
                left_w = int(full * 0.52)
                self.narrative_box(slide, first_text, MARGIN, top, left_w, height)
                self.side_block(
                    slide,
                    side.pop(0),
                    MARGIN + left_w + Inches(0.3),
                    top,
                    full - left_w - Inches(0.3),
                )
            elif first_text:
                self.narrative_box(slide, first_text, MARGIN, top, full, height)
            elif side:
                self.side_block(slide, side.pop(0), MARGIN, top, full)
            for extra in chunks[1:]:
                slide = self.new_slide(f"{title} ({_('continued')})")
                self.narrative_box(
                    slide, extra, MARGIN, CONTENT_TOP, full, CONTENT_BOTTOM - CONTENT_TOP
                )
        for i in range(0, len(side), 2):
            slide = self.new_slide(title)
            pair = side[i : i + 2]
            col = (full - Inches(0.4)) // len(pair)
            for j, block in enumerate(pair):
                self.side_block(slide, block, MARGIN + j * (col + Inches(0.4)), CONTENT_TOP, col)
        # Charts two to a slide, side by side.
        for i in range(0, len(charts), 2):
            slide = self.new_slide(title)
            chart_pair = charts[i : i + 2]
            col = (full - Inches(0.4)) // len(chart_pair)
            for j, chart in enumerate(chart_pair):
                left = MARGIN + j * (col + Inches(0.4))
                self.text(
                    slide,
                    left,
                    CONTENT_TOP - Inches(0.05),
                    col,
                    Inches(0.4),
                    chart.title,
                    size=15,
                    bold=True,
                    colour=GREY,
                )
                self.chart(
                    slide,
                    chart,
                    left,
                    CONTENT_TOP + Inches(0.4),
                    col,
                    CONTENT_BOTTOM - CONTENT_TOP - Inches(0.45),
                )
        for table in tables:
            rows = table.rows or self.no_rows(table)
            for start in range(0, len(rows), TABLE_ROWS):
                slide = self.new_slide(title if start == 0 else f"{title} ({_('continued')})")
                self.table_block(slide, table, rows[start : start + TABLE_ROWS], CONTENT_TOP)

    @staticmethod
    def no_rows(table: Table) -> list[list[str]]:
        return [[_("None recorded.")] + [""] * (len(table.headers) - 1)]

    def table_block(self, slide: Any, table: Table, rows: list[list[str]], top: int) -> None:
        if table.title:
            self.text(
                slide,
                MARGIN,
                top - Inches(0.05),
                W - 2 * MARGIN,
                Inches(0.4),
                table.title,
                size=15,
                bold=True,
                colour=GREY,
            )
            top += Inches(0.45)
        self.table(slide, table, rows, top)

    def side_block(self, slide: Any, block: Any, left: int, top: int, width: int) -> None:
        if isinstance(block, Facts):
            self.facts(slide, block, left, top, width)
            return
        items = block.items or ([block.empty] if block.empty else [])
        items = [i if len(i) <= 300 else i[:299] + "…" for i in items[:8]]
        size = 15 if sum(len(i) for i in items) < 500 else 13
        self.paragraphs(
            slide,
            left,
            top,
            width,
            CONTENT_BOTTOM - top,
            items,
            size=size,
            numbered=block.numbered,
            title=block.title,
            plain=not block.items,
        )

    def build(self) -> bytes:
        self.cover()
        self.agenda()
        for n, sec in enumerate(self.doc.sections, 1):
            self.section(n, sec)
        self.footers()
        out = io.BytesIO()
        self.prs.save(out)
        return out.getvalue()


def render_pptx(doc: Document) -> bytes:
    return Deck(doc).build()
