"""Grading every type: full, partial and no credit, feedback, and refusal of responses that do not fit."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from thbcourse.bank.blueprint import Grading
from thbcourse.engine.grade import ResponseError, grade


@pytest.fixture
def q(sample_course):
    return sample_course.questions.__getitem__


def test_single(q):
    right = grade(q("s-single"), 0)
    assert (right.score, right.max, right.correct) == (1, 1, True)
    assert right.feedback == ("Right. These ordinary-looking jobs are the usual bait.",)
    wrong = grade(q("s-single"), 2)
    assert wrong.score == 0 and wrong.feedback == ("Construction is named for labour exploitation.",)
    assert wrong.explanation.startswith("The notification lists") and wrong.source.endswith("#online-adverts")


def test_single_points_override(q):
    assert grade(q("s-single"), 0, points=4).score == 4


@pytest.mark.parametrize("chosen, score", [
    ({0, 1}, 1.0),        # both keys
    ({0}, 0.5),           # one of two keys
    ({0, 2}, 0.0),        # 1/2 - 1/2
    ({0, 1, 2}, 0.5),     # 1 - 1/2
    ({0, 1, 2, 3}, 0.0),  # ticking everything gets nothing
    (set(), 0.0),
    ({2, 3}, 0.0),        # never below zero
])
def test_multiple_partial_credit_with_negative_marking(q, chosen, score):
    assert grade(q("s-multiple"), chosen).score == pytest.approx(score)


def test_multiple_without_negative_marking_and_all_or_nothing(q):
    no_negative = Grading(negative_marking=False)
    assert grade(q("s-multiple"), {0, 2}, policy=no_negative).score == pytest.approx(0.5)
    strict = Grading(partial_credit=False)
    assert grade(q("s-multiple"), {0}, policy=strict).score == 0
    assert grade(q("s-multiple"), {0, 1}, policy=strict).score == 1


def test_true_false(q):
    assert grade(q("s-tf"), True).correct
    wrong = grade(q("s-tf"), False)
    assert wrong.score == 0 and wrong.feedback == ("No, this is what the notification describes.",)


def test_matching(q):
    assert grade(q("s-matching"), {0: 0, 1: 1, 2: 2}).score == 1
    partial = grade(q("s-matching"), {0: 0, 1: 3, 2: 2})
    assert partial.score == pytest.approx(2 / 3)
    assert partial.feedback == ("Tickets belong to transportation.",)
    assert grade(q("s-matching"), {0: 0}).score == pytest.approx(1 / 3)  # unanswered items are wrong


@pytest.mark.parametrize("order, score", [
    ([0, 1, 2, 3], 1.0),
    ([3, 2, 1, 0], 0.0),
    ([1, 2, 3, 0], 2 / 3),  # 1->2 and 2->3 are right successors
    ([0, 2, 1, 3], 0.0),
    ([2, 3, 0, 1], 2 / 3),
])
def test_ordering_relative_to_next_item(q, order, score):
    assert grade(q("s-ordering"), order).score == pytest.approx(score)


@pytest.mark.parametrize("text, right", [
    ("multihoming", True), ("  MultiHoming ", True), ("multi-homing", True), ("multi homing", True),
    ("multihomed", False), ("", False), ("multihoming" + " x" * 1000, False),
])
def test_short_answer(q, text, right):
    result = grade(q("s-short"), text)
    assert result.correct is right
    assert result.feedback == (() if right else ("The term is multihoming (footnote 2 of the notification).",))


@pytest.mark.parametrize("value, right", [(80, True), (80.5, True), (79.5, True), (80.51, False), (20, False)])
def test_numeric_tolerance(q, value, right):
    assert grade(q("s-numeric"), value).correct is right


@pytest.mark.parametrize("qid, response, message", [
    ("s-single", 3, "option 3 does not exist"),
    ("s-single", "A", "does not exist"),
    ("s-single", True, "does not exist"),
    ("s-multiple", 1, "expected a set"),
    ("s-multiple", [0, 0], "chosen twice"),
    ("s-multiple", {9}, "does not exist"),
    ("s-tf", "yes", "expected true or false"),
    ("s-matching", [0, 1], "expected a mapping"),
    ("s-matching", {0: 7}, "right-hand item 7 does not exist"),
    ("s-matching", {5: 0}, "left item 5 does not exist"),
    ("s-ordering", [0, 1, 2], "exactly once"),
    ("s-ordering", [0, 1, 2, 2], "exactly once"),
    ("s-ordering", ["a", 1, 2, 3], "exactly once"),
    ("s-short", 42, "expected a typed answer"),
    ("s-numeric", "80", "expected a number"),
    ("s-numeric", float("nan"), "expected a number"),
])
def test_responses_that_do_not_fit_are_rejected(q, qid, response, message):
    with pytest.raises(ResponseError, match=message):
        grade(q(qid), response)


@given(st.sets(st.integers(0, 3)), st.booleans(), st.booleans())
def test_multiple_score_bounds(sample_course, chosen, partial, negative):
    result = grade(sample_course.questions["s-multiple"], chosen,
                   policy=Grading(partial_credit=partial, negative_marking=negative))
    assert 0 <= result.score <= result.max


@given(st.permutations(range(4)))
def test_ordering_score_bounds(sample_course, order):
    result = grade(sample_course.questions["s-ordering"], list(order))
    assert 0 <= result.score <= 1
    assert result.correct == (list(order) == [0, 1, 2, 3])
