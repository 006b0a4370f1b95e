"""Filled-in answer sheets without a printer or a pen: for the tests, the benchmark, and for trying
`thbcourse scan` before an exam.

A sheet is rendered from its PDF, marked with pen-like strokes (a fill is a scribble of overlapping
strokes that wobbles and runs over the edge; a cancellation is a hand-drawn, not quite closed
circle), then optionally degraded as a scanner would: rotated, shifted, noisy, JPEG-compressed.
Every random choice comes from the `random.Random` given, so a set of sheets is reproducible.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from thbcourse.engine.answers import letter
from thbcourse.paper.layout import BOX, Box, Sheet


@dataclass
class Marking:
    """What to put on one sheet, and what a correct reading of it gives."""
    # Each mark with the sheet page it is on.
    fills: list[tuple[int, Box]] = field(default_factory=list)
    cancels: list[tuple[int, Box]] = field(default_factory=list)  # filled, then circled
    faint: list[tuple[int, Box]] = field(default_factory=list)  # half-hearted marks that must go to review
    writing: list[tuple[int, tuple[float, float, float, float]]] = field(default_factory=list)  # written in
    answers: dict[str, str] = field(default_factory=dict)  # question id -> expected reading
    awarded: dict[str, float] = field(default_factory=dict)
    learner: str = ""


def render_pages(pdf: bytes, dpi: int, last: int) -> list[np.ndarray]:
    """The last `last` pages of a PDF (the answer sheet) as grayscale images."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return [np.array(doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))
                for i in range(len(doc) - last, len(doc))]
    finally:
        doc.close()


def random_marking(sheet: Sheet, rng: random.Random, learner_digits: str = "", cancel_rate: float = 0.15) -> Marking:
    """Answers chosen at random for every question (some left empty, some corrected by cancelling)."""
    m = Marking(learner=learner_digits)
    for (_, boxes), digit in zip(sheet.id_rows, learner_digits):
        m.fills.append((1, boxes[int(digit)]))
    for page in sheet.pages:
        for block in page.blocks:
            _mark_block(block, page.number, rng, m, cancel_rate)
    return m


def _mark_block(block, page: int, rng: random.Random, m: Marking, cancel_rate: float) -> None:
    q, rows = block.item.question, block.rows
    if rng.random() < 0.08:
        return  # left unanswered
    if q.type in ("single", "true_false"):
        boxes = rows[0][1]
        pick = rng.randrange(len(boxes))
        _choose(m, page, boxes, [pick], rng, cancel_rate)
        m.answers[q.id] = {"T": "true", "F": "false"}.get(boxes[pick].label, boxes[pick].label)
    elif q.type == "multiple":
        boxes = rows[0][1]
        picks = sorted(rng.sample(range(len(boxes)), rng.randint(1, len(boxes))))
        _choose(m, page, boxes, picks, rng, cancel_rate)
        m.answers[q.id] = "".join(boxes[i].label for i in picks)
    elif q.type == "matching":
        chosen = []
        for label, boxes in rows:
            if rng.random() < 0.1:
                continue
            pick = rng.randrange(len(boxes))
            _choose(m, page, boxes, [pick], rng, cancel_rate)
            chosen.append(f"{label}{boxes[pick].label}")
        if chosen:
            m.answers[q.id] = " ".join(chosen)
    elif q.type == "ordering":
        order = list(range(len(rows)))
        rng.shuffle(order)
        for (_, boxes), pick in zip(rows, order):
            _choose(m, page, boxes, [pick], rng, cancel_rate)
        m.answers[q.id] = " ".join(letter(i) for i in order)
    else:
        m.writing.append((page, block.write))
        boxes = rows[0][1]
        pick = rng.randrange(len(boxes))
        m.fills.append((page, boxes[pick]))
        m.awarded[q.id] = float(boxes[pick].label)


def _choose(m: Marking, page: int, boxes: list[Box], picks: list[int], rng: random.Random,
            cancel_rate: float) -> None:
    m.fills.extend((page, boxes[i]) for i in picks)
    if rng.random() < cancel_rate:
        others = [b for i, b in enumerate(boxes) if i not in picks]
        if others:
            m.cancels.append((page, rng.choice(others)))  # a first choice, changed


def draw_marking(image: np.ndarray, m: Marking, page: int, dpi: float, rng: random.Random) -> np.ndarray:
    """Sheet page `page` as an image, with its marks drawn on it in dark pen."""
    import cv2

    out = image.copy()
    px = dpi / 25.4
    pen = max(1, int(round(0.6 * px)))
    here = lambda marks: [x for p, x in marks if p == page]  # noqa: E731
    for box in here(m.fills) + here(m.cancels):
        _scribble(out, box, px, pen, rng, cover=1.0)
    for box in here(m.cancels):
        r = (BOX / 2 * 1.414 + rng.uniform(0.7, 1.1)) * px
        start = rng.uniform(0, 360)
        cv2.ellipse(out, (int(box.x * px), int(box.y * px)), (int(r * rng.uniform(0.95, 1.08)), int(r)),
                    rng.uniform(0, 180), start, start + rng.uniform(335, 370), color=20, thickness=pen)
    for box in here(m.faint):
        _scribble(out, box, px, pen, rng, cover=0.35)
    for x, y, w, h in here(m.writing):
        for k in range(rng.randint(3, 8)):
            x0 = (x + 3 + 8 * k) * px
            pts = np.array([[x0 + i * px, (y + h / 2 + rng.uniform(-2, 2)) * px] for i in range(6)], np.int32)
            cv2.polylines(out, [pts], False, color=30, thickness=pen)
    return out


def _scribble(img: np.ndarray, box: Box, px: float, pen: int, rng: random.Random, cover: float) -> None:
    """A fill as a pen makes it: back-and-forth strokes, slightly over the edges, a little uneven."""
    import cv2

    half = BOX / 2 + rng.uniform(-0.2, 0.4)
    y = box.y - half
    bottom = box.y - half + 2 * half * cover
    points = []
    while y <= bottom:
        jitter = rng.uniform(-0.25, 0.25)
        points.append([(box.x - half + jitter) * px, y * px])
        points.append([(box.x + half + jitter) * px, (y + 0.25) * px])
        y += 0.45
    cv2.polylines(img, [np.array(points, np.int32)], False, color=rng.randint(10, 45), thickness=pen)


def degrade(img: np.ndarray, rng: random.Random, *, angle: float = 3.0, noise: float = 12.0,
            jpeg: int | None = 60, shift: float = 3.0) -> np.ndarray:
    """As a scanner might: rotated up to `angle` degrees, shifted up to `shift` mm, a little skewed,
    grey noise, and JPEG at the given quality."""
    import cv2

    h, w = img.shape
    px = w / 210.0
    centre = (w / 2 + rng.uniform(-shift, shift) * px, h / 2 + rng.uniform(-shift, shift) * px)
    matrix = cv2.getRotationMatrix2D(centre, rng.uniform(-angle, angle), 1.0)
    matrix[0, 1] += rng.uniform(-0.004, 0.004)  # a little skew
    out = cv2.warpAffine(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=235)
    noisy = out.astype(np.float32) * rng.uniform(0.9, 1.0) + np.random.default_rng(rng.randrange(2**32)).normal(
        0, noise, out.shape)
    out = np.clip(noisy, 0, 255).astype(np.uint8)
    if jpeg:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
        out = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return out
