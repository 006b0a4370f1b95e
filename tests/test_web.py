"""The classroom web app's rules, checked through HTTP (Starlette's TestClient) on SQLite and PostgreSQL.

Every officer is a client of its own (its own cookies) that keeps every response body it receives, so
a test can say what a learner's browser has seen so far: never a key or a feedback text before the
question is closed.
"""
from __future__ import annotations

import html
import os
import re
import shutil
import stat
import threading
import warnings
from io import BytesIO

import pytest
from bs4 import BeautifulSoup
from openpyxl import load_workbook
from sqlalchemy import func, select
from starlette.routing import Route

from thbcourse.bank.course import load_course
from thbcourse.store.codec import dump_response
from thbcourse.store.db import open_gradebook
from thbcourse.store.exports import score_table
from thbcourse.store.tables import attempts, export_log, quiz_sessions, responses
from thbcourse.web import create_app
from thbcourse.web.app import CSP, bind_address
from thbcourse.web.auth import (check_password, credentials_path, hash_password, load_or_create_password)
from thbcourse.web.live import JOIN_ALPHABET, JOIN_LENGTH
from thbcourse.web.questions import form_state

from conftest import DATA
from store_fixtures import db_url  # noqa: F401  (fixture)

with warnings.catch_warnings():  # starlette asks for httpx2, which is not needed for these tests
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient

PASSWORD = "correct horse battery staple"
PASSWORD_RECORD = hash_password(PASSWORD)

HOSTILE_BANK = """\
id: hostile
title: A bank written by an attacker
topic: challenges
questions:
  - id: h-single
    type: single
    difficulty: 1
    objective: challenges.platform-diversity
    source: book/07-challenges.md#platforms
    stem: "<script>alert('stem')</script> Which one? <img src=x onerror=alert(1)>"
    options:
      - text: "<script>alert('option')</script>"
        correct: true
        feedback: "<b onmouseover=alert(2)>hover</b>"
      - text: "<img src=x onerror=alert(3)>"
    feedback: "[click me](javascript:alert(4)) <iframe src=//evil.example></iframe>"
"""
BLUEPRINTS = {
    "all-types.yml": """\
        id: all-types
        title: Every question type
        purpose: practice
        sections: [{title: All, count: 7, banks: [sample]}]
        """,
    "hostile-quiz.yml": """\
        id: hostile-quiz
        title: Hostile quiz
        purpose: practice
        sections: [{title: All, count: 1, questions: [h-single]}]
        """,
    "check-chain.yml": """\
        id: check-chain
        title: "Self-check: the chain"
        purpose: self-check
        sections: [{title: Chain, count: 3, topics: [chain]}]
        """,
}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("quizzes")
    shutil.copytree(DATA / "quizzes", root, dirs_exist_ok=True)
    (root / "banks" / "hostile.yml").write_text(HOSTILE_BANK, encoding="utf-8")
    for name, text in BLUEPRINTS.items():
        (root / "blueprints" / name).write_text(re.sub(r"(?m)^        ", "", text), encoding="utf-8")
    return load_course([root], book_root=None)


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def app(course, db_url, clock):
    engine = open_gradebook(db_url)
    yield create_app(course, engine, password=PASSWORD_RECORD, clock=clock)
    engine.dispose()


@pytest.fixture
def app_sqlite(course, tmp_path, clock):
    engine = open_gradebook(str(tmp_path / "gradebook.sqlite"))
    yield create_app(course, engine, password=PASSWORD_RECORD, clock=clock)
    engine.dispose()


# --- browsers ----------------------------------------------------------------------------------------

class Browser:
    """One device: its own cookies, and every response body it has received, in order."""

    def __init__(self, app, address: str = "testclient"):
        self.app = app
        self.client = TestClient(app, client=(address, 50000))
        self.client.event_hooks["response"] = [self._keep]
        self.bodies: list[str] = []

    def _keep(self, response):
        response.read()
        self.bodies.append(response.text)

    def csrf(self) -> str:
        page = self.client.get("/join").text
        return re.search(r'name="csrf" value="([^"]+)"', page).group(1)

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict | None = None, *, csrf: bool = True, **kwargs):
        data = dict(data or {})
        if csrf:
            data["csrf"] = self.csrf()
        return self.client.post(path, data=data, **kwargs)

    def seen(self) -> str:
        """Everything received, as raw bodies and as the text a person reads."""
        raw = "\n".join(self.bodies)
        return raw + "\n" + " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


