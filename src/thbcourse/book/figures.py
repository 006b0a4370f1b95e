"""Figures from text: `book/figures/<name>.yml` -> an SVG diagram with a text alternative.

A figure is a grid of boxes joined by arrows. Each box sits at a row and a column (and may span
several columns); it has a bold label and optional lines of text. Arrows go from box to box, with an
optional label. That is enough for the course's diagrams (the chain with its online facilitation, act
+ means + purpose, a money and ticket flow, a triage flow, two columns side by side), keeps every
figure editable as plain text, and needs no browser, no binary and no network to build.

The SVG is inline in the page (book and decks), with `role="img"`, a <title> and a <desc> holding the
text alternative, and real text (selectable, printable, read by screen readers through the desc).
Text is wrapped by an estimate of its width (a sans-serif character is about 0.56 of the font size),
so boxes are sized for the text they hold.
"""

import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal
from xml.sax.saxutils import escape

from msgspec import Meta, field

from thbcourse.bank.strict import NonEmpty, Strict, convert
from thbcourse.bank.yamlfile import read_yaml
from thbcourse.problems import AuthoringError, Problem

FIGURES = Path("book") / "figures"
LABEL_SIZE, TEXT_SIZE, CHAR = 17, 15, 0.56
PAD, GAP_X, GAP_Y, MARGIN, LINE = 12, 46, 56, 10, 1.3
STYLES = {  # fill, border, text; contrast of text on fill above 7:1
    "default": ("#eef3fb", "#1f4e8c", "#10233f"),
    "accent": ("#fdf0e1", "#a4560b", "#3b1f04"),
    "alert": ("#fbe9ea", "#a3242d", "#3d0b0f"),
    "muted": ("#f2f2f2", "#6b6b6b", "#222222"),
}


class Node(Strict, kw_only=True):
    id: Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    label: NonEmpty
    text: list[str] = []
    row: Annotated[int, Meta(ge=0, le=30)]
    col: Annotated[int, Meta(ge=0, le=10)]
    span: Annotated[int, Meta(ge=1, le=10)] = 1
    style: Literal["default", "accent", "alert", "muted"] = "default"


class Edge(Strict, kw_only=True):
    source: str = field(name="from")
    target: str = field(name="to")
    label: str = ""
    dashed: bool = False


class Figure(Strict, kw_only=True):
    title: NonEmpty
    alt: Annotated[str, Meta(min_length=40, description="The text alternative: what the figure shows, in sentences.")]
    column_width: Annotated[int, Meta(ge=100, le=600)] = 210
    nodes: Annotated[list[Node], Meta(min_length=1)]
    edges: list[Edge] = []


@dataclass
class _Box:
    node: Node
    x: float
    y: float
    w: float
    h: float
    label: list[str]
    text: list[list[str]]


def load_figure(path: Path) -> Figure:
    """Parse and check a figure file; AuthoringError names the file and line of each problem."""
    doc, problems = read_yaml(path)
    if doc is None:
        raise AuthoringError(problems)
    figure, found = convert(doc.data, Figure)
    if figure is None:
        raise AuthoringError(doc.problems(found))
    ids = [n.id for n in figure.nodes]
    for i, node in enumerate(figure.nodes):
        if ids.index(node.id) != i:
            problems.append(doc.problem(("nodes", i, "id"), f"node id {node.id!r} is used twice"))
    cells: dict[tuple[int, int], str] = {}
    for i, node in enumerate(figure.nodes):
        for col in range(node.col, node.col + node.span):
            other = cells.setdefault((node.row, col), node.id)
            if other != node.id:
                problems.append(doc.problem(("nodes", i, "row"), f"node {node.id!r} overlaps {other!r} at row "
                                                                  f"{node.row}, column {col}"))
    for i, edge in enumerate(figure.edges):
        for end, name in (("from", edge.source), ("to", edge.target)):
            if name not in ids:
                problems.append(doc.problem(("edges", i, end), f"arrow {end} {name!r}: no node has that id"))
    if problems:
        raise AuthoringError(problems)
    return figure


def figure_path(root: Path, name: str) -> Path:
    return Path(root) / FIGURES / f"{name}.yml"


def render(figure: Figure, name: str) -> str:
    """The figure as an inline SVG element."""
    boxes = _layout(figure)
    width = max(b.x + b.w for b in boxes.values()) + MARGIN
    height = max(b.y + b.h for b in boxes.values()) + MARGIN
    ident = f"fig-{name}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="course-figure-svg" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
           f'font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, \'DejaVu Sans\', Arial, sans-serif">',
           f'<title id="{ident}-title">{escape(figure.title)}</title>',
           f'<desc id="{ident}-desc">{escape(figure.alt)}</desc>',
           '<defs><marker id="{0}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>'.format(ident)]
    for edge in figure.edges:
        out.append(_edge(boxes[edge.source], boxes[edge.target], edge, ident))
    for box in boxes.values():
        out.append(_box(box))
    out.append("</svg>")
    return "".join(out)


