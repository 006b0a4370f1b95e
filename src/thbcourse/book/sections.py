"""The book section behind a question's `source`, as a reader finds it.

A source is a file and an anchor (`book/04-1-recruitment.md#online-recruitment-channels`), checked
against `heading_anchors` when the banks load. Officers find sections by number and title:
"4.1 Recruitment › Online recruitment channels", and in the built book by page:
`book/04-1-recruitment.html#online-recruitment-channels` under an edition's html folder.

Numbers follow _toc.yml: the chapters of the parts with `numbered` count from 1 and each chapter's
section pages from its number (4.1 ... 4.5), as the decks and the docs say them; exercises and
appendices sit in parts without numbers. (The built book shows numbers on chapter pages only;
_toc.yml says why.)
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import msgspec

from thbcourse.bank.yamlfile import safe_load

STUDENT_EDITION = Path("_build") / "student" / "html"  # where `thbcourse build` writes it (book/build.py)
SEPARATOR = " › "


class Place(msgspec.Struct, frozen=True):
    name: str  # "4.1 Recruitment › Online recruitment channels"; the source itself when the page is missing
    page: str | None  # "book/04-1-recruitment.html#online-...", relative to an edition's html folder


def place(root: Path, source: str, facts=None) -> Place:
    """Where the book at `root` teaches what a question's source points at. The page's headings come
    from `facts` (a thbcourse.book.facts.BookFacts) when given, else from parsing the page."""
    file, _, anchor = source.partition("#")
    path = Path(root) / file
    if not path.is_file():
        return Place(source, None)
    docname = file.removesuffix(".md")
    title, named = facts.headings(path) if facts is not None else headings(path)
    name = " ".join(filter(None, [page_numbers(Path(root)).get(docname), title]))
    if anchor in named:
        name += SEPARATOR + named[anchor]
    return Place(name, f"{docname}.html" + (f"#{anchor}" if anchor else ""))


@contextmanager
def kept_places(root: Path) -> Iterator[Callable[[str], Place]]:
    """`place` for the commands (`draw`, `take`): the headings of the pages are kept with the book's
    other facts in its _build folder, so that a run parses only the pages that changed since the last."""
    from thbcourse.book.facts import BookFacts

    facts = BookFacts(root, keep=True)
    yield lambda source: place(root, source, facts)
    facts.save()


def headings(path: Path) -> tuple[str, dict[str, str]]:
    """What naming a place needs from a page: its title, and the text of the heading below the title
    that each anchor names (its own id, or the `(label)=` right before it)."""
    from docutils.nodes import (
        make_id,  # markdown-it, MyST and docutils: only when a page is parsed
    )

    from thbcourse.book.myst import read_page
    from thbcourse.book.objectives import heading_anchors

    page = read_page(path)
    title = next((s.text for s in page.sections if s.level == 1), page.title)
    lines = heading_anchors(path)
    named = {}
    for anchor in {*lines, *(make_id(s.label) for s in page.sections if s.label)}:
        section = next((s for s in page.sections
                        if s.line == lines.get(anchor) or (s.label and make_id(s.label) == anchor)), None)
        if section is not None and section.level > 1:
            named[anchor] = section.text
    return title, named


def page_numbers(root: Path) -> dict[str, str]:
    """docname -> number ("4", "4.1") of every numbered page in the book's _toc.yml."""
    toc = Path(root) / "_toc.yml"
    return _numbers(toc, toc.stat().st_mtime) if toc.is_file() else {}


@lru_cache(maxsize=8)
def _numbers(toc: Path, mtime: float) -> dict[str, str]:
    data = safe_load(toc.read_text(encoding="utf-8")) or {}
    numbered_by_default = bool((data.get("defaults") or {}).get("numbered"))
    parts = data.get("parts") or [{"chapters": data.get("chapters") or []}]
    numbers: dict[str, str] = {}

    def number(entries: list, prefix: str, first: int = 1) -> int:
        pages = [e for e in entries if "file" in e]
        for n, entry in enumerate(pages, first):
            numbers[entry["file"].removesuffix(".md")] = f"{prefix}{n}"
            number(entry.get("sections") or [], f"{prefix}{n}.")
        return first + len(pages)

    chapter = 1  # the chapters of numbered parts count on from part to part (use_multitoc_numbering)
    for part in parts:
        if part.get("numbered", numbered_by_default):
            chapter = number(part.get("chapters") or [], "", chapter)
    return numbers
