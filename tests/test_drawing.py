"""Drawing papers: reproducible, exact counts, no repeats, pools that are too small, exclusions."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings, strategies as st

from thbcourse.bank.blueprint import Blueprint
from thbcourse.bank.course import load_course
from thbcourse.engine.answers import parse_answer
from thbcourse.engine.attempt import mark_paper
from thbcourse.engine.draw import DrawError, blueprint_problems, draw
from thbcourse.deliveries.papers import key_text
from thbcourse.problems import AuthoringError

from conftest import DATA

seeds = st.integers(min_value=0, max_value=2**31)


def blueprint(**fields) -> Blueprint:
    base = {"id": "t", "title": "T", "sections": [{"title": "All", "count": 5}]}
    return msgspec.convert({**base, **fields}, Blueprint)


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


# --- questions reserved for assessment -----------------------------------------------------------

RESERVED = {"s-multiple", "s-matching", "s-short"}


@pytest.fixture(scope="module")
def reserved_course(sample_course):
    """The sample course with three questions marked `reserved: true`."""
    questions = {qid: msgspec.structs.replace(q, reserved=qid in RESERVED) for qid, q in sample_course.questions.items()}
    return msgspec.structs.replace(sample_course, questions=questions, blueprints=dict(sample_course.blueprints))


@given(seeds, st.sampled_from(["self-check", "practice", "pre-test", "exam", "post-test"]))
@settings(max_examples=100)
def test_reserved_questions_are_drawn_only_for_assessment(reserved_course, seed, purpose):
    assessment = purpose in ("exam", "post-test")
    bp = blueprint(purpose=purpose, sections=[{"title": "All", "count": 3}])
    assert list(blueprint_problems(reserved_course, bp)) == []
    ids = {i.question.id for i in draw(reserved_course, bp, seed).items}
    assert (ids <= RESERVED) if assessment else not (ids & RESERVED)


@pytest.mark.parametrize("purpose, size", [("practice", 4), ("self-check", 4), ("pre-test", 4), ("exam", 3),
                                           ("post-test", 3)])
def test_sections_are_sized_by_the_questions_their_purpose_may_draw(reserved_course, purpose, size):
    bp = blueprint(purpose=purpose, sections=[{"title": "All", "count": size + 1}])
    [(loc, message)] = list(blueprint_problems(reserved_course, bp))
    assert loc == ("sections", 0, "count") and f"only {size} match" in message and "reserved: true" in message
    with pytest.raises(DrawError):
        draw(reserved_course, bp, 0)


def test_excluding_an_assessment_blueprint_uses_its_reserved_pool(reserved_course):
    reserved_course.blueprints["post"] = blueprint(id="post", purpose="post-test", sections=[{"title": "P", "count": 3}])
    try:
        pre = blueprint(id="pre", purpose="pre-test", exclude=["post"], sections=[{"title": "All", "count": 4}])
        assert list(blueprint_problems(reserved_course, pre)) == []  # the post-test's pool is the reserved one
    finally:
        del reserved_course.blueprints["post"]


def test_validate_reports_an_explicit_question_on_the_wrong_side(tmp_path):
    folder = tmp_path / "quizzes"
    shutil.copytree(DATA / "quizzes", folder)
    bank = folder / "banks" / "sample.yml"
    text = bank.read_text(encoding="utf-8")
    bank.write_text(text.replace("  - id: s-ordering\n", "  - id: s-ordering\n    reserved: true\n"), encoding="utf-8")
    (folder / "blueprints" / "study.yml").write_text(textwrap.dedent("""\
        id: study
        title: Study
        purpose: self-check
        sections:
          - title: Named
            count: 1
            questions:
              - s-single
              - s-ordering
        """), encoding="utf-8")
    (folder / "blueprints" / "final.yml").write_text(textwrap.dedent("""\
        id: final
        title: Final
        purpose: exam
        sections:
          - title: Named
            count: 1
            questions: [s-ordering, s-tf]
        """), encoding="utf-8")
    with pytest.raises(AuthoringError) as caught:
        load_course([folder], book_root=None)
    found = {(Path(p.path).name, p.line): p.message for p in caught.value.problems}
    ordering_line = text.splitlines().index("  - id: s-ordering") + 1
    study = found[("study.yml", 9)]
    assert "s-ordering" in study and "is reserved for assessment" in study and "self-check" in study
    assert f"sample.yml:{ordering_line}" in study  # where to find the question
    final = found[("final.yml", 7)]
    assert "s-tf" in final and "is not reserved" in final and "exam" in final
    assert len(found) == 2  # the rest of each section can still draw
