"""Several processes at once lose nothing; a process killed mid-import leaves no half-written attempt."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from sqlalchemy import func, select, text

from thbcourse.store.db import open_gradebook, writer
from thbcourse.store.gradebook import LearnerRow, add_learners, create_cohort
from thbcourse.store.tables import attempts, responses

from conftest import DATA, REPO
from store_fixtures import db_url  # noqa: F401  (fixture)

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from thbcourse.bank.course import load_course
    from thbcourse.engine.attempt import mark_paper
    from thbcourse.engine.draw import draw
    from thbcourse.store.db import open_gradebook, writer
    from thbcourse.store.gradebook import record_attempt

    db, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    course = load_course([Path(sys.argv[4])], book_root=None)
    engine = open_gradebook(db)  # every process opens a brand-new gradebook at once: migrations race too
    bp = course.blueprint("sample-quiz")
    for n in range(count):
        paper = draw(course, bp, worker * 1000 + n)
        answers = {i.question.id: True for i in paper.items if i.question.type == "true_false"}
        with writer(engine).begin() as conn:
            record_attempt(conn, mark_paper(paper, answers), learner=f"ofc-{worker}", mode="terminal",
                           created_by="test", create_learner=True)
""")


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO / "src")}


def test_eight_processes_record_at_once(db_url):
    workers, each = 8, 25
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(w), str(each), str(DATA / "quizzes")],
                              stderr=subprocess.PIPE, text=True, env=_env()) for w in range(workers)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * workers, errors
    assert not any("locked" in e for e in errors)
    with open_gradebook(db_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(attempts)).scalar() == workers * each
        assert conn.execute(select(func.count()).select_from(responses)).scalar() == workers * each * 5
        assert conn.execute(select(func.count()).select_from(attempts).where(attempts.c.status != "complete")).scalar() == 0


def _writing(engine, db_url: str) -> bool:
    """Is another process inside its import transaction right now?"""
    if engine.dialect.name == "sqlite":  # the importer holds the write lock for its whole transaction
        probe = sqlite3.connect(db_url, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    with engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'responses' AND l.mode = 'RowExclusiveLock' AND l.pid <> pg_backend_pid()")).scalar())


def test_killed_import_leaves_nothing_half_written(db_url, tmp_path):
    learners_n = 1500
    engine = open_gradebook(db_url)
    with writer(engine).begin() as conn:
        create_cohort(conn, "A")
        add_learners(conn, "A", [LearnerRow(f"ofc-{n}") for n in range(learners_n)])
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    answers = tmp_path / "answers.csv"
    # s-numeric is on every paper of the sample quiz (the only hard question), so every row is valid.
    answers.write_text("learner,question,answer,seed\n" + "".join(
        f"ofc-{n},s-numeric,80,{n}\n" for n in range(learners_n)))
    log = (tmp_path / "import.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "thbcourse", "results", "import", str(answers),
                             "--quiz", "sample-quiz", "--db", db_url], cwd=DATA, env=_env(), stdout=log, stderr=log)
    deadline = time.monotonic() + 120
    writing = False
    while proc.poll() is None and not writing and time.monotonic() < deadline:
        writing = _writing(engine, db_url)
        time.sleep(0.005)
    killed_mid_way = writing and proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log.close()
    with open_gradebook(db_url).connect() as conn:
        count = conn.execute(select(func.count()).select_from(attempts)).scalar()
        open_ = conn.execute(select(func.count()).select_from(attempts).where(attempts.c.status != "complete")).scalar()
        stored = conn.execute(select(func.count()).select_from(responses)).scalar()
    assert killed_mid_way, "not killed inside the import transaction: " + (tmp_path / "import.log").read_text()
    assert count == 0 and stored == 0 and open_ == 0
