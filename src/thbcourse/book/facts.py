"""What the quiz commands need from the book, kept between runs of the command line.

The checks need the objective ids the chapters declare and the heading anchors of the pages that
questions cite; answer keys and feedback name the section behind each question by its page's title
and heading (thbcourse.book.sections). The book layer reads all of them by parsing pages with
markdown-it, which for the course's 31 pages takes longer than checking every bank, and
`thbcourse validate`, `draw` and `take` would pay it on each run. So the commands keep the facts in
`<book root>/_build/.cache/book-facts.json`, each under a BLAKE2 digest of what it was read from:
every page for the objectives, the page itself for its anchors and headings, and for all of them the
code and parser versions that read them. A page's digest is kept with its size and modification time
and worked out again when either differs (see `_page_digest`). A page that changes is read again; objectives
are never kept while a chapter's declaration has problems, so those are reported on every run. Other
callers of `load_course` and `place` (the Sphinx extension, the web app, the analysis reports, the
tests) read the pages each time and write nothing.
"""
from __future__ import annotations

import time
from pathlib import Path

from thbcourse.kept import code_digest, digest, read_kept, write_kept

CACHE = Path("_build") / ".cache" / "book-facts.json"
TRUSTED_AFTER_NS = 2_000_000_000
# The modules whose rules turn a page into objectives, anchors and headings: a change to any of them,
# or an upgraded parser, makes every kept fact stale.
READERS = ("thbcourse.book.objectives", "thbcourse.book.sections", "thbcourse.book.myst", "markdown_it",
           "mdit_py_plugins", "myst_parser", "docutils")


class BookFacts:
    """Objective ids and heading anchors of the book at `root`; with `keep`, kept in its _build folder
    for the next run and read from the pages only where they changed."""

    def __init__(self, root: Path, *, keep: bool):
        self.root, self.file = Path(root), Path(root) / CACHE if keep else None
        self.kept: dict = {"readers": None, "objectives": {}, "anchors": {}, "headings": {}, "pages": {}}
        self.changed = False
        if self.file is None:
            return
        readers = code_digest(*READERS)
        kept = read_kept(self.file)
        if (kept.get("readers") == readers
                and all(isinstance(kept.get(part), dict) for part in ("objectives", "anchors", "headings", "pages"))):
            self.kept = kept
        else:
            self.kept["readers"], self.changed = readers, True

    def _page_digest(self, page: Path) -> str:
        """The digest of a page's bytes. A page is read and digested again unless its size and
        modification time (ns) are those kept with its digest; a page is kept that way only once its
        modification time is TRUSTED_AFTER_NS old, so that an edit within one tick of the file system's
        clock after a run cannot hide behind an unchanged time (as git treats "racily clean" files)."""
        name, stat = page.relative_to(self.root).as_posix(), page.stat()
        known = self.kept["pages"].get(name)
        if isinstance(known, list) and known[:2] == [stat.st_size, stat.st_mtime_ns] and isinstance(known[2], str):
            return known[2]
        found = digest(page.read_bytes())
        if self.file is not None and time.time_ns() - stat.st_mtime_ns > TRUSTED_AFTER_NS:
            self.kept["pages"][name], self.changed = [stat.st_size, stat.st_mtime_ns, found], True
        return found

    def objectives(self) -> dict[str, None]:
        """The declared objective ids, in declaration order; AuthoringError as `read_objectives` raises it."""
        pages = sorted(Path(self.root, "book").rglob("*.md"))
        key = digest(*(part for p in pages for part in (p.relative_to(self.root).as_posix().encode(),
                                                         self._page_digest(p).encode())))
        kept = self.kept["objectives"]
        if kept.get("key") != key or not isinstance(kept.get("ids"), list):
            from thbcourse.book.objectives import read_objectives  # markdown-it and MyST: only when needed

            kept = self.kept["objectives"] = {"key": key, "ids": list(read_objectives(self.root))}
            self.changed = True
        return dict.fromkeys(kept["ids"])

    def anchors(self, page: Path) -> set[str]:
        """The HTML ids of a page's headings and targets (`heading_anchors`)."""
        name, key = page.relative_to(self.root).as_posix(), self._page_digest(page)
        kept = self.kept["anchors"].get(name)
        if not isinstance(kept, dict) or kept.get("key") != key or not isinstance(kept.get("anchors"), list):
            from thbcourse.book.objectives import heading_anchors

            kept = self.kept["anchors"][name] = {"key": key, "anchors": list(heading_anchors(page))}
            self.changed = True
        return set(kept["anchors"])

    def headings(self, page: Path) -> tuple[str, dict[str, str]]:
        """A page's title and the heading each anchor names (thbcourse.book.sections.headings)."""
        name, key = page.relative_to(self.root).as_posix(), self._page_digest(page)
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
        if self.file is not None and self.changed:
            write_kept(self.file, self.kept)
