"""(k) The classroom app in several worker processes on PostgreSQL: 1,000 officers, one paced session of 20 questions.

The app runs as `thbcourse serve --workers N` does (uvicorn's process manager, the worker factory of
thbcourse.web.workers) on loopback, on a fresh PostgreSQL database made for the run (admin URL from
THBCOURSE_BENCH_PG, else THBCOURSE_TEST_PG; without either the benchmark says so and is skipped). The
officers are the ones of benchmarks/web.py (httpx, one client each, in CLIENTS processes, polling
like the page): for each question the trainer opens it, every officer loads the question page, then
sends an answer, then fetches a static file (the style sheet), one burst each, at most IN_FLIGHT
requests in flight per client process. Afterwards every answer is looked up in the gradebook.

Reported for 4 workers and for 1 (same run, same machine): answers lost or doubled (must be 0),
answer latency p50/p99 beside the static file's p50/p99 in the same bursts (target: p99 ratio at most
3 with 4 workers), and answers stored per second during the answer bursts. Requests go only to
127.0.0.1; the run is bounded (a barrier timeout of 600 s per step).
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from benchmarks import web as one
from benchmarks.generate import write_banks
from thbcourse.store.db import open_gradebook
from thbcourse.store.tables import attempts, responses

OFFICERS, QUESTIONS, CLIENTS, WORKERS = 1000, 20, 8, (4, 1)
PASSWORD = one.PASSWORD


def _serve(db: str, quizzes: str, port: int, workers: int) -> None:  # the server process
    import uvicorn

    from thbcourse.web.auth import hash_password

    os.environ["THBCOURSE_WEB_WORKER"] = json.dumps({
        "db": db, "quizzes": [quizzes], "book_root": None, "join_base": None, "allowed_hosts": None,
        "secure": False, "password": hash_password(PASSWORD),
        "limits": {"join_limit": [10 * OFFICERS, 60.0], "study_limit": [10, 3600.0]}})
    uvicorn.run("thbcourse.web.workers:worker_app", factory=True, workers=workers, host="127.0.0.1", port=port,
                log_level="warning", timeout_keep_alive=30)


def _class(base: str, db: str, quizzes: str) -> dict:
    trainer, token, sid, clients, barrier, quiet, results = one.start_class(
        base, db, quizzes, officers=OFFICERS, clients=CLIENTS, timeout=120)
    wall = {s: 0.0 for s in one.STEPS}
    barrier.wait()  # everyone has joined
    for _ in range(QUESTIONS):
        one._act(trainer, sid, "next", token)
        time.sleep(0.5)  # every worker's cache follows within POLL_SECONDS
        for burst in one.STEPS:
            if burst != "page":
                quiet.set()
                time.sleep(0.3)
            start = time.perf_counter()
            barrier.wait()
            barrier.wait()
            wall[burst] += time.perf_counter() - start
            quiet.clear()
        one._act(trainer, sid, "close", token)
        one._act(trainer, sid, "reveal", token)
    parts = [results.get(timeout=600) for _ in clients]
    for c in clients:
        c.join(60)
    one._act(trainer, sid, "finish", token)
    trainer.close()
    return {"figures": {k: [v for p in parts for v in p["figures"][k]] for k in parts[0]["figures"]},
            "errors": [e for p in parts for e in p["errors"]],
            "expected": {k: v for p in parts for k, v in p["expected"].items()}, "wall": wall, "sid": sid}


def _run(admin: str, quizzes: str, workers: int) -> dict:
    name = f"thb_bench_{uuid.uuid4().hex[:10]}"
    root = create_engine(admin, isolation_level="AUTOCOMMIT")
    with root.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db = admin.rsplit("/", 1)[0] + f"/{name}"
    try:
        open_gradebook(db).dispose()
        port = one._free_port()
        server = multiprocessing.get_context("spawn").Process(target=_serve, args=(db, quizzes, port, workers))
        server.start()
        try:
            base = one.wait_for_server(port, tries=300)
            run = _class(base, db, quizzes)
            stored = one._stored(db, run["sid"])
            with open_gradebook(db).connect() as conn:
                rows = conn.execute(select(func.count()).select_from(responses).join(
                    attempts, attempts.c.id == responses.c.attempt_id).where(
                    attempts.c.session_id == run["sid"], responses.c.answer != "null")).scalar()
        finally:
            server.terminate()
            server.join(20)
    finally:
        with root.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        root.dispose()
    expected = run["expected"]
    run["lost"] = sum(stored.get(key) != value for key, value in expected.items())
    run["doubled"] = rows - len({k for k in expected if k in stored})
    return run


def bench_web_workers() -> bool:
    admin = os.environ.get("THBCOURSE_BENCH_PG") or os.environ.get("THBCOURSE_TEST_PG")
    if not admin:
        print("(k) classroom app, several workers: skipped (set THBCOURSE_BENCH_PG or THBCOURSE_TEST_PG to a "
              "PostgreSQL admin URL)")
        return True
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        quizzes = Path(tmp) / "quizzes"
        (quizzes / "blueprints").mkdir(parents=True)
        write_banks(quizzes, 140)
        (quizzes / "blueprints" / "bench-web.yml").write_text(one.BLUEPRINT, encoding="utf-8")
        for workers in WORKERS:
            start = time.perf_counter()
            run = _run(admin, str(quizzes), workers)
            figures, wall = run["figures"], run["wall"]
            a50, a99 = one._ms(figures["answer"], 50), one._ms(figures["answer"], 99)
            s50, s99 = one._ms(figures["static"], 50), one._ms(figures["static"], 99)
            good = run["lost"] == 0 and run["doubled"] == 0 and not run["errors"]
            target = a99 / s99 <= 3 if workers > 1 else True
            ok = ok and good and target
            print(f"(k) classroom app, {workers} worker{'s' if workers > 1 else ''} on PostgreSQL: {OFFICERS} officers x "
                  f"{QUESTIONS} questions = {len(run['expected']):,} answers ({time.perf_counter() - start:.0f} s): "
                  f"lost {run['lost']}, doubled {run['doubled']} (target 0) {'OK' if good else 'MISSED'}")
            print(f"    answer p50 {a50:.0f} ms, p99 {a99:.0f} ms; static file p50 {s50:.0f} ms, p99 {s99:.0f} ms; "
                  f"p99 ratio {a99 / s99:.2f} (target at most 3{', with 4 workers' if workers == 1 else ''}) "
                  f"{'OK' if target else 'MISSED'}; p50 ratio {a50 / s50:.2f}; "
                  f"{len(figures['answer']) / wall['answer']:,.0f} answers stored/s during the bursts "
                  f"({OFFICERS} answers per question in {1000 * wall['answer'] / QUESTIONS:.0f} ms)")
            if run["errors"]:
                print(f"    {len(run['errors'])} request(s) refused or failed, e.g. {run['errors'][0]}")
    return ok


if __name__ == "__main__":
    sys.exit(0 if bench_web_workers() else 1)
