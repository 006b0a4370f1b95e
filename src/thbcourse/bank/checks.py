"""Rules about meaning that the structural model cannot express, one function per question type.

Each check yields (location inside the question, message); the loader turns locations into lines.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from thbcourse.bank import model as m

Finding = tuple[tuple, str]


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _repeats(values: list[str], field: str) -> Iterator[Finding]:
    seen: dict[str, int] = {}
    for i, value in enumerate(values):
        key = _norm(value)
        if key in seen:
            yield (i,), f"{field} {i + 1} repeats {field} {seen[key] + 1}: {value!r}"
        else:
            seen[key] = i


def check_question(q: m.Question) -> Iterator[Finding]:
    yield from _CHECKS[q.type](q)


def _choice(q: m.Single | m.Multiple) -> Iterator[Finding]:
    for (i,), msg in _repeats([o.text for o in q.options], "option"):
        yield ("options", i, "text"), msg
    keys = sum(o.correct for o in q.options)
    if q.type == "single" and keys != 1:
        yield ("options",), f"a 'single' question needs exactly one option with 'correct: true'; it has {keys}"
    if q.type == "multiple":
        if keys == 0:
            yield ("options",), "a 'multiple' question needs at least one option with 'correct: true'"
        elif keys == len(q.options):
            yield ("options",), "every option is correct: add wrong options, or ticking everything scores full marks"


def _true_false(q: m.TrueFalse) -> Iterator[Finding]:
    return iter(())


def _matching(q: m.Matching) -> Iterator[Finding]:
    for (i,), msg in _repeats([p.left for p in q.pairs], "left item"):
        yield ("pairs", i, "left"), msg
    rights = [p.right for p in q.pairs] + list(q.distractors)
    for (i,), msg in _repeats(rights, "right-hand item"):
        loc = ("pairs", i, "right") if i < len(q.pairs) else ("distractors", i - len(q.pairs))
        yield loc, msg


def _ordering(q: m.Ordering) -> Iterator[Finding]:
    if len(q.items) < 2:
        yield ("items",), f"an 'ordering' question needs at least two items; it has {len(q.items)}"
    for (i,), msg in _repeats(q.items, "item"):
        yield ("items", i), msg


def _short_answer(q: m.ShortAnswer) -> Iterator[Finding]:
    for (i,), msg in _repeats(q.answers, "answer"):
        yield ("answers", i), msg
    for i, pattern in enumerate(q.patterns):
        try:
            re.compile(pattern)
        except re.error as err:
            yield ("patterns", i), f"pattern is not a valid regular expression: {err}"


def _numeric(q: m.Numeric) -> Iterator[Finding]:
    if q.value != q.value or q.value in (float("inf"), float("-inf")):
        yield ("value",), "value must be a finite number"


_CHECKS = {
    "single": _choice,
    "multiple": _choice,
    "true_false": _true_false,
    "matching": _matching,
    "ordering": _ordering,
    "short_answer": _short_answer,
    "numeric": _numeric,
}
