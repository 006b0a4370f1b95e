"""Issue 12: live sessions kept in the gradebook (a restart or another worker finds them as they were),
idempotent answers, the migration from 0001, and one test per hostile-input finding. SQLite and
PostgreSQL, through HTTP (Starlette's TestClient). A "restart" is a second app on the same gradebook:
nothing but the gradebook is shared between the two, as between two processes.
"""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import msgspec
import pytest
from sqlalchemy import create_engine, func, insert, select

from thbcourse.store.db import open_gradebook, writer
from thbcourse.store.exports import score_table
from thbcourse.store.gradebook import LearnerRow, add_learners, create_cohort
from thbcourse.store.migrate import upgrade
from thbcourse.store.tables import answer_receipts, attempts, learners
from thbcourse.web import create_app
from thbcourse.web.questions import form_state

from conftest import REPO
from store_fixtures import db_url  # noqa: F401  (fixture)
from test_web import (PASSWORD_RECORD, Browser, Clock, act, answer, app, app_sqlite, at_of, clock,  # noqa: F401
                      course, engine_of, join, key_response, live, start, stored, trainer, wrong_response)


@pytest.fixture
def gradebook(db_url):
    engine = open_gradebook(db_url)
    yield engine
    engine.dispose()


def app_on(course, engine, clock=None, **options):
    return create_app(course, engine, password=PASSWORD_RECORD, clock=clock or Clock(), **options)


def moved_to(b: Browser, app) -> Browser:
    """The same device (cookies) talking to another process."""
    again = Browser(app)
    again.client.cookies = b.client.cookies
    return again


def answer_with_id(b: Browser, item, response, answer_id: str, path: str = "/play/answer"):
    fields = {k: sorted(v) if isinstance(v, set) else v for k, v in form_state(item, response).items()}
    return b.post(path, {"q": item.number, "answer_id": answer_id, **fields})


# --- restart recovery ------------------------------------------------------------------------------------

def test_a_restart_finds_every_unfinished_session_as_it_was(course, gradebook):
    clock = Clock()
    first = app_on(course, gradebook, clock)
    tr = trainer(first)
    sid, code = start(tr, "all-types", "paced", new_cohort="Restart R")
    a, b = join(first, code, "ofc-a"), join(first, code, "ofc-b", "10.0.0.2")
    act(tr, sid, "next")
    item = live(first).sessions[sid].item()
    assert answer(a, item, key_response(item.question)).status_code == 200
    sid2, code2 = start(tr, "all-types", "self-paced", time_limit="10")
    c = join(first, code2, "ofc-c")
    deadline = live(first).sessions[sid2].participants["ofc-c"].deadline
    version = live(first).sessions[sid].version

    clock.now += 120  # the process is killed; another starts two minutes later on the same gradebook
    second = app_on(course, gradebook, clock)
    s = live(second).sessions[sid]
    assert (s.code, s.current, s.step, s.version) == (code, 0, "open", version)
    assert live(second).sessions[sid2].participants["ofc-c"].deadline == deadline  # absolute: still running
    tr2, a2, b2, c2 = (moved_to(x, second) for x in (tr, a, b, c))
    assert "Close the question" in tr2.get(f"/trainer/sessions/{sid}").text  # the trainer is still signed in
    assert "Question 1 of 7" in tr2.get(f"/trainer/sessions/{sid}/projector").text
    assert a2.get("/play/state").json() == {"version": version}  # the phone catches up by itself
    assert "Your answer is saved" in a2.get("/play").text
    assert answer(b2, item, wrong_response(item.question)).status_code == 200
    act(tr2, sid, "close")
    act(tr2, sid, "finish")
    assert "Your result" in a2.get("/play").text
    clock.now += 9 * 60  # 11 minutes after joining: the 10-minute limit ran on while the app was down
    assert "Your result" in c2.get("/play").text
    with gradebook.connect() as conn:
        assert conn.execute(select(func.count()).select_from(attempts).where(attempts.c.status == "open")).scalar() == 0
        header, rows = score_table(conn, quizzes=("all-types",), cohort="Restart R")
        rows = list(rows)
    assert sorted(r[0] for r in rows) == ["ofc-a", "ofc-b"]
    listing = tr2.get("/trainer").text
    assert code in listing and code2 in listing


