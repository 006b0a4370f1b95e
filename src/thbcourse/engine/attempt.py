"""Marking a whole paper: totals, pass or fail, and the breakdowns that tell a learner what to re-read."""
from __future__ import annotations

import weakref
from collections import defaultdict
from typing import Any

import msgspec

from thbcourse.engine.draw import Paper, PaperItem
from thbcourse.engine.grade import Graded, Grader, grader

UNANSWERED = None
AWARDED = "awarded"  # the key of a written answer's stored response when a trainer marked it on paper


class Mark(msgspec.Struct):  # one per item of every paper marked: cheap to build
    item: PaperItem
    response: Any  # canonical response, or None when unanswered
    graded: Graded


class AttemptResult(msgspec.Struct):
    paper: Paper
    marks: list[Mark] = []

    @property
    def score(self) -> float:
        return sum(m.graded.score for m in self.marks)

    @property
    def max(self) -> float:
        return sum(m.graded.max for m in self.marks)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max if self.max else 0.0

    @property
    def passed(self) -> bool:
        return self.percent >= self.paper.blueprint.pass_mark - 1e-9

    def breakdown(self, by: str) -> dict[str, tuple[float, float]]:
        """(score, max) per topic or per objective."""
        totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for m in self.marks:
            q = m.item.question
            key = q.topic.value if by == "topic" else q.objective
            totals[key][0] += m.graded.score
            totals[key][1] += m.graded.max
        return {k: (s, mx) for k, (s, mx) in sorted(totals.items())}

    def to_reread(self) -> list[str]:
        """Book sections behind the questions that did not get full marks, in paper order."""
        seen: dict[str, None] = {}
        for m in self.marks:
            if not m.graded.correct:
                seen.setdefault(m.graded.source)
        return list(seen)


def mark_paper(paper: Paper, responses: dict[str, Any], awarded: dict[str, float] | None = None) -> AttemptResult:
    """Grade every item; `responses` maps question id -> canonical response (missing = unanswered).

    `awarded` maps question id -> the points a trainer gave a written answer on paper (short answer and
    numeric questions of a scanned or imported sheet): that score is kept as given, and the response
    stored is {"awarded": points}, since the words written are not read.
    """
    marks = []
    add, answer = marks.append, responses.get
    for item, qid, grade in _plan(paper):
        if awarded and qid in awarded:
            q = item.question
            add(Mark(item, {AWARDED: awarded[qid]}, Graded(awarded[qid], item.points, (), q.feedback, q.source)))
            continue
        response = answer(qid, UNANSWERED)
        if response is UNANSWERED:
            q = item.question
            add(Mark(item, response, Graded(0.0, item.points, (), q.feedback, q.source)))
        else:
            add(Mark(item, response, grade(response)))
    return AttemptResult(paper, marks)


def check_awarded(item: PaperItem, points: float) -> str:
    """Why `points` cannot be awarded to the item's written answer ("" when they can)."""
    if item.question.type not in ("short_answer", "numeric"):
        return f"points are awarded by hand only to written answers, not to a {item.question.type} question"
    if not 0 <= points <= item.points + 1e-9:
        return f"{points:g} points: the question is worth 0 to {item.points:g}"
    return ""


_plans: dict[int, list] = {}  # id(paper) -> its plan, dropped when the paper is collected


def _plan(paper: Paper) -> list[tuple[PaperItem, str, Grader]]:
    """Per item: the question id and the compiled grader; made once per paper."""
    plan = _plans.get(id(paper))
    if plan is None:
        policy = paper.blueprint.grading
        plan = _plans[id(paper)] = [(item, item.question.id, grader(item.question, item.points, policy))
                                    for item in paper.items]
        weakref.finalize(paper, _plans.pop, id(paper), None)
    return plan
