"""Mastery per learner and objective from every complete attempt, weighted toward recent evidence.

The rule (docs/learning-gain.md): every complete attempt of any kind (terminal quizzes, self-study,
live sessions, imported and scanned papers, rubric marks) that tested an objective is one piece of
evidence, its points scored and at stake on that objective. The pieces are ordered by when the
attempt finished, newest first; the k-th newest weighs 2^-(k-1) (a half-life of one attempt): the
newest counts 1, the one before 1/2, then 1/4, ... Mastery is the weighted share of points:

    mastery = sum_k w_k * score_k / sum_k w_k * max_k        (percent)

so within an attempt every question counts by its points, and a rubric criterion by its points.
Only the NEWEST attempts are summed (older ones would weigh less than 2^-19 together).

Why by attempt order and not by days: the course lasts one or two days, so a half-life in days
could not tell the pre-test from the post-test of the same course, while months later it would
weigh equally a learner's one recent self-check and the three before it. What changes what a
learner knows is what happened between two attempts (teaching, feedback, re-reading), which the
order measures. A halving per attempt lets one new attempt outweigh any single older one, but not
a consistent record (newest 1 against 1/2 + 1/4 + ... < 1 for everything before it).

Everything is computed by the database in one grouped query (SQLite and PostgreSQL alike): the
weights are a CASE on the attempt's rank, so no power() function is needed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Float, and_, case, cast, func, literal, select

from thbcourse.store.gradebook import cohort_id, learner_id
from thbcourse.store.tables import attempts, learners, memberships, responses

NEWEST = 20  # attempts per learner and objective that are summed
HALVING = 0.5  # weight of each attempt relative to the next newer one
THRESHOLD = 70.0  # below this mastery (percent) an objective goes on the learner's revise list


@dataclass(frozen=True)
class Mastery:
    percent: float | None  # None: the attempts put no points at stake on it
    attempts: int  # attempts that tested the objective (all of them, also older than NEWEST)
    last: datetime | None  # when the newest of them finished


def weight(rank):
    """The weight of the rank-th newest attempt (1-based), as SQL."""
    return case({k: HALVING ** (k - 1) for k in range(1, NEWEST + 1)}, value=rank, else_=0.0)


def mastery_query(*conditions):
    """(learner id, objective, mastery percent, attempts, newest finish) for the attempts that pass
    `conditions` (on the attempts table; only complete attempts count)."""
    a = attempts.c
    per = (select(a.learner_id, responses.c.objective, a.id.label("attempt"), a.finished_at,
                  func.sum(responses.c.score).label("s"), func.sum(responses.c.max_score).label("m"))
           .join(attempts, a.id == responses.c.attempt_id)
           .where(a.status == "complete", *conditions)
           .group_by(a.learner_id, responses.c.objective, a.id, a.finished_at)).subquery()
    rank = func.row_number().over(partition_by=(per.c.learner_id, per.c.objective),
                                  order_by=(per.c.finished_at.desc(), per.c.attempt.desc())).label("rank")
    ranked = select(per, rank).subquery()
    w = weight(ranked.c.rank)
    most = func.sum(w * ranked.c.m)
    percent = case((most > 0, 100.0 * func.sum(w * ranked.c.s) / most), else_=literal(None, Float))
    return (select(ranked.c.learner_id, ranked.c.objective, cast(percent, Float), func.count(),
                   func.max(ranked.c.finished_at))
            .group_by(ranked.c.learner_id, ranked.c.objective))


def _collect(conn: Connection, query) -> dict[int, dict[str, Mastery]]:
    found: dict[int, dict[str, Mastery]] = {}
    for lid, objective, percent, count, last in conn.execute(query):
        found.setdefault(lid, {})[objective] = Mastery(percent, count, last)
    return found


def learner_mastery(conn: Connection, code: str) -> dict[str, Mastery]:
    """objective -> Mastery of one learner (refused for an unknown learner id)."""
    lid = learner_id(conn, code)
    return _collect(conn, mastery_query(attempts.c.learner_id == lid)).get(lid, {})


def cohort_mastery(conn: Connection, cohort: str) -> dict[str, dict[str, Mastery]]:
    """learner code -> objective -> Mastery, for every member of a cohort (members without evidence: {})."""
    cid = cohort_id(conn, cohort)
    members = dict(conn.execute(select(learners.c.id, learners.c.code)
                                .join(memberships, memberships.c.learner_id == learners.c.id)
                                .where(memberships.c.cohort_id == cid)).all())
    inside = attempts.c.learner_id.in_(select(memberships.c.learner_id).where(memberships.c.cohort_id == cid))
    found = _collect(conn, mastery_query(inside))
    return {code: found.get(lid, {}) for lid, code in sorted(members.items(), key=lambda kv: kv[1])}


def mastery_of_attempts(conn: Connection, attempt_ids: list[int]) -> dict[int, dict[str, float | None]]:
    """attempt id -> objective -> its learner's mastery percent (for the score export's columns)."""
    owner = dict(conn.execute(select(attempts.c.id, attempts.c.learner_id).where(attempts.c.id.in_(attempt_ids))).all())
    whose = attempts.c.learner_id.in_(sorted(set(owner.values())))
    by_learner: dict[int, dict[str, float | None]] = {}
    for lid, objective, percent, _, _ in conn.execute(mastery_query(whose)):
        by_learner.setdefault(lid, {})[objective] = percent
    return {aid: by_learner.get(lid, {}) for aid, lid in owner.items()}


def mastery_keys(conn: Connection, exported) -> list[str]:
    """The objectives that any attempt of the exported attempts' learners tested (sorted)."""
    whose = attempts.c.learner_id.in_(select(attempts.c.learner_id).where(attempts.c.id.in_(exported)))
    return sorted(conn.execute(select(responses.c.objective).join(attempts, attempts.c.id == responses.c.attempt_id)
                               .where(and_(attempts.c.status == "complete", whose)).distinct()).scalars())


