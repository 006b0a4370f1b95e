"""Writing to the gradebook: cohorts, learners, attempts and their responses.

Every function that writes takes a connection inside a writing transaction (`with
writer(engine).begin() as conn`), so a caller decides what must land together: a roster lands
whole or not at all, an attempt with all its responses or not at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from thbcourse.store.codec import dump_response
from thbcourse.store.tables import attempts, cohorts, learners, memberships, quiz_sessions, responses

if TYPE_CHECKING:  # the engine (and the bank model under it) loads only where a paper is marked
    from thbcourse.engine.attempt import AttemptResult
    from thbcourse.engine.draw import Paper
    from thbcourse.engine.grade import Graded


class GradebookError(Exception):
    """A request the gradebook refuses (unknown learner, closed attempt, ...), said for people."""


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class LearnerRow:
    code: str
    name: str | None = None
    email: str | None = None


def cohort_id(conn: Connection, name: str) -> int:
    found = conn.execute(select(cohorts.c.id).where(cohorts.c.name == name)).scalar()
    if found is None:
        raise GradebookError(f"no cohort {name!r} (create it with 'thbcourse cohort create')")
    return found


def create_cohort(conn: Connection, name: str) -> int:
    if conn.execute(select(cohorts.c.id).where(cohorts.c.name == name)).scalar() is not None:
        raise GradebookError(f"cohort {name!r} exists already")
    return conn.execute(insert(cohorts).values(name=name, created_at=now())).inserted_primary_key[0]


def learner_key(code: str) -> str:
    """The one rule for learner ids: matched without regard to case or surrounding spaces (`OFC-A`,
    `ofc-a` and ` Ofc-A ` are one learner), each id keeping the spelling it was first written with.
    Every lookup (joins, rosters, imports, exports' cohort filters) goes through this key."""
    return code.strip().casefold()


def find_learner(conn: Connection, code: str) -> tuple[int, str] | None:
    """(id, the id as stored) of the learner `code` names, whatever its case."""
    found = conn.execute(select(learners.c.id, learners.c.code).where(learners.c.code_key == learner_key(code))).first()
    if found is None:  # an id kept apart by migration 0002 (two ids differing only by case): exact spelling
        found = conn.execute(select(learners.c.id, learners.c.code).where(learners.c.code == code.strip())).first()
    return None if found is None else (found[0], found[1])


def learner_id(conn: Connection, code: str, *, create: bool = False) -> int:
    found = find_learner(conn, code)
    if found is None:
        if not create:
            raise GradebookError(f"unknown learner {code!r}")
        return conn.execute(insert(learners).values(code=code.strip(), code_key=learner_key(code),
                                                    created_at=now())).inserted_primary_key[0]
    return found[0]


def known_learners(conn: Connection) -> dict[str, str]:
    """learner_key -> the id as stored, for every learner (to check a file of ids before writing)."""
    return {key or learner_key(code): code for code, key in conn.execute(select(learners.c.code, learners.c.code_key))}


def add_learners(conn: Connection, cohort: str, rows: list[LearnerRow]) -> tuple[int, int]:
    """Add learners to a cohort (creating those not yet known). Returns (new learners, new members)."""
    cid = cohort_id(conn, cohort)
    known = {key: lid for lid, key in conn.execute(select(learners.c.id, learners.c.code_key))}
    members = set(conn.execute(select(memberships.c.learner_id).where(memberships.c.cohort_id == cid)).scalars())
    created = joined = 0
    for row in rows:
        key = learner_key(row.code)
        if key in known:
            lid = known[key]
            if row.name or row.email:
                conn.execute(update(learners).where(learners.c.id == lid).values(
                    **{k: v for k, v in (("name", row.name), ("email", row.email)) if v}))
        else:
            lid = conn.execute(insert(learners).values(code=row.code.strip(), code_key=key, name=row.name,
                                                       email=row.email, created_at=now())).inserted_primary_key[0]
            known[key] = lid
            created += 1
        if lid not in members:
            conn.execute(insert(memberships).values(cohort_id=cid, learner_id=lid))
            members.add(lid)
            joined += 1
    return created, joined


def create_session(conn: Connection, *, blueprint: str, mode: str, created_by: str,
                   seed: int | None = None, cohort: str | None = None) -> int:
    cid = cohort_id(conn, cohort) if cohort else None
    return conn.execute(insert(quiz_sessions).values(
        blueprint=blueprint, seed=seed, mode=mode, cohort_id=cid, created_by=created_by,
        created_at=now())).inserted_primary_key[0]


def open_attempt(conn: Connection, *, learner: int, blueprint: str, seed: int, max_score: float,
                 pass_mark: float, session: int | None = None) -> int:
    return conn.execute(insert(attempts).values(
        session_id=session, learner_id=learner, blueprint=blueprint, seed=seed, status="open",
        started_at=now(), max_score=max_score, pass_mark=pass_mark)).inserted_primary_key[0]


def _upsert(conn: Connection):
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[conn.dialect.name]
    return dialect.insert(responses)


def record_response(conn: Connection, attempt: int, *, question, response, graded: Graded,
                    seconds: float | None = None) -> None:
    """Store one graded answer; a second answer to the same question replaces the first."""
    status = conn.execute(select(attempts.c.status).where(attempts.c.id == attempt)).scalar()
    if status != "open":
        raise GradebookError(f"attempt {attempt} is {'closed' if status else 'unknown'}: the answer is refused")
    values = dict(attempt_id=attempt, question_id=question.id, topic=question.topic.value,
                  objective=question.objective, answer=dump_response(response), score=graded.score,
                  max_score=graded.max, answered_at=now(), seconds=seconds)
    stmt = _upsert(conn).values(**values)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["attempt_id", "question_id"],
        set_={k: stmt.excluded[k] for k in ("answer", "score", "max_score", "answered_at", "seconds")}))


