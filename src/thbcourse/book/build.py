"""Build everything a cohort needs from the book's sources, warnings counting as errors.

    out/trainer/html     trainer edition: solutions, trainer notes; decks with speaker notes in slides/
    out/student/html     student edition: no solutions, no trainer notes; decks without notes in slides/
    out/slides           the decks for presenting (speaker notes included)
    out/workbooks/{student,trainer}/exNN-*.ipynb
    out/pdf              print-ready PDFs from the built editions and answer keys (pdf.py)

Both editions come from the one _config.yml: the student edition only overrides two values here,
so there is no second configuration that could drift from the first.

Builds are incremental. Each Sphinx part keeps its environment and reads again only the pages whose
source, or a file the page noted as a dependency (objectives, exercises, banks, figures, rubrics),
changed; the decks' generated sources and the workbooks are rewritten only when their text changes.
What Sphinx cannot follow is fingerprinted (`fingerprint`): when that changed since the part last
built, the part's folders are deleted and it is built afresh. The fingerprint is removed while a
part builds and written back only when it built without a warning, so a part that failed or was
interrupted is built afresh next time and prints its warnings again. `clean` deletes the parts first.

Several parts build in Python processes of their own, as many at a time as there are cores, so the
trainer and student editions build side by side and no Sphinx inherits another's global state; a
part's messages are printed when it finishes. A single part builds in this process. A part that reads
what others write (the PDFs read both editions) waits for them and is left out when one of them failed.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict, dataclass
from pathlib import Path

from thbcourse.problems import AuthoringError

PARTS = ("trainer", "student", "slides", "workbooks", "pdf")  # a part comes after the parts it NEEDS
# What a build without --only makes: everything but the PDFs, which take longer to lay out than the rest
# takes to rebuild after an edit; `thbcourse build --pdf` (and `make course`) adds them.
EVERYDAY = ("trainer", "student", "slides", "workbooks")
FOLDERS = {"trainer": ("trainer",), "student": ("student",), "slides": ("slides", ".slides-src"),
           "workbooks": ("workbooks",), "pdf": ("pdf",)}  # under out/: what a part writes, and what --clean deletes
NEEDS = {"pdf": ("trainer", "student")}  # what a part reads, when those parts build in the same run
STAMP = {"trainer": Path("trainer/fingerprint.json"), "student": Path("student/fingerprint.json"),
         "slides": Path(".slides-src/fingerprint.json")}  # beside the published folders, not in them


class BuildFailed(Exception):
    """A part did not build; Sphinx has already printed the warnings (file:line: WARNING: ...)."""


@dataclass
class Outcome:
    part: str
    built: str = ""  # where the part is and how it was built
    error: str = ""  # why the part did not build
    log: str = ""  # the part's messages (warnings), when it ran in a process of its own


def main(out: Path = Path("_build"), only: tuple[str, ...] | None = None, *, root: Path | None = None,
         clean: bool = False) -> int:
    root = (root or find_root(Path.cwd())).resolve()
    out = Path(out).resolve()
    unknown = set(only or ()) - set(PARTS)
    if unknown:
        print(f"error: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}", file=sys.stderr)
        return 1
    parts = [part for part in PARTS if part in (only or EVERYDAY)]
    if clean:
        for part in parts:
            for folder in FOLDERS[part]:
                shutil.rmtree(out / folder, ignore_errors=True)
    workers = min(len(parts), os.cpu_count() or 1)
    print(f"building {', '.join(parts)} ...", flush=True)
    outcomes = _in_processes(parts, root, out, workers) if workers > 1 else _in_turn(parts, root, out)
    failed = False
    for outcome in outcomes:
        sys.stderr.write(outcome.log)
        if outcome.error:
            print(f"error: {outcome.error}", file=sys.stderr, flush=True)
            failed = True
        else:
            print(f"{outcome.part}: {outcome.built}", flush=True)
    return 1 if failed else 0


def _in_turn(parts: list[str], root: Path, out: Path) -> Iterator[Outcome]:
    done: dict[str, Outcome] = {}
    for part in parts:
        done[part] = _blocked(part, done) or build_part(part, root, out)
        yield done[part]


def _in_processes(parts: list[str], root: Path, out: Path, workers: int) -> Iterator[Outcome]:
    """Each part in a Python process of its own, at most `workers` at a time (a Sphinx build leaves
    global state in Sphinx and docutils behind); the threads only wait for the processes. A part waits
    for the parts it needs: they were submitted before it, so they hold or get a thread first."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    futures = {}

    def run(part: str) -> Outcome:
        done = {need: futures[need].result() for need in NEEDS.get(part, ()) if need in futures}
        return _blocked(part, done) or _run_part(part, root, out)

    with ThreadPoolExecutor(workers) as pool:
        for part in parts:
            futures[part] = pool.submit(run, part)
        for future in as_completed(futures.values()):
            yield future.result()


