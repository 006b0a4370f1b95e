"""A paper exam as a PDF: the questions, then the answer sheet that `thbcourse scan` reads back.

Every page carries the quiz, the seed, a learner-id box and "page N of M"; a question is never split
across pages; the answer sheet is drawn from `layout.layout`, the same geometry the scanner reads.
ReportLab's standard fonts keep the text extractable (and the file small); the QR code's modules are
drawn as vector squares from segno's matrix, so nothing is fetched or rasterised.
"""
from __future__ import annotations

import html
import re
from io import BytesIO
from pathlib import Path

from thbcourse.deliveries.markdown import to_html, to_inline_html
from thbcourse.deliveries.papers import choices, paper_facts, points_text
from thbcourse.engine.draw import Paper
from thbcourse.paper.layout import BOX, HEAD, LETTERS, MARGIN, MARK, QR_SIZE, QR_TOP, Sheet, layout

HOW = {
    "single": "Fill one box.",
    "true_false": "Fill one box: T (true) or F (false).",
    "multiple": "Fill every box that applies (wrong boxes cost marks).",
    "matching": "For each numbered item, fill the box of one letter.",
    "ordering": "For each position, fill the box of the item that goes there.",
    "short_answer": "Write your answer in the box. The trainer marks it.",
    "numeric": "Write a number in the box. The trainer marks it.",
}
INSTRUCTIONS = ("Use a dark pen. Fill a box completely to choose it; a tick or a cross is not read. "
                "To cancel a choice, draw a circle around the filled box. Leave the trainer's boxes empty.")


def paper_pdf(paper: Paper, fmt: str = "a4", learner: str | None = None, id_digits: int = 6) -> bytes:
    """The whole paper (questions, then the answer sheet) as PDF bytes."""
    from reportlab.lib.units import mm
    from reportlab.platypus import BaseDocTemplate, Frame, NextPageTemplate, PageBreak, PageTemplate, Spacer

    sheet = layout(paper, fmt, learner, id_digits)
    w, h = sheet.size
    buf = BytesIO()
    doc = BaseDocTemplate(buf, pagesize=(w * mm, h * mm), title=f"{paper.blueprint.title} (seed {paper.seed})",
                          author="thbcourse", subject=f"quiz {paper.blueprint.id}, seed {paper.seed}",
                          leftMargin=MARGIN * mm, rightMargin=MARGIN * mm, topMargin=28 * mm, bottomMargin=20 * mm)
    text_frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="text")
    full_frame = Frame(0, 0, w * mm, h * mm, id="sheet")
    counter = {"sheet": 0}

    def on_sheet(canv, _doc) -> None:
        counter["sheet"] += 1
        _draw_sheet_page(canv, sheet, counter["sheet"])

    doc.addPageTemplates([PageTemplate("questions", [text_frame], onPage=lambda c, d: _page_header(c, sheet)),
                          PageTemplate("sheet", [full_frame], onPage=on_sheet)])
    story = _questions(paper)
    story.append(NextPageTemplate("sheet"))
    for _ in sheet.pages:
        story += [PageBreak(), Spacer(1, 1)]
    doc.build(story, canvasmaker=_numbered(sheet))
    return buf.getvalue()


def write_paper_pdf(paper: Paper, out: Path, fmt: str = "a4", learner: str | None = None, id_digits: int = 6) -> Path:
    """Write `<quiz>-seed<N>.pdf` (with the learner id in the name for a personal paper), whole or not at all."""
    name = f"{paper.blueprint.id}-seed{paper.seed}" + (f"-{learner}" if learner else "") + ".pdf"
    return _write(out / name, paper_pdf(paper, fmt, learner, id_digits))


def join_pdfs(parts: list[Path], target: Path) -> Path:
    """One file of several papers, for a single print job (each paper keeps its own page numbers)."""
    import pypdfium2 as pdfium

    joined = pdfium.PdfDocument.new()
    for part in parts:
        src = pdfium.PdfDocument(str(part))
        joined.import_pages(src)
        src.close()
    buf = BytesIO()
    joined.save(buf)
    joined.close()
    return _write(target, buf.getvalue())


def _write(target: Path, data: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def _styles():
    from reportlab.lib.styles import ParagraphStyle

    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10.5, leading=14, spaceAfter=4)
    return {
        "title": ParagraphStyle("title", parent=body, fontName="Helvetica-Bold", fontSize=16, leading=20,
                                spaceAfter=6),
        "meta": ParagraphStyle("meta", parent=body, fontSize=9.5, textColor="#333333"),
        "question": ParagraphStyle("question", parent=body, fontName="Helvetica-Bold", fontSize=11.5,
                                   spaceBefore=10),
        "body": body,
        "how": ParagraphStyle("how", parent=body, fontName="Helvetica-Oblique"),
        "choice": ParagraphStyle("choice", parent=body, leftIndent=22, firstLineIndent=-16, spaceAfter=2),
    }


