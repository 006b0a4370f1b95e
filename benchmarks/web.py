"""(d) The classroom app under a class of 300: one paced session, 20 questions, every answer checked afterwards.

uvicorn serves the app on loopback, in a process of its own (one worker), with a SQLite gradebook.
The 300 simulated officers (httpx, one client each so that each has its own cookies) are spread over
CLIENTS processes of their own, so the load generator does not share a Python process with anyone.
They join the session and poll its state every 1.5 s as the page does. For each question the trainer
opens it, every officer loads the question page, then, with polling paused so that nothing else
reaches the server, every officer sends an answer, and then fetches a static file (the style sheet).
Afterwards every answer is looked up in the gradebook.

The server's own CPU time (from /proc/<pid>/stat) is read before and after each answer burst and each
static-file burst, so the figures are the server's, not the load generator's: CPU per answer and per
static file, and so answers and static files per CPU second, which is what one worker can serve at
most. Reported beside them: answers lost (must be 0), the rates reached on this machine, how busy the
server was while answering, and p50/p99 latencies seen by the officers. All officers share one
loopback address, so the per-address join limit (made for a classroom, where each phone has its own)
is raised for the run.
"""
from __future__ import annotations

import asyncio
import multiprocessing
import os
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

OFFICERS, QUESTIONS, CLIENTS, IN_FLIGHT, POLL_SECONDS = 300, 20, 4, 16, 1.5  # IN_FLIGHT: per client process
PASSWORD = "benchmark trainer"
BLUEPRINT = """\
id: bench-web
title: Classroom benchmark
purpose: practice
sections: [{title: All, count: %d}]
""" % QUESTIONS
STEPS = ("page", "answer", "static")  # what officers do for each question, one burst each


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def _client(base: str, quizzes: str, code: str, seed: int, numbers: range, barrier, quiet, results) -> None:
    """One load-generating process: its share of the officers, in step with the others (runs in its own process)."""
    course = load_course([Path(quizzes)], book_root=None)
    paper = draw(course, course.blueprint("bench-web"), seed)
    results.put(asyncio.run(_officers(base, code, paper, numbers, barrier, quiet)))


async def _officers(base: str, code: str, paper, numbers: range, barrier, quiet) -> dict:
    loop = asyncio.get_running_loop()

    async def step():  # wait for the other processes (and the trainer) without blocking the pollers
        await loop.run_in_executor(None, barrier.wait)

    gate = asyncio.Semaphore(IN_FLIGHT)
    figures: dict[str, list[float]] = {"join": [], **{s: [] for s in STEPS}}
    errors: list[str] = []
    officers = [Officer(base, n) for n in numbers]

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
            if not quiet.is_set():
                await _timed(gate, None, o.client.get("/play/state"), errors)
            await asyncio.sleep(POLL_SECONDS)

    pollers = [asyncio.create_task(poll(o)) for o in officers]
    rng = random.Random(11 + numbers.start)
    expected: dict[tuple[str, str], str] = {}

    async def page(o: Officer, item):
        await _timed(gate, figures["page"], o.client.get("/play"), errors)

    async def answer(o: Officer, item):
        chosen = response(item.question, rng)
        expected[(o.learner, item.question.id)] = dump_response(chosen)
        fields = {k: sorted(v) if isinstance(v, set) else v for k, v in form_state(item, chosen).items()}
        r = await _timed(gate, figures["answer"], o.client.post("/play/answer", data={
            "csrf": o.csrf, "q": item.number, **fields}), errors)
        if r is not None and r.status_code != 303:
            errors.append(f"answer {o.learner} q{item.number}: {r.status_code}")

    async def static(o: Officer, item):
        await _timed(gate, figures["static"], o.client.get("/static/app.css"), errors)

    await step()  # everyone has joined
    for item in paper.items:
        for burst in (page, answer, static):
            await step()  # the trainer has opened the question, or the server's CPU time is read
            await asyncio.gather(*(burst(o, item) for o in officers))
            await step()
    done.set()
    await asyncio.gather(*pollers)
    for o in officers:
        await o.client.aclose()
    return {"figures": figures, "errors": errors, "expected": expected}


def _stored(db: str, sid: int) -> dict[tuple[str, str], str]:
    with open_gradebook(db).connect() as conn:
        rows = conn.execute(select(learners.c.code, responses.c.question_id, responses.c.answer)
                            .join(attempts, attempts.c.id == responses.c.attempt_id)
                            .join(learners, learners.c.id == attempts.c.learner_id)
                            .where(attempts.c.session_id == sid))
        return {(code, qid): answer for code, qid, answer in rows}


def _ms(values: list[float], q: float) -> float:
    return 1000 * statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _act(trainer: httpx.Client, sid: int, action: str, token: str) -> None:
    """A trainer's action, naming the question and step it is made on (as the control view's forms do)."""
    page = trainer.get(f"/trainer/sessions/{sid}").text
    at = re.search(r'name="at" value="([^"]+)"', page).group(1)
    trainer.post(f"/trainer/sessions/{sid}/{action}", data={"csrf": token, "at": at, "confirm": "yes"})


