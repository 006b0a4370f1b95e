"""Reads for the classroom web app: one live quiz session's attempts, answers and results.

Every figure is aggregated in SQL (one query per view, never one per learner); the writes go through
`thbcourse.store.gradebook` like everywhere else.
"""
from __future__ import annotations

from sqlalchemy import Connection, case, func, insert, select

from thbcourse.store.gradebook import cohort_id
from thbcourse.store.tables import (attempts, learners, live_participants, live_sessions, memberships, quiz_sessions,
                                    responses)


def cohort_size(conn: Connection, cohort: str) -> int:
    cid = cohort_id(conn, cohort)
    return conn.execute(select(func.count()).select_from(memberships).where(memberships.c.cohort_id == cid)).scalar()


def in_cohort(conn: Connection, cohort: str, learner: int) -> bool:
    cid = cohort_id(conn, cohort)
    return conn.execute(select(memberships.c.learner_id).where(
        memberships.c.cohort_id == cid, memberships.c.learner_id == learner)).first() is not None


def add_member(conn: Connection, cohort: str, learner: int) -> None:
    if not in_cohort(conn, cohort, learner):
        conn.execute(insert(memberships).values(cohort_id=cohort_id(conn, cohort), learner_id=learner))


def attempt_answers(conn: Connection, attempt: int) -> dict[str, str]:
    """question id -> the stored answer (JSON text) of one attempt."""
    return dict(conn.execute(select(responses.c.question_id, responses.c.answer)
                             .where(responses.c.attempt_id == attempt)).all())


def answer_counts(conn: Connection, session: int, question: str) -> list[tuple[str, float, float, int]]:
    """(answer JSON, score, max, how many learners) for one question of a session."""
    return [tuple(r) for r in conn.execute(
        select(responses.c.answer, func.min(responses.c.score), func.min(responses.c.max_score), func.count())
        .join(attempts, attempts.c.id == responses.c.attempt_id)
        .where(attempts.c.session_id == session, responses.c.question_id == question,
               responses.c.answer != "null")
        .group_by(responses.c.answer))]


def answered_per_attempt(conn: Connection, session: int) -> dict[int, int]:
    """attempt -> number of questions answered so far, for every attempt of a session."""
    answered = func.count(responses.c.id).filter(responses.c.answer != "null")
    return dict(conn.execute(select(attempts.c.id, answered)
                             .outerjoin(responses, responses.c.attempt_id == attempts.c.id)
                             .where(attempts.c.session_id == session).group_by(attempts.c.id)).all())


def attempt_percents(conn: Connection, session: int) -> list[tuple[str, float | None, bool | None]]:
    """(learner code, percent, passed) of a session's attempts; percent is None while an attempt is open."""
    return [tuple(r) for r in conn.execute(
        select(learners.c.code, attempts.c.percent, attempts.c.passed)
        .join(learners, learners.c.id == attempts.c.learner_id)
        .where(attempts.c.session_id == session).order_by(learners.c.code))]


def question_results(conn: Connection, session: int) -> list[tuple[str, int, float, int]]:
    """(question id, learners who had it, share of the points earned, learners with full marks),
    hardest first: the questions most got wrong."""
    share = func.sum(responses.c.score) / func.sum(responses.c.max_score)
    full = func.sum(case((responses.c.score >= responses.c.max_score - 1e-9, 1), else_=0))
    return [tuple(r) for r in conn.execute(
        select(responses.c.question_id, func.count(), share, full)
        .join(attempts, attempts.c.id == responses.c.attempt_id)
        .where(attempts.c.session_id == session, attempts.c.status == "complete")
        .group_by(responses.c.question_id).order_by(share, responses.c.question_id))]


def class_sessions(conn: Connection, since: float) -> list[dict]:
    """The class sessions (not self-study) still running, or ended after `since`, newest first, with
    their number of learners."""
    joined = (select(live_participants.c.session_id, func.count().label("n"))
              .group_by(live_participants.c.session_id).subquery())
    rows = conn.execute(
        select(live_sessions.c.id, live_sessions.c.code, live_sessions.c.mode, live_sessions.c.cohort,
               live_sessions.c.phase, live_sessions.c.current, live_sessions.c.step, live_sessions.c.created_at,
               live_sessions.c.ended_at, quiz_sessions.c.blueprint, func.coalesce(joined.c.n, 0).label("learners"))
        .join(quiz_sessions, quiz_sessions.c.id == live_sessions.c.id)
        .outerjoin(joined, joined.c.session_id == live_sessions.c.id)
        .where(live_sessions.c.mode != "self-study",
               live_sessions.c.ended_at.is_(None) | (live_sessions.c.ended_at > since))
        .order_by(live_sessions.c.id.desc())).mappings().all()
    return [dict(r) for r in rows]