def _questions(paper: Paper) -> list:
    from reportlab.platypus import KeepTogether, Paragraph

    st = _styles()
    story = [Paragraph(html.escape(paper.blueprint.title), st["title"]),
             Paragraph(html.escape(paper_facts(paper)), st["meta"]),
             Paragraph("<b>Mark every answer on the answer sheet at the end of this paper.</b> "
                       + html.escape(INSTRUCTIONS), st["body"])]
    for item in paper.items:
        q = item.question
        parts = [Paragraph(f"Question {item.number} ({points_text(item.points)})", st["question"])]
        parts += [Paragraph(p, st["body"]) for p in _paragraphs(q.stem)]
        parts.append(Paragraph(html.escape(HOW[q.type]), st["how"]))
        for label, text in choices(item):
            if label:
                parts.append(Paragraph(f"<b>{html.escape(label)}</b>&nbsp;&nbsp;{_inline(text)}", st["choice"]))
        if q.type == "true_false":
            parts.append(Paragraph("<b>T</b>&nbsp;&nbsp;True&nbsp;&nbsp;&nbsp;&nbsp;<b>F</b>&nbsp;&nbsp;False",
                                   st["choice"]))
        story.append(KeepTogether(parts))
    return story


_TAGS = {"strong": "b", "em": "i", "code": "font face='Courier'"}
_OTHER_TAGS = re.compile(r"</?(?!b>|i>|font|/font)[a-z][^>]*>")


def _reportlab_markup(rendered: str) -> str:
    """HTML from markdown-it as the small subset ReportLab's paragraphs understand (bold, italic, code)."""
    for tag, new in _TAGS.items():
        rendered = rendered.replace(f"<{tag}>", f"<{new}>").replace(f"</{tag}>", f"</{new.split()[0]}>")
    return _OTHER_TAGS.sub("", rendered)


def _inline(text: str) -> str:
    return _reportlab_markup(to_inline_html(text))


def _paragraphs(text: str) -> list[str]:
    """Block Markdown (paragraphs, list items) as ReportLab paragraphs."""
    blocks = re.findall(r"<(p|li)>(.*?)</\1>", to_html(text), flags=re.S)
    return [("• " if tag == "li" else "") + _reportlab_markup(inner).strip() for tag, inner in blocks] or [
        html.escape(text)]


