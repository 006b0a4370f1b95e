"""(i) Scanning a class's answer sheets, against the least any reader of a scanned PDF must do.

The stack: 30 learners, each a paper of the real `exam` blueprint (two answer-sheet pages each)
drawn with its own seed, filled in with pen-like marks (answers, corrections, written answers with
the trainer's points), degraded as a scanner would (a few degrees of rotation, skew, noise, JPEG at
quality 60) and saved as one 200 dpi PDF of 60 pages, as a trainer gets it from the office scanner.

Ours: `paper.collect.read_scans`, which renders every page, finds the QR code and the registration
marks, reads every box and grades every sheet (what `thbcourse scan` does before writing to the
gradebook). The baseline renders the same pages from the same PDF and decodes their QR codes, and
nothing else. Target: the class in under 30 s of wall time on this machine's two cores; the ratio to
the baseline shows what reading the boxes adds. Also reported: PDF papers written per second.
"""
from __future__ import annotations

import random
import tempfile
import time
from pathlib import Path

from thbcourse.bank.course import load_course
from thbcourse.engine.draw import draw
from thbcourse.paper import simulate as sim
from thbcourse.paper.collect import read_scans
from thbcourse.paper.layout import layout
from thbcourse.paper.render import paper_pdf
from thbcourse.paper.scan import DPI, pages_of

QUIZZES = Path(__file__).resolve().parents[1] / "quizzes"
LEARNERS, QUIZ, TARGET_S = 30, "exam", 30.0


def _stack(course, path: Path) -> tuple[int, float]:
    """Write the scanned stack; return (pages, seconds spent writing the PDF papers)."""
    from PIL import Image

    rng, pages, pdf_s = random.Random(14), [], 0.0
    for n in range(LEARNERS):
        paper = draw(course, course.blueprint(QUIZ), 500 + n)
        sheet = layout(paper)
        start = time.perf_counter()
        pdf = paper_pdf(paper)
        pdf_s += time.perf_counter() - start
        marking = sim.random_marking(sheet, rng, learner_digits=f"{200000 + n}")
        for k, img in enumerate(sim.render_pages(pdf, DPI, len(sheet.pages)), 1):
            pages.append(Image.fromarray(sim.degrade(sim.draw_marking(img, marking, k, DPI, rng), rng)))
    pages[0].save(path, save_all=True, append_images=pages[1:], resolution=DPI)
    return len(pages), pdf_s


def bench_scan() -> bool:
    import zxingcpp

    course = load_course([QUIZZES], book_root=None)
    known = {f"{200000 + n}": f"{200000 + n}" for n in range(LEARNERS)}
    with tempfile.TemporaryDirectory() as tmp:
        stack = Path(tmp) / "stack.pdf"
        pages, pdf_s = _stack(course, stack)

        def baseline():
            return sum(len(zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode))
                       for img in pages_of(stack))

        def ours():
            return read_scans([stack], course, QUIZ, known)

        timings = []
        for _ in range(2):  # alternate, keep the best of each
            for name, fn in (("baseline", baseline), ("ours", ours)):
                start = time.perf_counter()
                result = fn()
                timings.append((name, time.perf_counter() - start, result))
    base = min(t for n, t, _ in timings if n == "baseline")
    mine = min(t for n, t, _ in timings if n == "ours")
    outcome = next(r for n, _, r in timings if n == "ours")
    codes = next(r for n, _, r in timings if n == "baseline")
    graded, review = len(outcome.graded), len(outcome.to_review) + len(outcome.unreadable)
    ok = mine < TARGET_S and codes == pages and graded + review == LEARNERS
    print(f"(i) scan {LEARNERS} two-page sheets ({pages} pages, {DPI} dpi, degraded): {mine:.1f} s "
          f"({pages / mine:.1f} pages/s, {LEARNERS / mine:.1f} sheets/s); render + QR only {base:.1f} s; "
          f"ratio {mine / base:.2f}x; {graded} graded, {review} to review; target < {TARGET_S:.0f} s: "
          f"{'ok' if ok else 'MISSED'}")
    print(f"    PDF papers with answer sheets: {LEARNERS / pdf_s:.1f} per second ({pdf_s / LEARNERS * 1000:.0f} ms each)")
    return ok


if __name__ == "__main__":
    bench_scan()
