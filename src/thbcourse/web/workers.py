"""Running the classroom app in several processes (PostgreSQL), and each process's background work.

`thbcourse serve --workers N` starts N uvicorn worker processes on one socket. Nothing one worker
needs is in another's memory: live state, trainer sign-ins, the signing secret and rate limits are in
the gradebook (see live.py and auth.py). Each worker's cache of the live sessions follows the others
by a short poll: every POLL_SECONDS (0.25 s) it reads the `stamp` of the sessions in play (one indexed
query) and reloads those that moved. Chosen over LISTEN/NOTIFY because it needs no connection held
open per worker, works behind a connection pooler (PgBouncer in transaction mode drops LISTEN), and
its latency (at most 0.25 s, added to the 1.5 s the pages poll at) is below what a room notices; the
correctness of answers never depends on it (each answer is checked in the database).

A SQLite gradebook stays one process: SQLite has one writer at a time, and a second process would
only queue behind it. `--workers` above 1 is refused there.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from thbcourse.web.live import POLL_SECONDS

CONFIG_VAR = "THBCOURSE_WEB_WORKER"
EXPIRE_SECONDS = 600  # self-study attempts left idle are totalled this often


def lifespan_for(live):
    """Starlette lifespan: on PostgreSQL, follow the other workers' changes; everywhere, expire idle
    self-study attempts now and then."""

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async def follow():
            ticks = 0
            while True:
                await asyncio.sleep(POLL_SECONDS)
                ticks += 1
                try:
                    if live.postgres:
                        await run_in_threadpool(live.sync)
                    if ticks % int(EXPIRE_SECONDS / POLL_SECONDS) == 0:
                        await run_in_threadpool(live.expire_study)
                except Exception:  # noqa: BLE001  (the database away for a moment: try again next time)
                    pass

        task = asyncio.create_task(follow())
        try:
            yield
        finally:
            task.cancel()

    return lifespan


def serve_workers(engine, workers: int, *, db, quizzes, bind: str, port: int, join_base, allowed_hosts,
                  certfile, keyfile, keep_alive: int, lti_config=None) -> None:
    """Several worker processes on PostgreSQL (uvicorn's process manager); refused on SQLite."""
    if engine.dialect.name == "sqlite":
        if workers > 1:
            raise ValueError("a SQLite gradebook is served by one process: give --db a PostgreSQL URL "
                             "(or THBCOURSE_DB) to run several workers")
        print("SQLite gradebook: one process (several workers need a PostgreSQL gradebook).")
        return
    import uvicorn

    from thbcourse.store.db import resolve_url

    os.environ[CONFIG_VAR] = json.dumps({
        "db": resolve_url(db), "quizzes": [str(p) for p in ([quizzes] if isinstance(quizzes, (str, Path)) else quizzes)],
        "join_base": join_base, "allowed_hosts": list(allowed_hosts), "secure": bool(certfile), "limits": None,
        "lti_config": str(lti_config) if lti_config else None,
        "base": join_base or f"{'https' if certfile else 'http'}://{bind}:{port}"})
    print(f"{workers} workers on PostgreSQL; changes reach every worker within {POLL_SECONDS} s.")
    uvicorn.run("thbcourse.web.workers:worker_app", factory=True, workers=workers, host=bind, port=port,
                log_level="info", server_header=False, proxy_headers=False, timeout_keep_alive=keep_alive,
                ssl_certfile=certfile, ssl_keyfile=keyfile)


def worker_app():
    """The app in one worker process, from the settings `serve_workers` left in the environment."""
    from thbcourse.bank.course import load_course
    from thbcourse.store.db import open_gradebook, resolve_url
    from thbcourse.web.app import create_app
    from thbcourse.web.auth import credentials_path, load_or_create_password

    config = json.loads(os.environ[CONFIG_VAR])
    book_root = config.get("book_root", ".")
    course = load_course([Path(p) for p in config["quizzes"]], book_root=Path(book_root) if book_root else None)
    engine = open_gradebook(config["db"])
    if config.get("password"):
        password = config["password"]
    else:
        password, _ = load_or_create_password(credentials_path(resolve_url(config["db"])))
    extra = {}
    if config.get("limits"):
        extra = {name: tuple(value) for name, value in config["limits"].items()}
    if config.get("lti_config"):  # the parent checked it and made the key pair; each worker loads it
        from thbcourse.web.lti import load_tool

        extra["lti"] = load_tool(config["lti_config"], config["db"], base=config["base"])
    return create_app(course, engine, password=password, join_base=config["join_base"],
                      allowed_hosts=config["allowed_hosts"], secure=config["secure"], **extra)
