"""Synthetic banks and responses for the benchmarks (content is filler; structure is realistic)."""
from __future__ import annotations

import json
import random
from pathlib import Path

import yaml

TYPES = ("single", "multiple", "true_false", "matching", "ordering", "short_answer", "numeric")


def question(i: int, rng: random.Random) -> dict:
    kind = TYPES[i % len(TYPES)]
    q = {"id": f"gen-{i:05d}", "type": kind, "difficulty": rng.choice([1, 2, 3]),
         "objective": f"gen.objective-{i % 40}", "source": f"book/gen-{i % 8}.md#section-{i % 5}",
         "stem": f"Question {i}: {_words(rng, 9)}?",
         "feedback": "The explanation a learner sees after answering, one or two sentences long."}
    if kind in ("single", "multiple"):
        keys = {0} if kind == "single" else {0, 2}
        q["options"] = [{"text": f"Option {n} of question {i}", "correct": n in keys,
                         "feedback": f"Why option {n} is {'right' if n in keys else 'wrong'}."} for n in range(4)]
    elif kind == "true_false":
        q.update(answer=bool(i % 2), feedback_true="Because.", feedback_false="Because not.")
    elif kind == "matching":
        q["pairs"] = [{"left": f"Term {n}", "right": f"Definition {n} of {i}"} for n in range(4)]
        q["distractors"] = [f"Unused definition of {i}"]
    elif kind == "ordering":
        q["items"] = [f"Stage {n}" for n in range(5)]
    elif kind == "short_answer":
        q.update(answers=[f"term{i}", f"term {i}"], patterns=[rf"term[- ]?{i}"])
    else:
        q.update(value=float(i % 100), tolerance=0.5)
    return q


def _words(rng: random.Random, n: int) -> str:
    """Made-up words, so that no two stems are near-duplicates (which validation would refuse)."""
    return " ".join("".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 4)))
                    for _ in range(n))


def write_banks(directory: Path, total: int, per_file: int = 500, seed: int = 0) -> list[Path]:
    rng = random.Random(seed)
    paths = []
    for f in range(0, total, per_file):
        bank = {"id": f"gen-bank-{f // per_file}", "title": "Generated bank", "topic": "chain",
                "questions": [question(i, rng) for i in range(f, min(total, f + per_file))]}
        path = directory / f"gen-{f // per_file:03d}.yml"
        path.write_text(yaml.safe_dump(bank, sort_keys=False, allow_unicode=True), encoding="utf-8")
        paths.append(path)
    return paths


def response(q, rng: random.Random):
    """A random response of the right shape for question q (canonical form)."""
    kind = q.type
    if kind == "single":
        return rng.randrange(len(q.options))
    if kind == "multiple":
        return frozenset(i for i in range(len(q.options)) if rng.random() < 0.5)
    if kind == "true_false":
        return rng.random() < 0.5
    if kind == "matching":
        n_right = len(q.pairs) + len(q.distractors)
        return {i: rng.randrange(n_right) for i in range(len(q.pairs))}
    if kind == "ordering":
        order = list(range(len(q.items)))
        rng.shuffle(order)
        return order
    if kind == "short_answer":
        return rng.choice([q.answers[0], "wrong answer", q.answers[-1].upper()])
    return q.value + rng.choice([0.0, 0.4, 3.0])


# --- a gradebook shaped like the course's own -----------------------------------------------------

QUIZZES = Path(__file__).resolve().parents[1] / "quizzes"
PAPERS_PER_QUIZ = 40  # distinct papers drawn per blueprint: learners see different questions
CANDIDATES = 6  # graded responses prepared per paper item; a learner picks among them
GROUP = 25  # officers who sit a quiz together in one classroom session
STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy keeps DateTime in SQLite


def course_quizzes(rng: random.Random) -> list[tuple]:
    """(quiz id, pass mark, most attempts, papers) for every blueprint and rubric of the real course.

    A paper is (max score, items); an item is (question id, topic, objective, points, answers) with
    answers a few (JSON text, score) pairs graded by the engine, the best first.
    """
    from thbcourse.bank.course import load_course
    from thbcourse.engine.draw import draw
    from thbcourse.engine.grade import grader
    from thbcourse.store.codec import dump_response

    course = load_course([QUIZZES], book_root=None)
    quizzes = []
    for blueprint in sorted(course.blueprints.values(), key=lambda b: b.id):
        papers = []
        for paper_seed in range(PAPERS_PER_QUIZ):
            paper = draw(course, blueprint, paper_seed)
            items = []
            for item in paper.items:
                q, grade = item.question, grader(item.question, item.points, blueprint.grading)
                answers = {dump_response(r): grade(r).score for r in (response(q, rng) for _ in range(CANDIDATES))}
                items.append((q.id, q.topic.value, q.objective, item.points,
                              sorted(answers.items(), key=lambda a: -a[1])))
            papers.append((paper.max_score, items))
        most = {"self-check": 4, "practice": 3, "exam": 2}.get(blueprint.purpose, 1)
        quizzes.append((blueprint.id, blueprint.pass_mark, most, papers))
    for rubric in sorted(course.rubrics.values(), key=lambda r: r.id):
        criteria = [(f"{rubric.id}:{c.id}", rubric.topic.value, c.objective, c.max_points,
                     [(json.dumps({"level": level.label}), level.points) for level in reversed(c.levels)])
                    for c in rubric.criteria]
        quizzes.append((rubric.id, rubric.pass_mark, 1, [(rubric.max_points, criteria)]))
    return quizzes


