"""(d) The classroom app under a class of 300: one paced session, 20 questions, every answer checked afterwards.

uvicorn serves the app on loopback, in a process of its own, with a SQLite gradebook. 300 simulated
officers (httpx, async, one client each so that each has its own cookies) join the session and poll
its state every 1.5 s as the page does. The trainer opens each question; every officer then loads the
question page, fetches the style sheet and sends an answer, all at once, at most 64 requests in
flight. Afterwards every answer is looked up in the gradebook.

Reported: answers lost (must be 0), answers stored per second while the class answers, and p50/p99
latency of an answer submission against a static file (the style sheet) fetched by the same officers
in the same bursts. All officers share one loopback address, so the per-address join limit (made
for a classroom, where each phone has its own) is raised for the run.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import random
import re
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from benchmarks.generate import response, write_banks
from thbcourse.bank.course import load_course
from thbcourse.engine.draw import draw
from thbcourse.store.codec import dump_response
from thbcourse.store.db import open_gradebook
from thbcourse.store.tables import attempts, learners, quiz_sessions, responses
from thbcourse.web.app import KEEP_ALIVE
from thbcourse.web.questions import form_state

OFFICERS, QUESTIONS, IN_FLIGHT, POLL_SECONDS = 300, 20, 64, 1.5
PASSWORD = "benchmark trainer"
BLUEPRINT = """\
id: bench-web
title: Classroom benchmark
purpose: practice
sections: [{title: All, count: %d}]
""" % QUESTIONS


def _serve(db: str, quizzes: str, port: int) -> None:  # runs in the server process
    import uvicorn

    from thbcourse.web import create_app
    from thbcourse.web.auth import hash_password

    course = load_course([Path(quizzes)], book_root=None)
    app = create_app(course, open_gradebook(db), password=hash_password(PASSWORD), join_limit=(10 * OFFICERS, 60.0))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=KEEP_ALIVE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


class Officer:
    def __init__(self, base: str, n: int):
        self.learner = f"bench-{n:03d}"
        self.client = httpx.AsyncClient(base_url=base, timeout=60)
        self.csrf = ""


async def _timed(gate: asyncio.Semaphore, into: list[float] | None, request, errors: list[str]):
    async with gate:
        start = time.perf_counter()
        try:
            r = await request
        except httpx.HTTPError as err:
            errors.append(f"{type(err).__name__}: {err}")
            return None
        if into is not None:
            into.append(time.perf_counter() - start)
        return r


async def _class(base: str, db: str, course) -> dict:
    gate = asyncio.Semaphore(IN_FLIGHT)
    figures: dict[str, list[float]] = {"answer": [], "static": [], "page": [], "join": []}
    errors: list[str] = []
    trainer = httpx.AsyncClient(base_url=base, timeout=60)
    token = _csrf((await trainer.get("/join")).text)
    await trainer.post("/trainer/sign-in", data={"csrf": token, "password": PASSWORD})
    r = await trainer.post("/trainer/sessions", data={"csrf": token, "blueprint": "bench-web", "mode": "paced"})
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    code = re.search(r"Code <strong>(\w+)</strong>", (await trainer.get(r.headers["location"])).text).group(1)
    with open_gradebook(db).connect() as conn:
        seed = conn.execute(select(quiz_sessions.c.seed).where(quiz_sessions.c.id == sid)).scalar()
    paper = draw(course, course.blueprint("bench-web"), seed)

    officers = [Officer(base, n) for n in range(OFFICERS)]

    async def join(o: Officer):
        page = await _timed(gate, None, o.client.get("/join"), errors)
        if page is None:
            return
        o.csrf = _csrf(page.text)
        r = await _timed(gate, figures["join"], o.client.post("/join", data={
            "csrf": o.csrf, "code": code, "learner": o.learner}), errors)
        if r is not None and r.status_code != 303:
            errors.append(f"join {o.learner}: {r.status_code}")

    await asyncio.gather(*(join(o) for o in officers))

    done = asyncio.Event()

    async def poll(o: Officer):  # what each officer's page does in the background
        await asyncio.sleep(random.random() * POLL_SECONDS)
        while not done.is_set():
            await _timed(gate, None, o.client.get("/play/state"), errors)
            await asyncio.sleep(POLL_SECONDS)

    pollers = [asyncio.create_task(poll(o)) for o in officers]
    rng = random.Random(11)
    expected: dict[tuple[str, str], str] = {}
    answering = 0.0

    async def answer(o: Officer, item, fields):
        await _timed(gate, figures["page"], o.client.get("/play"), errors)
        await _timed(gate, figures["static"], o.client.get("/static/app.css"), errors)
        r = await _timed(gate, figures["answer"], o.client.post("/play/answer", data={
            "csrf": o.csrf, "q": item.number, **fields}), errors)
        if r is not None and r.status_code != 303:
            errors.append(f"answer {o.learner} q{item.number}: {r.status_code}")

    for item in paper.items:
        await trainer.post(f"/trainer/sessions/{sid}/next", data={"csrf": token})
        work = []
        for o in officers:
            chosen = response(item.question, rng)
            expected[(o.learner, item.question.id)] = dump_response(chosen)
            fields = {k: sorted(v) if isinstance(v, set) else v for k, v in form_state(item, chosen).items()}
            work.append(answer(o, item, fields))
        start = time.perf_counter()
        await asyncio.gather(*work)
        answering += time.perf_counter() - start
        await trainer.post(f"/trainer/sessions/{sid}/close", data={"csrf": token})
        await trainer.post(f"/trainer/sessions/{sid}/reveal", data={"csrf": token})
    done.set()
    await asyncio.gather(*pollers)
    await trainer.post(f"/trainer/sessions/{sid}/finish", data={"csrf": token})
    for o in officers:
        await o.client.aclose()
    await trainer.aclose()
    return {"figures": figures, "errors": errors, "expected": expected, "answering": answering, "sid": sid}


def _stored(db: str, sid: int) -> dict[tuple[str, str], str]:
    with open_gradebook(db).connect() as conn:
        rows = conn.execute(select(learners.c.code, responses.c.question_id, responses.c.answer)
                            .join(attempts, attempts.c.id == responses.c.attempt_id)
                            .join(learners, learners.c.id == attempts.c.learner_id)
                            .where(attempts.c.session_id == sid))
        return {(code, qid): answer for code, qid, answer in rows}


def _ms(values: list[float], q: float) -> float:
    return 1000 * statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def bench_web() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        quizzes = Path(tmp) / "quizzes"
        (quizzes / "blueprints").mkdir(parents=True)
        write_banks(quizzes, 140)
        (quizzes / "blueprints" / "bench-web.yml").write_text(BLUEPRINT, encoding="utf-8")
        course = load_course([quizzes], book_root=None)
        db = str(Path(tmp) / "gradebook.sqlite")
        open_gradebook(db).dispose()
        port = _free_port()
        server = multiprocessing.get_context("spawn").Process(target=_serve, args=(db, str(quizzes), port), daemon=True)
        server.start()
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    httpx.get(f"{base}/static/app.css", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            start = time.perf_counter()
            run = asyncio.run(_class(base, db, course))
            total = time.perf_counter() - start
            stored = _stored(db, run["sid"])
        finally:
            server.terminate()
            server.join(10)
    expected, figures = run["expected"], run["figures"]
    lost = sum(stored.get(key) != value for key, value in expected.items())
    answers = len(expected)
    rate = answers / run["answering"]
    a50, a99, s50, s99 = (_ms(figures["answer"], 50), _ms(figures["answer"], 99),
                          _ms(figures["static"], 50), _ms(figures["static"], 99))
    ok = lost == 0 and not run["errors"]
    print(f"(d) classroom app: {OFFICERS} officers x {QUESTIONS} questions = {answers:,} answers in one paced "
          f"session ({total:.0f} s in all): lost {lost} (target 0) {'OK' if ok else 'MISSED'}; "
          f"{rate:,.0f} answers/s stored while answering; answer p50 {a50:.0f} ms, p99 {a99:.0f} ms; "
          f"static file p50 {s50:.0f} ms, p99 {s99:.0f} ms (ratio p50 {a50 / s50:.1f}x, p99 {a99 / s99:.1f}x); "
          f"question page p50 {_ms(figures['page'], 50):.0f} ms; join p50 {_ms(figures['join'], 50):.0f} ms, "
          f"p99 {_ms(figures['join'], 99):.0f} ms")
    if run["errors"]:
        print(f"    {len(run['errors'])} request(s) refused or failed, e.g. {run['errors'][0]}")
    return ok


if __name__ == "__main__":
    sys.exit(0 if bench_web() else 1)
