"""(j) The learning-gain report of a cohort against the sqlite3 shell computing the same percentages.

The gradebook: one cohort of LEARNERS officers, each with a pre-test and a post-test attempt of
QUESTIONS questions over the course's objectives (plus a second post-test attempt for one in ten, so
the attempt policy has work to do), written straight into a SQLite file made by the real migrations.

Baseline: the sqlite3 shell runs one SQL statement that picks each learner's first pre-test and
first post-test attempt (the report's default policy) and prints the per-learner pre and post
percents and the per-learner x objective percents of both tests: the figures the report is
computed from. Ours: `gain_report` in this process, which does that and everything after it
(per-objective and per-topic pairs, the most-missed questions, the comparison with other cohorts,
the statistics and 2,000 bootstrap resamples), without writing files. Its per-learner percents are
compared with the shell's. Times are CPU seconds, best of REPEAT. Target: at most 3x the shell. The
whole command (`thbcourse gain`, process start, matplotlib plots, HTML, CSV) is timed beside it for
information, and the same report on PostgreSQL when THBCOURSE_TEST_PG is set.
"""
from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from benchmarks.export import run, sqlite3_shell
from benchmarks.timing import best_of

LEARNERS, QUESTIONS, REPEAT, TARGET = 2_000, 30, 3, 3.0
OBJECTIVES = [f"{topic}.objective-{k}" for topic in ("legal", "trends", "chain", "fraud", "opps", "challenges")
              for k in range(5)][:29]
STAMP = "%Y-%m-%d %H:%M:%S.%f"
COHORT = "Cohort 2026-A"

BASELINE = """
WITH picked AS MATERIALIZED (
  SELECT id, learner_id, blueprint, percent FROM (
    SELECT a.id, a.learner_id, a.blueprint, a.percent,
           row_number() OVER (PARTITION BY a.learner_id, a.blueprint ORDER BY a.finished_at, a.id) AS rank
    FROM attempts a
    WHERE a.status = 'complete' AND a.blueprint IN ('pre-test', 'post-test')
      AND EXISTS (SELECT 1 FROM memberships m JOIN cohorts c ON c.id = m.cohort_id
                  WHERE m.learner_id = a.learner_id AND c.name = '{cohort}'))
  WHERE rank = 1)
SELECT l.code, '', max(CASE WHEN p.blueprint = 'pre-test' THEN p.percent END),
       max(CASE WHEN p.blueprint = 'post-test' THEN p.percent END)
FROM picked p JOIN learners l ON l.id = p.learner_id GROUP BY l.code
UNION ALL
SELECT l.code, r.objective,
       100.0 * sum(CASE WHEN p.blueprint = 'pre-test' THEN r.score END)
             / sum(CASE WHEN p.blueprint = 'pre-test' THEN r.max_score END),
       100.0 * sum(CASE WHEN p.blueprint = 'post-test' THEN r.score END)
             / sum(CASE WHEN p.blueprint = 'post-test' THEN r.max_score END)
FROM picked p JOIN responses r ON r.attempt_id = p.id JOIN learners l ON l.id = p.learner_id
GROUP BY l.code, r.objective
ORDER BY 1, 2;
"""


def write_cohort(path: Path, learners: int = LEARNERS, seed: int = 3) -> int:
    from thbcourse.store.db import open_gradebook

    open_gradebook(str(path)).dispose()
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, 8, 0)
    con = sqlite3.connect(path)
    attempt_rows, response_rows, aid = [], [], 0
    with con:
        con.execute("INSERT INTO cohorts (id, name, created_at) VALUES (1, ?, ?)", (COHORT, start.strftime(STAMP)))
        con.executemany("INSERT INTO learners (id, code, created_at) VALUES (?, ?, ?)",
                        [(n, f"ofc-{n:06d}", start.strftime(STAMP)) for n in range(1, learners + 1)])
        con.executemany("INSERT INTO memberships (cohort_id, learner_id) VALUES (1, ?)",
                        [(n,) for n in range(1, learners + 1)])
        for n in range(1, learners + 1):
            chance = rng.uniform(0.2, 0.6)
            sittings = [("pre-test", 0.0, 0), ("post-test", 0.2, 1)] + ([("post-test", 0.25, 2)] if n % 10 == 0 else [])
            for blueprint, gain, day in sittings:
                aid += 1
                when = (start + timedelta(days=day, seconds=n)).strftime(STAMP)
                total = 0.0
                for k in range(QUESTIONS):
                    score = float(rng.random() < chance + gain)
                    total += score
                    response_rows.append((aid, f"{blueprint}-q{(k + n) % 60}", OBJECTIVES[k % 29].split(".")[0],
                                          OBJECTIVES[k % 29], "null", score, 1.0, when))
                percent = 100.0 * total / QUESTIONS
                attempt_rows.append((aid, n, blueprint, n, "complete", when, when, total, float(QUESTIONS), 70.0,
                                     percent, percent >= 70))
        con.executemany("INSERT INTO attempts (id, learner_id, blueprint, seed, status, started_at, finished_at, "
                        "score, max_score, pass_mark, percent, passed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", attempt_rows)
        con.executemany("INSERT INTO responses (attempt_id, question_id, topic, objective, answer, score, max_score, "
                        "answered_at) VALUES (?,?,?,?,?,?,?,?)", response_rows)
    con.execute("ANALYZE")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return len(response_rows)