def wait_for_server(port: int, *, tries: int) -> str:
    """The server's base URL on loopback, once it serves its style sheet (tries x 0.1 s at most)."""
    base = f"http://127.0.0.1:{port}"
    for _ in range(tries):
        try:
            httpx.get(f"{base}/static/app.css", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    return base


def start_class(base: str, db: str, quizzes: str, *, officers: int, clients: int, timeout: float):
    """The trainer signed in with a paced session open, and the officers' client processes started:
    (trainer, csrf token, session id, clients, barrier, quiet, results)."""
    trainer = httpx.Client(base_url=base, timeout=timeout)
    token = _csrf(trainer.get("/join").text)
    trainer.post("/trainer/sign-in", data={"csrf": token, "password": PASSWORD})
    r = trainer.post("/trainer/sessions", data={"csrf": token, "blueprint": "bench-web", "mode": "paced"})
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    code = re.search(r"Code <strong>(\w+)</strong>", trainer.get(r.headers["location"]).text).group(1)
    with open_gradebook(db).connect() as conn:
        seed = conn.execute(select(quiz_sessions.c.seed).where(quiz_sessions.c.id == sid)).scalar()
    context = multiprocessing.get_context("spawn")
    barrier, quiet, results = context.Barrier(clients + 1, timeout=600), context.Event(), context.Queue()
    share = -(-officers // clients)
    processes = [context.Process(target=_client, args=(base, quizzes, code, seed, range(n, min(officers, n + share)),
                                                       barrier, quiet, results), daemon=True)
                 for n in range(0, officers, share)]
    for c in processes:
        c.start()
    return trainer, token, sid, processes, barrier, quiet, results


def _class(base: str, db: str, quizzes: str, server_pid: int) -> dict:
    """The trainer's side, in this process; the officers' side in CLIENTS processes."""
    trainer, token, sid, clients, barrier, quiet, results = start_class(
        base, db, quizzes, officers=OFFICERS, clients=CLIENTS, timeout=60)
    cpu = {s: 0.0 for s in STEPS}
    wall = {s: 0.0 for s in STEPS}
    barrier.wait()  # everyone has joined
    for _ in range(QUESTIONS):
        _act(trainer, sid, "next", token)
        for burst in STEPS:
            if burst != "page":
                quiet.set()  # no polling: only this burst reaches the server
                time.sleep(0.3)  # polls already sent finish
            before, start = cpu_seconds(server_pid), time.perf_counter()
            barrier.wait()
            barrier.wait()
            wall[burst] += time.perf_counter() - start
            cpu[burst] += cpu_seconds(server_pid) - before
            quiet.clear()
        _act(trainer, sid, "close", token)
        _act(trainer, sid, "reveal", token)
    parts = [results.get(timeout=600) for _ in clients]
    for c in clients:
        c.join(60)
    _act(trainer, sid, "finish", token)
    trainer.close()
    merged = {"figures": {k: [v for p in parts for v in p["figures"][k]] for k in parts[0]["figures"]},
              "errors": [e for p in parts for e in p["errors"]],
              "expected": {k: v for p in parts for k, v in p["expected"].items()}}
    return {**merged, "cpu": cpu, "wall": wall, "sid": sid}


def bench_web() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        quizzes = Path(tmp) / "quizzes"
        (quizzes / "blueprints").mkdir(parents=True)
        write_banks(quizzes, 140)
        (quizzes / "blueprints" / "bench-web.yml").write_text(BLUEPRINT, encoding="utf-8")
        db = str(Path(tmp) / "gradebook.sqlite")
        open_gradebook(db).dispose()
        port = _free_port()
        server = multiprocessing.get_context("spawn").Process(target=_serve, args=(db, str(quizzes), port), daemon=True)
        server.start()
        try:
            base = wait_for_server(port, tries=200)
            start = time.perf_counter()
            run = _class(base, db, str(quizzes), server.pid)
            total = time.perf_counter() - start
            stored = _stored(db, run["sid"])
        finally:
            server.terminate()
            server.join(10)
    expected, figures, cpu, wall = run["expected"], run["figures"], run["cpu"], run["wall"]
    lost = sum(stored.get(key) != value for key, value in expected.items())
    answers, statics = len(figures["answer"]), len(figures["static"])
    per_answer, per_static = cpu["answer"] / answers, cpu["static"] / statics
    ok = lost == 0 and not run["errors"]
    print(f"(d) classroom app: {OFFICERS} officers in {CLIENTS} client processes x {QUESTIONS} questions = "
          f"{len(expected):,} answers in one paced session ({total:.0f} s in all): lost {lost} (target 0) "
          f"{'OK' if ok else 'MISSED'}")
    print(f"    server CPU per answer {1000 * per_answer:.2f} ms = {1 / per_answer:,.0f} answers per CPU second "
          f"(one worker's most); per static file {1000 * per_static:.2f} ms = {1 / per_static:,.0f} per CPU second; "
          f"an answer costs {per_answer / per_static:.1f}x a static file; question page "
          f"{1000 * cpu['page'] / len(figures['page']):.2f} ms (with the class polling)")
    print(f"    reached here: {answers / wall['answer']:,.0f} answers/s (server busy "
          f"{100 * cpu['answer'] / wall['answer']:.0f} % of that time), {statics / wall['static']:,.0f} static files/s "
          f"(busy {100 * cpu['static'] / wall['static']:.0f} %); latency seen by the officers: answer p50 "
          f"{_ms(figures['answer'], 50):.0f} ms, p99 {_ms(figures['answer'], 99):.0f} ms; static file p50 "
          f"{_ms(figures['static'], 50):.0f} ms, p99 {_ms(figures['static'], 99):.0f} ms; question page p50 "
          f"{_ms(figures['page'], 50):.0f} ms; join p50 {_ms(figures['join'], 50):.0f} ms, "
          f"p99 {_ms(figures['join'], 99):.0f} ms")
    if run["errors"]:
        print(f"    {len(run['errors'])} request(s) refused or failed, e.g. {run['errors'][0]}")
    return ok


if __name__ == "__main__":
    sys.exit(0 if bench_web() else 1)
