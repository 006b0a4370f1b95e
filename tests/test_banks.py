"""The course's own banks and blueprints: valid, covered, drawable, and consistent with each other."""
from __future__ import annotations

from collections import Counter

import pytest

from thbcourse.bank.course import load_course
from thbcourse.bank.coverage import MIN_QUESTIONS, coverage
from thbcourse.book.objectives import read_objectives
from thbcourse.engine.draw import draw

from conftest import REPO


@pytest.fixture(scope="module")
def course():
    return load_course([REPO / "quizzes"], book_root=REPO)  # raises on any problem, with file and line


def test_every_objective_has_enough_questions(course):
    rows = coverage(course, read_objectives(REPO))  # practice: tests/test_alignment.py
    assert [r.objective for r in rows if not r.declared or r.total < MIN_QUESTIONS] == []


def test_size_topics_types_and_difficulty_spread(course):
    questions = list(course.questions.values())
    assert len(questions) >= 180
    topics = Counter(q.topic.value for q in questions)
    assert min(topics["chain"], topics["modi-operandi"], topics["opportunities"]) >= 40
    assert set(Counter(q.type for q in questions)) == {"single", "multiple", "true_false", "matching", "ordering",
                                                       "short_answer", "numeric"}
    levels = Counter(q.difficulty for q in questions)
    for level in (1, 2, 3):  # roughly a third at each level
        assert 0.25 <= levels[level] / len(questions) <= 0.42


def test_every_option_has_feedback_and_no_all_of_the_above(course):
    for q in course.questions.values():
        for option in getattr(q, "options", ()):
            assert option.feedback.strip(), f"{q.id}: option {option.text!r} has no feedback"
            assert "of the above" not in option.text.lower(), q.id
        if q.type == "true_false":
            assert q.feedback_true.strip() and q.feedback_false.strip(), q.id


@pytest.mark.parametrize("blueprint_id", ["exam", "pre-test", "post-test", "practice", "self-check-legal-frame",
                                          "self-check-facilitator", "self-check-how-to-use", "self-check-conclusion"])
def test_blueprint_draws_for_200_seeds(course, blueprint_id):
    bp = course.blueprint(blueprint_id)
    expected = sum(s.count for s in bp.sections)
    papers = set()
    for seed in range(200):
        paper = draw(course, bp, seed)
        ids = [i.question.id for i in paper.items]
        assert len(ids) == len(set(ids)) == expected
        papers.add(tuple(sorted(ids)))
    assert len(papers) > 1


def test_every_blueprint_draws(course):
    for bp in course.blueprints.values():
        for seed in range(200):
            draw(course, bp, seed)


def test_each_chapter_has_a_self_check_of_5_to_8_questions(course):
    chapters = {bp.chapter: sum(s.count for s in bp.sections)
                for bp in course.blueprints.values() if bp.purpose == "self-check"}
    assert len(chapters) == 8
    assert all(5 <= n <= 8 for n in chapters.values())
    assert all((REPO / page).is_file() for page in chapters)


def test_pre_and_post_test_share_objectives_not_questions(course):
    pre, post = course.blueprint("pre-test"), course.blueprint("post-test")
    pre_ids, post_ids, pre_objectives, post_objectives = set(), set(), set(), set()
    for seed in range(200):
        for bp, ids, objectives in ((pre, pre_ids, pre_objectives), (post, post_ids, post_objectives)):
            for item in draw(course, bp, seed).items:
                ids.add(item.question.id)
                objectives.add(item.question.objective)
    assert not pre_ids & post_ids
    assert pre_objectives == post_objectives


def test_exam_is_stratified_and_passes_at_70(course):
    exam = course.blueprint("exam")
    assert exam.pass_mark == 70 and sum(s.count for s in exam.sections) == 30
    paper = draw(course, exam, 1)
    assert {i.question.topic.value for i in paper.items} >= {"chain", "modi-operandi", "opportunities",
                                                             "legal-frame", "fraud", "challenges"}
    assert {i.question.difficulty for i in paper.items} == {1, 2, 3}


def test_self_study_never_shows_a_question_reserved_for_assessment(course):
    """Issue 12: no self-check, practice or pre-test paper holds a question that an exam or post-test paper
    can hold (their whole pools, not only the papers drawn), and assessment draws only reserved questions."""
    from thbcourse.engine.draw import ASSESSMENT, _pools

    assessed = {q for bp in course.blueprints.values() if bp.purpose in ASSESSMENT
                for _, pool in _pools(course, bp) for q in pool}
    assert assessed and all(course.questions[q].reserved for q in assessed)
    for bp in course.blueprints.values():
        for seed in range(50):
            ids = {i.question.id for i in draw(course, bp, seed).items}
            if bp.purpose in ASSESSMENT:
                assert all(course.questions[q].reserved for q in ids), (bp.id, seed)
            else:
                assert not ids & assessed, (bp.id, seed, sorted(ids & assessed))
                assert not any(course.questions[q].reserved for q in ids), (bp.id, seed)


def test_about_half_of_each_assessed_bank_is_reserved(course):
    for bank in course.banks.values():
        share = sum(q.reserved for q in bank.questions) / len(bank.questions)
        if bank.topic.value == "course":  # how the course works: never assessed, so nothing to reserve
            assert share == 0
        else:
            assert 0.35 <= share <= 0.55, (bank.id, share)
