"""A definition's state diagram as SVG, drawn on the server (no JavaScript in the page).

``state_svg`` lays it out with Graphviz (``dot``, Debian's ``graphviz``, through the ``graphviz`` package):
top to bottom so that it reads on a phone, every state and transition by its full Vietnamese label (wrapped,
never cut), the current state filled and marked ``aria-current``, the path the task has taken drawn heavier,
and a transition possible from every unfinished state (``source: "*"``, e.g. withdrawing) drawn once, from one
"any unfinished state" box, instead of one arc per state. Without ``dot`` on the machine, the simple layout
below (``simple_svg``: columns by distance from the initial state) is drawn instead. Every text is
XML-escaped: labels come from definition files.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from collections import defaultdict, deque
from collections.abc import Iterable
from html import unescape
from xml.sax.saxutils import escape, quoteattr

from definitions import Definition

FONT = "DejaVu Sans"  # has every Vietnamese letter; Debian's fonts-dejavu-core comes with graphviz
ANY = "__any__"


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _dot(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def state_svg(definition: Definition, current: str | None = None, title: str | None = None,
              taken: Iterable[tuple[str | None, str]] = (), any_label: str = "Mọi trạng thái chưa kết thúc") -> str:
    """The diagram as SVG (Graphviz when ``dot`` is installed). ``taken``: the (from, to) pairs of the history."""
    if shutil.which("dot") is None:
        return simple_svg(definition, current, title)
    import graphviz

    path = {(a, b) for a, b in taken if a is not None}
    finals = definition.final_states
    lines = [f"digraph {{ graph [rankdir=TB, bgcolor=transparent, nodesep=0.35, ranksep=0.45, fontname={_dot(FONT)}]",
             f"node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", color=\"#334155\", "
             f"fontname={_dot(FONT)}, fontsize=12, margin=\"0.15,0.08\"]",
             f"edge [color=\"#64748b\", fontname={_dot(FONT)}, fontsize=10, fontcolor=\"#334155\", "
             "arrowsize=0.7]"]
    for state in definition.states:
        css = "state current" if state.id == current else ("state final" if state.id in finals else "state")
        style = [f"id={_dot('s_' + state.id)}", f"class={_dot(css)}", f"label={_dot(_wrap(state.label, 24))}",
                 f"tooltip={_dot(state.label)}"]
        if state.id == current:
            style += ['fillcolor="#fde68a"', 'color="#b45309"', "penwidth=2.5"]
        elif state.id in finals:
            style += ["peripheries=2", 'fillcolor="#f1f5f9"']
        lines.append(f"{_dot(state.id)} [{', '.join(style)}]")
    wildcard = [t for t in definition.transitions if "*" in t.source]
    if wildcard:
        lines.append(f"{_dot(ANY)} [id=\"s_any\", class=\"any\", label={_dot(_wrap(any_label, 24))}, "
                     "style=\"rounded,dashed\", color=\"#94a3b8\", fontcolor=\"#475569\"]")
    for transition in definition.transitions:
        sources = [ANY] if "*" in transition.source else list(transition.source)
        for source in sources:
            heavy = (source, transition.dest) in path
            attrs = [f"label={_dot(_wrap(transition.label, 20))}", f"tooltip={_dot(transition.label)}",
                     f"class={_dot('taken' if heavy else 'step')}"]
            if heavy:
                attrs += ["penwidth=2.6", 'color="#1e40af"']
            lines.append(f"{_dot(source)} -> {_dot(transition.dest)} [{', '.join(attrs)}]")
    lines.append("}")
    svg = graphviz.Source("\n".join(lines)).pipe(format="svg", encoding="utf-8")
    svg = svg[svg.index("<svg"):]
    name = title or definition.title.vi
    svg = _titles_in_words(svg, definition, name, any_label)
    svg = re.sub(r'<svg width="[^"]*" height="[^"]*"', f'<svg class="diagram graphviz" role="img" '
                 f'aria-label={quoteattr(name)}', svg, count=1)
    if current is not None:
        svg = svg.replace(f'id="s_{current}" class="node state current"',
                          f'id="s_{current}" class="node state current" aria-current="true"', 1)
    return svg

def _titles_in_words(svg: str, definition: Definition, name: str, any_label: str) -> str:
    """Graphviz titles each node and edge with its id ("sent", "sent->received"): what a screen reader and a hover
    say. The labels instead, as on the drawing."""
    states = {s.id: s.label for s in definition.states} | {ANY: any_label}
    edges: dict[str, list[str]] = defaultdict(list)
    for transition in definition.transitions:
        for source in [ANY] if "*" in transition.source else transition.source:
            edges[f"{source}->{transition.dest}"].append(transition.label)

    def said(found: re.Match[str]) -> str:
        ident = unescape(found.group(1))
        words = states.get(ident) or " / ".join(edges.get(ident, [])) or name
        return f"<title>{escape(words)}</title>"

    return re.sub(r"<title>([^<]*)</title>", said, svg)


COLUMN, ROW, WIDTH, HEIGHT, MARGIN = 280, 92, 190, 46, 24


def _columns(definition: Definition) -> dict[str, int]:
    edges: dict[str, set[str]] = defaultdict(set)
    for transition in definition.transitions:
        for source in definition.sources(transition):
            edges[source].add(transition.dest)
    column = {definition.initial_state.id: 0}
    queue = deque([definition.initial_state.id])
    while queue:
        here = queue.popleft()
        for there in sorted(edges[here]):
            if there not in column:
                column[there] = column[here] + 1
                queue.append(there)
    last = max(column.values(), default=0)
    for state in definition.states:
        column.setdefault(state.id, last + 1)  # unreachable from the initial state: shown apart
    return column


def _short(text: str, limit: int = 26) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def simple_svg(definition: Definition, current: str | None = None, title: str | None = None) -> str:
    """The diagram without Graphviz: columns by distance from the initial state."""
    column = _columns(definition)
    position: dict[str, tuple[int, int]] = {}
    rows: dict[int, int] = defaultdict(int)
    for state in definition.states:
        c = column[state.id]
        position[state.id] = (MARGIN + c * COLUMN, MARGIN + rows[c] * ROW)
        rows[c] += 1
    width = MARGIN * 2 + (max(column.values()) * COLUMN) + WIDTH
    height = MARGIN * 2 + (max(rows.values()) - 1) * ROW + HEIGHT + 60
    labels: dict[tuple[str, str], list[str]] = defaultdict(list)
    for transition in definition.transitions:
        for source in definition.sources(transition):
            labels[(source, transition.dest)].append(transition.event)
    name = title or definition.title.vi
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="diagram" role="img" '
           f'aria-label={quoteattr(name)}><title>{escape(name)}</title>',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#475569"/></marker></defs>']
    for (source, dest), events in labels.items():
        out.append(_edge(position[source], position[dest], column[source], column[dest], events, source == dest))
    finals = definition.final_states
    for state in definition.states:
        x, y = position[state.id]
        is_current = state.id == current
        css = "state current" if is_current else ("state final" if state.id in finals else "state")
        marker = ' aria-current="true"' if is_current else ""
        out.append(f'<g class="{css}" data-state={quoteattr(state.id)}{marker}>'
                   f'<rect x="{x}" y="{y}" width="{WIDTH}" height="{HEIGHT}" rx="10" '
                   f'stroke-width="{3 if state.id in finals else 1.5}"/>'
                   f'<text x="{x + WIDTH / 2}" y="{y + HEIGHT / 2 + 5}" text-anchor="middle" class="label">'
                   f'<title>{escape(state.label)}</title>{escape(_short(state.label))}</text>'
                   '</g>')
    out.append("</svg>")
    return "".join(out)


def _edge(a: tuple[int, int], b: tuple[int, int], col_a: int, col_b: int, events: list[str], loop: bool) -> str:
    label = ", ".join(events)
    text = escape(_short(label, 14 if col_b > col_a and not loop else 30))
    x1: float
    lx: float
    ly: float
    y1: float
    x2: float
    y2: float
    if loop:
        x: float
        y: float
        x, y = a[0] + WIDTH / 2, a[1] + HEIGHT
        path = f"M{x - 20},{y} C{x - 40},{y + 40} {x + 40},{y + 40} {x + 20},{y}"
        lx, ly = x, y + 42
    elif col_b > col_a:
        x1, y1 = a[0] + WIDTH, a[1] + HEIGHT / 2
        x2, y2 = b[0], b[1] + HEIGHT / 2
        mid = (x1 + x2) / 2
        path = f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}"
        lx, ly = mid, (y1 + y2) / 2 - 4
    else:  # backwards or within a column: arc below both boxes
        x1, y1 = a[0] + WIDTH / 2 + 10, a[1] + HEIGHT
        x2, y2 = b[0] + WIDTH / 2 - 10, b[1] + HEIGHT
        depth = max(y1, y2) + 36
        path = f"M{x1},{y1} C{x1},{depth} {x2},{depth} {x2},{y2}"
        lx, ly = (x1 + x2) / 2, depth - 2
    return (f'<g class="edge"><title>{escape(label)}</title><path d="{path}" fill="none" stroke="#475569" '
            f'stroke-width="1.3" '
            f'marker-end="url(#arrow)"/><text x="{lx}" y="{ly}" text-anchor="middle" class="event">{text}</text></g>')