def missed_sources(conn: Connection, lids: list[int]) -> dict[int, dict[str, list[str]]]:
    """learner id -> objective -> the question ids not fully right, newest attempt first."""
    query = (select(attempts.c.learner_id, responses.c.objective, responses.c.question_id,
                    func.max(attempts.c.finished_at).label("at"))
             .join(attempts, attempts.c.id == responses.c.attempt_id)
             .where(attempts.c.status == "complete", attempts.c.learner_id.in_(lids),
                    responses.c.score < responses.c.max_score - 1e-9)
             .group_by(attempts.c.learner_id, responses.c.objective, responses.c.question_id))
    rows = sorted(conn.execute(query), key=lambda r: (r[0], r[1], r[3]), reverse=True)
    found: dict[int, dict[str, list[str]]] = {}
    for lid, objective, qid, _ in rows:
        found.setdefault(lid, {}).setdefault(objective, []).append(qid)
    return found


# ---- what to revise -------------------------------------------------------------------------------

@dataclass
class Revision:
    objective: str
    text: str
    mastery: float
    attempts: int
    sections: list  # [(name, page or None)]
    self_checks: list[tuple[str, str]]
    exercises: list[str]


@dataclass
class RevisePlan:
    learner: str
    threshold: float
    items: list[Revision] = field(default_factory=list)  # weakest first
    mastered: int = 0  # objectives at or above the threshold
    untested: list[str] = field(default_factory=list)  # objectives of the course no attempt has tested yet
    untested_checks: list[tuple[str, str]] = field(default_factory=list)  # self-checks that would test them


def _objectives_of(course) -> set[str]:
    found = {q.objective for q in course.questions.values()}
    for rubric in course.rubrics.values():
        found |= {c.objective for c in rubric.criteria}
    return found


def plan(course, learner: str, mastery: dict[str, Mastery], missed: dict[str, list[str]], *,
         threshold: float = THRESHOLD, book_root=None, texts: dict[str, str] | None = None) -> RevisePlan:
    """The revise list of one learner from their mastery and the questions they missed."""
    from thbcourse.analysis.teaching import self_checks, teaching

    weak = sorted(((m.percent, oid) for oid, m in mastery.items()
                   if m.percent is not None and m.percent < threshold - 1e-9))
    sources = {oid: [course.questions[q].source for q in missed.get(oid, []) if q in course.questions]
               for _, oid in weak}
    taught = teaching(course, [oid for _, oid in weak], book_root, sources=sources)
    texts = texts or {}
    found = RevisePlan(learner, threshold)
    for percent, oid in weak:
        t = taught[oid]
        found.items.append(Revision(oid, texts.get(oid, ""), percent, mastery[oid].attempts, t.sections,
                                    t.self_checks, t.exercises))
    found.mastered = sum(1 for m in mastery.values() if m.percent is not None and m.percent >= threshold - 1e-9)
    found.untested = sorted(_objectives_of(course) - set(mastery))
    checks = self_checks(course)
    found.untested_checks = list(dict.fromkeys(c for oid in found.untested for c in checks.get(oid, [])))
    return found


