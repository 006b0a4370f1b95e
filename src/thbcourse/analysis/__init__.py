"""Item analysis of a quiz from the gradebook: which questions work, which to revise, how reliable it is.

gradebook -> `load` (one query) -> `items` (statistics) and `distractors` (what was chosen) -> `report`
(CSV and a self-contained HTML page). `main` runs the whole chain; the command line only wraps it.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from sqlalchemy import Engine

from thbcourse.analysis.distractors import choice_table
from thbcourse.analysis.items import item_statistics, quiz_figures
from thbcourse.analysis.load import ATTEMPT_POLICIES, QuizData, load_quiz
from thbcourse.analysis.report import Analysis, write_report
from thbcourse.store.gradebook import GradebookError

__all__ = ["ATTEMPT_POLICIES", "Analysis", "analyse", "load_quiz", "main", "write_report"]


def analyse(data: QuizData, course) -> Analysis:
    """Statistics and choice counts of the loaded attempts; questions in bank order."""
    position = {qid: i for i, qid in enumerate(course.questions)}
    items = sorted(item_statistics(data.marks), key=lambda s: (position.get(s.question_id, len(position)),
                                                              s.question_id))
    known = {s.question_id: course.questions[s.question_id] for s in items if s.question_id in course.questions}
    blueprint = course.blueprints.get(data.quiz)
    return Analysis(
        quiz=data.quiz, title=blueprint.title if blueprint else data.quiz, policy=data.policy, items=items,
        figures=quiz_figures(data.marks),
        choices={qid: choice_table(q, data.answers[qid]) for qid, q in known.items()},
        questions=known)


def main(engine: Engine, course, quiz_id: str, out: Path, *, attempts: str = "first") -> list[Path]:
    """Analyse the complete attempts of one quiz; writes and returns [CSV, HTML] under `out`."""
    data = load_quiz(engine, course, quiz_id, attempts=attempts)
    if not data.marks:
        raise GradebookError(f"quiz {quiz_id!r} has no complete attempts in the gradebook: nothing to analyse"
                             + _hint(course, quiz_id))
    return write_report(analyse(data, course), Path(out))


def _hint(course, quiz_id: str) -> str:
    if quiz_id in course.blueprints:
        return ""
    close = difflib.get_close_matches(quiz_id, list(course.blueprints), n=1)
    return f" (no blueprint has that id; did you mean {close[0]!r}?)" if close else " (no blueprint has that id)"
