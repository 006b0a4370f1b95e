"""What teaches an objective: book sections to re-read, exercises and activities, self-checks to retake.

Sections are the `source`s of the objective's questions in the banks, most-cited first, named as the
book numbers them ("4.1 Recruitment › Online recruitment channels", `book.sections.place`); exercises
and classroom activities come from the book (`book.objectives.practice`); self-checks are the
self-check blueprints that can draw a question on the objective (`engine.draw.objective_reach`).
Without a book folder (None) a section is its source as written in the bank, and there are no
exercises.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SECTIONS = 3  # at most this many sections per objective


@dataclass
class Teaching:
    objective: str
    sections: list = field(default_factory=list)  # [(name, page or None)]
    exercises: list[str] = field(default_factory=list)
    self_checks: list[tuple[str, str]] = field(default_factory=list)  # (blueprint id, title)


def _place(book_root: Path | None, source: str) -> tuple[str, str | None]:
    if book_root is None:
        return source, None
    from thbcourse.book.sections import place

    where = place(book_root, source)
    return where.name, where.page


def self_checks(course) -> dict[str, list[tuple[str, str]]]:
    """objective -> the self-checks that can test it (id, title), in title order."""
    from thbcourse.engine.draw import objective_reach

    found: dict[str, list[tuple[str, str]]] = {}
    for bp in sorted(course.blueprints.values(), key=lambda b: b.title):
        if bp.purpose == "self-check":
            for oid in objective_reach(course, bp):
                found.setdefault(oid, []).append((bp.id, bp.title))
    return found


def teaching(course, objectives, book_root: Path | None = None, *, sources: dict[str, list[str]] | None = None
             ) -> dict[str, Teaching]:
    """objective -> Teaching for each of `objectives`. sources: objective -> the sources to name first
    (e.g. those of the questions a learner missed), before the bank's most-cited ones."""
    objectives = list(dict.fromkeys(objectives))
    if not objectives:
        return {}
    cited: dict[str, Counter] = {}
    for q in course.questions.values():
        cited.setdefault(q.objective, Counter())[q.source] += 1
    practice: dict[str, list[str]] = {}
    if book_root is not None and Path(book_root, "exercises").is_dir():
        from thbcourse.book.objectives import practice as practice_of

        try:
            practice = practice_of(Path(book_root), course.rubrics.values())
        except Exception:  # a broken exercise page is `validate`'s to report; the list goes without
            practice = {}
    checks = self_checks(course)
    found = {}
    for oid in objectives:
        first = list((sources or {}).get(oid, []))
        ranked = [s for s, _ in sorted((cited.get(oid) or Counter()).items(), key=lambda sc: (-sc[1], sc[0]))]
        places, seen = [], set()
        for source in first + ranked:
            where = _place(book_root, source)
            if where[0] not in seen:
                seen.add(where[0])
                places.append(where)
            if len(places) == SECTIONS:
                break
        found[oid] = Teaching(oid, places, list(practice.get(oid, [])), checks.get(oid, []))
    return found


def objective_texts(book_root: Path | None) -> dict[str, str]:
    """objective -> its text as the chapter declares it ({} without a book)."""
    if book_root is None or not Path(book_root, "book").is_dir():
        return {}
    from thbcourse.book.objectives import collect_objectives

    found, _ = collect_objectives(Path(book_root))
    return {oid: obj.text for oid, obj in found.items()}
