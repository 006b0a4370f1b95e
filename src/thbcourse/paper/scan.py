"""Reading scanned answer sheets: the QR code, the registration marks, the boxes.

One page of a scan becomes a `PageRead`: which sheet it is (from the QR code), the learner id, and per
question either what was marked, in the paper's own syntax ("B", "AC", "1C 2A", "C A B D", "true",
or the points a trainer awarded to a written answer), or why it could not be read with confidence.
Nothing is guessed: a box is empty, filled, or filled and cancelled (circled), and anything between
those is reported as unclear, which sends the sheet to the trainer's review list.

How a page is read:
1. The QR code (zxing-cpp) names the quiz, seed, sheet page, format and learner; its orientation
   turns the page upright (a sheet fed upside down or sideways is read as well).
2. The four registration marks are found (OpenCV contours: solid squares of the expected size near
   each corner; a QR finder pattern is hollow and is refused) and the page is warped onto the
   layout's millimetre grid at `SCALE` pixels per millimetre, which undoes rotation, skew and the
   scanner's resolution.
3. Each box of the layout is measured on the binarised page: the share of ink inside it (inset from
   the printed border), and how much of the ring around it carries ink (twelve sectors: a circle
   around the box inks most of them; a neighbour's mark or circle only a few). The printed border
   must be found where the layout puts it, or the page is not trusted.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np

from thbcourse.paper.layout import BOX, MARK, Box, Code, Sheet, read_code

SCALE = 6.0  # pixels per millimetre of the warped page (about 152 dpi)
INSET = 0.7  # mm inside the box edge: the printed border is not ink
RING = (3.6, 5.2)  # mm from a box's centre: where a cancelling circle is drawn
SECTORS = 12
EMPTY_BELOW, FILLED_FROM = 0.12, 0.60  # share of the inside inked
SECTOR_INKED = 0.10  # share of a ring sector inked for the sector to count
CIRCLED_FROM, NOT_CIRCLED_TO = 9, 4  # sectors inked
BORDER_FOUND = 0.85  # share of the printed border's pieces that must show ink
DPI = 200  # pages of a scanned PDF are rendered at this resolution


class State(Enum):
    EMPTY = "empty"
    FILLED = "filled"
    CANCELLED = "cancelled"
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class BoxRead:
    state: State
    why: str = ""  # for UNCLEAR: what is ambiguous


@dataclass
class PageRead:
    """What one scanned page says, or why it cannot be read (`problem`)."""
    source: str  # file name, as the trainer gave it
    page: int  # 1-based page of that file
    code: Code | None = None
    sheet: Sheet | None = None  # the layout the code names
    problem: str = ""  # the page as a whole could not be read
    learner: str | None = None  # from the QR code (a personal paper) or the id grid
    answers: dict[str, str] = field(default_factory=dict)  # question id -> answer in the paper's syntax
    awarded: dict[str, float] = field(default_factory=dict)  # written answers: points marked by the trainer
    unclear: dict[str, str] = field(default_factory=dict)  # question id (or "learner id") -> what is unclear


def count_pages(path: Path) -> int:
    """How many pages a scan has; ValueError when it is not a PDF or an image this program opens."""
    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        try:
            doc = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as err:
            raise ValueError(f"not a readable PDF ({err})") from None
        try:
            return len(doc)
        finally:
            doc.close()
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(f"not an image this program can open (use PDF, PNG, JPEG or TIFF): {err}") from None
    return 1


def pages_of(path: Path) -> Iterator[np.ndarray]:
    """The pages of a scan as grayscale arrays, one at a time (a stack of hundreds of pages is never all
    in memory): every page of a PDF rendered at DPI, or the one image of a PNG/JPEG/TIFF file."""
    if path.suffix.lower() == ".pdf":
        import pypdfium2 as pdfium

        doc = pdfium.PdfDocument(str(path))
        try:
            for page in doc:
                yield np.array(page.render(scale=DPI / 72, grayscale=True).to_pil().convert("L"))
        finally:
            doc.close()
        return
    from PIL import Image

    with Image.open(path) as image:
        yield np.array(image.convert("L"))


def read_page(image: np.ndarray, source: str, page: int, sheet_for) -> PageRead:
    """Read one scanned page. `sheet_for(code)` returns the Sheet the code names, or a string saying why
    there is none (unknown quiz, changed paper)."""
    result = PageRead(source, page)
    found = _find_code(image)
    if found is None:
        result.problem = "no answer-sheet code found (is this an answer sheet, and is its QR code intact?)"
        return result
    code, image = found
    result.code = code
    sheet = sheet_for(code)
    if isinstance(sheet, str):
        result.problem = sheet
        return result
    result.sheet = sheet
    warped = _warp(image, sheet)
    if isinstance(warped, str):
        result.problem = warped
        return result
    ink = _ink(warped)
    _read_learner(result, sheet, ink, code)
    for block in sheet.pages[code.page - 1].blocks:
        _read_block(result, block, ink)
    return result


def _find_code(image: np.ndarray) -> tuple[Code, np.ndarray] | None:
    """Our QR code and the page turned so that the code is upright."""
    import cv2
    import zxingcpp

    for barcode in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        code = read_code(barcode.text)
        if code is None:
            continue
        p = barcode.position
        angle = np.degrees(np.arctan2(p.top_right.y - p.top_left.y, p.top_right.x - p.top_left.x))
        quarter = int(round(angle / 90.0)) % 4  # the code's x axis: 0 right, 1 down, 2 left, 3 up
        turn = {0: None, 1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}[quarter]
        return code, (image if turn is None else cv2.rotate(image, turn))
    return None


def _warp(image: np.ndarray, sheet: Sheet) -> np.ndarray | str:
    """The page warped onto the layout's grid, or why the registration marks were not found."""
    import cv2

    w, h = sheet.size
    px = image.shape[1] / w  # the scan's pixels per mm, near enough to find the marks
    if abs(image.shape[0] / px - h) > 0.12 * h:
        return (f"the page is {image.shape[1]}x{image.shape[0]} pixels, not the shape of a "
                f"{sheet.fmt.upper()} sheet (scan the whole page, without margins cut)")
    blurred = cv2.GaussianBlur(image, (3, 3), 0)
    _, binary = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    expected = (MARK * px) ** 2
    candidates = []
    for contour in contours:
        area = cv2.contourArea(contour)
        if not 0.45 * expected <= area <= 1.9 * expected:
            continue
        (cx, cy), (rw, rh), _ = cv2.minAreaRect(contour)
        if min(rw, rh) == 0 or max(rw, rh) / min(rw, rh) > 1.35:
            continue
        x, y, bw, bh = cv2.boundingRect(contour)
        mask = np.zeros((bh, bw), np.uint8)
        cv2.drawContours(mask, [contour], -1, 255, -1, offset=(-x, -y))
        dark = binary[y:y + bh, x:x + bw][mask > 0]
        if dark.size and dark.mean() / 255 >= 0.85:  # solid, unlike a QR finder pattern
            candidates.append((cx, cy))
    names = ("top-left", "top-right", "bottom-right", "bottom-left")
    found = []
    for name, (mx, my) in zip(names, sheet.marks()):
        near = [(np.hypot(cx - mx * px, cy - my * px), cx, cy) for cx, cy in candidates]
        near = [n for n in near if n[0] <= 12 * px]
        if not near:
            return f"the {name} registration mark was not found (is the page complete and not folded?)"
        found.append(min(near)[1:])
    nominal = np.float32([[mx * SCALE, my * SCALE] for mx, my in sheet.marks()])
    matrix = cv2.getPerspectiveTransform(np.float32(found), nominal)
    return cv2.warpPerspective(image, matrix, (int(round(w * SCALE)), int(round(h * SCALE))),
                               flags=cv2.INTER_AREA, borderValue=255)


