"""Rosters and answers collected elsewhere, checked whole and then written in one transaction."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, select

from thbcourse.engine.answers import parse_answer
from thbcourse.engine.attempt import check_awarded, mark_paper
from thbcourse.engine.draw import draw
from thbcourse.engine.grade import ResponseError
from thbcourse.problems import AuthoringError, Problem, display_path
from thbcourse.store.csvinput import read_rows
from thbcourse.store.db import writer
from thbcourse.store.gradebook import (LearnerRow, add_learners, cohort_id, known_learners, learner_key, record_attempt,
                                       record_rubric)
from thbcourse.store.tables import attempts, learners, quiz_sessions

LEARNER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def import_roster(engine: Engine, path: Path, cohort: str) -> tuple[int, int]:
    rows = read_rows(path, ("learner",), ("name", "email"))
    shown, problems, seen, learners_ = display_path(path), [], {}, []
    for line, row in rows:
        code = row["learner"]
        if not LEARNER_CODE.match(code):
            problems.append(Problem(shown, line, 1, f"learner id {code!r}: use letters, digits, '.', '_', '-' or '@' "
                                                    "(at most 100 characters, no spaces)"))
        elif learner_key(code) in seen:  # OFC-A and ofc-a are one learner (gradebook.learner_key)
            problems.append(Problem(shown, line, 1, f"learner {code!r} is listed twice (first on line "
                                                    f"{seen[learner_key(code)]})"))
        seen.setdefault(learner_key(code), line)
        email = row.get("email") or None
        if email and not EMAIL.match(email):
            problems.append(Problem(shown, line, 1, f"e-mail {email!r} does not look like an address"))
        learners_.append(LearnerRow(code, row.get("name") or None, email))
    if problems:
        raise AuthoringError(problems)
    with writer(engine).begin() as conn:
        cohort_id(conn, cohort)
        return add_learners(conn, cohort, learners_)


REVIEW_COLUMNS = ("number", "file", "page", "problem")  # written by `thbcourse scan` for the trainer; not read


def import_results(engine: Engine, path: Path, course, blueprint_id: str, *, who: str,
                   seed: int | None = None, mode: str = "import") -> int:
    """A CSV of learner, question, answer (as written on the learner's paper; seed per row or given).

    Each learner's rows form one attempt on the paper (blueprint, seed). A `points` column gives the
    points a trainer awarded to a written answer (short answer, numeric) marked on paper; the review
    list of `thbcourse scan` has these columns and its own notes (number, file, page, problem), which
    are not read. Everything is checked first: unknown learners or questions, answers that do not
    fit, a question answered twice, empty answers.
    """
    blueprint = course.blueprint(blueprint_id)
    optional = ("points", *REVIEW_COLUMNS) + (() if seed is not None else ("seed",))
    rows = read_rows(path, ("learner", "question", "answer"), optional)
    shown, problems = display_path(path), []
    with engine.connect() as conn:
        known = known_learners(conn)
    by_attempt: dict[tuple[str, int], tuple[dict[str, object], dict[str, float]]] = {}
    first_line: dict[tuple[str, int], int] = {}
    papers = {}
    for line, row in rows:
        code, qid = row["learner"], row["question"]
        note = f" (the scanner said: {row['problem']})" if row.get("problem") else ""
        try:
            paper_seed = seed if seed is not None else int(row.get("seed", ""))
        except ValueError:
            problems.append(Problem(shown, line, 1, f"seed {row.get('seed')!r} is not a whole number"))
            continue
        if not code:
            problems.append(Problem(shown, line, 1, f"the learner is empty: write the learner id{note}"))
            continue
        if learner_key(code) not in known:
            problems.append(Problem(shown, line, 1, f"unknown learner {code!r} (add them to a cohort first)"))
            continue
        code = known[learner_key(code)]  # as stored: ofc-a's rows and OFC-A's are one attempt
        paper = papers.get(paper_seed) or papers.setdefault(paper_seed, draw(course, blueprint, paper_seed))
        item = next((i for i in paper.items if i.question.id == qid), None)
        if item is None:
            where = "in the banks" if qid not in course.questions else f"on paper {blueprint.id} seed {paper_seed}"
            problems.append(Problem(shown, line, 1, f"question {qid!r} is not {where}"))
            continue
        answers, awarded = by_attempt.setdefault((code, paper_seed), ({}, {}))
        first_line.setdefault((code, paper_seed), line)
        if qid in answers or qid in awarded:
            problems.append(Problem(shown, line, 1, f"learner {code!r} answers {qid!r} twice"))
            continue
        if row.get("points"):
            try:
                points = float(row["points"].replace(",", "."))
            except ValueError:
                problems.append(Problem(shown, line, 1, f"points {row['points']!r} is not a number"))
                continue
            why = check_awarded(item, points)
            if why:
                problems.append(Problem(shown, line, 1, f"{qid}: {why}"))
            awarded[qid] = points
            continue
        if not row["answer"]:
            problems.append(Problem(shown, line, 1, f"the answer to {qid} is empty: write what the learner "
                                                    f"marked, or delete the row if it was left unanswered{note}"))
            continue
        try:
            answers[qid] = parse_answer(item, row["answer"])
        except ResponseError as err:
            problems.append(Problem(shown, line, 1, f"answer to {qid} rejected: {err}{note}"))
    with engine.connect() as conn:
        on_record = papers_on_record(conn, blueprint.id)
    for (code, paper_seed), line in first_line.items():
        if (learner_key(code), paper_seed) in on_record:
            problems.append(Problem(shown, line, 1, f"{code}'s paper {blueprint.id} seed {paper_seed} is already in "
                                                    "the gradebook (imported or scanned before) and is not counted "
                                                    "twice: delete its rows"))
    if problems:
        raise AuthoringError(sorted(problems, key=lambda p: p.line))
    with writer(engine).begin() as conn:
        for (code, paper_seed), (answers, awarded) in by_attempt.items():
            record_attempt(conn, mark_paper(papers[paper_seed], answers, awarded), learner=code, mode=mode,
                           created_by=who)
    return len(by_attempt)


def import_rubric_marks(engine: Engine, path: Path, rubric, *, who: str) -> int:
    """A CSV with a `learner` column and one column per criterion id of the rubric; each cell names the
    level awarded, by its label ("Partly") or its points ("2"). One attempt per row, all or nothing."""
    criteria = {c.id: c for c in rubric.criteria}
    rows = read_rows(path, ("learner", *criteria), ("comment",))
    shown, problems, seen, marked = display_path(path), [], {}, []
    with engine.connect() as conn:
        known = known_learners(conn)
    for line, row in rows:
        code = row["learner"]
        if learner_key(code) not in known:
            problems.append(Problem(shown, line, 1, f"unknown learner {code!r} (add them to a cohort first)"))
            continue
        code = known[learner_key(code)]
        if code in seen:
            problems.append(Problem(shown, line, 1, f"learner {code!r} is marked twice (first on line {seen[code]})"))
            continue
        seen[code] = line
        marks = {}
        for cid, criterion in criteria.items():
            level = criterion.level(row[cid])
            if level is None:
                allowed = ", ".join(f"{lv.label} ({lv.points:g})" for lv in criterion.levels)
                problems.append(Problem(shown, line, 1, f"{cid}: {row[cid]!r} is not a level of this criterion "
                                                        f"(write one of: {allowed})"))
            marks[cid] = level
        marked.append((code, marks))
    if problems:
        raise AuthoringError(problems)
    with writer(engine).begin() as conn:
        for code, marks in marked:
            record_rubric(conn, rubric, marks, learner=code, created_by=who)
    return len(marked)


def store_scanned(engine: Engine, graded: list, quiz: str, *, who: str) -> tuple[list, list]:
    """Write the attempts of graded scanned sheets (`paper.collect.ScannedSheet`) in one transaction.

    A sheet already stored by an earlier scan or by the import of a review list (same learner, quiz and
    seed) is not stored again, so a stack can be scanned twice, or rescanned with a few sheets added,
    without counting anyone twice.
    Returns (stored, already stored).
    """
    stored, already = [], []
    with writer(engine).begin() as conn:
        done = papers_on_record(conn, quiz)
        for sheet in graded:
            if (learner_key(sheet.learner), sheet.seed) in done:
                already.append(sheet)
                continue
            record_attempt(conn, sheet.result, learner=sheet.learner, mode="scan", created_by=who)
            done.add((learner_key(sheet.learner), sheet.seed))
            stored.append(sheet)
    return stored, already


def papers_on_record(conn, quiz: str) -> set[tuple[str, int]]:
    """(learner key, seed) of every paper of this quiz already imported or scanned: a paper counts once,
    however often its sheet is scanned or its rows imported."""
    return {(learner_key(code), seed) for code, seed in conn.execute(
        select(learners.c.code, attempts.c.seed)
        .join(attempts, attempts.c.learner_id == learners.c.id)
        .join(quiz_sessions, quiz_sessions.c.id == attempts.c.session_id)
        .where(attempts.c.blueprint == quiz, quiz_sessions.c.mode.in_(("scan", "import"))))}