def _ours(engine) -> tuple[float, object]:
    from thbcourse.analysis.gain import gain_report

    return best_of(lambda: gain_report(engine, None, COHORT, pre="pre-test", post="post-test"), REPEAT)


def _same(report, shell_file: Path) -> bool:
    expected = {}
    for line in shell_file.read_text().splitlines():
        code, objective, pre, post = line.split("|")
        if not objective:
            expected[code] = (round(float(pre), 6), round(float(post), 6))
    ours = {x.code: (round(x.pre, 6), round(x.post, 6)) for x in report.learners}
    if ours != expected:
        print(f"    NOT the same per-learner percents ({len(ours)} vs {len(expected)} learners)")
    return ours == expected


def _postgres_copy(sqlite_path: Path, url: str):
    from sqlalchemy import insert, text

    from thbcourse.store.db import open_gradebook
    from thbcourse.store.tables import attempts, cohorts, learners, memberships, responses

    engine = open_gradebook(url)
    con = sqlite3.connect(sqlite_path)
    with engine.begin() as conn:
        for table in (cohorts, learners, memberships, attempts, responses):
            columns = [c.name for c in table.columns]
            rows = con.execute(f"SELECT {', '.join(columns)} FROM {table.name}").fetchall()
            for c, column in enumerate(table.columns):
                if column.type.python_type is datetime:
                    rows = [r[:c] + (datetime.strptime(r[c], STAMP) if r[c] else None,) + r[c + 1:] for r in rows]
                elif column.type.python_type is bool:
                    rows = [r[:c] + (None if r[c] is None else bool(r[c]),) + r[c + 1:] for r in rows]
            for chunk in range(0, len(rows), 20_000):
                conn.execute(insert(table), [dict(zip(columns, r)) for r in rows[chunk:chunk + 20_000]])
        for table in ("cohorts", "learners", "attempts", "responses"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    con.close()
    return engine


def bench_gain() -> bool:
    shell_path = sqlite3_shell("(j) gain report")
    if shell_path is None:
        return False
    from thbcourse.store.db import open_gradebook

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "gradebook.sqlite"
        responses = write_cohort(db)
        shell_file = Path(tmp) / "baseline.txt"
        base = float("inf")
        for _ in range(REPEAT):
            with shell_file.open("w") as out:
                base = min(base, run([shell_path, "-list", str(db), BASELINE.format(cohort=COHORT)], stdout=out)[0])
        engine = open_gradebook(str(db))
        ours, report = _ours(engine)
        engine.dispose()
        ok &= _same(report, shell_file)
        ratio = ours / base
        ok &= ratio <= TARGET
        command = [sys.executable, "-m", "thbcourse", "gain", "--cohort", COHORT, "--pre", "pre-test", "--post",
                   "post-test", "--db", str(db), "--out", str(Path(tmp) / "out"), "--by", "bench"]
        whole = min(run(command, stdout=subprocess.DEVNULL, cwd=Path(__file__).parent.parent)[0] for _ in range(2))
        line = (f"(j) gain report, {LEARNERS:,} learners x pre/post x {QUESTIONS} questions ({responses:,} responses): "
                f"sqlite3 shell {base:.3f} s; ours on SQLite {ours:.3f} s = {ratio:.2f}x (target <= {TARGET:.2f}x) "
                f"{'OK' if ratio <= TARGET else 'MISSED'}")
        pg = os.environ.get("THBCOURSE_TEST_PG")
        if pg:
            from sqlalchemy import create_engine, text

            name = f"thb_bench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                pg_engine = _postgres_copy(db, pg.rsplit("/", 1)[0] + f"/{name}")
                pg_time, pg_report = _ours(pg_engine)
                pg_engine.dispose()
                ok &= _same(pg_report, shell_file)
                line += f"; on PostgreSQL {pg_time:.3f} s = {pg_time / base:.2f}x (client CPU)"
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
        print(line + f"; the whole `thbcourse gain` command with plots, HTML and CSV {whole:.2f} s (for information)")
    return ok


if __name__ == "__main__":
    sys.exit(0 if bench_gain() else 1)
