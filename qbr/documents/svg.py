"""Charts as inline SVG for the HTML preview and the PDF (WeasyPrint draws SVG natively, so
the PDF's charts are vectors, sharp at any zoom). Every label is escaped."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from qbr.documents import Chart, fmt_number

WIDTH = 640
HEIGHT = 250
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 14, 46
GRID = "#DEE2E6"
TEXT = "#495057"
# Room one x-axis label (a short date) takes.
LABEL_SPACE = 80
LEGEND_LINE = 16


def palette(primary: str, accent: str) -> list[str]:
    return [primary, accent, "#E76F51", "#8D99AE", "#E9C46A"]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        top = step * magnitude
        if top >= value:
            return float(top)
    return float(10 * magnitude)


def _axis(y_max: float, unit: str) -> list[str]:
    out = []
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        v = y_max * i / 4
        y = TOP + plot_h - plot_h * i / 4
        label = fmt_number(v, 0 if v == int(v) else 1) + (" %" if unit == "percent" else "")
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{TEXT}">{escape(label)}</text>'
        )
    return out


def _x_labels(labels: list[str], xs: list[float], *, every_one: bool = False) -> list[str]:
    """About one label per LABEL_SPACE units, the last one always (right-aligned to stay in
    the chart), never two closer than a label's width; bars keep every label, shortened
    to their slot."""
    if every_one:
        slot = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
        chars = max(int(slot / 6.5), 4)
        return [
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="middle" fill="{TEXT}">'
            f"{escape(label if len(label) <= chars else label[: chars - 1] + '…')}</text>"
            for label, x in zip(labels, xs, strict=True)
        ]
    fit = max(int((WIDTH - LEFT - RIGHT) / LABEL_SPACE), 2)
    every = -(-len(labels) // fit)
    keep = [i for i in range(len(labels)) if i % every == 0]
    last = len(labels) - 1
    if keep[-1] != last:
        keep.append(last)
    # The last label is right-aligned: it needs a label and a half of room after the one before.
    while len(keep) > 2 and xs[last] - xs[keep[-2]] < LABEL_SPACE * 1.5:
        keep.pop(-2)
    out = []
    for i in keep:
        label, x = labels[i], xs[i]
        text = label if len(label) <= 18 else label[:17] + "…"
        anchor = (
            "end"
            if i == last and len(keep) > 1 and WIDTH - RIGHT - x < LABEL_SPACE / 2
            else "middle"
        )
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="11" text-anchor="{anchor}" fill="{TEXT}">{escape(text)}</text>'
        )
    return out


def _legend(chart: Chart, colours: list[str]) -> tuple[list[str], int]:
    """The legend under the chart, wrapped onto more lines when the names are long;
    returns it with the extra height it needs."""
    out = []
    x, row = LEFT, 0
    for i, (name, _values) in enumerate(chart.series):
        width = 24 + int(6.6 * len(name))
        if x > LEFT and x + width > WIDTH - RIGHT:
            x, row = LEFT, row + 1
        y = HEIGHT - 16 + row * LEGEND_LINE
        out.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colours[i % len(colours)]}"/>'
            f'<text x="{x + 14}" y="{y + 9}" font-size="11" fill="{TEXT}">{escape(name)}</text>'
        )
        x += width
    return out, row * LEGEND_LINE


def chart_svg(chart: Chart, primary: str, accent: str) -> SafeString:
    colours = palette(primary, accent)
    values = [v for _n, vs in chart.series for v in vs if v is not None]
    y_max = chart.y_max or _nice_max(max(values) if values else 1.0)
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    legend, extra = (
        _legend(chart, colours) if len(chart.series) > 1 or chart.kind == "line" else ([], 0)
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT + extra}" width="100%" '
        f'role="img" aria-label="{escape(chart.title)}" font-family="DejaVu Sans, Liberation Sans, sans-serif">'
    ]
    parts += _axis(y_max, chart.unit)
    n = len(chart.labels)

    def y_of(v: float) -> float:
        return TOP + plot_h - plot_h * min(v, y_max) / y_max

    if chart.kind == "bar":
        slot = plot_w / max(n, 1)
        bar_w = slot * 0.6 / max(len(chart.series), 1)
        xs = [LEFT + slot * (i + 0.5) for i in range(n)]
        for s_i, (_name, vs) in enumerate(chart.series):
            for i, v in enumerate(vs):
                if v is None:
                    continue
                x = LEFT + slot * i + slot * 0.2 + bar_w * s_i
                y = y_of(v)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{TOP + plot_h - y:.1f}" fill="{colours[s_i % len(colours)]}"/>'
                    f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" font-size="10" text-anchor="middle" fill="{TEXT}">'
                    f"{escape(fmt_number(v, 0 if v >= 10 else 1))}{' %' if chart.unit == 'percent' else ''}</text>"
                )
    else:
        step = plot_w / max(n - 1, 1)
        xs = [LEFT + step * i for i in range(n)]
        for s_i, (_name, vs) in enumerate(chart.series):
            colour = colours[s_i % len(colours)]
            segment: list[str] = []
            runs: list[list[str]] = []
            for x, v in zip(xs, vs, strict=True):
                if v is None:
                    if segment:
                        runs.append(segment)
                    segment = []
                    continue
                segment.append(f"{x:.1f},{y_of(v):.1f}")
            if segment:
                runs.append(segment)
            for run in runs:
                parts.append(
                    f'<polyline fill="none" stroke="{colour}" stroke-width="{2.5 if s_i == 0 else 1.8}" points="{" ".join(run)}"/>'
                )
            last = next(
                ((x, v) for x, v in zip(reversed(xs), reversed(vs), strict=True) if v is not None),
                None,
            )
            if last is not None:
                parts.append(
                    f'<circle cx="{last[0]:.1f}" cy="{y_of(last[1]):.1f}" r="3.5" fill="{colour}"/>'
                )
    parts += _x_labels(chart.labels, xs, every_one=chart.kind == "bar")
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="{TEXT}" stroke-width="1"/>'
    )
    parts += legend
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above went through escape
