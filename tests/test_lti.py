"""The classroom app as an LTI 1.3 tool, end to end against a real platform implementation.

The platform is the PyPI package lti1p3platform (wrapped in Starlette by tests/lti_platform.py), the
tool is the app under uvicorn; both listen on 127.0.0.1 only, and every request of the test, the tool
and the platform goes to one of them. The test plays the learner's browser: it follows the platform's
link to the tool's OIDC login, on to the platform's authorisation endpoint, and posts the form with the
signed id token to the tool's launch URL, as the platform's page would.
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import stat
import threading
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
import uvicorn
from jwcrypto.jwk import JWK
from sqlalchemy import func, select

from thbcourse.bank.course import load_course
from thbcourse.problems import AuthoringError
from thbcourse.store import lti as lti_store
from thbcourse.store.db import open_gradebook, resolve_url
from thbcourse.store.tables import attempts, learners
from thbcourse.web import create_app
from thbcourse.web.auth import hash_password
from thbcourse.web.lti import learner_code, load_tool
from thbcourse.web.lti_config import load_config, load_or_create_key
from thbcourse.web.questions import form_state

import lti_platform
from conftest import DATA
from test_web import key_response
from store_fixtures import db_url  # noqa: F401  (fixture)

CHAIN = "check-chain"
CHAIN_BLUEPRINT = """\
id: check-chain
title: "Self-check: the chain"
purpose: self-check
sections: [{title: Chain, count: 3, topics: [chain]}]
"""
WAIT = 15.0  # seconds for a score to reach the platform (the sender wakes on every POST)


# --- two servers on loopback --------------------------------------------------------------------------------

def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Served:
    def __init__(self, app, sock: socket.socket):
        self.sock = sock
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.server.started

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


class World:
    """The platform (two registrations: the second lets the tool keep names), the tool, the gradebook."""

    def __init__(self, root):
        quizzes = root / "quizzes"
        shutil.copytree(DATA / "quizzes", quizzes)
        (quizzes / "blueprints" / "check-chain.yml").write_text(CHAIN_BLUEPRINT, encoding="utf-8")
        self.course = load_course([quizzes], book_root=None)
        tool_sock, platform_sock = _socket(), _socket()
        self.tool_url = f"http://127.0.0.1:{tool_sock.getsockname()[1]}"
        base = f"http://127.0.0.1:{platform_sock.getsockname()[1]}"
        self.p1 = lti_platform.Platform(base, "/p1", self.tool_url, client_id="thb-tool", deployment_id="dep-1")
        self.p2 = lti_platform.Platform(base, "/p2", self.tool_url, client_id="thb-tool-2", deployment_id="dep-9")
        for p in (self.p1, self.p2):
            p.links["link-chain"] = lti_platform.Link("Chain self-check", {"quiz": CHAIN})
            p.links["link-live"] = lti_platform.Link("Class quiz", {"live": "1"})
            p.links["link-all"] = lti_platform.Link("All quizzes")
            p.links["link-missing"] = lti_platform.Link("Gone", {"quiz": "no-such-quiz"})
        self.config = root / "lti.yml"
        self.config.write_text(
            "platforms:\n" + "".join(
                f"  - issuer: {p.issuer}\n    client_id: {p.registration.get_client_id()}\n"
                f"    auth_login_url: {p.url}/auth\n    auth_token_url: {p.url}/token\n"
                f"    key_set_url: {p.url}/jwks\n    deployment_ids: [\"{p.registration.get_deployment_id()}\"]\n"
                for p in (self.p1, self.p2)) + "    store_names: true\n", encoding="utf-8")
        self.db = str(root / "gradebook.sqlite")
        self.engine = open_gradebook(self.db)
        self.tool = load_tool(self.config, resolve_url(self.db), retry_seconds=1.0)
        self.app = create_app(self.course, self.engine, password=hash_password("trainer password"), lti=self.tool)
        self.platform_server = Served(lti_platform.app([self.p1, self.p2]), platform_sock)
        self.tool_server = Served(self.app, tool_sock)

    def close(self):
        self.tool_server.stop()
        self.platform_server.stop()
        self.tool.close()
        self.engine.dispose()

    def count(self, table) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar()

    def grade(self, attempt: int) -> dict:
        with self.engine.connect() as conn:
            return lti_store.grade(conn, attempt)

    def participant(self, learner: str):
        """The newest attempt of a learner in a live or self-study session (the app's own state)."""
        found = [(s, s.participants[learner]) for s in self.app.state.web.live.sessions.values()
                 if learner in s.participants]
        return max(found, key=lambda f: f[1].attempt)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = World(tmp_path_factory.mktemp("lti"))
    yield w
    w.close()


class Forms(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.forms: list[dict] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "fields": {}})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