def test_a_session_left_from_an_earlier_run_is_listed_to_continue_or_end(course, gradebook):
    first = app_on(course, gradebook)
    tr = trainer(first)
    sid, code = start(tr, "sample-quiz", "paced")
    second = app_on(course, gradebook)
    live(second).started_at += 1  # started after the session was made
    tr2 = moved_to(tr, second)
    page = tr2.get("/trainer").text
    assert "left from an earlier run" in page and f'action="/trainer/sessions/{sid}/finish"' in page
    at = re.search(rf'/trainer/sessions/{sid}/finish".*?name="at" value="([^"]+)"', page, re.S).group(1)
    r = tr2.post(f"/trainer/sessions/{sid}/finish", {"at": at})
    assert "End the session?" in r.text and not live(second).sessions[sid].finished  # asked first
    tr2.post(f"/trainer/sessions/{sid}/finish", {"at": at, "confirm": "yes"})
    assert live(second).sessions[sid].finished


def test_a_second_process_sees_the_first_ones_changes(course, gradebook):
    """Two workers: every request may land on either; what one changes, the other serves."""
    one, two = app_on(course, gradebook), app_on(course, gradebook)
    tr = trainer(one)
    sid, code = start(tr, "sample-quiz", "paced")
    a = join(two, code, "ofc-a")  # joined on the second, found by the first
    act(tr, sid, "next")
    live(two).sync()
    item = live(two).sessions[sid].item()
    assert item is not None and live(two).sessions[sid].step == "open"
    assert answer(a, item, key_response(item.question)).status_code == 200
    assert answer(moved_to(a, one), item, key_response(item.question)).status_code == 200
    tr_two = moved_to(tr, two)
    act(tr_two, sid, "close")  # the trainer's cookie and the CSRF secret are shared too
    r = answer(moved_to(a, one), item, wrong_response(item.question))  # the first's cache is stale: the gradebook decides
    assert r.status_code == 409 and "closed" in r.text


# --- idempotent answers ------------------------------------------------------------------------------------

def test_an_answer_sent_twice_is_stored_once_and_never_overwrites_a_later_one(app):
    tr = trainer(app)
    sid, code = start(tr, "all-types", "paced")
    a = join(app, code, "ofc-a")
    act(tr, sid, "next")
    s = live(app).sessions[sid]
    item, p = s.item(), s.participants["ofc-a"]
    page = a.get("/play").text
    answer_id = re.search(r'name="answer_id" value="([^"]+)"', page).group(1)
    first, second = key_response(item.question), wrong_response(item.question)
    for _ in range(3):  # the reply was lost: the page sends the same form again
        assert answer_with_id(a, item, first, answer_id).status_code == 200
    assert answer_with_id(a, item, second, "another-page-id-123456").status_code == 200
    assert answer_with_id(a, item, first, answer_id).status_code == 200  # a late duplicate of the first
    from thbcourse.store.codec import dump_response
    assert stored(app, p.attempt) == {item.question.id: dump_response(second)}
    with engine_of(app).connect() as conn:
        assert conn.execute(select(func.count()).select_from(answer_receipts)
                            .where(answer_receipts.c.attempt_id == p.attempt)).scalar() == 2


# --- the migration -------------------------------------------------------------------------------------------

def test_a_0001_gradebook_is_upgraded_without_losing_anything(db_url):
    url = db_url if "://" in db_url else f"sqlite:///{db_url}"
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        from thbcourse.store.db import _sqlite_setup
        _sqlite_setup(engine)
    upgrade(engine, "0001")
    from datetime import datetime, timezone
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with writer(engine).begin() as conn:
        for code in ("OFC-A", "ofc-a", "Ofc-B"):
            conn.execute(insert(learners).values(code=code, created_at=at))
        conn.exec_driver_sql("INSERT INTO attempts (learner_id, blueprint, seed, status, started_at, max_score, "
                             "pass_mark, score, percent, passed) VALUES (1, 'q', 1, 'complete', '2026-01-01', 2, 70, 2, 100, true)")
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(learners.c.code, learners.c.code_key).order_by(learners.c.id)).all()
        assert conn.execute(select(func.count()).select_from(attempts)).scalar() == 1
    assert [tuple(r) for r in rows] == [("OFC-A", "ofc-a"), ("ofc-a", "ofc-a#2"), ("Ofc-B", "ofc-b")]
    from thbcourse.store.gradebook import learner_id
    with writer(engine).begin() as conn:
        assert learner_id(conn, "OFC-B") == 3 and learner_id(conn, "ofc-A") == 1
    engine.dispose()


