"""The classroom app end to end in headless Chromium: a trainer runs a paced session with two officers
(separate browser contexts, one of them on the keyboard only), and a self-paced one; the results land in
the gradebook export; axe-core finds no serious or critical problem on the officer's and the projector's
pages. The app runs under uvicorn on a free loopback port.
"""
from __future__ import annotations

import csv
import io
import socket
import threading
import time

import pytest
import uvicorn

from thbcourse.bank.course import load_course
from thbcourse.store.db import open_gradebook
from thbcourse.store.exports import score_table
from thbcourse.web import create_app
from thbcourse.web.auth import hash_password

from conftest import DATA

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
axe_api = pytest.importorskip("axe_playwright_python.sync_playwright")

PASSWORD = "e2e trainer password"
WAIT = 8000  # ms: two polling rounds and a page load, with room to spare


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    engine = open_gradebook(str(tmp_path_factory.mktemp("e2e") / "gradebook.sqlite"))
    course = load_course([DATA / "quizzes"], book_root=None)
    app = create_app(course, engine, password=hash_password(PASSWORD))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", app, engine
    server.should_exit = True
    thread.join(10)
    sock.close()
    engine.dispose()


def no_serious_violations(page) -> None:
    results = axe_api.Axe().run(page)
    bad = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
           for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{page.url}: " + "; ".join(bad)


def sign_in(browser, base: str):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/trainer")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/trainer")
    return page


def start_session(page, blueprint: str, mode: str, cohort: str) -> str:
    page.select_option("#blueprint", blueprint)
    page.check("#mode-paced" if mode == "paced" else "#mode-self")
    page.fill("#new_cohort", cohort)
    page.click("button:text-is('Start the session')")
    page.wait_for_selector(".code strong")
    return page.inner_text(".code strong")


def join(browser, base: str, code: str, learner: str):
    context = browser.new_context(viewport={"width": 390, "height": 844})  # a phone
    page = context.new_page()
    page.goto(f"{base}/join?code={code}")
    if learner.endswith("-1"):
        no_serious_violations(page)
    page.fill("#learner", learner)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{base}/play*")
    return page


def answer_with_mouse(page) -> None:
    form = page.locator("form.answer")
    kind = form.get_attribute("data-type")
    if kind in ("single", "true_false"):
        form.locator("input[type=radio]").first.check()
    elif kind == "multiple":
        form.locator("input[type=checkbox]").first.check()
    elif kind == "matching":
        for select in form.locator("select").all():
            select.select_option(index=1)
    elif kind == "ordering":
        for n, select in enumerate(form.locator("select").all()):
            select.select_option(str(n + 1))
    else:
        form.locator("#answer-text").fill("80")
    form.locator("button[type=submit]").click()