def _numbered(sheet: Sheet):
    """A canvas class that writes "page N of M" (and the quiz and seed) on every page once M is known."""
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    paper = sheet.paper
    footer = f"{paper.blueprint.title} · quiz {paper.blueprint.id} · seed {paper.seed}"
    width = sheet.size[0]

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 (ReportLab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont("Helvetica", 8.5)
                self.drawString(MARGIN * mm, 8 * mm, footer)
                self.drawRightString((width - MARGIN) * mm, 8 * mm, f"page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def _learner_box(canv, sheet: Sheet, x: float, y: float, width: float = 62.0) -> None:
    """'Learner id' and a box to write it in (the id printed in it when the paper is personal)."""
    from reportlab.lib.units import mm

    h = sheet.size[1]
    canv.setFont("Helvetica", 9)
    canv.drawString(x * mm, (h - y - 5) * mm, "Learner id")
    canv.setLineWidth(0.6)
    canv.rect((x + 18) * mm, (h - y - 7) * mm, (width - 18) * mm, 8 * mm)
    if sheet.learner:
        canv.setFont("Helvetica-Bold", 11)
        canv.drawString((x + 20) * mm, (h - y - 4.8) * mm, sheet.learner)


def _page_header(canv, sheet: Sheet) -> None:
    from reportlab.lib.units import mm

    w, h = sheet.size
    canv.saveState()
    canv.setFont("Helvetica", 8.5)
    canv.drawString(MARGIN * mm, (h - 12) * mm, f"Quiz {sheet.paper.blueprint.id} · seed {sheet.paper.seed}")
    _learner_box(canv, sheet, w - MARGIN - 72, 8, 72)
    canv.restoreState()


def _draw_sheet_page(canv, sheet: Sheet, number: int) -> None:
    from reportlab.lib.units import mm

    w, h = sheet.size
    page = sheet.pages[number - 1]
    canv.saveState()
    canv.setFillColorRGB(0, 0, 0)
    for cx, cy in sheet.marks():
        canv.rect((cx - MARK / 2) * mm, (h - cy - MARK / 2) * mm, MARK * mm, MARK * mm, stroke=0, fill=1)
    _qr(canv, sheet.code(number), MARGIN, QR_TOP, QR_SIZE, h)
    canv.setFont("Helvetica-Bold", 12)
    canv.drawString(22 * mm, (h - 15.5) * mm, f"Answer sheet {number} of {len(sheet.pages)}")
    canv.setFont("Helvetica", 9)
    canv.drawString(22 * mm, (h - 20) * mm, f"{sheet.paper.blueprint.title} · seed {sheet.paper.seed}")
    _learner_box(canv, sheet, MARGIN, QR_TOP + QR_SIZE + 2, 62)
    if number == 1:
        _instructions(canv, sheet, MARGIN, QR_TOP + QR_SIZE + 13, 62)
        _id_grid(canv, sheet)
    for block in page.blocks:
        _draw_block(canv, block, h)
    canv.restoreState()


def _instructions(canv, sheet: Sheet, x: float, y: float, width: float) -> None:
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph

    style = _styles()["body"].clone("small", fontSize=8, leading=10)
    words = ("Write your learner id in the box and fill one box per digit in the grid. " + INSTRUCTIONS)
    para = Paragraph(html.escape(words), style)
    _, height = para.wrap(width * mm, 60 * mm)
    para.drawOn(canv, x * mm, (sheet.size[1] - y) * mm - height)


def _id_grid(canv, sheet: Sheet) -> None:
    from reportlab.lib.units import mm

    h = sheet.size[1]
    first = sheet.id_rows[0][1]
    canv.setFont("Helvetica", 8)
    canv.drawString((first[0].x - BOX / 2) * mm, (h - first[0].y + LETTERS + 4.5) * mm,
                    "Learner id: one digit per row, from the first row down")
    for box in first:
        canv.drawCentredString(box.x * mm, (h - box.y + LETTERS) * mm, box.label)
    for label, boxes in sheet.id_rows:
        canv.drawRightString((boxes[0].x - 5.8) * mm, (h - boxes[0].y - 1.1) * mm, label)
        for box in boxes:
            _box(canv, box.x, box.y, h)


def _draw_block(canv, block, h: float) -> None:
    """The question number at the block's top left, the letters above the first row, row labels to the
    left of each row, and for a written answer the box to write in above the marker's boxes."""
    from reportlab.lib.units import mm

    canv.setFont("Helvetica-Bold", 9)
    canv.drawString(block.x * mm, (h - block.y - HEAD) * mm, f"Q{block.item.number}")
    if block.write:
        x, y, width, height = block.write
        canv.setLineWidth(0.6)
        canv.rect(x * mm, (h - y - height) * mm, width * mm, height * mm)
        canv.setFont("Helvetica", 6.5)
        canv.drawString((x + 1) * mm, (h - y - 2.8) * mm, "Answer")
        canv.drawString((block.rows[0][1][-1].x + 6) * mm, (h - block.rows[0][1][0].y - 1.1) * mm,
                        "points awarded (trainer)")
    canv.setFont("Helvetica", 8)
    for box in block.rows[0][1]:
        canv.drawCentredString(box.x * mm, (h - box.y + LETTERS) * mm, box.label)
    canv.setFont("Helvetica", 7.5)
    for label, boxes in block.rows:
        canv.drawRightString((boxes[0].x - 5.8) * mm, (h - boxes[0].y - 1.1) * mm, label)
        for box in boxes:
            _box(canv, box.x, box.y, h)


def _box(canv, x: float, y: float, h: float) -> None:
    from reportlab.lib.units import mm

    canv.setLineWidth(0.7)
    canv.rect((x - BOX / 2) * mm, (h - y - BOX / 2) * mm, BOX * mm, BOX * mm, stroke=1, fill=0)


def _qr(canv, text: str, x: float, y: float, size: float, h: float) -> None:
    """The QR code as black squares (segno's matrix, quiet zone left white), top-left corner at (x, y)."""
    import segno
    from reportlab.lib.units import mm

    matrix = segno.make(text, error="m").matrix
    n = len(matrix) + 8  # four modules of quiet zone on each side
    module = size / n
    for r, row in enumerate(matrix):
        for c, dark in enumerate(row):
            if dark:
                canv.rect((x + (c + 4) * module) * mm, (h - y - (r + 5) * module) * mm, module * mm * 1.02,
                          module * mm * 1.02, stroke=0, fill=1)
