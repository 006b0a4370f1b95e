"""Build everything a cohort needs from the book's sources, warnings counting as errors.

    out/trainer/html     trainer edition: solutions, trainer notes; decks with speaker notes in slides/
    out/student/html     student edition: no solutions, no trainer notes; decks without notes in slides/
    out/slides           the decks for presenting (speaker notes included)
    out/workbooks/{student,trainer}/exNN-*.ipynb

Both editions come from the one _config.yml: the student edition only overrides two values here,
so there is no second configuration that could drift from the first.
"""
from __future__ import annotations

import shutil
import sys
from contextlib import redirect_stdout
from pathlib import Path

from thbcourse.problems import AuthoringError

PARTS = ("trainer", "student", "slides", "workbooks")


class BuildFailed(Exception):
    """A part did not build; Sphinx has already printed the warnings (file:line: WARNING: ...)."""


def main(out: Path = Path("_build"), only: tuple[str, ...] | None = None, *, root: Path | None = None) -> int:
    root = (root or find_root(Path.cwd())).resolve()
    out = Path(out).resolve()
    unknown = set(only or ()) - set(PARTS)
    if unknown:
        print(f"error: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}", file=sys.stderr)
        return 1
    try:
        for part in PARTS:
            if only is None or part in only:
                print(f"building {part} ...", flush=True)
                shutil.rmtree(out / part, ignore_errors=True)  # no stale pages from an earlier build
                print(f"{part}: {BUILDERS[part](root, out)}", flush=True)
    except AuthoringError as err:
        print(f"error: the sources have problems:\n{err}", file=sys.stderr)
        return 1
    except BuildFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def find_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "_config.yml").is_file() and (folder / "_toc.yml").is_file():
            return folder
    raise SystemExit(f"error: no _config.yml and _toc.yml in {start} or above; run this in the course repository")


TRAINER_BANNER = ('<span class="trainer-banner">Trainer edition: contains solutions and trainer notes, '
                  'not for learners</span>')


def theme_options(root: Path) -> dict:
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    return dict(((config.get("sphinx") or {}).get("config") or {}).get("html_theme_options") or {})


def edition(root: Path, out: Path, name: str) -> Path:
    """One edition of the book, with its own copy of the decks so that it is self-contained."""
    from jupyter_book.sphinx import build_sphinx

    html = out / name / "html"
    overrides = {
        "external_toc_path": str(root / "_toc.yml"),
        "latex_individualpages": False,
        "thbcourse_edition": name,
        "hide_solutions": name == "student",
    }
    if name == "trainer":  # unmistakable on every page, on screen and on paper
        overrides["html_theme_options"] = {**theme_options(root), "announcement": TRAINER_BANNER}
    with redirect_stdout(sys.stderr):  # Jupyter Book prints config notices on stdout
        result = build_sphinx(root, html, noconfig=True, path_config=str(root / "_config.yml"),
                              confoverrides=overrides, doctreedir=out / name / ".doctrees", freshenv=True,
                              warningiserror=True, keep_going=True, quiet=True)
    if result != 0:
        raise BuildFailed(f"the {name} edition did not build; fix the warnings above (warnings count as errors)")
    decks(root, out, html / "slides", notes=name == "trainer")
    return html / "index.html"


def decks(root: Path, out: Path, dest: Path, *, notes: bool) -> Path:
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils

    from thbcourse.book import slides

    work = out / ".slides-src" / ("with-notes" if notes else "without-notes")
    slides.write_sources(root, work / "src", notes=notes)
    try:
        with patch_docutils(None), docutils_namespace():
            app = Sphinx(srcdir=work / "src", confdir=None, outdir=dest, doctreedir=work / "doctrees",
                         buildername="revealjs", confoverrides=slides.sphinx_config(), status=None,
                         warning=sys.stderr, freshenv=True, warningiserror=True, keep_going=True)
            app.build()
    except Exception as err:  # Sphinx raises for warnings-as-errors and for broken sources alike
        raise BuildFailed(f"the slide decks did not build ({type(err).__name__}: {err}); "
                          f"the generated sources are in {work / 'src'}") from None
    if app.statuscode:
        raise BuildFailed(f"the slide decks did not build; fix the warnings above (sources: {work / 'src'})")
    slides.finish(dest)
    return dest / "index.html"


def workbooks(root: Path, out: Path) -> Path:
    from thbcourse.book.workbooks import write_workbooks

    dest = out / "workbooks"
    write_workbooks(root, dest)
    return dest


BUILDERS = {
    "trainer": lambda root, out: edition(root, out, "trainer"),
    "student": lambda root, out: edition(root, out, "student"),
    "slides": lambda root, out: decks(root, out, out / "slides", notes=True),
    "workbooks": workbooks,
}
