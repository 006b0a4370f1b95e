"""Objectives x (questions, exercises, activities, assessed tasks, exams): the one report of what the
course teaches, practises and assesses, and where the gaps are.

An objective has a gap when no chapter declares it, when fewer than MIN_QUESTIONS questions test it,
or when nothing practises it (no exercise, classroom activity or rubric-marked task names it). Exam
coverage is shown, not judged: "every" means the exam's `covers` puts it on every paper (`validate`
proves that for every seed), "some" that some papers test it, "none" that the exam cannot draw it.
The caller works out practice and exam coverage (from the book and the drawing rules) and passes
them in, so this module reads only the banks.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from thbcourse.bank.model import QUESTION_TYPES

MIN_QUESTIONS = 3


@dataclass
class Row:
    objective: str
    declared: bool  # declared by a chapter (False: only named by questions or practice)
    by_type: Counter
    by_difficulty: Counter
    practice: list[str] = field(default_factory=list)  # exercises, activities, assessed tasks
    exams: dict[str, str] = field(default_factory=dict)  # exam blueprint id -> every, some, none

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    @property
    def gaps(self) -> list[str]:
        found = []
        if not self.declared:
            found.append("is not declared by any chapter")
        if self.total < MIN_QUESTIONS:
            found.append(f"has {self.total} question(s) (needs at least {MIN_QUESTIONS})")
        if not self.practice:
            found.append("has no exercise, classroom activity or assessed task that practises it")
        return found

    @property
    def gap(self) -> bool:
        return bool(self.gaps)


def coverage(course, objectives: dict, practice: dict[str, list[str]] | None = None,
             exams: dict[str, dict[str, str]] | None = None) -> list[Row]:
    """One row per objective declared in the book or named by a question, in id order.

    practice: objective -> names of what practises it; exams: objective -> {exam id: every|some|none}."""
    rows = {oid: Row(oid, True, Counter(), Counter()) for oid in objectives}
    for q in course.questions.values():
        row = rows.setdefault(q.objective, Row(q.objective, False, Counter(), Counter()))
        row.by_type[q.type] += 1
        row.by_difficulty[q.difficulty] += 1
    for oid, names in (practice or {}).items():
        rows.setdefault(oid, Row(oid, False, Counter(), Counter())).practice = sorted(names)
    for oid, by_exam in (exams or {}).items():
        if oid in rows:
            rows[oid].exams = dict(by_exam)
    return [rows[k] for k in sorted(rows)]


def table(rows: list[Row]):
    """A rich table for the terminal."""
    from rich.table import Table

    t = Table(title=f"Learning objectives: questions (gap: fewer than {MIN_QUESTIONS}), practice and exam coverage")
    t.add_column("Objective")
    for kind in QUESTION_TYPES:
        t.add_column(kind.replace("_", " "), justify="right")
    for level in (1, 2, 3):
        t.add_column(f"d{level}", justify="right")
    t.add_column("total", justify="right")
    t.add_column("practised in")
    exam_ids = sorted({e for r in rows for e in r.exams})
    for exam in exam_ids:
        t.add_column(f"{exam}: papers")
    for r in rows:
        style = "red" if r.gap else None
        note = "" if r.declared else " (not declared)"
        t.add_row(r.objective + note, *(str(r.by_type[k] or "") for k in QUESTION_TYPES),
                  *(str(r.by_difficulty[d] or "") for d in (1, 2, 3)), str(r.total),
                  ", ".join(r.practice) or "-", *(r.exams.get(e, "none") for e in exam_ids), style=style)
    return t
