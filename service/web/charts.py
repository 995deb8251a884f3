"""Charts drawn on the server as SVG (no JavaScript, nothing to load): the four categories per agency as stacked
bars, completions per month, the age of open escalations. Each is an ``<svg role="img">`` with a title and a
description and sits beside the table that holds the same numbers (for screen readers and for copying).

Written by hand: the three shapes are bars and text, about a hundred lines; a plotting library (matplotlib) would
add tens of megabytes and its own fonts for what SVG ``rect`` and ``text`` do directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

#: The four categories' colours, as on the overview's cards (colour-blind safe: blue, sky, grey, vermilion).
COLOURS = {"done_on_time": "#15803d", "done_late": "#a16207", "within_deadline": "#1d4ed8", "overdue": "#b91c1c"}
FONT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Bar:
    label: str
    parts: Sequence[tuple[str, int]]  # (category or series, count), drawn left to right / bottom to top
    link: str | None = None


def _svg(width: int, height: int, title: str, description: str, body: str, ident: str) -> Markup:
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{ident}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="xMinYMin meet" width="100%" style="max-width:{width}px">'
        f'<title id="{ident}-title">{escape(title)}</title><desc id="{ident}-desc">{escape(description)}</desc>'
        f"{body}</svg>")


def legend(names: Sequence[tuple[str, str]], colours: dict[str, str], y: int = 14) -> str:
    x, out = 0.0, []
    for key, name in names:
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colours[key]}"/>'
                   f'<text x="{x + 16}" y="{y}" {FONT}>{escape(name)}</text>')
        x += 28 + 7.5 * len(name)
    return "".join(out)


def stacked_bars(bars: Sequence[Bar], names: Sequence[tuple[str, str]], title: str, description: str,
                 ident: str, colours: dict[str, str] = COLOURS, label_width: int = 290) -> Markup:
    """One horizontal bar per row, its parts stacked, the total at its end; the label links to the row's page."""
    width, row, top = 760, 22, 28
    largest = max((sum(n for _, n in b.parts) for b in bars), default=0) or 1
    scale = (width - label_width - 50) / largest
    body = [legend(names, colours)]
    for i, b in enumerate(bars):
        y = top + i * row
        label = escape(b.label if len(b.label) <= 44 else b.label[:43] + "…")  # whole in the table beside
        text = f'<text x="{label_width - 6}" y="{y + 14}" text-anchor="end" {FONT}>{label}</text>'
        body.append(f'<a href="{escape(b.link)}">{text}</a>' if b.link else text)
        x = float(label_width)
        for key, n in b.parts:
            if n:
                body.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{n * scale:.1f}" height="{row - 6}" '
                            f'fill="{colours[key]}"><title>{escape(b.label)}: {n}</title></rect>')
                x += n * scale
        body.append(f'<text x="{x + 4:.1f}" y="{y + 14}" {FONT}>{sum(n for _, n in b.parts)}</text>')
    return _svg(width, top + len(bars) * row + 4, title, description, "".join(body), ident)


def columns(bars: Sequence[Bar], names: Sequence[tuple[str, str]], title: str, description: str, ident: str,
            colours: dict[str, str] = COLOURS) -> Markup:
    """One vertical bar per period (months, age bands), parts stacked bottom up, labels under the bars."""
    height, top, bottom = 240, 28, 50
    step = max(18, min(60, 700 // max(len(bars), 1)))
    width = max(320, 40 + step * len(bars))
    largest = max((sum(n for _, n in b.parts) for b in bars), default=0) or 1
    scale = (height - top - bottom) / largest
    body = [legend(names, colours), f'<line x1="30" x2="{width}" y1="{height - bottom}" y2="{height - bottom}" '
            'stroke="#94a3b8"/>']
    for i, b in enumerate(bars):
        x = 34 + i * step
        y = float(height - bottom)
        for key, n in b.parts:
            if n:
                y -= n * scale
                body.append(f'<rect x="{x}" y="{y:.1f}" width="{step - 6}" height="{n * scale:.1f}" '
                            f'fill="{colours[key]}"><title>{escape(b.label)}: {n}</title></rect>')
        total = sum(n for _, n in b.parts)
        middle = x + (step - 6) / 2
        if total:
            body.append(f'<text x="{middle:.1f}" y="{y - 3:.1f}" text-anchor="middle" {FONT}>{total}</text>')
        if step < 44:  # narrow columns: the label turned, so that neighbours do not overlap
            body.append(f'<text x="{middle:.1f}" y="{height - bottom + 12}" text-anchor="end" '
                        f'transform="rotate(-45 {middle:.1f} {height - bottom + 12})" {FONT}>{escape(b.label)}</text>')
        else:
            body.append(f'<text x="{middle:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                        f'{FONT}>{escape(b.label)}</text>')
    return _svg(width, height, title, description, "".join(body), ident)
