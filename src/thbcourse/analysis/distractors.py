"""What learners chose, per question: which options draw the weak, which keys nobody finds.

Counts come from the canonical responses kept in the gradebook and the question as the bank holds it
now; an answer that no longer fits the question (an option removed since) is counted apart.
Whether an answer is right is always asked of the grader, so the rules stay in one place.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from thbcourse.bank.model import Question
from thbcourse.engine.grade import ResponseError, grader, normalise_text

MOST_COMMON = 5  # wrong typed answers (or values) listed per question


@dataclass(frozen=True)
class Row:
    label: str
    counts: tuple[int, ...]  # one per column of the table
    key: bool | None  # True: the right answer; False: a wrong one; None: a summary row


@dataclass(frozen=True)
class ChoiceTable:
    question_id: str
    question_type: str
    columns: tuple[str, ...]  # what each count means
    rows: tuple[Row, ...]
    attempts: int  # attempts whose paper had the question
    unanswered: int
    unfitting: int  # answers that do not fit the question as the bank now has it


def choice_table(question: Question, answers: Sequence[Any]) -> ChoiceTable:
    """answers: the canonical response of every attempt that had the question (None: unanswered)."""
    grade = grader(question)  # default policy: partial credit, so 'partly right' is visible
    given = [a for a in answers if a is not None]
    fitting: list[tuple[Any, float]] = []  # (response, fraction of the points)
    for response in given:
        try:
            graded = grade(response)
        except ResponseError:
            continue
        fitting.append((response, graded.score / graded.max))
    columns, rows = _COUNTERS[question.type](question, fitting)
    return ChoiceTable(question.id, question.type, columns, tuple(rows), len(answers),
                       len(answers) - len(given), len(given) - len(fitting))


def _options(q, fitting):
    """single and multiple: how many attempts chose each option."""
    chosen = Counter()
    for response, _ in fitting:
        chosen.update([response] if q.type == "single" else response)
    return ("chosen",), [Row(o.text, (chosen[i],), o.correct) for i, o in enumerate(q.options)]


def _true_false(q, fitting):
    chosen = Counter(response for response, _ in fitting)
    return ("chosen",), [Row("true", (chosen[True],), q.answer), Row("false", (chosen[False],), not q.answer)]


def _matching(q, fitting):
    rows = []
    for i, pair in enumerate(q.pairs):
        right = sum(response.get(i) == i for response, _ in fitting)
        rows.append(Row(pair.left, (right, len(fitting) - right), None))
    return ("matched correctly", "matched wrongly or left out"), rows


def _ordering(q, fitting):
    full = sum(fraction >= 1.0 - 1e-9 for _, fraction in fitting)
    none = sum(fraction <= 1e-9 for _, fraction in fitting)
    return ("attempts",), [Row("fully right", (full,), True),
                           Row("partly right", (len(fitting) - full - none,), None),
                           Row("nothing right", (none,), False)]


def _typed(q, fitting):
    """short_answer and numeric: the right ones together, then the most common wrong ones."""
    right = sum(fraction >= 1.0 - 1e-9 for _, fraction in fitting)
    wrong = Counter(_shown(q, response) for response, fraction in fitting if fraction < 1.0 - 1e-9)
    top = sorted(wrong.items(), key=lambda kv: (-kv[1], kv[0]))[:MOST_COMMON]
    rows = [Row("accepted" if q.type == "short_answer" else "within the tolerance", (right,), True)]
    rows += [Row(text, (count,), False) for text, count in top]
    others = sum(wrong.values()) - sum(count for _, count in top)
    if others:
        rows.append(Row(f"{len(wrong) - len(top)} other wrong answer(s)", (others,), False))
    return ("attempts",), rows


def _shown(q, response) -> str:
    if isinstance(response, dict):  # a written answer marked on paper: only its points are known
        return f"marked on paper: {response.get('awarded', 0):g} point(s)"
    if q.type == "short_answer":
        return normalise_text(response)
    value = float(response)
    return str(int(value)) if value.is_integer() else repr(value)


_COUNTERS = {
    "single": _options,
    "multiple": _options,
    "true_false": _true_false,
    "matching": _matching,
    "ordering": _ordering,
    "short_answer": _typed,
    "numeric": _typed,
}
