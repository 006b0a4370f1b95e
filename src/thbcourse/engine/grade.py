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

A grader is compiled once per question, points and policy, and kept (`grader`); it works out the
result of each distinct valid response once (up to OUTCOMES_KEPT of them), feedback included, and
hands back the same `Graded` whenever that response comes again. A response is checked before it
is looked up, so one that does not fit is refused every time, never matched to an equal one that
does (1.0 and True equal 1, but neither is an option index).
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
COMPILED_KEPT = 1024  # graders kept by `grader`: a course's questions under a few point values and policies
OUTCOMES_KEPT = 256  # distinct responses whose result one grader keeps
_INT = frozenset({int})  # `set(map(type, r)) <= _INT`: every index an int, not a bool or a float equal to one
_compiled: dict[tuple, tuple[Question, Grading, Grader]] = {}


def grade(question: Question, response: Any, points: float | None = None,
          policy: Grading = DEFAULT_POLICY) -> Graded:
    return grader(question, points, policy)(response)


def grader(question: Question, points: float | None = None, policy: Grading = DEFAULT_POLICY) -> Grader:
    """The compiled grading function for one question, points and policy (built on first use, then kept).

    Questions and policies are frozen, so a grader stays right for as long as they live; both are kept
    with it, so that their ids cannot be reused by other objects while the entry exists.
    """
    key = (id(question), points, type(points), id(policy))  # 2 == 2.0, but Graded.max keeps the type given
    found = _compiled.get(key)
    if found is not None:
        return found[2]
    made = _compile(question, points, policy)
    if len(_compiled) >= COMPILED_KEPT:
        _compiled.clear()
    _compiled[key] = (question, policy, made)
    return made


def _compile(question: Question, points: float | None, policy: Grading) -> Grader:
    pts = question.points if points is None else points
    explanation, source = question.feedback, question.source
    all_or_nothing = not policy.partial_credit

    def result(fraction: float, feedback: tuple[str, ...]) -> Graded:
        if all_or_nothing and fraction < 1.0:
            fraction = 0.0
        return Graded(fraction * pts, pts, feedback, explanation, source)

    return _MAKERS[question.type](question, policy, result)


def _index(n: int, what: str = "option"):
    def check(r: Any) -> int:
        if type(r) is not int or not 0 <= r < n:
            raise ResponseError(f"{what} {r!r} does not exist: expected an index from 0 to {n - 1}")
        return r
    return check


def _notes(*texts: str) -> tuple[str, ...]:
    return tuple(t for t in texts if t)


def _keep(outcomes: dict, key: Any, graded: Graded) -> Graded:
    if len(outcomes) < OUTCOMES_KEPT:
        outcomes[key] = graded
    return graded


def _single(q, policy, result):
    n = len(q.options)
    outcomes = [result(1.0 if o.correct else 0.0, _notes(o.feedback)) for o in q.options]

    def grade_single(r):
        if type(r) is not int or not 0 <= r < n:
            raise ResponseError(f"option {r!r} does not exist: expected an index from 0 to {n - 1}")
        return outcomes[r]

    return grade_single


def _multiple(q, policy, result):
    n = len(q.options)
    correct = frozenset(i for i, o in enumerate(q.options) if o.correct)
    k, w = len(correct), n - len(correct)
    penalty = 1.0 / w if (policy.negative_marking and w) else 0.0
    valid = frozenset(range(n))
    notes = [o.feedback for o in q.options]
    outcomes: dict[frozenset, Graded] = {}

    def grade_multiple(r):
        if not isinstance(r, (set, frozenset, list, tuple)):
            raise ResponseError(f"expected a set of option indexes, got {type(r).__name__}")
        picked = r if type(r) is frozenset else frozenset(r)
        if not picked <= valid or not set(map(type, picked)) <= _INT:
            bad = next(i for i in r if i not in valid or type(i) is not int)
            raise ResponseError(f"option {bad!r} does not exist: expected an index from 0 to {n - 1}")
        if len(picked) != len(r):
            raise ResponseError("an option is chosen twice")
        found = outcomes.get(picked)
        if found is not None:
            return found
        hits = len(picked & correct)
        fraction = hits / k - (len(picked) - hits) * penalty
        feedback = _notes(*(notes[i] for i in sorted(picked))) if picked else ()
        return _keep(outcomes, picked, result(fraction if fraction > 0.0 else 0.0, feedback))

    return grade_multiple


