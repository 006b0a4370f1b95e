"""What the quiz commands need from the book, kept between runs of the command line.

The checks need the objective ids the chapters declare and the heading anchors of the pages that
questions cite; answer keys and feedback name the section behind each question by its page's title
and heading (thbcourse.book.sections). The book layer reads all of them by parsing pages with
markdown-it, which for the course's 31 pages takes longer than checking every bank, and
`thbcourse validate`, `draw` and `take` would pay it on each run. So the commands keep the facts in
`<book root>/_build/.cache/book-facts.json`, each under a BLAKE2 digest of what it was read from:
every page for the objectives, the page itself for its anchors and headings, and for all of them the
code and parser versions that read them. A page that changes in any way is read again; objectives
are never kept while a chapter's declaration has problems, so those are reported on every run. Other
callers of `load_course` and `place` (the Sphinx extension, the web app, the analysis reports, the
tests) read the pages each time and write nothing.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path

CACHE = Path("_build") / ".cache" / "book-facts.json"
# The modules whose rules turn a page into objectives, anchors and headings: a change to any of them,
# or an upgraded parser, makes every kept fact stale.
READERS = ("thbcourse.book.objectives", "thbcourse.book.sections", "thbcourse.book.myst", "markdown_it",
           "mdit_py_plugins", "myst_parser", "docutils")


def _digest(*parts: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


@lru_cache(maxsize=None)
def _readers() -> str:
    """Worked out once a process (the code and the parsers do not change while it runs), since
    `take` makes a BookFacts for every answer's feedback."""
    found = []
    for name in READERS:
        spec = find_spec(name)
        origin = Path(spec.origin) if spec and spec.origin else None
        stat = origin.stat() if origin else None
        found.append(f"{name}:{origin}:{stat.st_size if stat else ''}:{stat.st_mtime_ns if stat else ''}".encode())
    return _digest(*found)


class BookFacts:
    """Objective ids and heading anchors of the book at `root`; with `keep`, kept in its _build folder
    for the next run and read from the pages only where they changed."""

    def __init__(self, root: Path, *, keep: bool):
        self.root, self.file = Path(root), Path(root) / CACHE if keep else None
        self.kept: dict = {"readers": None, "objectives": {}, "anchors": {}, "headings": {}}
        self.changed = False
        if self.file is None:
            return
        readers = _readers()
        try:
            kept = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kept = {}
        if (isinstance(kept, dict) and kept.get("readers") == readers
                and all(isinstance(kept.get(part), dict) for part in ("objectives", "anchors", "headings"))):
            self.kept = kept
        else:
            self.kept["readers"], self.changed = readers, True

    def objectives(self) -> dict[str, None]:
        """The declared objective ids, in declaration order; AuthoringError as `read_objectives` raises it."""
        pages = sorted(Path(self.root, "book").rglob("*.md"))
        key = _digest(*(part for p in pages for part in (p.relative_to(self.root).as_posix().encode(), p.read_bytes())))
        kept = self.kept["objectives"]
        if kept.get("key") != key or not isinstance(kept.get("ids"), list):
            from thbcourse.book.objectives import read_objectives  # markdown-it and MyST: only when needed

            kept = self.kept["objectives"] = {"key": key, "ids": list(read_objectives(self.root))}
            self.changed = True
        return dict.fromkeys(kept["ids"])

    def anchors(self, page: Path) -> set[str]:
        """The HTML ids of a page's headings and targets (`heading_anchors`)."""
        name, key = page.relative_to(self.root).as_posix(), _digest(page.read_bytes())
        kept = self.kept["anchors"].get(name)
        if not isinstance(kept, dict) or kept.get("key") != key or not isinstance(kept.get("anchors"), list):
            from thbcourse.book.objectives import heading_anchors

            kept = self.kept["anchors"][name] = {"key": key, "anchors": list(heading_anchors(page))}
            self.changed = True
        return set(kept["anchors"])

    def headings(self, page: Path) -> tuple[str, dict[str, str]]:
        """A page's title and the heading each anchor names (thbcourse.book.sections.headings)."""
        name, key = page.relative_to(self.root).as_posix(), _digest(page.read_bytes())
        kept = self.kept["headings"].get(name)
        if (not isinstance(kept, dict) or kept.get("key") != key or not isinstance(kept.get("title"), str)
                or not isinstance(kept.get("named"), dict)):
            from thbcourse.book.sections import headings

            title, named = headings(page)
            kept = self.kept["headings"][name] = {"key": key, "title": title, "named": named}
            self.changed = True
        return kept["title"], kept["named"]

    def save(self) -> None:
        """Keep what was read for the next run; a book that cannot be written to is simply read again."""
        if self.file is None or not self.changed:
            return
        part = self.file.with_name(f"{self.file.name}.{os.getpid()}")
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            part.write_text(json.dumps(self.kept), encoding="utf-8")
            os.replace(part, self.file)  # whole or not at all, whoever else writes it at the same time
        except OSError:
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)
