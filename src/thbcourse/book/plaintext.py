"""Book text for places where the book's references cannot resolve (slide decks, notebooks).

Citations become the author-year text the book shows, e.g. {cite:p}`europol2014{Key trends}` ->
"(Europol, 2014, Key trends)"; {term}, {doc} and {ref} become the words a reader sees.
"""
from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

from thbcourse.book.myst import cite_keys, plain_text, read_page


class Plain:
    def __init__(self, root: Path):
        self.root = Path(root)

    def __call__(self, text: str) -> str:
        return plain_text(text, cite=self.cite, titles=self.title)

    @cached_property
    def _bib(self) -> dict[str, tuple[str, str]]:
        from pybtex.database import parse_file

        entries = parse_file(str(self.root / "references.bib")).entries
        return {key: (_authors(entry), entry.fields.get("year", "n.d.")) for key, entry in entries.items()}

    def cite(self, role: str, content: str) -> str:
        cites = []
        for pre, key, post in cite_keys(content):
            author, year = self._bib.get(key, (key, ""))
            inner = ", ".join(filter(None, [year, post]))
            if role == "cite:t":
                cites.append(" ".join(filter(None, [pre, author])) + f" ({inner})")
            else:
                cites.append(" ".join(filter(None, [pre, f"{author}, {inner}"])))
        return "; ".join(cites) if role == "cite:t" else f"({'; '.join(cites)})"

    @cached_property
    def _titles(self) -> dict[str, str]:
        """Page paths (book/x, exercises/y) and `(label)=` names -> the title a reader sees."""
        titles = {}
        for path in sorted([*self.root.glob("book/**/*.md"), *self.root.glob("exercises/*.md")]):
            page = read_page(path)
            titles[path.relative_to(self.root).with_suffix("").as_posix()] = self(page.title)
            titles.setdefault(path.stem, self(page.title))  # {doc}`02-legal-frame` from a sibling
            for section in page.sections:
                if section.label:
                    titles[section.label] = self(section.text)
        return titles

    def title(self, role: str, target: str) -> str | None:
        target = target.strip()
        if role == "doc":
            target = re.sub(r"\.md$", "", target).lstrip("/")
            return self._titles.get(target) or self._titles.get(Path(target).name)
        return self._titles.get(target)


def _authors(entry) -> str:
    people = entry.persons.get("author", [])
    names = [" ".join(p.last_names).replace("{", "").replace("}", "") for p in people]
    if len(names) > 2:
        return f"{names[0]} et al."
    return " and ".join(names)
