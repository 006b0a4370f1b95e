"""Objectives x questions: which learning objectives the banks test, how, and where the gaps are."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from thbcourse.bank.model import QUESTION_TYPES

MIN_QUESTIONS = 3


@dataclass
class Row:
    objective: str
    declared: bool  # declared by a chapter (False: only named by questions)
    by_type: Counter
    by_difficulty: Counter

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    @property
    def gap(self) -> bool:
        return self.total < MIN_QUESTIONS or not self.declared


def coverage(course, objectives: dict) -> list[Row]:
    """One row per objective declared in the book or named by a question, in id order."""
    rows = {oid: Row(oid, True, Counter(), Counter()) for oid in objectives}
    for q in course.questions.values():
        row = rows.setdefault(q.objective, Row(q.objective, False, Counter(), Counter()))
        row.by_type[q.type] += 1
        row.by_difficulty[q.difficulty] += 1
    return [rows[k] for k in sorted(rows)]


def table(rows: list[Row]):
    """A rich table for the terminal."""
    from rich.table import Table

    t = Table(title=f"Questions per learning objective (gap: fewer than {MIN_QUESTIONS})")
    t.add_column("Objective")
    for kind in QUESTION_TYPES:
        t.add_column(kind.replace("_", " "), justify="right")
    for level in (1, 2, 3):
        t.add_column(f"d{level}", justify="right")
    t.add_column("total", justify="right")
    for r in rows:
        style = "red" if r.gap else None
        note = "" if r.declared else " (not declared)"
        t.add_row(r.objective + note, *(str(r.by_type[k] or "") for k in QUESTION_TYPES),
                  *(str(r.by_difficulty[d] or "") for d in (1, 2, 3)), str(r.total), style=style)
    return t