# --- hostile input -------------------------------------------------------------------------------------------

def test_a_file_in_any_form_field_is_a_4xx_never_a_500(app_sqlite):
    app = app_sqlite
    tr = trainer(app)
    sid, code = start(tr, "sample-quiz", "paced")
    a = join(app, code, "ofc-a")
    act(tr, sid, "next")
    client = app.routes
    posts = sorted({r.path for r in client if hasattr(r, "methods") and r.methods and "POST" in r.methods})
    for who in (Browser(app), a, tr):  # without any session, as an officer, as the trainer
        token = who.csrf()
        for path in posts:
            path = path.replace("{sid}", str(sid)).replace("{action}", "close").replace("{blueprint}", "check-chain")
            for field in ("csrf", "answer", "learner", "code"):
                data = {"csrf": token, "q": "1", "answer": "A", "learner": "ofc-a", "code": code, "at": "x"}
                data.pop(field)
                r = who.client.post(path, data=data, files={field: ("x.txt", b"A", "text/plain")})
                assert 400 <= r.status_code < 500, (path, field, r.status_code)
    assert live(app).sessions[sid].step == "open"


def test_learner_ids_differing_only_by_case_are_one_learner(app):
    with writer(engine_of(app)).begin() as conn:
        create_cohort(conn, "Case C")
        add_learners(conn, "Case C", [LearnerRow("OFC-A"), LearnerRow("ofc-b"), LearnerRow("ofc-A")])
    with pytest.raises(Exception), writer(engine_of(app)).begin() as conn:  # the key is unique
        conn.execute(insert(learners).values(code="ofc-x", code_key="ofc-a", created_at=func.now()))
    tr = trainer(app)
    sid, code = start(tr, "sample-quiz", "paced", cohort="Case C")
    a = join(app, code, "ofc-a")  # the roster says OFC-A
    r = Browser(app, "10.0.0.7").post("/join", {"code": code, "learner": "OFC-a"})
    assert r.status_code == 409 and "another device" in r.text  # the same learner, not a second one
    assert join(app, code, "OFC-B", "10.0.0.8")
    act(tr, sid, "finish")
    with engine_of(app).connect() as conn:
        assert conn.execute(select(func.count()).select_from(learners)).scalar() == 2
        header, rows = score_table(conn, cohort="Case C")
        rows = list(rows)
    assert sorted(r[0] for r in rows) == ["OFC-A", "ofc-b"]  # as first written
    assert "OFC-A" in a.get("/play").text


def test_the_gradebook_folder_and_files_are_private(tmp_path, course):
    folder = tmp_path / "data" / "thbcourse"
    old = os.umask(0o022)
    try:
        engine = open_gradebook(str(folder / "gradebook.sqlite"))
        app = app_on(course, engine)
        trainer(app)  # writes: the -wal and -shm files exist now
    finally:
        os.umask(old)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    made = [p for p in folder.iterdir() if p.name.startswith("gradebook.sqlite")]
    assert {p.name for p in made} >= {"gradebook.sqlite", "gradebook.sqlite-wal", "gradebook.sqlite-shm"}
    assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in made} == {p.name: 0o600 for p in made}
    engine.dispose()


def test_self_study_is_limited_and_continues_the_open_attempt(app_sqlite):
    app = app_sqlite
    b = Browser(app, "10.9.9.9")
    assert b.post("/study/check-chain", {"learner": "ofc-s"}).url.path == "/study/attempt"
    first = [s for s in live(app).sessions.values() if s.mode == "self-study"]
    other = Browser(app, "10.9.9.9")  # another browser, the same learner: the same attempt, not a new one
    assert other.post("/study/check-chain", {"learner": "OFC-S"}).url.path == "/study/attempt"
    assert [s for s in live(app).sessions.values() if s.mode == "self-study"] == first
    statuses = [Browser(app, "10.9.9.9").post("/study/check-chain", {"learner": f"x-{n}"}).status_code
                for n in range(40)]
    assert 429 in statuses and statuses.count(200) <= 30
    with engine_of(app).connect() as conn:
        made = conn.execute(select(func.count()).select_from(attempts)).scalar()
    assert made <= 30
    live(app).clock.now += 13 * 3600  # left for more than STUDY_IDLE_HOURS: totalled and forgotten
    assert live(app).expire_study() >= 1
    assert not [s for s in live(app).sessions.values() if s.mode == "self-study"]
    with engine_of(app).connect() as conn:
        assert conn.execute(select(func.count()).select_from(attempts).where(attempts.c.status == "open")).scalar() == 0


