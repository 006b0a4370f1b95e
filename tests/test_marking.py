"""Compiled and kept graders mark exactly as a grader built afresh for every response.

`grader` keeps one compiled grader per question, points and policy, each grader keeps the result of
the responses it has seen, and `mark_paper` keeps a plan per paper. Here every result of those paths
is compared with a grader compiled from scratch (what marking did before anything was kept), on the
real banks, with responses that repeat, that do not fit, and that equal a valid one without being
one (True for 1, 1.0 for 1).
"""
from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings, strategies as st

from thbcourse.bank.blueprint import Grading
from thbcourse.bank.course import load_course
from thbcourse.engine.attempt import AttemptResult, Mark, mark_paper
from thbcourse.engine.draw import draw
from thbcourse.engine.grade import Graded, ResponseError, _compile, grader

from conftest import REPO

POLICIES = [Grading(partial_credit=p, negative_marking=n) for p in (True, False) for n in (True, False)]
POINTS = [None, 1, 2.0, 0.5]


@functools.cache
def real_course():
    return load_course([REPO / "quizzes"], book_root=None)


def outcome(grade, response):
    """What a grader makes of a response: the result with its repr (types count), or the refusal."""
    try:
        graded = grade(response)
    except ResponseError as err:
        return "refused", str(err)
    return graded, repr(graded)


def near_index(n: int):
    """Indexes in and out of range, and values that equal an index without being an int."""
    return st.one_of(st.integers(-1, n), st.booleans(), st.sampled_from([0.0, 1.0, 2.5]))


def any_response(q):
    if q.type == "single":
        return near_index(len(q.options))
    if q.type == "multiple":
        index = near_index(len(q.options))
        return st.one_of(st.frozensets(index), st.sets(index), st.lists(index, max_size=5),
                         st.tuples(index, index), st.integers())
    if q.type == "true_false":
        return st.one_of(st.booleans(), st.sampled_from([0, 1, "true", None]))
    if q.type == "matching":
        n_left, n_right = len(q.pairs), len(q.pairs) + len(q.distractors)
        return st.one_of(st.dictionaries(near_index(n_left), near_index(n_right), max_size=n_left + 1),
                         st.lists(st.integers(0, n_right), max_size=3))
    if q.type == "ordering":
        n = len(q.items)
        return st.one_of(st.permutations(range(n)), st.permutations(range(n)).map(tuple),
                         st.lists(near_index(n), max_size=n + 1), st.text(max_size=2))
    if q.type == "short_answer":
        typed = [a for a in q.answers] + [f"  {q.answers[0].upper()}  ", "not this", ""]
        return st.one_of(st.sampled_from(typed), st.text(max_size=12), st.integers())
    return st.one_of(st.sampled_from([q.value, q.value + q.tolerance, q.value + q.tolerance + 1]),
                     st.integers(-5, 100), st.floats(), st.sampled_from(["3", None]))


def valid_response(q):
    """A canonical response as the deliveries make them: right, partly right or wrong."""
    if q.type == "single":
        return st.integers(0, len(q.options) - 1)
    if q.type == "multiple":
        return st.frozensets(st.integers(0, len(q.options) - 1))
    if q.type == "true_false":
        return st.booleans()
    if q.type == "matching":
        n_left, n_right = len(q.pairs), len(q.pairs) + len(q.distractors)
        return st.dictionaries(st.integers(0, n_left - 1), st.integers(0, n_right - 1))
    if q.type == "ordering":
        return st.permutations(range(len(q.items)))
    if q.type == "short_answer":
        return st.sampled_from(list(q.answers) + [q.answers[0].upper(), "no idea", "x"])
    return st.sampled_from([q.value, q.value + q.tolerance, q.value - q.tolerance - 1.0, 0.0])


@given(data=st.data())
@settings(max_examples=400)
def test_kept_grader_grades_as_a_fresh_one(data):
    q = data.draw(st.sampled_from(sorted(real_course().questions.values(), key=lambda q: q.id)), label="question")
    points, policy = data.draw(st.sampled_from(POINTS)), data.draw(st.sampled_from(POLICIES))
    kept = grader(q, points, policy)
    assert grader(q, points, policy) is kept
    for response in data.draw(st.lists(st.one_of(valid_response(q), any_response(q)), min_size=1, max_size=20)):
        assert outcome(kept, response) == outcome(_compile(q, points, policy), response), response


@given(data=st.data())
@settings(max_examples=150)
def test_mark_paper_marks_as_fresh_graders_do(data):
    course = real_course()
    blueprint = data.draw(st.sampled_from(sorted(course.blueprints)))
    paper = draw(course, course.blueprints[blueprint], data.draw(st.integers(0, 2**31)))
    policy = paper.blueprint.grading
    for _ in range(data.draw(st.integers(1, 3))):  # the same paper again: its plan is kept
        responses = {}
        for item in paper.items:
            if data.draw(st.booleans()) or len(responses) < 2:
                responses[item.question.id] = data.draw(valid_response(item.question))
        fresh = []
        for item in paper.items:
            q = item.question
            if q.id in responses:
                graded = _compile(q, item.points, policy)(responses[q.id])
            else:  # unanswered: no score, the explanation and the source still shown
                graded = Graded(0.0, item.points, (), q.feedback, q.source)
            fresh.append(Mark(item, responses.get(q.id), graded))
        result = mark_paper(paper, responses)
        assert result.marks == fresh
        assert [repr(m) for m in result.marks] == [repr(m) for m in fresh]
        assert (result.score, result.max, result.passed) == (sum(m.graded.score for m in fresh),
                                                             sum(m.graded.max for m in fresh),
                                                             AttemptResult(paper, fresh).passed)


def test_a_response_equal_to_a_valid_one_is_still_refused():
    """A kept result is found by equality; True == 1 and 1.0 == 1, but neither is an option index."""
    course = real_course()
    q = next(q for q in course.questions.values() if q.type == "multiple")
    grade = grader(q)
    assert grade(frozenset({1})).max == q.points
    for impostor in (frozenset({True}), frozenset({1.0}), [1, 1]):
        with pytest.raises(ResponseError):
            grade(impostor)
    m = next(q for q in course.questions.values() if q.type == "matching")
    assert grader(m)({0: 1}).score == 0
    with pytest.raises(ResponseError, match="right-hand item True"):
        grader(m)({0: True})


def test_mark_is_a_plain_record():
    course = real_course()
    paper = draw(course, course.blueprints["practice"], 1)
    first = mark_paper(paper, {}).marks[0]
    assert first == Mark(paper.items[0], None, first.graded)