def live(app):
    return app.state.web.live


def engine_of(app):
    return app.state.web.engine


def trainer(app) -> Browser:
    b = Browser(app, "127.0.0.1")
    r = b.post("/trainer/sign-in", {"password": PASSWORD, "next": "/trainer"})
    assert r.status_code == 200 and r.url.path == "/trainer"
    return b


def start(tr: Browser, blueprint: str, mode: str = "paced", **extra) -> tuple[int, str]:
    r = tr.post("/trainer/sessions", {"blueprint": blueprint, "mode": mode, **extra})
    assert r.status_code == 200, r.text
    sid = int(r.url.path.rsplit("/", 1)[1])
    return sid, re.search(r"Code <strong>(\w+)</strong>", r.text).group(1)


def at_of(tr: Browser, sid: int) -> str:
    """The state the trainer's control view shows (what its action forms say they were made on)."""
    page = tr.get(f"/trainer/sessions/{sid}").text
    return re.search(r'name="at" value="([^"]+)"', page).group(1)


def act(tr: Browser, sid: int, action: str, at: str | None = None):
    data = {"at": at or at_of(tr, sid)}
    if action == "finish":
        data["confirm"] = "yes"
    r = tr.post(f"/trainer/sessions/{sid}/{action}", data)
    assert r.status_code == 200, r.text
    return r


def join(app, code: str, learner: str, address: str = "testclient") -> Browser:
    b = Browser(app, address)
    r = b.post("/join", {"code": code, "learner": learner})
    assert r.status_code == 200 and r.url.path == "/play", r.text
    return b


def key_response(q):
    return {"single": lambda: next(i for i, o in enumerate(q.options) if o.correct),
            "multiple": lambda: frozenset(i for i, o in enumerate(q.options) if o.correct),
            "true_false": lambda: q.answer,
            "matching": lambda: {i: i for i in range(len(q.pairs))},
            "ordering": lambda: list(range(len(q.items))),
            "short_answer": lambda: q.answers[0],
            "numeric": lambda: q.value}[q.type]()


def wrong_response(q):
    return {"single": lambda: next(i for i, o in enumerate(q.options) if not o.correct),
            "multiple": lambda: frozenset(i for i, o in enumerate(q.options) if not o.correct),
            "true_false": lambda: not q.answer,
            "matching": lambda: {i: (i + 1) % len(q.pairs) for i in range(len(q.pairs))},
            "ordering": lambda: list(reversed(range(len(q.items)))),
            "short_answer": lambda: "no idea",
            "numeric": lambda: q.value + 100}[q.type]()


def answer(b: Browser, item, response, path: str = "/play/answer"):
    fields = {k: sorted(v) if isinstance(v, set) else v for k, v in form_state(item, response).items()}
    return b.post(path, {"q": item.number, **fields})


def secrets_of(q) -> list[str]:
    """What must not reach a learner before the question is closed: feedback, explanation, typed keys."""
    found = [q.feedback]
    if q.type in ("single", "multiple"):
        found += [o.feedback for o in q.options]
    elif q.type == "true_false":
        found += [q.feedback_true, q.feedback_false]
    elif q.type == "matching":
        found += [p.feedback for p in q.pairs]
    elif q.type == "short_answer":
        found += [*q.answers, q.wrong_feedback]
    return [s for s in found if s]


KEY_SHOWN = "Correct answer"  # the label under which a learner's page shows the key


def stored(app, attempt: int) -> dict[str, str]:
    with engine_of(app).connect() as conn:
        return dict(conn.execute(select(responses.c.question_id, responses.c.answer)
                                 .where(responses.c.attempt_id == attempt)).all())


# --- the key and feedback never reach a learner before the question is closed ------------------------