def _blocked(part: str, done: dict[str, Outcome]) -> Outcome | None:
    """Why a part cannot build: a part it reads failed in this run (it would read a stale build)."""
    failed = [need for need in NEEDS.get(part, ()) if need in done and done[need].error]
    if failed:
        return Outcome(part, error=f"the {part} part was not built: the {' and '.join(failed)} part(s) failed")
    return None


def _run_part(part: str, root: Path, out: Path) -> Outcome:
    done = subprocess.run([sys.executable, "-m", "thbcourse.book.build", part, str(root), str(out)],
                          capture_output=True, encoding="utf-8", errors="replace",
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    try:
        return Outcome(**json.loads(done.stdout), log=done.stderr)
    except (ValueError, TypeError):  # the process died before it could say how the part went
        return Outcome(part, error=f"the {part} build stopped (exit status {done.returncode})", log=done.stderr)


def build_part(part: str, root: Path, out: Path) -> Outcome:
    try:
        return Outcome(part, built=BUILDERS[part](root, out))
    except AuthoringError as err:
        return Outcome(part, error=f"the sources have problems:\n{err}")
    except BuildFailed as err:
        return Outcome(part, error=str(err))


def find_root(start: Path) -> Path:
    for folder in (start, *start.parents):
        if (folder / "_config.yml").is_file() and (folder / "_toc.yml").is_file():
            return folder
    raise SystemExit(f"error: no _config.yml and _toc.yml in {start} or above; run this in the course repository")


# --- what Sphinx cannot follow ---------------------------------------------------------------------

_CITE = re.compile(r"\{(?:foot)?cite(?::[a-z]+)?\}`([^`]+)`")


def fingerprint(root: Path, part: str) -> dict[str, str]:
    """A digest of each input that Sphinx's incremental build does not follow, by name:
    the configuration, table of contents and bibliography (read once per build); this package's
    code and the installed packages (they render the pages); the names of the content files (a new
    bank, deck or figure changes pages that never noted it); and every page's headings, labels and
    cited works (other pages show them: the sidebar, links, self-check sections, the references)."""
    import importlib.metadata

    import thbcourse

    package = Path(thbcourse.__file__).parent
    installed = sorted(f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions())
    found = {
        "the thbcourse package": _digest(package, [p for p in sorted(package.rglob("*"))
                                                   if p.is_file() and "__pycache__" not in p.parts]),
        "the installed packages": _hash("\n".join([sys.version, *installed])),
    }
    if part == "slides":  # the generated sources carry everything else, and Sphinx sees them change
        return {**found, "the decks' names": _hash("\n".join(p.name for p in sorted(root.glob("book/slides/*.md"))))}
    from thbcourse.book.myst import cite_keys, read_page

    pages = sorted(p for folder in ("book", "exercises") for p in Path(root, folder).rglob("*.md")
                   if "slides" not in p.relative_to(root).parts)
    structure, cited = [], set()
    for path in pages:
        page = read_page(path)
        structure.append([path.relative_to(root).as_posix(), [(s.level, s.title, s.label) for s in page.sections],
                          sorted(page.targets), sorted(b.options.get("label", "") for b in page.blocks)])
        cited |= {key for content in _CITE.findall(page.text) for _, key, _ in cite_keys(content)}
    names = sorted(p.relative_to(root).as_posix() for folder in ("book", "exercises", "quizzes")
                   for p in Path(root, folder).rglob("*") if p.suffix in (".md", ".yml", ".yaml")
                   and not any(n.startswith(".") for n in p.relative_to(root).parts))
    return {
        **{name: _digest(root, [root / name]) for name in ("_config.yml", "_toc.yml", "references.bib")},
        **found,
        "the content files' names": _hash("\n".join(names)),
        "headings, labels or cited works": _hash(json.dumps([structure, sorted(cited)])),
    }


def _digest(base: Path, paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(f"{path.relative_to(base).as_posix()}\0".encode())
        digest.update(path.read_bytes() if path.is_file() else b"\0missing")
    return digest.hexdigest()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@contextmanager
def incremental(out: Path, part: str, found: dict[str, str]) -> Iterator[str]:
    """Build a part on top of its last build when its fingerprint is unchanged, afresh otherwise;
    yields how, for the message. The fingerprint is written back only when the part built."""
    stamp = out / STAMP[part]
    try:
        before = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        before = None
    changed = [name for name in found if before is not None and before.get(name) != found[name]]
    if before is None or changed:
        how = f"built afresh: {', '.join(changed)} changed" if changed else "built afresh: no finished build to update"
        for folder in FOLDERS[part]:
            shutil.rmtree(out / folder, ignore_errors=True)
    else:
        how = "incremental"
        stamp.unlink()
    yield how
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(found, indent=1), encoding="utf-8")


# --- the parts -------------------------------------------------------------------------------------

TRAINER_BANNER = ('<span class="trainer-banner">Trainer edition: contains solutions and trainer notes, '
                  'not for learners</span>')


def theme_options(root: Path) -> dict:
    from thbcourse.bank.yamlfile import safe_load

    config = safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}
    return dict(((config.get("sphinx") or {}).get("config") or {}).get("html_theme_options") or {})