def _ink(page: np.ndarray) -> np.ndarray:
    """True where the warped page is dark (Otsu's threshold, after a light blur against noise)."""
    import cv2

    blurred = cv2.GaussianBlur(page, (3, 3), 0)
    _, binary = cv2.threshold(blurred, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    return binary.astype(bool)


def _ring_masks() -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """Around a box centre, in pixels: the inside, the ring's sectors, and the printed border cut into
    short pieces (each piece a band across the line, wide enough for a fraction of a millimetre of
    misregistration)."""
    r = int(np.ceil(RING[1] * SCALE)) + 1
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1] / SCALE
    half = BOX / 2
    inside = (np.abs(xx) <= half - INSET) & (np.abs(yy) <= half - INSET)
    dist = np.hypot(xx, yy)
    angle = (np.degrees(np.arctan2(yy, xx)) + 360) % 360
    ring = (dist >= RING[0]) & (dist <= RING[1])
    sectors = [ring & (angle >= s * 360 / SECTORS) & (angle < (s + 1) * 360 / SECTORS) for s in range(SECTORS)]
    edge = np.maximum(np.abs(xx), np.abs(yy))
    band = (edge >= half - 0.45) & (edge <= half + 0.45)
    pieces = [band & (angle >= a) & (angle < a + 7.5) for a in np.arange(0, 360, 7.5)]
    return inside, sectors, pieces


_MASKS = _ring_masks()