def figure_html(root: Path, name: str) -> str:
    """<figure> with the inline SVG and its caption, for a page or a slide."""
    figure = load_figure(figure_path(root, name))
    return (f'<figure class="course-figure" id="figure-{name}">{render(figure, name)}'
            f'<figcaption>{escape(figure.title)}</figcaption></figure>')


def check_all(root: Path) -> list[Problem]:
    problems: list[Problem] = []
    for path in sorted((Path(root) / FIGURES).glob("*.yml")):
        try:
            load_figure(path)
        except AuthoringError as err:
            problems += err.problems
    return problems


# --- layout --------------------------------------------------------------------------------------------

def _wrap(text: str, width: float, size: int) -> list[str]:
    chars = max(8, int((width - 2 * PAD) / (size * CHAR)))
    return textwrap.wrap(text, chars, break_long_words=True) or [""]


def _layout(figure: Figure) -> dict[str, _Box]:
    cw = figure.column_width
    sized = {}
    for node in figure.nodes:
        w = node.span * cw + (node.span - 1) * GAP_X
        label = _wrap(node.label, w, LABEL_SIZE)
        text = [_wrap(t, w - 14, TEXT_SIZE) for t in node.text]
        lines = len(label) * LABEL_SIZE * LINE + sum(len(t) for t in text) * TEXT_SIZE * LINE
        h = 2 * PAD + lines + (6 if text else 0) + 4 * max(0, len(text) - 1)
        sized[node.id] = (node, w, h, label, text)
    rows = sorted({n.row for n in figure.nodes})
    row_height = {r: max(h for n, _, h, _, _ in sized.values() if n.row == r) for r in rows}
    row_top, y = {}, MARGIN
    for r in range(max(rows) + 1):
        row_top[r] = y
        y += row_height.get(r, 0) + GAP_Y if r in row_height else 0
    boxes = {}
    for node, w, h, label, text in sized.values():
        x = MARGIN + node.col * (cw + GAP_X)
        boxes[node.id] = _Box(node, x, row_top[node.row], w, h, label, text)  # rows align at the top
    return boxes


def _box(b: _Box) -> str:
    fill, stroke, ink = STYLES[b.node.style]
    parts = [f'<g class="node node-{b.node.style}"><rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" '
             f'height="{b.h:.1f}" rx="8" fill="{fill}" stroke="{stroke}" stroke-width="2"/>']
    y = b.y + PAD + LABEL_SIZE
    for line in b.label:
        parts.append(f'<text x="{b.x + b.w / 2:.1f}" y="{y:.1f}" font-size="{LABEL_SIZE}" font-weight="700" '
                     f'text-anchor="middle" fill="{ink}">{escape(line)}</text>')
        y += LABEL_SIZE * LINE
    if b.text:
        y += 6
    for item in b.text:
        for k, line in enumerate(item):
            bullet = "• " if len(b.text) > 1 and k == 0 else ("  " if len(b.text) > 1 else "")
            parts.append(f'<text x="{b.x + PAD:.1f}" y="{y:.1f}" font-size="{TEXT_SIZE}" fill="{ink}" '
                         f'xml:space="preserve">{escape(bullet + line)}</text>')
            y += TEXT_SIZE * LINE
        y += 4
    parts.append("</g>")
    return "".join(parts)


def _clip_at(box: _Box, cx: float, cy: float, tx: float, ty: float) -> tuple[float, float]:
    """Where the line from (cx, cy), inside the box, towards (tx, ty) leaves the box."""
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    room_x = (box.x + box.w - cx if dx > 0 else cx - box.x) / abs(dx) if dx else float("inf")
    room_y = (box.y + box.h - cy if dy > 0 else cy - box.y) / abs(dy) if dy else float("inf")
    scale = min(room_x, room_y)
    return cx + dx * scale, cy + dy * scale


def _edge(a: _Box, b: _Box, edge: Edge, ident: str) -> str:
    (acx, acy), (bcx, bcy) = (a.x + a.w / 2, a.y + a.h / 2), (b.x + b.w / 2, b.y + b.h / 2)
    if a.node.row == b.node.row:  # level, at the height of the smaller box
        acy = bcy = a.y + min(a.h, b.h) / 2
    elif max(a.x, b.x) < min(a.x + a.w, b.x + b.w):  # columns overlap: straight down or up
        acx = bcx = (max(a.x, b.x) + min(a.x + a.w, b.x + b.w)) / 2
    x1, y1 = _clip_at(a, acx, acy, bcx, bcy)
    x2, y2 = _clip_at(b, bcx, bcy, acx, acy)
    dash = ' stroke-dasharray="6 4"' if edge.dashed else ""
    out = [f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#333" stroke-width="2"{dash} '
           f'marker-end="url(#{ident}-arrow)"/>']
    if edge.label:
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        w = len(edge.label) * 13 * CHAR + 10
        out.append(f'<rect x="{mx - w / 2:.1f}" y="{my - 11:.1f}" width="{w:.1f}" height="20" rx="4" fill="#ffffff" '
                   f'opacity="0.92"/><text x="{mx:.1f}" y="{my + 4:.1f}" font-size="13" text-anchor="middle" '
                   f'fill="#222">{escape(edge.label)}</text>')
    return "".join(out)

