"""(h) The trainer handbook PDF, against WeasyPrint laying out the same HTML document.

The trainer edition is built into a temporary folder (`thbcourse build --only trainer`, not timed).
Ours is what the `pdf` part of `thbcourse build` does for the handbook (thbcourse.book.pdf.make):
read the edition's pages, put them into one document, lay it out and write the PDF. The baseline, in
the same run, is `HTML(...).render()` of that very document: the layout alone, which no PDF of this
book can avoid. The ratio is what our assembly and the writing of the PDF (fonts subset, pages
compressed) add to it. Target: at most 1.75x, the best of three runs each; seconds and pages shown.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.timing import best_of

REPO = Path(__file__).resolve().parent.parent
REPEAT = 3
TARGET = 1.75


def bench_pdf() -> bool:
    try:
        from weasyprint import HTML
    except OSError:
        print("(h) trainer handbook PDF: not run, WeasyPrint needs Pango (apt-get install libpango-1.0-0 libpangoft2-1.0-0)")
        return False
    from thbcourse.book import pdf

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        done = subprocess.run([sys.executable, "-m", "thbcourse", "build", "--only", "trainer", "--out", str(out)],
                              cwd=REPO, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"thbcourse build --only trainer failed:\n{done.stdout}{done.stderr}")
        (out / "pdf").mkdir()
        document = pdf.handbook_document(REPO, out)

        def layout():
            return HTML(string=document, base_url=out.as_uri() + "/", url_fetcher=pdf.local_fetcher(out)).render()

        baseline, laid_out = best_of(layout, REPEAT, time.perf_counter)
        ours, made = best_of(lambda: pdf.make("trainer-handbook", REPO, out), REPEAT, time.perf_counter)
    assert made["refused"] == [] and made["pages"] == len(laid_out.pages)
    ratio = ours / baseline
    ok = ratio <= TARGET
    print(f"(h) trainer handbook PDF, {made['pages']} pages: {ours:.1f} s (assemble, lay out, write); "
          f"WeasyPrint layout alone {baseline:.1f} s; ratio {ratio:.2f}x (target <= {TARGET:.2f}x) "
          f"{'OK' if ok else 'MISSED'}")
    return ok


if __name__ == "__main__":
    sys.exit(0 if bench_pdf() else 1)