def tab_to(page, selector: str) -> None:
    """Press Tab until the element matching `selector` has the focus (as a keyboard user would)."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def answer_with_keyboard(page) -> None:
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    kind = page.locator("form.answer").get_attribute("data-type")
    if kind in ("single", "true_false", "multiple"):
        tab_to(page, "form.answer input[name=answer]")
        page.keyboard.press("Space")
    elif kind in ("matching", "ordering"):
        for n, select in enumerate(page.locator("form.answer select").all()):
            tab_to(page, f"#{select.get_attribute('id')}")
            for _ in range(n + 1 if kind == "ordering" else 1):
                page.keyboard.press("ArrowDown")
    else:
        tab_to(page, "#answer-text")
        page.keyboard.type("80")
    tab_to(page, "form.answer button[type=submit]")
    page.keyboard.press("Enter")


def test_a_paced_session_with_two_officers(server, browser):
    base, app, engine = server
    projector = sign_in(browser, base)  # the trainer's control view (the laptop); `room` is the projector view
    code = start_session(projector, "sample-quiz", "paced", "E2E paced")
    no_serious_violations(projector)
    room = projector.context.new_page()
    room.set_viewport_size({"width": 1366, "height": 768})
    room.goto(projector.url + "/projector")
    join_url = f"{base}/join?code={code}"
    assert join_url in room.locator("figure.qr [role=img]").get_attribute("aria-label")
    assert room.locator("figure.qr svg path").count() >= 1
    assert room.locator("section.controls, form[action*='/trainer/sessions/']").count() == 0  # no controls
    no_serious_violations(room)

    one = join(browser, base, code, "ofc-e2e-1")
    two = join(browser, base, code, "ofc-e2e-2")
    assert "Wait for the trainer to open the first question" in one.inner_text("main")
    no_serious_violations(one)
    expect(projector.locator("#joined")).to_have_text("2", timeout=WAIT)

    total = len(app.state.web.live.by_code[code].paper.items)
    for number in range(1, total + 1):
        projector.click(f"button:text-is('Open question {number} of {total}')")
        for officer in (one, two):  # their pages notice by polling and reload
            officer.wait_for_selector(f'form.answer:has(input[name=q][value="{number}"])', timeout=WAIT)
        if number == 1:
            no_serious_violations(one)
        answer_with_mouse(one)
        answer_with_keyboard(two)
        for officer in (one, two):
            officer.wait_for_selector(".saved", timeout=WAIT)
        if number == 2:  # the first phone loses its connection, then joins again: the answer is still there
            one.context.set_offline(True)
            one.close()
            one.context.set_offline(False)
            one = one.context.new_page()
            one.goto(join_url)
            one.fill("#learner", "ofc-e2e-1")
            one.keyboard.press("Enter")
            one.wait_for_selector(".saved", timeout=WAIT)
            assert one.locator("form.answer button[type=submit]").inner_text() == "Change my answer"
        expect(projector.locator("#answered")).to_have_text("2", timeout=WAIT)
        expect(room.locator("#answered")).to_have_text("2", timeout=WAIT)
        assert room.locator(".bars").count() == 0  # no distribution while answers can still change
        if number == 1:
            no_serious_violations(projector)
            no_serious_violations(room)
        assert "Correct answer" not in one.content()
        if number == 1:  # the trainer's controls work from the keyboard too
            tab_to(projector, "form[action$='/close'] button")
            projector.keyboard.press("Enter")
            projector.wait_for_selector("form[action$='/reveal'] button")
            tab_to(projector, "form[action$='/reveal'] button")
            projector.keyboard.press("Enter")
            projector.wait_for_selector(".reveal")
        else:
            projector.click("button:text-is('Close the question')")
            projector.click("button:text-is('Show the answer')")
        assert projector.locator(".reveal .key").inner_text()
        room.wait_for_selector(".reveal .key", timeout=WAIT)  # the projector follows by itself
        if app.state.web.live.by_code[code].item().question.type in ("single", "multiple", "true_false"):
            assert room.locator(".bars").count() == 1  # once closed, the room sees how it answered
        for officer in (one, two):
            officer.wait_for_selector(".review", timeout=WAIT)
        if number == 1:
            no_serious_violations(one)
            no_serious_violations(projector)
    projector.click("button:text-is('End the session and total the scores')")
    projector.click("button:text-is('Yes, end the session and total the scores')")  # asked first
    projector.wait_for_selector("text=Score distribution")
    assert projector.locator("text=Questions most got wrong").count() == 1
    room.wait_for_selector("text=Score distribution", timeout=WAIT)
    no_serious_violations(projector)
    for officer in (one, two):
        officer.wait_for_selector("h1:text-is('Your result')", timeout=WAIT)
    no_serious_violations(one)

    projector.goto(f"{base}/admin/exports")
    projector.check("#format-csv")
    projector.select_option("#cohort", "E2E paced")
    with projector.expect_download() as download:
        projector.click("button:text-is('Download')")
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8-sig").read())))
    assert sorted(r["learner"] for r in rows) == ["ofc-e2e-1", "ofc-e2e-2"]
    assert {r["quiz"] for r in rows} == {"sample-quiz"}
    one.context.close(), two.context.close(), projector.context.close()


def test_a_stale_tab_cannot_close_the_question_just_opened(server, browser):
    base, app, engine = server
    first = sign_in(browser, base)
    start_session(first, "sample-quiz", "paced", "E2E stale")
    second = first.context.new_page()
    second.goto(first.url)
    first.click("button:text-is('Open question 1 of 5')")
    first.click("button:text-is('Close the question')")
    first.click("button:text-is('Open question 2 of 5')")
    second.click("button:text-is('Open question 1 of 5')")  # made on the lobby: refused, nothing moves
    assert "out of date" in second.inner_text("main")
    s = next(x for x in app.state.web.live.sessions.values() if x.cohort == "E2E stale")
    assert (s.current, s.step) == (1, "open")
    first.context.close()


def test_a_self_paced_session(server, browser):
    base, app, engine = server
    projector = sign_in(browser, base)
    code = start_session(projector, "sample-quiz", "self-paced", "E2E self-paced")
    officer = join(browser, base, code, "ofc-e2e-3")
    total = len(officer.locator(".paper-nav li").all())
    no_serious_violations(officer)
    for number in range(1, total + 1):
        assert officer.locator(".qhead").inner_text().startswith(f"Question {number} of {total}")
        answer_with_keyboard(officer) if number % 2 else answer_with_mouse(officer)
        officer.wait_for_selector(f"text=Your answer to question {number} is saved", timeout=WAIT)
    assert "Correct answer" not in officer.content()
    officer.click("button:text-is('Hand in and see my results')")
    officer.click("button:text-is('Yes, hand in')")
    officer.wait_for_selector("h1:text-is('Your result')")
    assert officer.locator(".review").count() == total
    no_serious_violations(officer)
    expect(projector.locator("#handed-in")).to_have_text("1", timeout=WAIT)
    projector.click("button:text-is('End the session and total the scores')")
    projector.click("button:text-is('Yes, end the session and total the scores')")
    projector.wait_for_selector("text=Score distribution")
    with engine.connect() as conn:
        header, rows = score_table(conn, cohort="E2E self-paced")
        rows = [dict(zip(header, r)) for r in rows]
    assert [(r["learner"], r["quiz"]) for r in rows] == [("ofc-e2e-3", "sample-quiz")]
    officer.context.close(), projector.context.close()