def edition(root: Path, out: Path, name: str) -> str:
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
    with incremental(out, name, fingerprint(root, name)) as how:
        with redirect_stdout(sys.stderr):  # Jupyter Book prints config notices on stdout
            result = build_sphinx(root, html, noconfig=True, path_config=str(root / "_config.yml"),
                                  confoverrides=overrides, doctreedir=out / name / ".doctrees",
                                  warningiserror=True, keep_going=True, quiet=True)
        if result != 0:
            raise BuildFailed(f"the {name} edition did not build; fix the warnings above (warnings count as errors)")
        decks(root, out / name / ".slides-src", html / "slides", notes=name == "trainer")
    return f"{html / 'index.html'} ({how})"


def decks(root: Path, work: Path, dest: Path, *, notes: bool) -> Path:
    """The decks from sources generated in work/src; Sphinx keeps its environment in work/doctrees."""
    from sphinx.application import Sphinx
    from sphinx.util.docutils import docutils_namespace, patch_docutils
    from sphinx_revealjs.utils import get_internal_static_path

    from thbcourse.book import slides

    slides.write_sources(root, work / "src", notes=notes)
    # sphinx-revealjs's builder changes two settings when it starts, after Sphinx has compared them with
    # the last build's, so every deck would count as changed: given as the builder leaves them (and
    # its second copy of its static folder dropped), they are the same in every build.
    config = slides.sphinx_config()
    config["revealjs_static_path"] = [*config["revealjs_static_path"], str(get_internal_static_path())]
    config["revealjs_script_conf"] = {**config["revealjs_script_conf"]}
    config["revealjs_script_conf"].setdefault("scrollActivationWidth", None)
    try:
        with patch_docutils(None), docutils_namespace():
            app = Sphinx(srcdir=work / "src", confdir=None, outdir=dest, doctreedir=work / "doctrees",
                         buildername="revealjs", confoverrides=config, status=None,
                         warning=sys.stderr, warningiserror=True, keep_going=True)
            static = app.config.revealjs_static_path  # also the builder's html_static_path: changed in place
            static[:] = dict.fromkeys(static)
            app.build()
    except Exception as err:  # Sphinx raises for warnings-as-errors and for broken sources alike
        raise BuildFailed(f"the slide decks did not build ({type(err).__name__}: {err}); "
                          f"the generated sources are in {work / 'src'}") from None
    if app.statuscode:
        raise BuildFailed(f"the slide decks did not build; fix the warnings above (sources: {work / 'src'})")
    slides.finish(dest)
    return dest / "index.html"


def presenting_decks(root: Path, out: Path) -> str:
    with incremental(out, "slides", fingerprint(root, "slides")) as how:
        index = decks(root, out / ".slides-src", out / "slides", notes=True)
    return f"{index} ({how})"


def workbooks(root: Path, out: Path) -> str:
    from thbcourse.book.workbooks import write_workbooks

    dest = out / "workbooks"
    write_workbooks(root, dest)
    return str(dest)


def pdfs(root: Path, out: Path) -> str:
    from thbcourse.book.pdf import build_pdfs

    return build_pdfs(root, out)


BUILDERS = {
    "trainer": lambda root, out: edition(root, out, "trainer"),
    "student": lambda root, out: edition(root, out, "student"),
    "slides": presenting_decks,
    "workbooks": workbooks,
    "pdf": pdfs,
}


if __name__ == "__main__":  # one part, in a process of its own (_run_part): the outcome as JSON on stdout
    with redirect_stdout(sys.stderr):
        outcome = build_part(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
    print(json.dumps({k: v for k, v in asdict(outcome).items() if k != "log"}))