def browser() -> httpx.Client:
    return httpx.Client(follow_redirects=True, timeout=20)


def to_platform(b: httpx.Client, p, user: str, link: str) -> httpx.Response:
    """Click the link in the platform: tool login, then the platform's authorisation endpoint."""
    r = b.get(f"{p.url}/launch", params={"user": user, "link": link})
    assert r.status_code == 200, r.text
    assert [str(h.url).split("?")[0] for h in r.history] == [f"{p.url}/launch", f"{p.tool}/lti/login"]
    return r


def id_token_form(r: httpx.Response) -> tuple[str, dict]:
    (form,) = Forms(r.text).forms
    assert set(form["fields"]) == {"id_token", "state"}
    return form["action"], form["fields"]


def launch(b: httpx.Client, p, user: str, link: str) -> tuple[httpx.Response, dict]:
    action, fields = id_token_form(to_platform(b, p, user, link))
    return b.post(action, data=fields), fields


def claims(fields: dict) -> dict:
    return jwt.decode(fields["id_token"], options={"verify_signature": False})


def csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def answer(b: httpx.Client, page: httpx.Response, item, path: str) -> httpx.Response:
    fields = {k: sorted(v) if isinstance(v, set) else v
              for k, v in form_state(item, key_response(item.question)).items()}
    r = b.post(f"{page.url.scheme}://{page.url.netloc.decode()}{path}",
               data={"q": item.number, "csrf": csrf(page.text), **fields})
    assert r.status_code == 200, r.text
    return r


def scores_for(p, user: str, quiz: str, wait: float = WAIT) -> tuple[dict, list[dict]]:
    """(the platform's line item of the quiz, the scores it received for the user), waiting for them."""
    deadline = time.monotonic() + wait
    while True:
        items = [i for i in p.line_items.values() if i.get("resourceId") == quiz]
        got = [s for i in items for s in p.scores.get(i["id"], []) if s.get("userId") == user]
        if got or time.monotonic() > deadline:
            return (items[0] if items else {}), got
        time.sleep(0.1)