def revise_plan(engine, course, learner: str, *, threshold: float = THRESHOLD, book_root=None) -> RevisePlan:
    from thbcourse.analysis.teaching import objective_texts

    with engine.connect() as conn:
        mastery = learner_mastery(conn, learner)
        missed = missed_sources(conn, [learner_id(conn, learner)])
    lid_missed = next(iter(missed.values()), {})
    return plan(course, learner, mastery, lid_missed, threshold=threshold, book_root=book_root,
                texts=objective_texts(book_root))


REVISE_HEADER = ["learner", "objective", "mastery %", "attempts", "sections to re-read", "self-checks to retake",
                 "exercises"]


def cohort_revise_rows(engine, course, cohort: str, *, threshold: float = THRESHOLD, book_root=None) -> list[list]:
    """One row per learner and objective to revise (weakest first per learner), for a CSV or XLSX."""
    from thbcourse.analysis.teaching import objective_texts

    with engine.connect() as conn:
        by_code = cohort_mastery(conn, cohort)
        ids = dict(conn.execute(select(learners.c.code, learners.c.id).where(learners.c.code.in_(list(by_code)))).all())
        missed = missed_sources(conn, list(ids.values()))
    texts = objective_texts(book_root)
    rows = []
    for code, mastery in by_code.items():
        p = plan(course, code, mastery, missed.get(ids[code], {}), threshold=threshold, book_root=book_root,
                 texts=texts)
        for item in p.items:
            rows.append([code, item.objective, round(item.mastery, 2), item.attempts,
                         "; ".join(name for name, _ in item.sections),
                         "; ".join(bid for bid, _ in item.self_checks), "; ".join(item.exercises)])
    return rows


def plan_lines(p: RevisePlan, *, pages_under: str | None = None) -> list[str]:
    """The revise list as plain text lines (the terminal's; `pages_under`: the folder of the built
    student edition, to print each section's page as a path to open)."""
    lines = [f"What to revise, {p.learner} (mastery below {p.threshold:g} %, newest attempts weigh most):"]
    if not p.items:
        lines.append(f"  Nothing below {p.threshold:g} %: {p.mastered} objective(s) at or above it.")
    for item in p.items:
        lines.append(f"  - {item.objective} {item.mastery:.0f} % ({item.attempts} attempt(s))"
                     + (f": {item.text}" if item.text else ""))
        for name, page in item.sections:
            lines.append(f"      re-read: {name}" + (f"  ({pages_under}/{page})" if pages_under and page else ""))
        if item.self_checks:
            lines.append("      retake: " + ", ".join(f"{title} ({bid})" for bid, title in item.self_checks))
        if item.exercises:
            lines.append("      practise: " + ", ".join(item.exercises))
    if p.untested:
        lines.append(f"  Not tested yet: {len(p.untested)} objective(s)"
                     + (": take " + ", ".join(bid for bid, _ in p.untested_checks) if p.untested_checks else "") + ".")
    return lines


def export_revise(engine, course, cohort: str, path, *, who: str, threshold: float = THRESHOLD,
                  book_root=None) -> int:
    """Write the cohort's revise lists (REVISE_HEADER) to a .csv or .xlsx file whole, and log it."""
    from pathlib import Path

    from thbcourse.store.exports import _atomic_target, log_export, neutralise, write_csv

    path = Path(path)
    rows = cohort_revise_rows(engine, course, cohort, threshold=threshold, book_root=book_root)
    if path.suffix.lower() == ".xlsx":
        from thbcourse.store.xlsx import write_book

        tmp = _atomic_target(path)
        try:
            write_book(tmp, [("revise", REVISE_HEADER, rows)])
            tmp.replace(path)
        finally:
            tmp.unlink(missing_ok=True)
    else:
        write_csv(path, REVISE_HEADER, iter([[neutralise(v) for v in row] for row in rows]))
    log_export(engine, who=who, what="revise lists", rows=len(rows),
                     details={"cohort": cohort, "file": str(path), "threshold": threshold})
    return len(rows)
