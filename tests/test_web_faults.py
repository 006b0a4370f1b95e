"""The classroom app killed with SIGKILL at random moments, and started again: nothing acknowledged is lost.

The app runs in a process of its own (uvicorn, loopback, a free port). 30 simulated officers answer a
paced session and 30 others a self-paced one, as the pages do: each answer form carries the id the
page made, and a request that fails (connection refused or reset, 5xx) is sent again with the same
form. A killer thread sends SIGKILL to the server at random moments (at least KILLS times) and
starts a new one on the same gradebook and port. The trainer's side retries its actions the same way
(each names the question and step it was made on, so a retried action never acts twice).

At the end: every answer that got a success reply is in the gradebook, with the value sent, exactly
once; no attempt is left open; the score export lists every officer of both sessions.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import httpx
from sqlalchemy import func, select

from thbcourse.bank.course import load_course
from thbcourse.store.codec import dump_response
from thbcourse.store.db import open_gradebook
from thbcourse.store.exports import score_table
from thbcourse.store.tables import attempts, learners, responses
from thbcourse.web.auth import hash_password
from thbcourse.web.questions import form_state

from conftest import DATA, REPO
from store_fixtures import db_url  # noqa: F401  (fixture)

OFFICERS, KILLS, PASSWORD = 30, 6, "fault test trainer"
SERVER = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    import uvicorn
    from thbcourse.bank.course import load_course
    from thbcourse.store.db import open_gradebook
    from thbcourse.web import create_app

    db, quizzes, port, record = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    app = create_app(load_course([Path(quizzes)], book_root=None), open_gradebook(db), password=record,
                     join_limit=(10_000, 60.0), sign_in_limit=(10_000, 60.0))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
""")
RETRY = (httpx.TransportError, httpx.TimeoutException)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db: str, port: int):
        self.db, self.port, self.kills, self.proc = db, port, 0, None
        self.record = json.dumps(hash_password(PASSWORD))
        self.lock = threading.Lock()

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        self.proc = subprocess.Popen([sys.executable, "-c", SERVER, self.db, str(DATA / "quizzes"), str(self.port),
                                      self.record], env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/static/app.css", timeout=1)
                return
            except RETRY:
                time.sleep(0.05)
        raise AssertionError("the server did not start")

    def kill_and_restart(self) -> None:
        with self.lock:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.kills += 1
            self.start()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def _send(client: httpx.Client, method: str, url: str, deadline: float, **kwargs) -> httpx.Response:
    """Send until the server answers with something other than a failure (as a person pressing again)."""
    while time.monotonic() < deadline:
        try:
            r = client.request(method, url, **kwargs)
            if r.status_code < 500:
                return r
        except RETRY:
            pass
        time.sleep(0.05 + random.random() * 0.1)
    raise AssertionError(f"{method} {url}: no answer before the deadline")


def _field(page: str, name: str) -> str | None:
    found = re.search(rf'name="{name}" value="([^"]+)"', page)
    return found.group(1) if found else None


class Officer:
    def __init__(self, base: str, learner: str, code: str, paper, deadline: float):
        self.client = httpx.Client(base_url=base, timeout=10)
        self.learner, self.code, self.paper, self.deadline = learner, code, paper, deadline
        self.acknowledged: dict[str, str] = {}  # question id -> the answer the server said it stored
        self.rng = random.Random(learner)

    def join(self) -> None:
        page = _send(self.client, "GET", "/join", self.deadline).text
        data = {"csrf": _field(page, "csrf"), "code": self.code, "learner": self.learner,
                "device": _field(page, "device")}
        r = _send(self.client, "POST", "/join", self.deadline, data=data)
        assert r.status_code == 303, (self.learner, r.status_code, r.text[:300])

    def answer(self, page: str, number: int, path: str = "/play/answer") -> None:
        item = self.paper.items[number - 1]
        from benchmarks.generate import response
        chosen = response(item.question, self.rng)
        fields = {k: sorted(v) if isinstance(v, set) else v for k, v in form_state(item, chosen).items()}
        data = {"csrf": _field(page, "csrf"), "q": number, "answer_id": _field(page, "answer_id"), **fields}
        r = _send(self.client, "POST", path, self.deadline, data=data)
        if r.status_code == 303:
            self.acknowledged[item.question.id] = dump_response(chosen)

    def paced(self) -> None:
        self.join()
        done = set()
        while time.monotonic() < self.deadline:
            page = _send(self.client, "GET", "/play", self.deadline).text
            if "Your result" in page:
                return
            number = _field(page, "q")
            if number and number not in done and 'class="answer"' in page:
                self.answer(page, int(number))
                done.add(number)
            time.sleep(0.05 + self.rng.random() * 0.2)
        raise AssertionError(f"{self.learner}: the session did not end")

    def self_paced(self) -> None:
        self.join()
        for number in range(1, len(self.paper.items) + 1):
            page = _send(self.client, "GET", f"/play?q={number}", self.deadline).text
            self.answer(page, number)
            time.sleep(self.rng.random() * 0.2)
        page = _send(self.client, "GET", "/play", self.deadline).text
        while "Your result" not in page:
            r = _send(self.client, "POST", "/play/finish", self.deadline,
                      data={"csrf": _field(page, "csrf"), "confirm": "yes"})
            page = _send(self.client, "GET", "/play", self.deadline).text if r.status_code == 303 else r.text


class Trainer:
    def __init__(self, base: str, deadline: float):
        self.client = httpx.Client(base_url=base, timeout=10)
        self.deadline = deadline
        page = _send(self.client, "GET", "/join", deadline).text
        self.csrf = _field(page, "csrf")
        r = _send(self.client, "POST", "/trainer/sign-in", deadline, data={"csrf": self.csrf, "password": PASSWORD})
        assert r.status_code == 303

    def start(self, mode: str, cohort: str) -> tuple[int, str]:
        r = _send(self.client, "POST", "/trainer/sessions", self.deadline, data={
            "csrf": self.csrf, "blueprint": "sample-quiz", "mode": mode, "new_cohort": cohort})
        sid = int(r.headers["location"].rsplit("/", 1)[1])
        page = _send(self.client, "GET", f"/trainer/sessions/{sid}", self.deadline).text
        return sid, re.search(r"Code <strong>(\w+)</strong>", page).group(1)

    def state(self, sid: int) -> tuple[int, str, str]:
        page = _send(self.client, "GET", f"/trainer/sessions/{sid}", self.deadline).text
        at = _field(page, "at") or "-1:none:finished"
        current, step, phase = at.split(":")
        return int(current), step, phase

    def act(self, sid: int, action: str, at: tuple[int, str, str]) -> None:
        """Once: retried after a failure, it is refused as stale if the first try went through."""
        _send(self.client, "POST", f"/trainer/sessions/{sid}/{action}", self.deadline,
              data={"csrf": self.csrf, "at": ":".join(map(str, at)), "confirm": "yes"})

    def run_paced(self, sid: int, questions: int, answered) -> None:
        while time.monotonic() < self.deadline:
            at = self.state(sid)
            current, step, phase = at
            if phase == "finished":
                return
            if step == "open":
                until = time.monotonic() + 3
                while answered(current) < OFFICERS and time.monotonic() < until:
                    time.sleep(0.05)
                self.act(sid, "close", at)
            elif step == "closed":
                self.act(sid, "reveal", at)
            elif current + 1 < questions:
                self.act(sid, "next", at)
            else:
                self.act(sid, "finish", at)
        raise AssertionError("the paced session did not end")


def test_killed_at_random_moments_nothing_acknowledged_is_lost(db_url):
    course = load_course([DATA / "quizzes"], book_root=None)
    db = db_url
    open_gradebook(db).dispose()
    server = Server(db, _free_port())
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    deadline = time.monotonic() + 240
    stop = threading.Event()
    errors: list[BaseException] = []
    try:
        tr = Trainer(base, deadline)
        paced_sid, paced_code = tr.start("paced", "Faults paced")
        self_sid, self_code = tr.start("self-paced", "Faults self-paced")
        from thbcourse.engine.draw import draw
        from thbcourse.store.tables import quiz_sessions
        with open_gradebook(db).connect() as conn:
            seed = conn.execute(select(quiz_sessions.c.seed).where(quiz_sessions.c.id == paced_sid)).scalar()
        shared = draw(course, course.blueprint("sample-quiz"), seed)
        paced = [Officer(base, f"ofc-p{n:02d}", paced_code, shared, deadline) for n in range(OFFICERS)]
        alone = [Officer(base, f"ofc-s{n:02d}", self_code, None, deadline) for n in range(OFFICERS)]

        def self_paced_run(o: Officer):
            o.join()
            with open_gradebook(db).connect() as conn:  # the officer's own paper, as the page shows it
                o.paper = draw(course, course.blueprint("sample-quiz"), conn.execute(
                    select(attempts.c.seed).join(learners, learners.c.id == attempts.c.learner_id)
                    .where(learners.c.code == o.learner, attempts.c.session_id == self_sid)).scalar())
            o.join = lambda: None
            o.self_paced()

        def guarded(fn, *args):
            try:
                fn(*args)
            except BaseException as err:  # noqa: BLE001
                errors.append(err)

        def killer():
            rng = random.Random(7)
            while not stop.is_set() and time.monotonic() < deadline:
                time.sleep(0.4 + rng.random() * 1.2)
                if not stop.is_set():
                    server.kill_and_restart()

        def answered(index: int) -> int:
            qid = shared.items[index].question.id
            return sum(qid in o.acknowledged for o in paced)

        threads = [threading.Thread(target=guarded, args=(o.paced,)) for o in paced]
        threads += [threading.Thread(target=guarded, args=(self_paced_run, o)) for o in alone]
        threads.append(threading.Thread(target=guarded, args=(tr.run_paced, paced_sid, len(shared.items), answered)))
        kill = threading.Thread(target=killer)
        for t in threads:
            t.start()
        kill.start()
        while any(t.is_alive() for t in threads[OFFICERS:2 * OFFICERS]):
            time.sleep(0.1)
        while server.kills < KILLS and time.monotonic() < deadline:  # at least KILLS kills, whatever the pace
            time.sleep(0.1)
        at = tr.state(self_sid)
        tr.act(self_sid, "finish", at)
        for t in threads:
            t.join(max(1, deadline - time.monotonic()))
        stop.set()
        kill.join(30)
    finally:
        stop.set()
        server.stop()
    assert not errors, errors[0]
    assert server.kills >= KILLS
    with open_gradebook(db).connect() as conn:
        rows = conn.execute(select(learners.c.code, responses.c.question_id, responses.c.answer, attempts.c.session_id)
                            .join(attempts, attempts.c.id == responses.c.attempt_id)
                            .join(learners, learners.c.id == attempts.c.learner_id)
                            .where(attempts.c.status != "void")).all()
        open_ = conn.execute(select(func.count()).select_from(attempts).where(attempts.c.status == "open")).scalar()
        per_learner = conn.execute(select(attempts.c.session_id, attempts.c.learner_id, func.count())
                                   .group_by(attempts.c.session_id, attempts.c.learner_id)).all()
        exported = {}
        for cohort in ("Faults paced", "Faults self-paced"):
            header, found = score_table(conn, cohort=cohort)
            exported[cohort] = sorted(r[0] for r in found)
    stored: dict[tuple[str, str], list[str]] = {}
    for code, qid, value, _ in rows:
        stored.setdefault((code, qid), []).append(value)
    acknowledged = {(o.learner, qid): value for o in paced + alone for qid, value in o.acknowledged.items()}
    assert len(acknowledged) >= OFFICERS  # the test did answer
    lost = {k: v for k, v in acknowledged.items() if stored.get(k) != [v]}
    assert lost == {}  # every acknowledged answer is there, with its value, exactly once
    assert all(n == 1 for *_, n in per_learner)  # one attempt per learner and session: no one joined twice
    assert open_ == 0  # no attempt left untotalled
    assert exported == {"Faults paced": sorted(o.learner for o in paced),
                        "Faults self-paced": sorted(o.learner for o in alone)}
    print(f"\nfault test ({'PostgreSQL' if '://' in db else 'SQLite'}): {server.kills} kills, "
          f"{len(acknowledged)} answers acknowledged, all stored once; {sum(len(v) for v in stored.values())} rows")
