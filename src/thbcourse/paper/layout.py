"""Where everything sits on a paper exam's answer sheet, in millimetres from the page's top-left corner.

The same function lays out the sheet for printing (`render.py`) and for reading a scan of it
(`scan.py`), so the two can never disagree: a paper is fully determined by (blueprint, seed), and the
sheet by the paper, the page format, the learner (when printed on it) and the number of id digits,
all of which the sheet's QR code carries.

    +--------------------------------------------------------------+
    | #                                                          # |   # registration marks
    |  Answer sheet 1 of 2                   learner id digits     |
    |  [QR]                                  0 1 2 3 4 5 6 7 8 9   |
    |  Learner id: [OFC-001 ]             1  o o o o o o o o o o   |
    |  how to mark                        ...                      |
    |  Q1  A B C D           Q12  A B C D E                        |
    |      o o o o                o o o o o                        |
    |  Q2 (matching) A B C D E    ...                              |
    |   1  o o o o o                                               |
    |   2  o o o o o                                               |
    | #                     page N of M                          # |
    +--------------------------------------------------------------+

Boxes are 4.5 mm squares at a pitch of 10 mm in both directions, and nothing else is printed within
5.5 mm of a box's centre: the ring around a box belongs to it, so a circle drawn around a filled box
(the sign for "cancelled") can be told from ink elsewhere.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from thbcourse.engine.answers import letter
from thbcourse.engine.draw import Paper, PaperItem

FORMATS = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
MARK = 6.0  # side of a registration mark (a solid square)
MARK_INSET = 12.0  # from each edge to the centre of a mark
BOX = 4.5
PITCH = 10.0
LABEL = 17.0  # room left of the first box for the question number and row labels ("one", "2nd")
LETTERS = 5.8  # from a box row's centre up to the baseline of the letters above it
HEAD = 3.5  # from a block's top to the baseline of its letters
GAP = 2.5  # between question blocks
WRITE = 14.0  # height of the box where a short answer or a number is written
QR_SIZE = 30.0
QR_TOP = 24.0  # the QR code's top edge (its left edge is at MARGIN)
ID_TOP = 34.0
MARGIN = 20.0  # left and right of the printed content
CODE = "THBC1"  # first field of every sheet's QR code: this layout's version


class LayoutError(Exception):
    """The paper cannot be put on an answer sheet (for example a question with too many options)."""


@dataclass(frozen=True)
class Box:
    x: float  # centre, mm from the left edge
    y: float  # centre, mm from the top edge
    label: str  # what the box stands for: a letter, a digit or a number of points


@dataclass
class Block:
    """One question's part of a sheet: rows of boxes, or a written answer with the marker's boxes."""
    item: PaperItem
    x: float
    y: float  # top of the block
    height: float
    rows: list[tuple[str, list[Box]]] = field(default_factory=list)  # (row label, boxes)
    write: tuple[float, float, float, float] | None = None  # x, y, width, height of the writing box

    @property
    def kind(self) -> str:
        return self.item.question.type


@dataclass
class SheetPage:
    number: int  # 1-based among the sheet's pages
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Sheet:
    paper: Paper
    fmt: str
    learner: str | None
    id_digits: int
    pages: list[SheetPage]
    id_rows: list[tuple[str, list[Box]]]  # one row per digit position, boxes 0..9 (first page only)

    @property
    def size(self) -> tuple[float, float]:
        return FORMATS[self.fmt]

    def marks(self) -> list[tuple[float, float]]:
        """Centres of the registration marks: top-left, top-right, bottom-right, bottom-left."""
        w, h = self.size
        m = MARK_INSET
        return [(m, m), (w - m, m), (w - m, h - m), (m, h - m)]

    def code(self, page: int) -> str:
        """The text of the QR code on sheet page `page`."""
        return "|".join([CODE, self.paper.blueprint.id, str(self.paper.seed), f"{page}/{len(self.pages)}",
                         self.fmt, str(self.id_digits), self.learner or "-", fingerprint(self.paper)])


def fingerprint(paper: Paper) -> str:
    """Eight hex digits that change when the paper drawn for (blueprint, seed) changes (edited banks)."""
    text = ";".join(f"{i.question.id}:{','.join(map(str, i.order))}:{i.points:g}" for i in paper.items)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class Code:
    quiz: str
    seed: int
    page: int
    pages: int
    fmt: str
    id_digits: int
    learner: str | None
    fingerprint: str


def read_code(text: str) -> Code | None:
    """The fields of a sheet's QR code, or None when the text is not one of ours."""
    parts = text.split("|")
    if len(parts) != 8 or parts[0] != CODE or parts[4] not in FORMATS:
        return None
    try:
        page, pages = (int(n) for n in parts[3].split("/"))
        return Code(parts[1], int(parts[2]), page, pages, parts[4], int(parts[5]),
                    None if parts[6] == "-" else parts[6], parts[7])
    except ValueError:
        return None