def _true_false(q, policy, result):
    outcomes = {True: result(1.0 if q.answer else 0.0, _notes(q.feedback_true)),
                False: result(0.0 if q.answer else 1.0, _notes(q.feedback_false))}

    def grade_true_false(r):
        if type(r) is not bool:
            raise ResponseError(f"expected true or false, got {r!r}")
        return outcomes[r]

    return grade_true_false


def _matching(q, policy, result):
    n_left, n_right = len(q.pairs), len(q.pairs) + len(q.distractors)
    left_ok, right_ok = _index(n_left, "left item"), _index(n_right, "right-hand item")
    lefts, rights = frozenset(range(n_left)), frozenset(range(n_right))
    notes = [p.feedback for p in q.pairs]
    any_notes = any(notes)
    outcomes: dict[tuple, Graded] = {}

    def marked(r: dict) -> Graded:
        right = sum(a == b for a, b in r.items())
        feedback = _notes(*(notes[i] for i in range(n_left) if r.get(i) != i)) if any_notes else ()
        return result(right / n_left, feedback)

    def grade_matching(r):
        if (type(r) is dict and {*map(type, r), *map(type, r.values())} <= _INT
                and r.keys() <= lefts and rights.issuperset(r.values())):
            key = tuple(r.items())
            found = outcomes.get(key)
            return found if found is not None else _keep(outcomes, key, marked(r))
        # Not the plain form, or something does not fit: check pair by pair to name the first problem.
        if not isinstance(r, dict):
            raise ResponseError(f"expected a mapping of left item to right-hand item, got {type(r).__name__}")
        for a, b in r.items():
            left_ok(a)
            right_ok(b)
        return marked(r)

    return grade_matching


def _ordering(q, policy, result):
    n = len(q.items)
    everything = list(range(n))
    outcomes: dict[tuple, Graded] = {}

    def grade_ordering(r):
        if not isinstance(r, (list, tuple)) or not set(map(type, r)) <= _INT:
            raise ResponseError(f"expected every item index from 0 to {n - 1} exactly once, got {r!r}")
        key = tuple(r)
        found = outcomes.get(key)
        if found is not None:  # equal to an order of ints already checked
            return found
        if sorted(r) != everything:
            raise ResponseError(f"expected every item index from 0 to {n - 1} exactly once, got {r!r}")
        return _keep(outcomes, key, result(sum(r[p + 1] == r[p] + 1 for p in range(n - 1)) / (n - 1), ()))

    return grade_ordering


def normalise_text(text: str) -> str:
    return " ".join(text[:MAX_TEXT].split()).casefold()


def _short_answer(q, policy, result):
    accepted = frozenset(normalise_text(a) for a in q.answers)
    patterns = [re.compile(p, re.IGNORECASE) for p in q.patterns]
    right, wrong = result(1.0, ()), result(0.0, _notes(q.wrong_feedback))
    outcomes: dict[str, Graded] = {}

    def grade_short_answer(r):
        plain = type(r) is str and len(r) <= MAX_TEXT  # only short plain texts are kept and looked up
        found = outcomes.get(r) if plain else None
        if found is not None:
            return found
        if not isinstance(r, str):
            raise ResponseError(f"expected a typed answer, got {type(r).__name__}")
        text = normalise_text(r)
        found = right if text in accepted or any(p.fullmatch(text) for p in patterns) else wrong
        return _keep(outcomes, r, found) if plain else found

    return grade_short_answer


def _numeric(q, policy, result):
    slack = 1e-9 * max(1.0, abs(q.value))  # 0.1 + 0.2 must equal 0.3
    low, high = q.value - q.tolerance - slack, q.value + q.tolerance + slack
    right, wrong = result(1.0, ()), result(0.0, ())

    def grade_numeric(r):
        if type(r) not in (int, float) or not math.isfinite(r):
            raise ResponseError(f"expected a number, got {r!r}")
        return right if low <= r <= high else wrong

    return grade_numeric


_MAKERS = {
    "single": _single,
    "multiple": _multiple,
    "true_false": _true_false,
    "matching": _matching,
    "ordering": _ordering,
    "short_answer": _short_answer,
    "numeric": _numeric,
}
