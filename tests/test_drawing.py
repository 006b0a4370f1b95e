"""Drawing papers: reproducible, exact counts, no repeats, pools that are too small, exclusions."""
from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from thbcourse.bank.blueprint import Blueprint
from thbcourse.engine.answers import parse_answer
from thbcourse.engine.attempt import mark_paper
from thbcourse.engine.draw import DrawError, blueprint_problems, draw
from thbcourse.deliveries.papers import key_text

seeds = st.integers(min_value=0, max_value=2**31)


def blueprint(**fields) -> Blueprint:
    base = {"id": "t", "title": "T", "sections": [{"title": "All", "count": 5}]}
    return Blueprint.model_validate({**base, **fields})


@given(seeds)
def test_same_seed_same_paper(sample_course, seed):
    bp = sample_course.blueprint("sample-quiz")
    assert draw(sample_course, bp, seed) == draw(sample_course, bp, seed)


@given(seeds)
def test_counts_met_exactly_and_no_question_twice(sample_course, seed):
    bp = sample_course.blueprint("sample-quiz")
    paper = draw(sample_course, bp, seed)
    ids = [item.question.id for item in paper.items]
    assert len(ids) == len(set(ids)) == 5
    by_section = {s.title: sum(i.section == s.title for i in paper.items) for s in bp.sections}
    assert by_section == {"Chain": 4, "Harder": 1}
    assert all(i.question.difficulty == 3 for i in paper.items if i.section == "Harder")
    assert all(i.question.topic.value == "chain" and i.question.difficulty in (1, 2)
               for i in paper.items if i.section == "Chain")
    assert [i.number for i in paper.items] == list(range(1, 6))


def test_different_seeds_give_different_papers(sample_course):
    bp = sample_course.blueprint("sample-quiz")
    papers = {tuple((i.question.id, i.order) for i in draw(sample_course, bp, s).items) for s in range(30)}
    assert len(papers) > 20


@given(seeds)
@settings(max_examples=50)
def test_ordering_and_matching_never_shown_in_key_order(sample_course, seed):
    paper = draw(sample_course, blueprint(shuffle_options=False), seed)
    for item in paper.items:
        if item.question.type in ("ordering", "matching") and len(item.order) >= 3:
            if item.question.type == "matching" and item.question.distractors:
                continue
            assert list(item.order) != sorted(item.order)
        if item.question.type in ("single", "multiple"):  # not shuffled when the blueprint says so
            assert list(item.order) == sorted(item.order)


@given(seeds)
@settings(max_examples=50)
def test_printed_key_scores_full_marks(sample_course, seed):
    """The answer key, typed back as a learner would, gets every mark: labels and grading agree."""
    paper = draw(sample_course, blueprint(sections=[{"title": "All", "count": 7}]), seed)
    responses = {i.question.id: parse_answer(i, key_text(i).split(" / ")[0].split(" ± ")[0].rstrip(" %"))
                 for i in paper.items}
    result = mark_paper(paper, responses)
    assert result.score == result.max == 7 and result.passed


def test_pool_too_small_names_section_and_numbers(sample_course):
    bp = blueprint(sections=[{"title": "Hard ones", "count": 3, "difficulty": [3]}])
    with pytest.raises(DrawError, match=r"section 'Hard ones' asks for 3 questions but only 1 match"):
        draw(sample_course, bp, 1)
    [(loc, message)] = list(blueprint_problems(sample_course, bp))
    assert loc == ("sections", 0, "count") and "only 1 match" in message


def test_overlapping_sections_checked_for_worst_case(sample_course):
    bp = blueprint(sections=[{"title": "Any", "count": 6}, {"title": "Easy", "count": 2, "difficulty": [1]}])
    problems = list(blueprint_problems(sample_course, bp))
    assert problems and "other sections may take" in problems[0][1]


def test_most_constrained_section_draws_first(sample_course):
    # 'Easy' has exactly 2 candidates; 'Any' must not take them first.
    bp = blueprint(sections=[{"title": "Any", "count": 5}, {"title": "Easy", "count": 2, "difficulty": [1]}])
    assert list(blueprint_problems(sample_course, bp)) == []
    for seed in range(50):
        paper = draw(sample_course, bp, seed)
        assert sum(i.section == "Easy" for i in paper.items) == 2


def test_exclude_keeps_pre_and_post_tests_apart(sample_course):
    pre = blueprint(id="pre", sections=[{"title": "Pre", "count": 2, "questions": ["s-single", "s-tf"]}])
    sample_course.blueprints["pre"] = pre
    try:
        post = blueprint(id="post", exclude=["pre"], sections=[{"title": "Post", "count": 5}])
        for seed in range(30):
            ids = {i.question.id for i in draw(sample_course, post, seed).items}
            assert not ids & {"s-single", "s-tf"}
    finally:
        del sample_course.blueprints["pre"]


def test_unknown_references_in_blueprint(sample_course):
    bp = blueprint(exclude=["nope"], sections=[{"title": "X", "count": 1, "banks": ["nobank"], "questions": ["zz"]}])
    messages = [m for _, m in blueprint_problems(sample_course, bp)]
    assert "no blueprint 'nope' to exclude" in messages
    assert "no bank 'nobank' in the banks" in messages
    assert "no question 'zz' in the banks" in messages