def close_attempt(conn: Connection, attempt: int, paper: Paper | None = None) -> None:
    """Total the stored responses; from now on the attempt is complete and exported.

    Given the paper, every question still without a response first gets an empty one (answer null,
    score 0), so that per-topic and per-question maxima and the item analysis see the whole paper.
    """
    if paper is not None:
        from thbcourse.engine.attempt import mark_paper

        answered = set(conn.execute(select(responses.c.question_id).where(responses.c.attempt_id == attempt)).scalars())
        for mark in mark_paper(paper, {}).marks:
            if mark.item.question.id not in answered:
                record_response(conn, attempt, question=mark.item.question, response=None, graded=mark.graded)
    total = select(func.coalesce(func.sum(responses.c.score), 0.0)).where(
        responses.c.attempt_id == attempt).scalar_subquery()
    percent = 100.0 * total / attempts.c.max_score
    conn.execute(update(attempts).where(attempts.c.id == attempt, attempts.c.status == "open").values(
        status="complete", finished_at=now(), score=total, percent=percent,
        passed=percent >= attempts.c.pass_mark - 1e-9))


def void_attempt(conn: Connection, attempt: int) -> None:
    """Set an open attempt aside (status 'void': kept for the record, never totalled nor exported): the
    answers a classmate gave under someone else's learner id."""
    conn.execute(update(attempts).where(attempts.c.id == attempt, attempts.c.status == "open").values(
        status="void", finished_at=now()))


def record_attempt(conn: Connection, result: AttemptResult, *, learner: str, mode: str, created_by: str,
                   create_learner: bool = False, seconds: dict[str, float] | None = None) -> int:
    """A whole marked paper: session, attempt and every answered response, then the totals."""
    paper = result.paper
    lid = learner_id(conn, learner, create=create_learner)
    session = create_session(conn, blueprint=paper.blueprint.id, mode=mode, created_by=created_by, seed=paper.seed)
    attempt = open_attempt(conn, learner=lid, blueprint=paper.blueprint.id, seed=paper.seed,
                           max_score=paper.max_score, pass_mark=paper.blueprint.pass_mark, session=session)
    for mark in result.marks:
        if mark.response is not None:
            record_response(conn, attempt, question=mark.item.question, response=mark.response,
                            graded=mark.graded, seconds=(seconds or {}).get(mark.item.question.id))
    close_attempt(conn, attempt, paper)
    return attempt


def record_rubric(conn: Connection, rubric, marks: dict, *, learner: str, created_by: str) -> int:
    """A learner's marks on an assessed task (criterion id -> the rubric Level awarded) as one complete
    attempt on the rubric's id: a response per criterion, with its objective, so the task appears in
    `scores export` and its per-topic, per-objective and per-question columns like any quiz."""
    missing = [c.id for c in rubric.criteria if c.id not in marks]
    if missing:
        raise GradebookError(f"rubric {rubric.id!r}: no level for {', '.join(missing)}")
    lid = learner_id(conn, learner)
    session = create_session(conn, blueprint=rubric.id, mode="rubric", created_by=created_by)
    attempt = open_attempt(conn, learner=lid, blueprint=rubric.id, seed=0, max_score=rubric.max_points,
                           pass_mark=rubric.pass_mark, session=session)
    for criterion in rubric.criteria:
        level = marks[criterion.id]
        conn.execute(insert(responses).values(
            attempt_id=attempt, question_id=f"{rubric.id}:{criterion.id}", topic=rubric.topic.value,
            objective=criterion.objective, answer=dump_response({"level": level.label}), score=level.points,
            max_score=criterion.max_points, answered_at=now()))
    close_attempt(conn, attempt)
    return attempt


def purge(conn: Connection, cutoff: datetime) -> tuple[int, int]:
    """Delete attempts finished (or started) before cutoff, then learners left with nothing recent.

    Returns (attempts deleted, learners deleted). Responses go with their attempts.
    """
    old = select(attempts.c.id).where(func.coalesce(attempts.c.finished_at, attempts.c.started_at) < cutoff)
    old_ids = list(conn.execute(old).scalars())
    if old_ids:
        conn.execute(delete(responses).where(responses.c.attempt_id.in_(old_ids)))
        conn.execute(delete(attempts).where(attempts.c.id.in_(old_ids)))
    idle = select(learners.c.id).where(
        learners.c.created_at < cutoff, ~select(attempts.c.id).where(attempts.c.learner_id == learners.c.id).exists())
    idle_ids = list(conn.execute(idle).scalars())
    if idle_ids:
        conn.execute(delete(memberships).where(memberships.c.learner_id.in_(idle_ids)))
        conn.execute(delete(learners).where(learners.c.id.in_(idle_ids)))
    return len(old_ids), len(idle_ids)


def list_cohorts(conn: Connection) -> list[tuple[str, int, datetime]]:
    members = func.count(memberships.c.learner_id)
    return [tuple(r) for r in conn.execute(
        select(cohorts.c.name, members, cohorts.c.created_at)
        .outerjoin(memberships, memberships.c.cohort_id == cohorts.c.id)
        .group_by(cohorts.c.id, cohorts.c.name, cohorts.c.created_at).order_by(cohorts.c.name))]


def cohort_codes(conn: Connection, name: str) -> list[str]:
    """The learner ids of a cohort, sorted (refused when there is no such cohort)."""
    cid = cohort_id(conn, name)
    return list(conn.execute(select(learners.c.code).join(memberships, memberships.c.learner_id == learners.c.id)
                             .where(memberships.c.cohort_id == cid).order_by(learners.c.code)).scalars())