def read_box(ink: np.ndarray, box: Box) -> BoxRead:
    inside, sectors, pieces = _MASKS
    r = inside.shape[0] // 2
    cx, cy = int(round(box.x * SCALE)), int(round(box.y * SCALE))
    patch = ink[cy - r:cy + r + 1, cx - r:cx + r + 1]
    if patch.shape != inside.shape:
        return BoxRead(State.UNCLEAR, "box outside the scanned area")
    if np.mean([patch[p].any() for p in pieces]) < BORDER_FOUND:
        return BoxRead(State.UNCLEAR, "the printed box is not where it should be (sheet damaged or misprinted?)")
    filled = patch[inside].mean()
    if filled < EMPTY_BELOW:
        return BoxRead(State.EMPTY)
    if filled < FILLED_FROM:
        return BoxRead(State.UNCLEAR, f"box {box.label} is only partly filled ({filled:.0%})")
    circled = sum(patch[s].mean() >= SECTOR_INKED for s in sectors)
    if circled >= CIRCLED_FROM:
        return BoxRead(State.CANCELLED)
    if circled > NOT_CIRCLED_TO:
        return BoxRead(State.UNCLEAR, f"box {box.label} is filled and may be circled (cancelled)")
    return BoxRead(State.FILLED)


def _row(ink: np.ndarray, boxes: list[Box]) -> tuple[list[str], str]:
    """The labels of the filled boxes of a row, and what is unclear in it ("" when nothing)."""
    chosen, unclear = [], []
    for box in boxes:
        read = read_box(ink, box)
        if read.state is State.FILLED:
            chosen.append(box.label)
        elif read.state is State.UNCLEAR and read.why not in unclear:
            unclear.append(read.why)
    return chosen, "; ".join(unclear)


def _read_learner(result: PageRead, sheet: Sheet, ink: np.ndarray, code: Code) -> None:
    if code.page != 1:
        result.learner = code.learner
        return
    digits, problems = [], []
    for label, boxes in sheet.id_rows:
        chosen, unclear = _row(ink, boxes)
        if unclear:
            problems.append(f"digit {label}: {unclear}")
        elif len(chosen) > 1:
            problems.append(f"digit {label}: {len(chosen)} boxes filled ({', '.join(chosen)})")
        digits.append(chosen[0] if len(chosen) == 1 else "")
    while digits and not digits[-1]:
        digits.pop()  # an id shorter than the grid leaves its last rows empty
    if not problems and "" in digits:
        problems.append("a digit of the learner id is left empty before a filled one")
    grid = "".join(digits)
    if problems:
        result.unclear["learner id"] = "; ".join(problems)
    elif code.learner and grid and grid != code.learner:
        result.unclear["learner id"] = f"the grid says {grid} but the sheet was printed for {code.learner}"
    result.learner = code.learner or grid or None
    if result.learner is None and "learner id" not in result.unclear:
        result.unclear["learner id"] = "the learner id grid is empty"


def _read_block(result: PageRead, block, ink: np.ndarray) -> None:
    q = block.item.question
    rows = []
    for label, boxes in block.rows:
        chosen, unclear = _row(ink, boxes)
        if unclear:
            result.unclear[q.id] = f"Q{block.item.number} {('row ' + label + ': ') if label else ''}{unclear}"
            return
        rows.append((label, chosen))
    kind = block.kind
    if kind in ("single", "true_false"):
        chosen = rows[0][1]
        if len(chosen) > 1:
            result.unclear[q.id] = f"Q{block.item.number}: {len(chosen)} boxes filled for a one-answer question"
        elif chosen:
            result.answers[q.id] = {"T": "true", "F": "false"}.get(chosen[0], chosen[0])
    elif kind == "multiple":
        if rows[0][1]:
            result.answers[q.id] = "".join(rows[0][1])
    elif kind == "matching":
        if any(len(c) > 1 for _, c in rows):
            result.unclear[q.id] = f"Q{block.item.number}: more than one letter filled for an item"
        elif any(c for _, c in rows):
            result.answers[q.id] = " ".join(f"{label}{c[0]}" for label, c in rows if c)
    elif kind == "ordering":
        picks = [c for _, c in rows]
        if any(picks):
            letters = [c[0] for c in picks if len(c) == 1]
            if len(letters) != len(picks) or len(set(letters)) != len(letters):
                result.unclear[q.id] = (f"Q{block.item.number}: fill one letter per position, each letter once "
                                        f"(read: {' '.join(''.join(c) or '-' for c in picks)})")
            else:
                result.answers[q.id] = " ".join(letters)
    else:  # short_answer, numeric: the trainer's points
        chosen = rows[0][1]
        written = _written(ink, block.write)
        if len(chosen) > 1:
            result.unclear[q.id] = f"Q{block.item.number}: {len(chosen)} point boxes filled by the marker"
        elif chosen:
            result.awarded[q.id] = float(chosen[0])
        elif written:
            result.unclear[q.id] = f"Q{block.item.number}: a written answer that the trainer has not marked"


def _written(ink: np.ndarray, area: tuple[float, float, float, float]) -> bool:
    """Whether anything is written in the answer box (its printed frame and label left out)."""
    x, y, w, h = area
    inner = ink[int((y + 3.5) * SCALE):int((y + h - 1.0) * SCALE), int((x + 1.0) * SCALE):int((x + w - 1.0) * SCALE)]
    return inner.size > 0 and inner.mean() > 0.004

