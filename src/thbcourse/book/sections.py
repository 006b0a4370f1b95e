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

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from docutils.nodes import make_id

from thbcourse.book.myst import Page, Section, read_page
from thbcourse.book.objectives import heading_anchors

STUDENT_EDITION = Path("_build") / "student" / "html"  # where `thbcourse build` writes it (book/build.py)
SEPARATOR = " › "


@dataclass(frozen=True)
class Place:
    name: str  # "4.1 Recruitment › Online recruitment channels"; the source itself when the page is missing
    page: str | None  # "book/04-1-recruitment.html#online-...", relative to an edition's html folder


def place(root: Path, source: str) -> Place:
    """Where the book at `root` teaches what a question's source points at."""
    file, _, anchor = source.partition("#")
    path = Path(root) / file
    if not path.is_file():
        return Place(source, None)
    docname = file.removesuffix(".md")
    page = read_page(path)
    title = next((s.text for s in page.sections if s.level == 1), page.title)
    name = " ".join(filter(None, [page_numbers(Path(root)).get(docname), title]))
    section = _section(page, anchor)
    if section is not None and section.level > 1:
        name += SEPARATOR + section.text
    return Place(name, f"{docname}.html" + (f"#{anchor}" if anchor else ""))


def _section(page: Page, anchor: str) -> Section | None:
    """The heading an anchor names: its own id or the `(label)=` right before it."""
    line = heading_anchors(page.path).get(anchor)
    return next((s for s in page.sections if s.line == line or (s.label and make_id(s.label) == anchor)), None)


def page_numbers(root: Path) -> dict[str, str]:
    """docname -> number ("4", "4.1") of every numbered page in the book's _toc.yml."""
    toc = Path(root) / "_toc.yml"
    return _numbers(toc, toc.stat().st_mtime) if toc.is_file() else {}


@lru_cache(maxsize=8)
def _numbers(toc: Path, mtime: float) -> dict[str, str]:
    data = yaml.safe_load(toc.read_text(encoding="utf-8")) or {}
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