def test_paced_session_learners_see_key_and_feedback_only_once_revealed(app):
    tr = trainer(app)
    sid, code = start(tr, "all-types", "paced", new_cohort="Cohort W")
    a, b = join(app, code, "ofc-a"), join(app, code, "ofc-b", "10.0.0.2")
    s = live(app).sessions[sid]
    items = s.paper.items
    assert len(items) == 7 and {i.question.type for i in items} == {
        "single", "multiple", "true_false", "matching", "ordering", "short_answer", "numeric"}
    for index, item in enumerate(items):
        act(tr, sid, "next")
        since = {officer: len(officer.bodies) for officer in (a, b)}
        for officer in (a, b):
            assert officer.get("/play/state").json() == {"version": s.version}
            assert 'data-type="%s"' % item.question.type in officer.get("/play").text
        assert answer(a, item, key_response(item.question)).status_code == 200
        assert answer(b, item, wrong_response(item.question)).status_code == 200
        # in the gradebook before the response returned
        assert item.question.id in stored(app, s.participants["ofc-a"].attempt)
        hidden = [text for later in items[index:] for text in secrets_of(later.question)]
        act(tr, sid, "close")
        for officer in (a, b):
            officer.get("/play")
            officer.get("/play/state")
            seen = officer.seen()
            typed = str(key_response(item.question)) if officer is a else None  # what a typed is on a's page
            assert [text for text in hidden if text in seen and text != typed] == []
            assert KEY_SHOWN not in "".join(officer.bodies[since[officer]:])
        act(tr, sid, "reveal")
        page = a.get("/play").text
        assert KEY_SHOWN in page and "Correct</strong>" in page
        assert " ".join(item.question.feedback.split()) in " ".join(html.unescape(page).split())
        assert "Not correct" in b.get("/play").text
    act(tr, sid, "finish")
    result = a.get("/play").text
    assert "Your result" in result and "(100 %)" in result
    with engine_of(app).connect() as conn:
        header, rows = score_table(conn, quizzes=("all-types",), cohort="Cohort W")
        table = {row[0]: dict(zip(header, row)) for row in rows}
    assert table["ofc-a"]["percent"] == 100.0 and table["ofc-b"]["percent"] == 0.0


def test_self_paced_feedback_only_after_handing_in(app):
    tr = trainer(app)
    sid, code = start(tr, "all-types", "self-paced")
    a = join(app, code, "ofc-a")
    p = live(app).sessions[sid].participants["ofc-a"]
    everything = [text for item in p.paper.items for text in secrets_of(item.question)] + [KEY_SHOWN]
    for item in p.paper.items:  # typed differently from the key, which must stay unseen: the pattern accepts it
        response = "Multi-Homing" if item.question.type == "short_answer" else key_response(item.question)
        assert answer(a, item, response).status_code == 200
        a.get(f"/play?q={item.number}")
    assert [text for text in everything if text in a.seen()] == []
    r = a.post("/play/finish")
    assert "Hand in your paper?" in r.text and "Your result" not in r.text  # asked first, without script
    r = a.post("/play/finish", {"confirm": "yes"})
    assert "Your result" in r.text and KEY_SHOWN in r.text
    with engine_of(app).connect() as conn:
        row = conn.execute(select(attempts.c.status, attempts.c.percent).where(attempts.c.id == p.attempt)).one()
    assert tuple(row) == ("complete", 100.0)


def test_learners_see_only_their_own_answers_and_results(app):
    tr = trainer(app)
    sid, code = start(tr, "all-types", "self-paced")
    a, b = join(app, code, "ofc-a"), join(app, code, "ofc-b", "10.0.0.2")
    s = live(app).sessions[sid]
    for officer, learner, text in ((a, "ofc-a", "alpha-answer-one"), (b, "ofc-b", "bravo-answer-two")):
        item = next(i for i in s.participants[learner].paper.items if i.question.type == "short_answer")
        assert answer(officer, item, text).status_code == 200
    act(tr, sid, "finish")
    a.get("/play"), b.get("/play")
    assert "alpha-answer-one" in a.seen() and "alpha-answer-one" not in b.seen()
    assert "bravo-answer-two" in b.seen() and "bravo-answer-two" not in a.seen()
    assert "ofc-b" not in a.seen() and "ofc-a" not in b.seen()
    # no learner route takes an attempt or learner id: the cookie alone says whose page it is
    learner_paths = [r.path for r in app.routes if isinstance(r, Route) and r.path.startswith(("/play", "/study"))]
    assert not [p for p in learner_paths if "{" in p and p != "/study/{blueprint}"]