def eventually(get, ok, wait: float = WAIT):
    deadline = time.monotonic() + wait
    while not ok(found := get()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def resign(token: str, key_pem: str, kid: str, **changes) -> str:
    body = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    return jwt.encode(body, key_pem, algorithm="RS256", headers={"kid": kid})


# --- tests ------------------------------------------------------------------------------------------------------

def test_the_tool_serves_its_public_key_set_and_keeps_the_private_key_private(world):
    r = httpx.get(f"{world.tool_url}/lti/jwks.json")
    assert r.status_code == 200
    (key,) = r.json()["keys"]
    assert (key["kty"], key["alg"], key["use"], key["kid"]) == ("RSA", "RS256", "sig", world.tool.keys.kid)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "the JWKS must hold the public half only"
    path = world.config.parent / "gradebook-lti-key.pem"  # beside the gradebook, as the trainer password
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_or_create_key(path).kid == world.tool.keys.kid, "the key is made once, then kept"
    assert JWK(**key).thumbprint() == key["kid"]


def test_a_launch_opens_the_quiz_and_the_score_goes_back_to_the_platform(world):
    p, b, user = world.p1, browser(), "u-1001"
    p.users[user] = lti_platform.User("Alex Example", "alex@academy.example")
    r, fields = launch(b, p, user, "link-chain")
    learner = learner_code(p.issuer, user)
    assert r.status_code == 200 and r.url.path == "/study/attempt", r.text
    assert "Self-check: the chain" in r.text and f"learner <strong>{learner}</strong>" in r.text
    assert claims(fields)["name"] == "Alex Example", "the platform did send the name ..."
    with world.engine.connect() as conn:
        row = conn.execute(select(learners.c.code, learners.c.name, learners.c.email)
                           .where(learners.c.code == learner)).one()
        launch_row = conn.execute(select(lti_store.lti_launches).where(lti_store.lti_launches.c.learner == learner)
                                  ).mappings().one()
    assert tuple(row) == (learner, None, None), "... but without store_names no name or e-mail is kept"
    assert re.fullmatch(r"lti-[0-9a-f]{20}", learner) and user not in learner
    assert (launch_row["sub"], launch_row["issuer"], launch_row["deployment_id"]) == (user, p.issuer, "dep-1")

    _, part = world.participant(learner)
    first = part.paper.items[0]
    page = answer(b, r, first, "/study/attempt/answer")
    expected = first.points  # the first answered with the key, the others left out
    assert expected > 0
    r = b.post(f"{world.tool_url}/study/attempt/finish", data={"csrf": csrf(page.text), "confirm": "yes"})
    assert r.status_code == 200 and "Your result" in r.text
    with world.engine.connect() as conn:
        score, max_score, status = conn.execute(select(attempts.c.score, attempts.c.max_score, attempts.c.status)
                                                .where(attempts.c.id == part.attempt)).one()
    assert (score, max_score, status) == (expected, part.paper.max_score, "complete")

    item, got = scores_for(p, user, CHAIN)
    assert len(got) == 1, f"the platform received {got}"
    assert got[0]["scoreGiven"] == pytest.approx(expected)
    assert got[0]["scoreMaximum"] == pytest.approx(part.paper.max_score)
    assert (got[0]["activityProgress"], got[0]["gradingProgress"]) == ("Completed", "FullyGraded")
    assert got[0]["timestamp"].endswith("+00:00")
    assert (item["resourceId"], item["label"], item["tag"]) == (CHAIN, "Self-check: the chain", "thbcourse")
    sent = eventually(lambda: world.grade(part.attempt), lambda g: g["status"] == "sent")
    assert (sent["status"], sent["line_item"], sent["score_given"]) == ("sent", item["id"], pytest.approx(expected))

    # A second learner, the same quiz: the same line item takes the score (one line item per quiz).
    b2 = browser()
    r, _ = launch(b2, p, "u-1002", "link-chain")
    _, part2 = world.participant(learner_code(p.issuer, "u-1002"))
    r = b2.post(f"{world.tool_url}/study/attempt/finish", data={"csrf": csrf(r.text), "confirm": "yes"})
    assert r.status_code == 200
    item2, got2 = scores_for(p, "u-1002", CHAIN)
    assert item2["id"] == item["id"] and len([i for i in p.line_items.values() if i["resourceId"] == CHAIN]) == 1
    assert got2[0]["scoreGiven"] == 0 and got2[0]["scoreMaximum"] == pytest.approx(part2.paper.max_score)


def test_a_wrong_signature_is_refused_and_uses_up_nothing(world):
    p, b = world.p1, browser()
    action, fields = id_token_form(to_platform(b, p, "u-2001", "link-chain"))
    before = (world.count(attempts), world.count(lti_store.lti_launches))
    header, body, signature = fields["id_token"].split(".")
    flipped = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    flipped[10] ^= 1
    bad_signature = f"{header}.{body}.{base64.urlsafe_b64encode(bytes(flipped)).decode().rstrip('=')}"
    other_key = JWK.generate(kty="RSA", size=2048).export_to_pem(private_key=True, password=None).decode()
    own_kid = jwt.get_unverified_header(fields["id_token"])["kid"]
    forged = resign(fields["id_token"], other_key, own_kid)  # the platform's kid, someone else's key
    swapped_body = f"{header}.{jwt.encode({**claims(fields), 'sub': 'u-admin'}, other_key, 'RS256').split('.')[1]}" \
                   f".{signature}"  # another learner's claims under the genuine signature
    for token in (bad_signature, forged, swapped_body):
        r = b.post(action, data={**fields, "id_token": token})
        assert r.status_code == 403 and "refused" in r.text, r.text
    assert (world.count(attempts), world.count(lti_store.lti_launches)) == before, "nothing was created"
    r = b.post(action, data=fields)  # the genuine token still works: a forgery does not use up the nonce
    assert r.status_code == 200 and r.url.path == "/study/attempt"
    assert world.count(attempts) == before[0] + 1


def test_a_replayed_launch_or_nonce_is_refused(world):
    p, b = world.p1, browser()
    action, fields = id_token_form(to_platform(b, p, "u-3001", "link-chain"))
    assert b.post(action, data=fields).url.path == "/study/attempt"
    before = world.count(attempts)
    r = b.post(action, data=fields)  # the same id token and state again
    assert r.status_code == 403 and "nonce" in r.text.lower()
    # A new login, but an id token made (and properly signed by the platform) for the old nonce.
    auth = to_platform(b, p, "u-3001", "link-chain")
    query = parse_qs(urlsplit(str(auth.url)).query)
    old = {k: v[0] for k, v in query.items()} | {"nonce": claims(fields)["nonce"]}
    replayed_action, replayed = id_token_form(b.get(f"{p.url}/auth?{urlencode(old)}"))
    assert claims(replayed)["nonce"] == claims(fields)["nonce"] and replayed["state"] != fields["state"]
    r = b.post(replayed_action, data=replayed)
    assert r.status_code == 403 and "nonce" in r.text.lower()
    assert world.count(attempts) == before
    fresh_action, fresh = id_token_form(b.get(str(auth.url)))  # that login with its own nonce is fine
    assert b.post(fresh_action, data=fresh).url.path == "/study/attempt"


def test_unknown_platforms_deployments_and_quizzes_are_refused(world):
    b = browser()
    r = b.get(f"{world.tool_url}/lti/login", params={"iss": "http://127.0.0.1:9/elsewhere", "login_hint": "x",
                                                       "target_link_uri": f"{world.tool_url}/lti/launch"})
    assert r.status_code == 400 and "not registered" in r.text
    r = b.get(f"{world.tool_url}/lti/login", params={"iss": world.p1.issuer, "login_hint": "x",
                                                       "target_link_uri": "http://127.0.0.1:9/lti/launch"})
    assert r.status_code == 400
    world.p1.registration.set_deployment_id("dep-unknown")
    try:
        r, _ = launch(b, world.p1, "u-4001", "link-chain")
    finally:
        world.p1.registration.set_deployment_id("dep-1")
    assert r.status_code == 403 and "deployment" in r.text
    r, _ = launch(b, world.p1, "u-4001", "link-missing")
    assert r.status_code == 404 and "no-such-quiz" in r.text


def test_names_are_kept_only_where_the_configuration_turns_it_on(world):
    p = world.p2
    p.users["u-5001"] = lti_platform.User("Sam Example", "sam@academy.example")
    r, _ = launch(browser(), p, "u-5001", "link-chain")
    assert r.status_code == 200 and r.url.path == "/study/attempt"
    with world.engine.connect() as conn:
        row = conn.execute(select(learners.c.name, learners.c.email)
                           .where(learners.c.code == learner_code(p.issuer, "u-5001"))).one()
    assert tuple(row) == ("Sam Example", "sam@academy.example")


def test_a_launch_can_join_the_trainers_live_session(world):
    p, b, user = world.p1, browser(), "u-6001"
    live = world.app.state.web.live
    session = live.create(CHAIN, "self-paced", cohort=None, time_limit=None, created_by="trainer")
    r, _ = launch(b, p, user, "link-live")
    assert r.status_code == 200 and "Code on the projector" in r.text
    assert "/lti/study/" not in r.text, "a live link offers only the join form"
    r = b.post(f"{world.tool_url}/lti/join", data={"code": "NOPE42", "csrf": csrf(r.text)})
    assert r.status_code == 404
    r = b.post(f"{world.tool_url}/lti/join", data={"code": session.code, "csrf": csrf(r.text)})
    assert r.status_code == 200 and r.url.path == "/play", r.text
    learner = learner_code(p.issuer, user)
    part = session.participants[learner]
    page = answer(b, r, part.paper.items[0], "/play/answer")
    r = b.post(f"{world.tool_url}/play/finish", data={"csrf": csrf(page.text), "confirm": "yes"})
    assert r.status_code == 200
    _, got = scores_for(p, user, CHAIN)
    assert [s["scoreGiven"] for s in got] == [pytest.approx(part.paper.items[0].points)]


def test_the_configuration_is_checked_with_positions(write):
    path = write("lti.yml", """\
        tool_url: thb.academy.example
        platforms:
          - issuer: https://moodle.academy.example
            client_id: abc
            auth_login_url: https://moodle.academy.example/mod/lti/auth.php
            auth_token_url: https://moodle.academy.example/mod/lti/token.php
            deployment_ids: "1"
            colour: blue
          - issuer: https://moodle.academy.example
            client_id: abc
            auth_login_url: https://moodle.academy.example/mod/lti/auth.php
            auth_token_url: https://moodle.academy.example/mod/lti/token.php
            key_set_url: ftp://moodle.academy.example/certs
            deployment_ids: ["1"]
        """)
    with pytest.raises(AuthoringError) as caught:
        load_config(path)
    found = [(p.line, p.message) for p in caught.value.problems]
    assert (1, "tool_url must be an http:// or https:// address, e.g. https://thb.academy.example") in found
    assert any(line == 3 and "missing 'key_set_url'" in m for line, m in found)
    assert any(line == 7 and "deployment_ids is a list" in m for line, m in found)
    assert any(line == 8 and "unknown key 'colour'" in m for line, m in found)
    assert any(line == 13 and "key_set_url must be an http" in m for line, m in found)
    assert all(str(p).startswith(f"{p.path}:{p.line}:") for p in caught.value.problems)


def test_behind_https_the_state_cookie_is_samesite_none_secure_and_required(world, tmp_path):
    """With tool_url https://... a browser sends the state cookie back on the platform's cross-site POST
    (SameSite=None; Secure), so it is required, as PyLTI1p3 does it; over plain HTTP (the tests above)
    the state is checked in the database instead."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from starlette.testclient import TestClient

    p = world.p1
    config = tmp_path / "lti.yml"
    config.write_text(world.config.read_text(encoding="utf-8").replace("platforms:", "tool_url: https://testserver\n"
                                                                                     "platforms:"), encoding="utf-8")
    engine = open_gradebook(str(tmp_path / "gradebook.sqlite"))
    tool = load_tool(config, resolve_url(str(tmp_path / "gradebook.sqlite")))
    app = create_app(world.course, engine, password=hash_password("x"), lti=tool)
    p.redirect_uris.add("https://testserver/lti/launch")
    try:
        tab = TestClient(app, base_url="https://testserver", follow_redirects=False)
        r = tab.get("/lti/login", params={"iss": p.issuer, "login_hint": "u-7001", "lti_message_hint": "link-chain",
                                          "target_link_uri": "https://testserver/lti/launch",
                                          "client_id": p.registration.get_client_id()})
        assert r.status_code == 302 and r.headers["location"].startswith(f"{p.url}/auth?")
        cookie = r.headers["set-cookie"].lower()
        assert cookie.startswith("lti1p3-state-") and "secure" in cookie and "samesite=none" in cookie
        action, fields = id_token_form(httpx.get(r.headers["location"]))
        assert action == "https://testserver/lti/launch"
        other = TestClient(app, base_url="https://testserver", follow_redirects=False)  # not the same browser
        r = other.post("/lti/launch", data=fields)
        assert r.status_code == 403 and "State not found" in r.text
        r = tab.post("/lti/launch", data=fields)
        assert r.status_code == 303 and r.headers["location"] == "/study/attempt"
    finally:
        p.redirect_uris.discard("https://testserver/lti/launch")
        tool.close()
        engine.dispose()


def test_login_states_and_grades_in_the_gradebook_database(db_url):
    """The LTI tables on SQLite and PostgreSQL: a state and nonce work once and together, and a score is
    sent by one worker, once the attempt is complete, and tried again later after a failure."""
    from datetime import timedelta

    from sqlalchemy import update

    from thbcourse.store.db import writer
    from thbcourse.store.gradebook import close_attempt, create_session, learner_id, open_attempt

    engine = open_gradebook(db_url)
    try:
        lti_store.create_tables(engine)
        lti_store.create_tables(engine)  # idempotent
        who = dict(issuer="https://lms.example", client_id="c1")
        lti_store.issue_state(engine, state="state-a", nonce="n-a", **who)
        assert lti_store.state_pending(engine, "state-a")
        assert not lti_store.consume_state(engine, state="state-a", nonce="n-other", **who)
        assert not lti_store.consume_state(engine, state="state-a", nonce="n-a", issuer="https://else", client_id="c1")
        assert lti_store.consume_state(engine, state="state-a", nonce="n-a", **who)
        assert not lti_store.consume_state(engine, state="state-a", nonce="n-a", **who), "once only"
        assert not lti_store.state_pending(engine, "state-a")
        lti_store.issue_state(engine, state="state-b", nonce="n-b", **who)
        with writer(engine).begin() as conn:
            conn.execute(update(lti_store.lti_states).values(expires_at=lti_store.now() - timedelta(seconds=1)))
        assert not lti_store.consume_state(engine, state="state-b", nonce="n-b", **who), "expired"

        with writer(engine).begin() as conn:
            lid = learner_id(conn, "lti-0123456789abcdef0123", create=True)
            sid = create_session(conn, blueprint=CHAIN, mode="self-study", created_by="t")
            attempt = open_attempt(conn, learner=lid, blueprint=CHAIN, seed=1, max_score=3, pass_mark=70, session=sid)
            launch_id = lti_store.record_launch(conn, **who, deployment_id="d", sub="s-1", learner="lti-x",
                                                resource_link="r", context="c", ags={"scope": []})
            lti_store.expect_grade(conn, attempt=attempt, launch_id=launch_id, blueprint=CHAIN)
            lti_store.expect_grade(conn, attempt=attempt, launch_id=launch_id, blueprint=CHAIN)  # continued
        with engine.connect() as conn:
            assert lti_store.due(conn) == [], "nothing is sent while the attempt is open"
        with writer(engine).begin() as conn:
            close_attempt(conn, attempt)
        with engine.connect() as conn:
            assert [r["attempt_id"] for r in lti_store.due(conn)] == [attempt]
            assert lti_store.launch(conn, launch_id)["ags"] == {"scope": []}
        with writer(engine).begin() as conn:
            assert lti_store.claim(conn, attempt)
        with writer(engine).begin() as conn:
            assert not lti_store.claim(conn, attempt), "a second worker does not send it too"
            lti_store.mark_failed(conn, attempt, "platform away")
        with engine.connect() as conn:
            assert lti_store.due(conn) == [], "a failure waits before the next try"
        with writer(engine).begin() as conn:
            conn.execute(update(lti_store.lti_grades).values(next_try_at=lti_store.now() - timedelta(seconds=1)))
            assert lti_store.claim(conn, attempt)
            lti_store.mark_sent(conn, attempt, score=0.0, maximum=3.0, line_item="https://lms.example/li/1")
        with engine.connect() as conn:
            found = lti_store.grade(conn, attempt)
            assert (found["status"], found["tries"], lti_store.due(conn)) == ("sent", 2, [])
        with writer(engine).begin() as conn:
            assert lti_store.purge(conn, lti_store.now() + timedelta(days=1)) == (1, 0)
            assert lti_store.grade(conn, attempt) is None
    finally:
        engine.dispose()
