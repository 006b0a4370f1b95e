"""The marks and answers of one quiz, read from the gradebook in a single query.

Only complete attempts count (an open one may still change). By default each learner's first
complete attempt: later ones are practised and would make items look easier than they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from thbcourse.analysis.items import Marks
from thbcourse.store.codec import load_response
from thbcourse.store.tables import attempts as attempts_table
from thbcourse.store.tables import responses

ATTEMPT_POLICIES = ("first", "all")


@dataclass
class QuizData:
    quiz: str
    policy: str
    marks: list[Marks] = field(default_factory=list)  # one per attempt, in attempt order
    # question id -> canonical response per attempt that had it (None: unanswered); the JSON text as
    # stored for a question the banks no longer hold
    answers: dict[str, list[Any]] = field(default_factory=dict)


def chosen_attempts(quiz: str, policy: str):
    """The ids of the attempts to analyse, as a subquery."""
    if policy not in ATTEMPT_POLICIES:
        raise ValueError(f"attempts must be one of {', '.join(ATTEMPT_POLICIES)}, not {policy!r}")
    a = attempts_table.c
    complete = (a.blueprint == quiz, a.status == "complete")
    if policy == "all":
        return select(a.id).where(*complete)
    rank = func.row_number().over(partition_by=a.learner_id, order_by=(a.finished_at, a.id)).label("rank")
    ranked = select(a.id, rank).where(*complete).subquery()
    return select(ranked.c.id).where(ranked.c.rank == 1)


def load_quiz(engine: Engine, course, quiz_id: str, attempts: str = "first") -> QuizData:
    """Marks and answers of the chosen attempts (an attempt without any response has nothing to analyse)."""
    query = (select(responses.c.attempt_id, responses.c.question_id, responses.c.answer, responses.c.score,
                    responses.c.max_score)
             .where(responses.c.attempt_id.in_(chosen_attempts(quiz_id, attempts)))
             .order_by(responses.c.attempt_id, responses.c.id))
    data, current = QuizData(quiz_id, attempts), None
    with engine.connect() as conn:
        for attempt, qid, answer, score, mx in conn.execute(query):
            if attempt != current:
                current = attempt
                data.marks.append({})
            data.marks[-1][qid] = (score, mx)
            question = course.questions.get(qid)
            data.answers.setdefault(qid, []).append(_decode(question, answer))
    return data


def _decode(question, text: str) -> Any:
    if question is None:
        return text
    return None if text == "null" else load_response(question.type, text)  # dump_response(None) is "null"