def test_a_squatter_does_not_pass_answers_to_the_real_officer(app):
    with writer(engine_of(app)).begin() as conn:
        create_cohort(conn, "Roster S")
        add_learners(conn, "Roster S", [LearnerRow("ofc-1"), LearnerRow("ofc-2")])
    tr = trainer(app)
    sid, code = start(tr, "sample-quiz", "self-paced", cohort="Roster S")
    squatter = join(app, code, "ofc-1", "10.0.0.66")
    s = live(app).sessions[sid]
    p = s.participants["ofc-1"]
    old, item = p.attempt, p.paper.items[0]
    answer(squatter, item, wrong_response(item.question))
    real = Browser(app, "10.0.0.1")
    assert real.post("/join", {"code": code, "learner": "ofc-1"}).status_code == 409
    page = tr.get(f"/trainer/sessions/{sid}/learners").text
    assert "another device asked for this id" in page and "empty paper" in page
    tr.post(f"/trainer/sessions/{sid}/release", {"learner": "ofc-1", "paper": "empty"})
    assert real.post("/join", {"code": code, "learner": "ofc-1"}).url.path == "/play"
    new = s.participants["ofc-1"]
    assert new.attempt != old and stored(app, new.attempt) == {} and stored(app, old) != {}
    assert squatter.get("/play").url.path == "/join"
    act(tr, sid, "finish")
    with engine_of(app).connect() as conn:
        statuses = dict(conn.execute(select(attempts.c.id, attempts.c.status)
                                     .where(attempts.c.session_id == sid)).all())
    assert statuses == {old: "void", new.attempt: "complete"}


# --- the projector, an exam, stale actions, reopening, confirmations ---------------------------------------

EXAM = """\
id: exam-x
title: Exam X
purpose: exam
sections: [{title: Single, count: 1, questions: [s-single]}]
"""


@pytest.fixture
def exam_course(tmp_path):
    import shutil

    from thbcourse.bank.course import load_course

    from conftest import DATA
    from thbcourse.bank.blueprint import Blueprint

    shutil.copytree(DATA / "quizzes", tmp_path / "q")
    bank = tmp_path / "q" / "banks" / "sample.yml"  # an exam draws only questions reserved for assessment
    bank.write_text(bank.read_text(encoding="utf-8").replace("  - id: s-single\n", "  - id: s-single\n    reserved: true\n"),
                    encoding="utf-8")
    (tmp_path / "q" / "blueprints" / "exam-x.yml").write_text(EXAM, encoding="utf-8")
    (tmp_path / "q" / "blueprints" / "drill.yml").write_text(
        "id: drill\ntitle: Drill\npurpose: practice\nsections: [{title: All, count: 4, topics: [chain]}]\n",
        encoding="utf-8")
    course = load_course([tmp_path / "q"], book_root=None)
    # A study quiz that needs the reserved question: `validate` refuses it, so it is added past validation
    # to see that the app still leaves it out.
    course.blueprints["drill-all"] = msgspec.convert(
        {"id": "drill-all", "title": "Drill everything", "purpose": "practice", "sections": [{"title": "All", "count": 7}]}, Blueprint)
    return course


def test_an_exam_shows_no_distribution_before_the_question_is_closed(exam_course, tmp_path):
    app = app_on(exam_course, open_gradebook(str(tmp_path / "g.sqlite")))
    tr = trainer(app)
    sid, code = start(tr, "exam-x", "paced", show_bars="on")  # asked for live bars: not for an exam
    a = join(app, code, "ofc-a")
    act(tr, sid, "next")
    item = live(app).sessions[sid].item()
    answer(a, item, key_response(item.question))
    room = tr.get(f"/trainer/sessions/{sid}/projector").text
    assert 'class="bars"' not in room and "appear once the question is closed" in room
    assert 'name="at"' not in room  # the projector view has no controls
    assert tr.get(f"/trainer/sessions/{sid}/state").json()["meters"] == {}
    assert 'class="bars"' in tr.get(f"/trainer/sessions/{sid}").text  # the trainer's own view has them
    act(tr, sid, "close")
    assert 'class="bars"' in tr.get(f"/trainer/sessions/{sid}/projector").text


