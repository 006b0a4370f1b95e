"""Grading: the one place where a response becomes a score. Every delivery calls this module.

Responses are in canonical form, indexes into the question's own lists (never the shuffled display
order; `thbcourse.engine.answers` translates what a learner typed on a paper):

=============  ==========================================================================
type           response
=============  ==========================================================================
single         int: index of the chosen option
multiple       set/frozenset/list of int: indexes of the chosen options (may be empty)
true_false     bool
matching       dict {left index: right index}; right indexes count the pairs' right items
               first, then the distractors; a left item left out counts as wrong
ordering       list of int: the item indexes in the order the learner put them (all of them)
short_answer   str
numeric        int or float
=============  ==========================================================================

Partial credit (the policy Moodle uses), as a fraction of the question's points:

- multiple: +1/k for each correct option chosen (k correct options) and, with negative marking
  (the default), -1/w for each wrong option chosen (w wrong options); never below 0.
- matching: the share of left items matched correctly.
- ordering: Moodle's "relative to the next item (excluding last)": for each item but the last in
  the learner's order, credit when the item after it is its correct successor; divided by n-1.
- single, true_false, short_answer, numeric: all or nothing.
With `partial_credit: false` in a blueprint every question is all or nothing.
"""
from __future__ import annotations

import math
import re
from typing import Any, Callable, NamedTuple

from thbcourse.bank.blueprint import Grading
from thbcourse.bank.model import Question

MAX_TEXT = 500  # characters of a typed answer that are considered (bounds regex time)


class ResponseError(ValueError):
    """A response that does not fit the question: it is rejected, never scored."""


class Graded(NamedTuple):
    score: float
    max: float
    feedback: tuple[str, ...]  # for what was chosen
    explanation: str
    source: str

    @property
    def correct(self) -> bool:
        return self.score >= self.max - 1e-9


Grader = Callable[[Any], Graded]
DEFAULT_POLICY = Grading()


def grade(question: Question, response: Any, points: float | None = None,
          policy: Grading = DEFAULT_POLICY) -> Graded:
    return grader(question, points, policy)(response)


def grader(question: Question, points: float | None = None, policy: Grading = DEFAULT_POLICY) -> Grader:
    """A compiled grading function for one question (fast when many responses are graded)."""
    pts = question.points if points is None else points
    make = _MAKERS[question.type]
    score_fraction, feedback_for = make(question, policy)
    explanation, source = question.feedback, question.source
    all_or_nothing = not policy.partial_credit

    def grade_one(response: Any) -> Graded:
        fraction = score_fraction(response)
        if all_or_nothing and fraction < 1.0:
            fraction = 0.0
        return Graded(fraction * pts, pts, feedback_for(response), explanation, source)

    return grade_one


def _index(n: int, what: str = "option"):
    def check(r: Any) -> int:
        if type(r) is not int or not 0 <= r < n:
            raise ResponseError(f"{what} {r!r} does not exist: expected an index from 0 to {n - 1}")
        return r
    return check


def _single(q, policy):
    check = _index(len(q.options))
    key = next(i for i, o in enumerate(q.options) if o.correct)
    notes = tuple((o.feedback,) if o.feedback else () for o in q.options)
    return (lambda r: 1.0 if check(r) == key else 0.0), (lambda r: notes[r])


def _multiple(q, policy):
    n = len(q.options)
    check = _index(n)
    correct = frozenset(i for i, o in enumerate(q.options) if o.correct)
    k, w = len(correct), n - len(correct)
    penalty = 1.0 / w if (policy.negative_marking and w) else 0.0

    def chosen(r):
        if not isinstance(r, (set, frozenset, list, tuple)):
            raise ResponseError(f"expected a set of option indexes, got {type(r).__name__}")
        picked = frozenset(check(i) for i in r)
        if len(picked) != len(r):
            raise ResponseError("an option is chosen twice")
        return picked

    def fraction(r):
        picked = chosen(r)
        hits = len(picked & correct)
        return max(0.0, hits / k - (len(picked) - hits) * penalty)

    return fraction, lambda r: tuple(q.options[i].feedback for i in sorted(r) if q.options[i].feedback)


def _true_false(q, policy):
    def fraction(r):
        if type(r) is not bool:
            raise ResponseError(f"expected true or false, got {r!r}")
        return 1.0 if r == q.answer else 0.0

    notes = {True: (q.feedback_true,) if q.feedback_true else (), False: (q.feedback_false,) if q.feedback_false else ()}
    return fraction, notes.__getitem__


def _matching(q, policy):
    n_left, n_right = len(q.pairs), len(q.pairs) + len(q.distractors)
    left_ok, right_ok = _index(n_left, "left item"), _index(n_right, "right-hand item")

    def fraction(r):
        if not isinstance(r, dict):
            raise ResponseError(f"expected a mapping of left item to right-hand item, got {type(r).__name__}")
        return sum(left_ok(a) == right_ok(b) for a, b in r.items()) / n_left

    def feedback(r):
        return tuple(p.feedback for i, p in enumerate(q.pairs) if p.feedback and r.get(i) != i)

    return fraction, feedback


def _ordering(q, policy):
    n = len(q.items)
    everything = list(range(n))

    def fraction(r):
        if not isinstance(r, (list, tuple)) or any(type(i) is not int for i in r) or sorted(r) != everything:
            raise ResponseError(f"expected every item index from 0 to {n - 1} exactly once, got {r!r}")
        return sum(r[p + 1] == r[p] + 1 for p in range(n - 1)) / (n - 1)

    return fraction, lambda r: ()


def normalise_text(text: str) -> str:
    return " ".join(text[:MAX_TEXT].split()).casefold()


def _short_answer(q, policy):
    accepted = frozenset(normalise_text(a) for a in q.answers)
    patterns = [re.compile(p, re.IGNORECASE) for p in q.patterns]
    wrong = (q.wrong_feedback,) if q.wrong_feedback else ()

    def fraction(r):
        if not isinstance(r, str):
            raise ResponseError(f"expected a typed answer, got {type(r).__name__}")
        text = normalise_text(r)
        return 1.0 if text in accepted or any(p.fullmatch(text) for p in patterns) else 0.0

    return fraction, lambda r: () if fraction(r) else wrong


def _numeric(q, policy):
    low, high = q.value - q.tolerance, q.value + q.tolerance
    slack = 1e-9 * max(1.0, abs(q.value))  # 0.1 + 0.2 must equal 0.3

    def fraction(r):
        if type(r) not in (int, float) or not math.isfinite(r):
            raise ResponseError(f"expected a number, got {r!r}")
        return 1.0 if low - slack <= r <= high + slack else 0.0

    return fraction, lambda r: ()


_MAKERS = {
    "single": _single,
    "multiple": _multiple,
    "true_false": _true_false,
    "matching": _matching,
    "ordering": _ordering,
    "short_answer": _short_answer,
    "numeric": _numeric,
}