# --- gradebook rules: one answer per question, nothing after closing or after the time limit --------

def test_a_second_answer_replaces_the_first_never_two(app):
    tr = trainer(app)
    sid, code = start(tr, "all-types", "paced")
    a = join(app, code, "ofc-a")
    act(tr, sid, "next")
    s = live(app).sessions[sid]
    p, item = s.participants["ofc-a"], s.item()
    answer(a, item, wrong_response(item.question))
    answer(a, item, key_response(item.question))
    assert stored(app, p.attempt) == {item.question.id: dump_response(key_response(item.question))}
    # many answers at once from several threads still leave one row
    threads = [threading.Thread(target=live(app).submit, args=(s, p, item.number, r))
               for r in [wrong_response(item.question), key_response(item.question)] * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine_of(app).connect() as conn:
        assert conn.execute(select(func.count()).select_from(responses)
                            .where(responses.c.attempt_id == p.attempt)).scalar() == 1
    assert "Change my answer" in a.get("/play").text


def test_answers_after_closing_or_after_the_time_limit_are_refused(app, clock):
    tr = trainer(app)
    sid, code = start(tr, "all-types", "paced")
    a = join(app, code, "ofc-a")
    s = live(app).sessions[sid]
    p = s.participants["ofc-a"]
    act(tr, sid, "next")
    first = s.item()
    act(tr, sid, "close")
    r = answer(a, first, key_response(first.question))
    assert r.status_code == 409 and "closed" in r.text
    act(tr, sid, "next")
    second = s.item()
    r = answer(a, first, key_response(first.question))  # an earlier question, sent late
    assert r.status_code == 409
    act(tr, sid, "finish")
    r = answer(a, second, key_response(second.question))
    assert r.status_code == 409 and "ended" in r.text
    assert set(stored(app, p.attempt).values()) == {"null"}  # unanswered, written at the end

    sid, code = start(tr, "all-types", "self-paced", time_limit="1")
    b = join(app, code, "ofc-b")
    p = live(app).sessions[sid].participants["ofc-b"]
    one, two = p.paper.items[:2]
    assert answer(b, one, key_response(one.question)).status_code == 200
    clock.now += 61
    r = answer(b, two, key_response(two.question))
    assert r.status_code == 409 and "Time is up" in r.text
    assert "Your result" in b.get("/play").text  # the paper was handed in when the time ran out
    with engine_of(app).connect() as conn:
        status = conn.execute(select(attempts.c.status).where(attempts.c.id == p.attempt)).scalar()
    assert status == "complete"
    answers = stored(app, p.attempt)
    assert answers[two.question.id] == "null" and answers[one.question.id] != "null"


def test_a_learner_who_lost_the_connection_finds_the_answers_again(app):
    tr = trainer(app)
    sid, code = start(tr, "all-types", "paced")
    a = join(app, code, "ofc-a")
    act(tr, sid, "next")
    s = live(app).sessions[sid]
    item = s.item()
    answer(a, item, key_response(item.question))
    # the same phone after the connection dropped: a new connection, the same cookies
    again = Browser(app)
    again.client.cookies = a.client.cookies
    page = again.get("/play").text
    assert "Your answer is saved" in page and "Change my answer" in page
    assert again.post("/join", {"code": code.lower(), "learner": "ofc-a"}).url.path == "/play"
    # another device cannot take the learner id ...
    thief = Browser(app, "10.0.0.9")
    r = thief.post("/join", {"code": code, "learner": "ofc-a"})
    assert r.status_code == 409 and "another device" in r.text
    # ... until the trainer allows it; then the new device gets the answers and the old one is out
    assert "Allow a new device" in tr.get(f"/trainer/sessions/{sid}/learners").text
    tr.post(f"/trainer/sessions/{sid}/release", {"learner": "ofc-a"})
    assert thief.post("/join", {"code": code, "learner": "ofc-a"}).url.path == "/play"
    assert "Change my answer" in thief.get("/play").text
    assert a.get("/play").url.path == "/join"


# --- sign-in, CSRF, rate limits -------------------------------------------------------------------------

def test_every_trainer_and_admin_route_requires_the_sign_in(app_sqlite):
    app = app_sqlite
    tr = trainer(app)
    sid, code = start(tr, "sample-quiz", "paced")
    anonymous, officer = Browser(app), join(app, code, "ofc-a")
    forged = Browser(app)
    forged.client.cookies.set("thb_trainer", "trainer.forged.signature")
    signed_out = trainer(app)
    signed_out_cookie = signed_out.client.cookies.get("thb_trainer")
    signed_out.post("/trainer/sign-out")
    stale = Browser(app)
    stale.client.cookies.set("thb_trainer", signed_out_cookie)
    guarded = [r for r in app.routes if isinstance(r, Route) and r.path.startswith(("/trainer", "/admin"))
               and r.path != "/trainer/sign-in"]
    assert len(guarded) >= 10
    form = {"learner": "ofc-a", "blueprint": "sample-quiz", "mode": "paced", "format": "csv", "policy": "best"}
    for route in guarded:
        path = route.path.replace("{sid}", str(sid)).replace("{action}", "next")
        for method in route.methods - {"HEAD"}:
            for who in (anonymous, officer, forged, stale):
                data = {**form, "csrf": who.csrf()} if method == "POST" else None
                r = who.client.request(method, path, data=data, follow_redirects=False)
                assert r.status_code in (303, 403), (method, path, r.status_code)
                if r.status_code == 303:
                    assert r.headers["location"].startswith("/trainer/sign-in")
    s = live(app).sessions[sid]
    assert s.current == -1 and len(live(app).sessions) == 1 and s.participants["ofc-a"].token


def test_the_trainer_password_is_checked_and_sign_in_is_rate_limited(app_sqlite):
    b = Browser(app_sqlite, "10.1.1.1")
    r = b.post("/trainer/sign-in", {"password": "guess"})
    assert r.status_code == 401 and "Wrong password" in r.text
    for _ in range(9):
        b.post("/trainer/sign-in", {"password": "guess"})
    r = b.post("/trainer/sign-in", {"password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert trainer(app_sqlite)  # another address is not locked out
    r = Browser(app_sqlite).post("/trainer/sign-in", {"password": PASSWORD, "next": "//evil.example/x"},
                                 follow_redirects=False)
    assert r.headers["location"] == "/trainer"  # never an open redirect


def test_every_form_needs_its_csrf_token(app_sqlite):
    app = app_sqlite
    tr = trainer(app)
    sid, code = start(tr, "sample-quiz", "paced")
    # one browser that is the trainer, an officer in the session and a learner studying alone
    assert tr.post("/join", {"code": code, "learner": "ofc-a"}).url.path == "/play"
    assert tr.post("/study/check-chain", {"learner": "ofc-a"}).url.path == "/study/attempt"
    act(tr, sid, "next")
    posts = [r for r in app.routes if isinstance(r, Route) and "POST" in r.methods]
    assert len(posts) >= 12
    form = {"q": "1", "answer": "A", "learner": "ofc-a", "code": code, "password": PASSWORD,
            "blueprint": "sample-quiz", "mode": "paced", "format": "csv", "policy": "best"}
    for route in posts:
        path = route.path.replace("{sid}", str(sid)).replace("{action}", "close").replace("{blueprint}", "check-chain")
        r = tr.post(path, form, csrf=False)
        assert r.status_code == 403 and "another site" in r.text, path
        other = Browser(app).csrf()  # a token made for another browser
        assert tr.post(path, {**form, "csrf": other}, csrf=False).status_code == 403, path
        assert tr.post(path, form, headers={"origin": "http://evil.example"}).status_code == 403, path
    s = live(app).sessions[sid]
    assert len(live(app).sessions) == 2 and s.step == "open" and not s.finished
    assert set(stored(app, s.participants["ofc-a"].attempt)) == set()
    same_site = tr.post("/join", {"code": code, "learner": "ofc-a"}, headers={"origin": "http://testserver"})
    assert same_site.status_code == 200


def test_the_join_form_is_rate_limited(app_sqlite):
    app = app_sqlite
    _, code = start(trainer(app), "sample-quiz", "paced")
    guesser = Browser(app, "10.2.2.2")
    statuses = [guesser.post("/join", {"code": f"AAAA{n:02d}", "learner": "x"}).status_code for n in range(20)]
    assert set(statuses) == {404}
    r = guesser.post("/join", {"code": code, "learner": "x"})  # even the right code, while locked out
    assert r.status_code == 429 and "Too many attempts" in r.text
    assert join(app, code, "ofc-b", "10.2.2.3")


def test_join_codes_and_tokens_are_unguessable(app_sqlite):
    tr = trainer(app_sqlite)
    codes = {start(tr, "sample-quiz", "paced")[1] for _ in range(30)}
    assert len(codes) == 30
    assert all(len(c) == JOIN_LENGTH and set(c) <= set(JOIN_ALPHABET) for c in codes)
    assert len(JOIN_ALPHABET) ** JOIN_LENGTH > 10**9
    a = join(app_sqlite, codes.pop(), "ofc-a")
    token = a.client.cookies.get("thb_officer").rsplit(".", 2)[0]
    assert len(token) >= 43  # 32 random bytes


def test_cookies_are_httponly_and_samesite_and_pages_carry_a_csp(app_sqlite):
    b = Browser(app_sqlite)
    r = b.post("/trainer/sign-in", {"password": PASSWORD}, follow_redirects=False)
    _, code = start(trainer(app_sqlite), "sample-quiz", "paced")
    j = Browser(app_sqlite).post("/join", {"code": code, "learner": "ofc-a"}, follow_redirects=False)
    cookies = r.headers.get_list("set-cookie") + j.headers.get_list("set-cookie")
    assert {c.split("=", 1)[0] for c in cookies} >= {"thb_trainer", "thb_officer"}
    for c in cookies + Browser(app_sqlite).get("/join").headers.get_list("set-cookie"):
        assert "httponly" in c.lower() and "samesite=" in c.lower(), c
    assert "samesite=strict" in next(c for c in cookies if c.startswith("thb_trainer")).lower()
    page = b.get("/join")
    assert page.headers["content-security-policy"] == CSP and "script-src 'self'" in CSP
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"


# --- bank Markdown cannot inject script -----------------------------------------------------------------

def no_script_injected(page: str) -> None:
    soup = BeautifulSoup(page, "html.parser")
    assert [s.get("src") for s in soup.find_all("script")] == ["/static/live.js"]
    assert not soup.find_all(["img", "iframe", "b"])
    for tag in soup.find_all(True):
        assert not [a for a in tag.attrs if a.lower().startswith("on")], tag
        assert not str(tag.get("href", "")).lower().startswith("javascript:"), tag


def test_a_hostile_bank_shows_as_text(app_sqlite):
    app = app_sqlite
    tr = trainer(app)
    sid, code = start(tr, "hostile-quiz", "paced")
    a, b = join(app, code, "ofc-a"), join(app, code, "ofc-b")
    act(tr, sid, "next")
    pages = [a.get("/play").text, tr.get(f"/trainer/sessions/{sid}").text]
    item = live(app).sessions[sid].item()
    answer(a, item, key_response(item.question))
    answer(b, item, wrong_response(item.question))  # so that the question is among those most got wrong
    act(tr, sid, "close")
    act(tr, sid, "reveal")
    pages += [a.get("/play").text, tr.get(f"/trainer/sessions/{sid}").text]
    act(tr, sid, "finish")
    pages += [a.get("/play").text, tr.get(f"/trainer/sessions/{sid}").text]
    s = Browser(app)
    pages.append(s.post("/study/hostile-quiz", {"learner": "ofc-s"}).text)
    for page in pages:
        no_script_injected(page)
        assert "&lt;script&gt;alert(" in page
    text = BeautifulSoup(pages[2], "html.parser").get_text()
    assert "<script>alert('stem')</script>" in text and "<img src=x onerror=alert(1)>" in text
    assert "<b onmouseover=alert(2)>hover</b>" in text  # the option's feedback, as text


# --- self-study and the admin exports ------------------------------------------------------------------

def test_self_study_gives_feedback_at_once_and_lands_in_the_gradebook(app):
    b = Browser(app)
    listing = b.get("/study").text
    assert "Self-check: the chain" in listing and "Hostile quiz" in listing and "Sample quiz" in listing
    assert b.post("/study/check-chain", {"learner": "ofc-s"}).url.path == "/study/attempt"
    sid, p = next((s.id, s.participants["ofc-s"]) for s in live(app).sessions.values() if s.mode == "self-study")
    first, second = p.paper.items[:2]
    assert not [t for t in secrets_of(first.question) if t in b.seen()]
    r = answer(b, first, key_response(first.question), "/study/attempt/answer")
    assert r.status_code == 200 and KEY_SHOWN in r.text and "Correct</strong>" in r.text
    assert " ".join(first.question.feedback.split()) in " ".join(html.unescape(r.text).split())
    r = answer(b, first, wrong_response(first.question), "/study/attempt/answer")
    assert r.status_code == 409 and "already" in r.text
    assert not [t for t in secrets_of(second.question) if t in b.seen()]
    r = b.post("/study/attempt/finish", {"confirm": "yes"})
    assert "Your result" in r.text
    with engine_of(app).connect() as conn:
        mode = conn.execute(select(quiz_sessions.c.mode).where(quiz_sessions.c.id == sid)).scalar()
        status = conn.execute(select(attempts.c.status).where(attempts.c.id == p.attempt)).scalar()
    assert (mode, status) == ("self-study", "complete")
    assert len(stored(app, p.attempt)) == 3


def test_admin_downloads_the_score_exports(app):
    tr = trainer(app)
    sid, code = start(tr, "sample-quiz", "self-paced", new_cohort="Cohort X")
    officer = join(app, code, "ofc-a")
    item = live(app).sessions[sid].participants["ofc-a"].paper.items[0]
    answer(officer, item, key_response(item.question))
    act(tr, sid, "finish")
    page = tr.get("/admin/exports").text
    assert "Cohort X" in page and "sample-quiz" in page
    r = tr.post("/admin/exports", {"format": "csv", "policy": "best", "cohort": "Cohort X", "per_topic": "on"})
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("learner,quiz,attempt,score,max,percent,result,date (UTC),topic % ")
    assert len(lines) == 2 and lines[1].startswith("ofc-a,sample-quiz,1,")
    r = tr.post("/admin/exports", {"format": "xlsx", "policy": "all", "quiz": "sample-quiz"})
    sheet = load_workbook(BytesIO(r.content)).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["learner", "ofc-a"]
    assert tr.post("/admin/exports", {"format": "pdf", "policy": "best"}).status_code == 422
    with engine_of(app).connect() as conn:
        log = conn.execute(select(export_log.c.who, export_log.c.rows)).all()
    assert [(who.split(" (")[0], rows) for who, rows in log] == [("trainer", 1), ("trainer", 1)]


def test_a_cohort_with_a_roster_admits_only_its_learners(app):
    from thbcourse.store.db import writer
    from thbcourse.store.gradebook import LearnerRow, add_learners, create_cohort

    with writer(engine_of(app)).begin() as conn:
        create_cohort(conn, "Roster R")
        add_learners(conn, "Roster R", [LearnerRow("ofc-1"), LearnerRow("ofc-2")])
    _, code = start(trainer(app), "sample-quiz", "paced", cohort="Roster R")
    assert join(app, code, "ofc-1")
    r = Browser(app).post("/join", {"code": code, "learner": "ofc-9"})
    assert r.status_code == 403 and "not on the list" in r.text


# --- serving --------------------------------------------------------------------------------------------

def test_serving_binds_loopback_unless_lan_is_explicit():
    assert bind_address("127.0.0.1", lan=False) == "127.0.0.1"
    assert bind_address("localhost", lan=False) == "localhost"
    with pytest.raises(ValueError, match="--lan"):
        bind_address("0.0.0.0", lan=False)
    with pytest.raises(ValueError, match="--lan"):
        bind_address("192.168.1.20", lan=False)
    assert bind_address("127.0.0.1", lan=True) == "0.0.0.0"
    assert bind_address("192.168.1.20", lan=True) == "192.168.1.20"


def test_the_trainer_password_is_made_once_and_kept_only_as_a_hash(tmp_path):
    path = credentials_path(f"sqlite:///{tmp_path}/gradebook.sqlite")
    assert path == tmp_path / "gradebook-trainer.json"
    record, password = load_or_create_password(path)
    assert password and len(password) >= 16
    assert password not in path.read_text() and record["scheme"] == "scrypt"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert check_password(password, record) and not check_password(password + "x", record)
    again, shown = load_or_create_password(path)
    assert again == record and shown is None