def test_a_stale_action_is_refused_and_a_closed_question_can_be_reopened(app):
    tr = trainer(app)
    sid, code = start(tr, "all-types", "paced")
    s = live(app).sessions[sid]
    stale = at_of(tr, sid)  # a second tab, left on the lobby
    act(tr, sid, "next")
    act(tr, sid, "close")
    act(tr, sid, "next")
    r = tr.post(f"/trainer/sessions/{sid}/close", {"at": stale})
    assert r.status_code == 409 and "out of date" in r.text and (s.current, s.step) == (1, "open")
    assert tr.post(f"/trainer/sessions/{sid}/close", {}).status_code == 400  # an action must say where it was made
    act(tr, sid, "close")
    a = join(app, code, "ofc-a")
    item = s.item()
    assert answer(a, item, key_response(item.question)).status_code == 409
    act(tr, sid, "reopen")
    assert s.step == "open" and answer(a, item, key_response(item.question)).status_code == 200
    act(tr, sid, "close")
    act(tr, sid, "reveal")
    r = tr.post(f"/trainer/sessions/{sid}/reopen", {"at": at_of(tr, sid)})
    assert r.status_code == 409 and s.step == "revealed"  # its answer was shown: never reopened


def test_ending_asks_for_confirmation_without_script(app):
    tr = trainer(app)
    sid, code = start(tr, "sample-quiz", "self-paced")
    a = join(app, code, "ofc-a")
    r = tr.post(f"/trainer/sessions/{sid}/finish", {"at": at_of(tr, sid)})
    assert "End the session?" in r.text and 'name="confirm" value="yes"' in r.text
    assert not live(app).sessions[sid].finished
    r = a.post("/play/finish")
    assert "Hand in your paper?" in r.text and not live(app).sessions[sid].participants["ofc-a"].done


def test_study_quizzes_never_draw_questions_reserved_for_assessment(exam_course, tmp_path):
    app = app_on(exam_course, open_gradebook(str(tmp_path / "g.sqlite")))
    listing = Browser(app).get("/study").text
    assert "Drill everything" not in listing  # 7 questions are not there without the exam's
    assert Browser(app).post("/study/drill-all", {"learner": "ofc-s"}).status_code == 404
    for n in range(20):
        b = Browser(app, f"10.1.0.{n}")
        assert b.post("/study/drill", {"learner": f"ofc-{n}"}).url.path == "/study/attempt"
    drawn = {i.question.id for s in live(app).sessions.values() for p in s.participants.values() for i in p.paper.items}
    assert drawn and "s-single" not in drawn


# --- shared limits and TLS ------------------------------------------------------------------------------

def test_the_sign_in_counter_is_shared_by_every_worker(course, gradebook):
    one, two = app_on(course, gradebook), app_on(course, gradebook)
    for n in range(10):
        Browser(one if n % 2 else two, "10.3.3.3").post("/trainer/sign-in", {"password": "guess"})
    assert Browser(one, "10.3.3.3").post("/trainer/sign-in", {"password": "guess"}).status_code == 429
    assert Browser(two, "10.3.3.3").post("/trainer/sign-in", {"password": "guess"}).status_code == 429


def test_with_tls_every_cookie_is_secure(course, tmp_path):
    app = app_on(course, open_gradebook(str(tmp_path / "g.sqlite")), secure=True)
    b = Browser(app, "127.0.0.1")
    b.client.base_url = "https://testserver"
    r = b.client.get("/join")
    token = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    r = b.client.post("/trainer/sign-in", data={"csrf": token, "password": "correct horse battery staple"},
                      follow_redirects=False)
    cookies = r.headers.get_list("set-cookie") + b.client.get("/study").headers.get_list("set-cookie")
    assert cookies and all("secure" in c.lower() for c in cookies)


def test_serve_refuses_several_workers_on_sqlite(tmp_path):
    r = subprocess.run([sys.executable, "-m", "thbcourse", "serve", "--workers", "2", "--db",
                        str(tmp_path / "g.sqlite")], cwd=REPO, capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(REPO / "src")})
    assert r.returncode != 0 and "PostgreSQL" in r.stderr