def points_labels(points: float) -> list[str]:
    """What the marker can award for a written answer: whole points, or halves when the item has them."""
    step = 1.0 if float(points).is_integer() else 0.5
    return [f"{n * step:g}" for n in range(int(round(points / step)) + 1)]


def _columns(item: PaperItem) -> list[str]:
    q = item.question
    if q.type == "true_false":
        return ["T", "F"]
    if q.type in ("short_answer", "numeric"):
        return points_labels(item.points)
    return [letter(n) for n in range(len(item.order))]


def _row_labels(item: PaperItem) -> list[str]:
    q = item.question
    if q.type == "matching":
        return [str(n + 1) for n in range(len(q.pairs))]
    if q.type == "ordering":
        return [_ordinal(n + 1) for n in range(len(item.order))]
    if q.type in ("short_answer", "numeric"):
        return ["marker"]
    return ["several" if q.type == "multiple" else "one"]


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _written(item: PaperItem) -> bool:
    return item.question.type in ("short_answer", "numeric")


def block_height(item: PaperItem) -> float:
    """From the block's top to 3 mm below its last row of boxes."""
    written = WRITE + 2.0 if _written(item) else 0.0
    return written + HEAD + LETTERS + (len(_row_labels(item)) - 1) * PITCH + 3.0


def layout(paper: Paper, fmt: str = "a4", learner: str | None = None, id_digits: int = 6) -> Sheet:
    """Lay the paper's questions out in two columns over as many sheet pages as they need."""
    if fmt not in FORMATS:
        raise LayoutError(f"unknown paper format {fmt!r} (use {' or '.join(FORMATS)})")
    if not 1 <= id_digits <= 12:
        raise LayoutError("the learner id grid takes 1 to 12 digits")
    w, h = FORMATS[fmt]
    column_width = (w - 2 * MARGIN) / 2
    id_rows = _id_grid(w, id_digits)
    first_top = max(ID_TOP + id_digits * PITCH, QR_TOP + QR_SIZE + 38.0) + 4.0  # below the id grid and the instructions
    top, bottom = QR_TOP + QR_SIZE + 4.0, h - 22.0  # pages after the first: below the QR code
    pages = [SheetPage(1)]
    column, y = 0, first_top
    for item in paper.items:
        columns = _columns(item)
        if LABEL + len(columns) * PITCH > column_width:
            raise LayoutError(f"question {item.number} ({item.question.id}) has {len(columns)} choices: "
                              f"at most {int((column_width - LABEL) // PITCH)} fit a row of the answer sheet")
        height = block_height(item)
        if y + height > bottom:
            column, y = column + 1, (first_top if len(pages) == 1 else top)
            if column == 2:
                pages.append(SheetPage(len(pages) + 1))
                column, y = 0, top
        x = MARGIN + column * column_width
        pages[-1].blocks.append(_block(item, x, y, column_width, height, columns))
        y += height + GAP
    return Sheet(paper, fmt, learner, id_digits, pages, id_rows)


def _block(item: PaperItem, x: float, y: float, width: float, height: float, columns: list[str]) -> Block:
    block = Block(item, x, y, height)
    if _written(item):
        block.write = (x + LABEL - BOX / 2, y, width - LABEL - 2.0, WRITE)
        y += WRITE + 2.0
    first = y + HEAD + LETTERS
    for n, label in enumerate(_row_labels(item)):
        block.rows.append((label, [Box(x + LABEL + c * PITCH, first + n * PITCH, col) for c, col in enumerate(columns)]))
    return block


def _id_grid(width: float, digits: int) -> list[tuple[str, list[Box]]]:
    right = width - MARGIN - BOX / 2
    left = right - 9 * PITCH
    return [(str(d + 1), [Box(left + n * PITCH, ID_TOP + d * PITCH, str(n)) for n in range(10)])
            for d in range(digits)]