def write_gradebook(path: Path, learners: int, seed: int = 7) -> dict:
    """A SQLite gradebook of `learners` officers who took the real course's quizzes and its rubric.

    Papers are drawn from the real banks by the engine and every response is graded by it, so the
    file holds the course's topics, objectives, question types and partial credit. Officers sit
    quizzes in classroom sessions of 25, whose answers arrive question by question (so one attempt's
    responses are spread through the table, as the classroom app stores them). Each officer has an
    ability; most quizzes are taken once, self-checks up to four times, practice three, the exam
    twice (so first, best, last and all pick different attempts); some officers skip a quiz, a few
    answers are blank, a few attempts are still open, and some names start like a spreadsheet
    formula. Returns counts for the report.
    """
    import sqlite3
    from datetime import datetime, timedelta

    from thbcourse.store.db import open_gradebook

    open_gradebook(str(path)).dispose()  # the real schema, by the real migrations
    rng = random.Random(seed)
    quizzes = course_quizzes(rng)
    start = datetime(2026, 9, 1, 8, 0)
    ability = [rng.uniform(0.3, 0.95) for _ in range(learners + 1)]
    counts = {"learners": learners, "attempts": 0, "open": 0, "responses": 0}
    con = sqlite3.connect(path)
    with con:
        con.executemany("INSERT INTO cohorts (id, name, created_at) VALUES (?, ?, ?)",
                        [(c + 1, f"Cohort {2026 + c // 4}-{c % 4 + 1}", start.strftime(STAMP)) for c in range(8)])
        con.executemany("INSERT INTO learners (id, code, name, email, created_at) VALUES (?, ?, ?, ?, ?)",
                        [(n, f"ofc-{n:06d}", f"Officer {n}" if n % 97 else f'=HYPERLINK("http://x.example/{n}")',
                          f"officer{n}@academy.example" if n % 3 else None, start.strftime(STAMP))
                         for n in range(1, learners + 1)])
        con.executemany("INSERT INTO memberships (cohort_id, learner_id) VALUES (?, ?)",
                        [(n % 8 + 1, n) for n in range(1, learners + 1)])
        attempt_rows, response_rows, attempt_id = [], [], 0
        for first in range(1, learners + 1, GROUP):
            group = list(range(first, min(learners, first + GROUP - 1) + 1))
            clock = start + timedelta(days=rng.randrange(60))
            for quiz, pass_mark, most, papers in quizzes:
                takers = [n for n in group if rng.random() < 0.95]  # not every officer takes every quiz
                for take in range(most):
                    clock += timedelta(hours=rng.randrange(2, 72))
                    if take:
                        takers = [n for n in takers if rng.random() < 0.45]
                    sitting = []
                    for n in takers:
                        attempt_id += 1
                        max_score, items = rng.choice(papers)
                        sitting.append((attempt_id, n, max_score, items, min(0.98, ability[n] + 0.08 * take), []))
                    for k in range(max((len(s[3]) for s in sitting), default=0)):  # question by question
                        for aid, n, max_score, items, skill, scores in sitting:
                            if k < len(items):
                                qid, topic, objective, points, answers = items[k]
                                if rng.random() < 0.03:
                                    answer, score = "null", 0.0
                                else:
                                    answer, score = answers[0] if rng.random() < skill else rng.choice(answers)
                                scores.append(score)
                                response_rows.append((aid, qid, topic, objective, answer, score, points,
                                                      (clock + timedelta(seconds=40 * k + n % 30)).strftime(STAMP),
                                                      round(rng.uniform(5, 90), 1)))
                    for aid, n, max_score, items, skill, scores in sitting:
                        counts["responses"] += len(scores)
                        finished = (clock + timedelta(seconds=40 * len(items) + rng.randrange(600))).strftime(STAMP)
                        total = sum(scores)
                        if rng.random() < 0.01:  # still answering: never exported
                            counts["open"] += 1
                            attempt_rows.append((aid, n, quiz, aid, "open", finished, None, None, max_score,
                                                 pass_mark, None, None))
                            continue
                        percent = 100.0 * total / max_score
                        attempt_rows.append((aid, n, quiz, aid, "complete", finished, finished, total, max_score,
                                             pass_mark, percent, percent >= pass_mark - 1e-9))
            if len(response_rows) > 100_000:
                _flush(con, attempt_rows, response_rows)
        _flush(con, attempt_rows, response_rows)
    counts["attempts"] = attempt_id
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return counts


def _flush(con, attempt_rows, response_rows):
    con.executemany("INSERT INTO attempts (id, learner_id, blueprint, seed, status, started_at, finished_at, score, "
                    "max_score, pass_mark, percent, passed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", attempt_rows)
    con.executemany("INSERT INTO responses (attempt_id, question_id, topic, objective, answer, score, max_score, "
                    "answered_at, seconds) VALUES (?,?,?,?,?,?,?,?,?)", response_rows)
    attempt_rows.clear()
    response_rows.clear()
