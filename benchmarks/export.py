"""(c) Score export of a large gradebook against the sqlite3 shell running one aggregate query.

2,000 learners x 50 quizzes x 20 questions = 2,000,000 responses in one SQLite file. Target: the
export (the real command, process start included) takes at most 3x the shell's query written as CSV.
"""
from __future__ import annotations

import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from thbcourse.store.db import open_gradebook

LEARNERS, QUIZZES, QUESTIONS = 2000, 50, 20
BASELINE_SQL = """
SELECT l.code, a.blueprint, SUM(r.score), SUM(r.max_score), 100.0 * SUM(r.score) / SUM(r.max_score), a.finished_at
FROM responses r JOIN attempts a ON a.id = r.attempt_id JOIN learners l ON l.id = a.learner_id
GROUP BY a.id ORDER BY l.code, a.blueprint;
"""


def generate(path: Path) -> None:
    open_gradebook(str(path)).dispose()  # the real schema, by the real migrations
    rng = random.Random(7)
    con = sqlite3.connect(path)
    stamp = "2026-11-28 10:00:00.000000"
    with con:
        con.executemany("INSERT INTO learners (id, code, created_at) VALUES (?, ?, ?)",
                        [(n + 1, f"ofc-{n:05d}", stamp) for n in range(LEARNERS)])
        attempt_rows, response_rows, attempt_id = [], [], 0
        for learner in range(1, LEARNERS + 1):
            for quiz in range(QUIZZES):
                attempt_id += 1
                scores = [float(rng.random() < 0.7) for _ in range(QUESTIONS)]
                total = sum(scores)
                attempt_rows.append((attempt_id, learner, f"quiz-{quiz:02d}", attempt_id, "complete", stamp, stamp,
                                     total, float(QUESTIONS), 70.0, 100.0 * total / QUESTIONS,
                                     100.0 * total / QUESTIONS >= 70))
                response_rows.extend((attempt_id, f"q-{quiz:02d}-{k:02d}", "chain", "chain.stages", "0", s, 1.0, stamp)
                                     for k, s in enumerate(scores))
            if len(response_rows) > 200_000:
                _flush(con, attempt_rows, response_rows)
        _flush(con, attempt_rows, response_rows)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def _flush(con, attempt_rows, response_rows):
    con.executemany("INSERT INTO attempts (id, learner_id, blueprint, seed, status, started_at, finished_at, score, "
                    "max_score, pass_mark, percent, passed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", attempt_rows)
    con.executemany("INSERT INTO responses (attempt_id, question_id, topic, objective, answer, score, max_score, "
                    "answered_at) VALUES (?,?,?,?,?,?,?,?)", response_rows)
    attempt_rows.clear()
    response_rows.clear()


def _timed(command: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, **kwargs)
    return time.perf_counter() - start


def bench_export() -> bool:
    shell = shutil.which("sqlite3")
    if shell is None:
        print("(c) score export: skipped, the sqlite3 shell is missing (Debian package sqlite3)")
        return False
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "gradebook.sqlite"
        start = time.perf_counter()
        generate(db)
        print(f"    generated {LEARNERS * QUIZZES * QUESTIONS:,} responses in {time.perf_counter() - start:.0f} s")
        export = [sys.executable, "-m", "thbcourse", "scores", "export", str(Path(tmp) / "scores.csv"),
                  "--db", str(db), "--by", "bench"]  # the defaults: best attempt per learner x quiz
        ours = min(_timed(export, stdout=subprocess.DEVNULL) for _ in range(3))
        with (Path(tmp) / "baseline.csv").open("w") as out:
            base = min(_timed([shell, "-csv", str(db), BASELINE_SQL], stdout=out) for _ in range(3))
        rows = sum(1 for _ in (Path(tmp) / "scores.csv").open(encoding="utf-8-sig")) - 1
    ratio = ours / base
    print(f"(c) export {rows:,} rows (learner x quiz) from {LEARNERS * QUIZZES * QUESTIONS:,} responses: "
          f"{ours:.2f} s; sqlite3 shell aggregate query as CSV {base:.2f} s; ratio {ratio:.2f}x "
          f"(target <= 3.00x) {'OK' if ratio <= 3 else 'MISSED'}")
    return ratio <= 3
