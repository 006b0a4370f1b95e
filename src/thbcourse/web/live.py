"""Live quiz sessions: their state is in the gradebook; each process keeps a cache of it.

The gradebook holds everything a restarted process or another worker needs (tables live_sessions,
live_participants and answer_receipts, migration 0002): the join code, the mode, which paced question
is on screen and whether it is open, closed or revealed, the absolute deadlines of self-paced papers,
which device each learner is bound to, one attempt per learner (its seed fixes the paper) and every
answer. A process that starts finds every unfinished session there, as it was.

Every change is one transaction that first locks the session's row (PostgreSQL: SELECT ... FOR UPDATE;
SQLite: BEGIN IMMEDIATE), checks the state it was asked to change (a trainer's action names the
question and step it was made on, and is refused when the session has moved on), writes, and bumps
two counters: `version` (what learners see: their pages reload when it moves) and `stamp` (any change,
joins too). Answers are written by one writer thread per process in batches (one transaction for every
answer waiting, under a shared lock on the sessions' rows): closing a question or ending a session
waits for the batch in flight, so what was stored before is kept and what comes after is refused;
a learner's page says "saved" only after the commit. Each answer carries an id made by the page, kept
in answer_receipts in the same transaction: a resent answer is never stored twice.

The cache is written through by the process that makes a change; other processes (workers on
PostgreSQL) read every session's stamp every POLL_SECONDS and reload what moved (`sync`). Whether
an answer is accepted is always decided in the database, never from the cache.

Paced: one paper for everyone (one seed per quiz session); the trainer opens, closes (and may reopen)
and reveals each question. Self-paced: a paper per learner (a seed each), answered within the time
limit. Self-study: one learner alone, with no join code; each question closes as it is answered, and
its feedback follows at once.
"""
from __future__ import annotations

import hashlib
import json
import queue
import secrets
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from thbcourse.bank.blueprint import Blueprint
from thbcourse.engine.attempt import AttemptResult, mark_paper
from thbcourse.engine.draw import Paper, PaperItem, draw
from thbcourse.engine.grade import grader
from thbcourse.store import live as queries
from thbcourse.store.codec import dump_response, load_response
from thbcourse.store.db import writer
from thbcourse.store.gradebook import (GradebookError, close_attempt, create_session, learner_id, learner_key,
                                       open_attempt, void_attempt)
from thbcourse.store.gradebook import now as gradebook_now
from thbcourse.store.tables import (answer_receipts, attempts, learners, live_participants, live_sessions,
                                    quiz_sessions, responses)

JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a projector
JOIN_LENGTH = 6  # 32**6: about a billion codes; the join form is rate-limited
SEED_RANGE = 10**6
POLL_SECONDS = 0.25  # PostgreSQL: another worker's change reaches this process's cache within this
BATCH = 500  # answers written in one transaction at most
STUDY_IDLE_HOURS = 12  # a self-study attempt left this long is totalled and forgotten
CACHE_IDLE_SECONDS = 1800  # self-study and finished sessions leave the cache after this (reloaded on demand)
NO_BARS = ("exam", "post-test")  # no live distribution before a question is closed, whatever the session says


class Refused(Exception):
    """A request the live session turns down; the message is meant for the person who made it."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


@dataclass(eq=False)
class Participant:
    learner: str  # the learner id as stored (first spelling); the session's dict is keyed by learner_key
    attempt: int
    paper: Paper
    deadline: float | None  # self-paced: clock time (seconds since the epoch) after which answers are refused
    token: str | None = None  # the browser this learner is bound to; None: the next join takes it
    done: bool = False  # the attempt is closed (totals written)
    seed: int = 0
    waiting_at: float | None = None  # another device asked for this id while it was bound
    waiting_count: int = 0


@dataclass(eq=False)
class LiveSession:
    id: int  # quiz_sessions.id in the gradebook
    code: str
    blueprint: Blueprint
    mode: str  # paced | self-paced | self-study
    cohort: str | None
    roster_only: bool  # the cohort had a roster: only its members may join
    time_limit: int | None  # minutes, self-paced
    paper: Paper | None  # paced: everyone's paper
    phase: str  # lobby (paced), running, finished
    current: int = -1  # paced: index of the question on screen
    step: str = ""  # paced: open, closed or revealed (the question on screen)
    opened_at: float = 0.0
    revealed: set[int] = field(default_factory=set)
    version: int = 0  # goes up whenever what learners see changes; their pages poll it
    stamp: int = 0  # goes up at any change; other processes reload the session when it moves
    show_bars: bool = True  # live answer bars while the question is open
    created_at: float = 0.0
    ended_at: float | None = None
    participants: dict[str, Participant] = field(default_factory=dict)
    seen_at: float = 0.0  # when this process last used it (the cache forgets idle sessions)

    @property
    def finished(self) -> bool:
        return self.phase == "finished"

    def item(self) -> PaperItem | None:
        """The paced question on screen."""
        return self.paper.items[self.current] if self.paper and self.current >= 0 else None

    @property
    def at(self) -> str:
        """What a trainer's action form says it was made on: the question index and its step."""
        return f"{self.current}:{self.step or 'none'}:{self.phase}"

    @property
    def bars_live(self) -> bool:
        """May the projector show the answer distribution while the question is still open?"""
        return self.show_bars and self.blueprint.purpose not in NO_BARS


@dataclass(eq=False)
class _Job:
    s: LiveSession
    p: Participant
    item: PaperItem
    response: Any
    graded: Any
    answer_id: str
    future: Future


class Live:
    def __init__(self, course, engine: Engine, *, clock=time.time, load: bool = True):
        self.course, self.engine, self.clock = course, engine, clock
        self.sessions: dict[int, LiveSession] = {}
        self.by_code: dict[str, LiveSession] = {}
        self.lock = threading.RLock()
        self.started_at = clock()
        self._graders: dict[tuple[str, float, int], Any] = {}
        self._papers: dict[tuple[str, int], Paper] = {}
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self.postgres = engine.dialect.name == "postgresql"
        self.batches = [0, 0]  # transactions, answers: for the benchmark's figures
        if load:
            self.recover()

    # --- the cache -------------------------------------------------------------------------------

    def recover(self) -> list[LiveSession]:
        """Load every unfinished class session (after a restart, or in a new worker)."""
        with self.engine.connect() as conn:
            ids = list(conn.execute(select(live_sessions.c.id).where(
                live_sessions.c.ended_at.is_(None), live_sessions.c.mode != "self-study")).scalars())
        return [s for s in (self.get(sid) for sid in ids) if s is not None]

    def get(self, sid: int) -> LiveSession | None:
        """The session, from the cache or else from the gradebook (None if there is none)."""
        found = self.sessions.get(sid)
        if found is None:
            found = self._load(sid)
        if found is not None:
            found.seen_at = time.monotonic()
        return found

    def find(self, code: str) -> LiveSession | None:
        code = code.strip().upper().replace(" ", "")
        found = self.by_code.get(code)
        if found is None and code:
            with self.engine.connect() as conn:
                sid = conn.execute(select(live_sessions.c.id).where(
                    live_sessions.c.code == code, live_sessions.c.mode != "self-study")).scalar()
            found = self.get(sid) if sid is not None else None
        return found

    def refresh(self, s: LiveSession) -> LiveSession:
        self._load(s.id)
        return s

    def sync(self) -> int:
        """Reload every cached session another process changed, and load sessions it started; forget
        idle ones. Returns how many were reloaded. Run every POLL_SECONDS on PostgreSQL."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(live_sessions.c.id, live_sessions.c.stamp, live_sessions.c.mode).where(
                live_sessions.c.ended_at.is_(None) | live_sessions.c.id.in_(list(self.sessions)))).all()
        moved = 0
        for sid, stamp, mode in rows:
            cached = self.sessions.get(sid)
            if (cached is None and mode != "self-study") or (cached is not None and cached.stamp != stamp):
                self._load(sid)
                moved += 1
        self._forget_idle()
        return moved

    def _forget_idle(self) -> None:
        limit = time.monotonic() - CACHE_IDLE_SECONDS
        with self.lock:
            for sid, s in list(self.sessions.items()):
                if (s.mode == "self-study" or s.finished) and s.seen_at < limit:
                    del self.sessions[sid]
                    if self.by_code.get(s.code) is s:
                        del self.by_code[s.code]

    def drawable(self, blueprint_id: str) -> bool:
        """Can this blueprint draw a paper (a study quiz draws no question reserved for assessment:
        engine.draw keeps them for exam and post-test blueprints, so a quiz that needs them cannot)?"""
        from thbcourse.engine.draw import DrawError

        try:
            self.paper(self.course.blueprint(blueprint_id), 0)
            return True
        except DrawError:
            return False

    def paper(self, blueprint: Blueprint, seed: int) -> Paper:
        key = (blueprint.id, seed)
        found = self._papers.get(key)
        if found is None:
            found = draw(self.course, blueprint, seed)
            if len(self._papers) > 20_000:
                self._papers.clear()
            self._papers[key] = found
        return found

    def _load(self, sid: int) -> LiveSession | None:
        """Read a session (and its participants changed since the cached copy) into the cache, in place."""
        with self.engine.connect() as conn:
            row = conn.execute(select(live_sessions, quiz_sessions.c.blueprint, quiz_sessions.c.seed)
                               .join(quiz_sessions, quiz_sessions.c.id == live_sessions.c.id)
                               .where(live_sessions.c.id == sid)).mappings().first()
            if row is None:
                return None
            with self.lock:
                s = self.sessions.get(sid)
            since = -1 if s is None else s.stamp
            people = conn.execute(select(live_participants, learners.c.code)
                                  .join(attempts, attempts.c.id == live_participants.c.attempt_id)
                                  .join(learners, learners.c.id == attempts.c.learner_id)
                                  .where(live_participants.c.session_id == sid,
                                         live_participants.c.stamp > since)).mappings().all()
        if row["blueprint"] not in self.course.blueprints:
            return None  # a session of a quiz this course no longer has
        bp = self.course.blueprint(row["blueprint"])
        with self.lock:
            s = self.sessions.get(sid)
            if s is None:
                paper = self.paper(bp, row["seed"]) if row["mode"] == "paced" else None
                s = LiveSession(sid, row["code"], bp, row["mode"], row["cohort"], row["roster_only"],
                                row["time_limit"], paper, row["phase"])
                s.seen_at = time.monotonic()
                self.sessions[sid] = s
                if s.mode != "self-study":
                    self.by_code[s.code] = s
            if row["stamp"] < s.stamp:
                return s  # an older read than what is cached
            s.phase, s.current, s.step, s.opened_at = row["phase"], row["current"], row["step"], row["opened_at"]
            s.revealed = set(json.loads(row["revealed"]))
            s.version, s.stamp, s.show_bars = row["version"], row["stamp"], row["show_bars"]
            s.created_at, s.ended_at = row["created_at"], row["ended_at"]
            for r in people:
                self._put_participant(s, r, bp)
        return s

    def _put_participant(self, s: LiveSession, r, bp: Blueprint) -> None:
        paper = s.paper or self.paper(bp, r["seed"])
        p = s.participants.get(r["learner"])
        if p is None:
            s.participants[r["learner"]] = Participant(r["code"], r["attempt_id"], paper, r["deadline"], r["token"],
                                                       r["done"], r["seed"], r["waiting_at"], r["waiting_count"])
        else:
            p.learner, p.attempt, p.paper, p.deadline = r["code"], r["attempt_id"], paper, r["deadline"]
            p.token, p.done, p.seed, p.waiting_at, p.waiting_count = (
                r["token"], r["done"], r["seed"], r["waiting_at"], r["waiting_count"])

    # --- transactions on one session ---------------------------------------------------------------

    def _locked(self, conn, sid: int, *, share: bool = False):
        query = select(live_sessions).where(live_sessions.c.id == sid)
        if self.postgres:
            query = query.with_for_update(read=share)
        row = conn.execute(query).mappings().first()
        if row is None:
            raise Refused("There is no such session.", 404)
        return row

    def _bump(self, conn, row, *, seen: bool = True, **values) -> int:
        stamp = row["stamp"] + 1
        conn.execute(update(live_sessions).where(live_sessions.c.id == row["id"]).values(
            stamp=stamp, version=row["version"] + (1 if seen else 0), touched_at=self.clock(), **values))
        return stamp

    def _change(self, s: LiveSession, at: str | None, check, values) -> None:
        """One trainer action: refused when `at` (what the trainer's page showed) is not the state now."""
        try:
            with writer(self.engine).begin() as conn:
                row = self._locked(conn, s.id)
                if at is not None and _at(row) != at:
                    raise Refused(_stale(row, s), 409)
                why = check(row)
                if why:
                    raise Refused(why)
                self._bump(conn, row, **values(row))
        finally:
            self._load(s.id)

    # --- the trainer ---------------------------------------------------------------------------

    def create(self, blueprint: str, mode: str, *, cohort: str | None, time_limit: int | None,
               created_by: str, show_bars: bool = True) -> LiveSession:
        if mode not in ("paced", "self-paced", "self-study"):
            raise Refused(f"unknown mode {mode!r}: paced or self-paced", 400)
        bp = self.course.blueprint(blueprint)
        seed = secrets.randbelow(SEED_RANGE) if mode == "paced" else None
        if seed is not None:
            self.paper(bp, seed)  # refuse before writing anything if it cannot be drawn
        now = self.clock()
        with writer(self.engine).begin() as conn:
            roster_only = bool(cohort) and queries.cohort_size(conn, cohort) > 0
            sid = create_session(conn, blueprint=bp.id, mode=mode, created_by=created_by, seed=seed, cohort=cohort)
            code = _join_code()
            while conn.execute(select(live_sessions.c.id).where(live_sessions.c.code == code)).first():
                code = _join_code()
            conn.execute(insert(live_sessions).values(
                id=sid, code=code, mode=mode, cohort=cohort, roster_only=roster_only,
                time_limit=time_limit if mode == "self-paced" else None, show_bars=bool(show_bars),
                phase="lobby" if mode == "paced" else "running", current=-1, step="", opened_at=0.0,
                revealed="[]", version=0, stamp=1, created_at=now, touched_at=now))
        return self._load(sid)

    def open_next(self, s: LiveSession, at: str | None = None) -> None:
        def check(row):
            if row["mode"] != "paced" or row["phase"] == "finished" or row["step"] == "open" \
                    or row["current"] + 1 >= len(s.paper.items):
                return "There is no next question to open."
        self._change(s, at, check, lambda row: {"current": row["current"] + 1, "step": "open",
                                                 "opened_at": self.clock(), "phase": "running"})

    def close_question(self, s: LiveSession, at: str | None = None) -> None:
        self._change(s, at, lambda row: None if row["step"] == "open" and row["phase"] != "finished"
                     else "No question is open.", lambda row: {"step": "closed"})

    def reopen(self, s: LiveSession, at: str | None = None) -> None:
        """Take answers to the closed question again (not once its answer was shown)."""
        self._change(s, at, lambda row: None if row["step"] == "closed" and row["phase"] != "finished"
                     else "Only a closed question whose answer was not shown can be reopened.",
                     lambda row: {"step": "open"})

    def reveal(self, s: LiveSession, at: str | None = None) -> None:
        def values(row):
            return {"step": "revealed", "revealed": json.dumps(sorted(set(json.loads(row["revealed"]))
                                                                      | {row["current"]}))}
        self._change(s, at, lambda row: None if row["step"] == "closed"
                     else "Close the question before revealing the answer.", values)

    def finish(self, s: LiveSession, at: str | None = None) -> None:
        """End the session: close the open question and total every attempt, in one transaction."""
        try:
            with writer(self.engine).begin() as conn:
                row = self._locked(conn, s.id)
                if row["phase"] == "finished":
                    return
                if at is not None and _at(row) != at:
                    raise Refused(_stale(row, s), 409)
                stamp = self._bump(conn, row, phase="finished", ended_at=self.clock(),
                                   step="closed" if row["step"] == "open" else row["step"])
                self._close_all(conn, s, stamp)
        finally:
            self._load(s.id)

    def _close_all(self, conn, s: LiveSession, stamp: int) -> None:
        bp = s.blueprint
        for r in conn.execute(select(live_participants.c.learner, live_participants.c.attempt_id,
                                     live_participants.c.seed).where(
                live_participants.c.session_id == s.id, live_participants.c.done.is_(False))).all():
            close_attempt(conn, r.attempt_id, s.paper or self.paper(bp, r.seed))
        conn.execute(update(live_participants).where(live_participants.c.session_id == s.id,
                                                     live_participants.c.done.is_(False))
                     .values(done=True, stamp=stamp))

    def release(self, s: LiveSession, learner: str, *, keep: bool | None = None) -> None:
        """Let the learner's next join come from a new browser. `keep`: the answers given so far stay
        (a phone that died); else the attempt is set aside and the learner starts an empty paper (a
        classmate had taken the id). Default: empty when the cohort has a roster, kept otherwise."""
        key = learner_key(learner)
        keep = (not s.roster_only) if keep is None else keep
        try:
            with writer(self.engine).begin() as conn:
                row = self._locked(conn, s.id)
                found = conn.execute(select(live_participants).where(
                    live_participants.c.session_id == s.id, live_participants.c.learner == key)).mappings().first()
                if found is None:
                    raise Refused(f"no learner {learner!r} in this session", 404)
                stamp = self._bump(conn, row, seen=False)
                values = {"token": None, "waiting_at": None, "waiting_count": 0, "stamp": stamp}
                if not keep and not found["done"] and row["phase"] != "finished":
                    void_attempt(conn, found["attempt_id"])
                    paper = s.paper or self.paper(s.blueprint, found["seed"])
                    lid = conn.execute(select(attempts.c.learner_id).where(
                        attempts.c.id == found["attempt_id"])).scalar()
                    values["attempt_id"] = open_attempt(conn, learner=lid, blueprint=s.blueprint.id,
                                                        seed=found["seed"], max_score=paper.max_score,
                                                        pass_mark=s.blueprint.pass_mark, session=s.id)
                    if found["deadline"] is not None and s.time_limit:
                        values["deadline"] = self.clock() + 60 * s.time_limit
                conn.execute(update(live_participants).where(
                    live_participants.c.session_id == s.id, live_participants.c.learner == key).values(**values))
        finally:
            self._load(s.id)

    # --- learners --------------------------------------------------------------------------------

    def join(self, s: LiveSession, learner: str, *, token: str | None, fresh_token: str) -> Participant:
        """The learner's place in the session: new, or found again (a rejoin keeps every answer).

        `token` is the one this browser already holds (if any); a learner bound to another browser is
        refused until the trainer releases it (the trainer sees that a device is waiting). A new or
        released learner is bound to `fresh_token`.
        """
        key = learner_key(learner)
        refused = None
        try:
            with writer(self.engine).begin() as conn:
                row = self._locked(conn, s.id)
                found = conn.execute(select(live_participants).where(
                    live_participants.c.session_id == s.id, live_participants.c.learner == key)).mappings().first()
                if found is not None:
                    if found["token"] is None or found["token"] in (token, fresh_token):
                        if found["token"] is None:
                            stamp = self._bump(conn, row, seen=False)
                            conn.execute(update(live_participants).where(
                                live_participants.c.session_id == s.id, live_participants.c.learner == key)
                                .values(token=fresh_token, stamp=stamp, waiting_at=None, waiting_count=0))
                    else:
                        stamp = self._bump(conn, row, seen=False)
                        conn.execute(update(live_participants).where(
                            live_participants.c.session_id == s.id, live_participants.c.learner == key)
                            .values(waiting_at=self.clock(), waiting_count=found["waiting_count"] + 1, stamp=stamp))
                        refused = Refused("This learner id is already in the session on another device. "
                                          "Ask the trainer to allow a new device, or check your learner id.")
                elif row["phase"] == "finished":
                    raise Refused("This session has ended.")
                else:
                    seed = s.paper.seed if s.paper else secrets.randbelow(SEED_RANGE)
                    paper = s.paper or self.paper(s.blueprint, seed)
                    try:
                        lid = learner_id(conn, learner, create=not row["roster_only"])  # a roster: only its learners
                        if s.cohort:
                            if row["roster_only"] and not queries.in_cohort(conn, s.cohort, lid):
                                raise GradebookError(learner)
                            queries.add_member(conn, s.cohort, lid)
                    except GradebookError:
                        raise Refused(f"The learner id {learner!r} is not on the list of this class. "
                                      "Check your learner id or ask the trainer.", 403) from None
                    attempt = open_attempt(conn, learner=lid, blueprint=s.blueprint.id, seed=seed,
                                           max_score=paper.max_score, pass_mark=s.blueprint.pass_mark, session=s.id)
                    stamp = self._bump(conn, row, seen=False)
                    conn.execute(insert(live_participants).values(
                        session_id=s.id, learner=key, attempt_id=attempt, seed=seed,
                        deadline=self.clock() + 60 * row["time_limit"] if row["time_limit"] else None,
                        token=fresh_token, done=False, stamp=stamp, waiting_count=0))
        finally:
            self._load(s.id)
        if refused:
            raise refused
        return s.participants[key]

    def study(self, blueprint: str, learner: str, fresh_token: str) -> tuple[LiveSession, Participant]:
        """Self-study: the learner's unfinished attempt at this quiz if there is one (from any device),
        else a new one-learner session."""
        key = learner_key(learner)
        with self.engine.connect() as conn:
            sid = conn.execute(select(live_sessions.c.id)
                               .join(quiz_sessions, quiz_sessions.c.id == live_sessions.c.id)
                               .join(live_participants, live_participants.c.session_id == live_sessions.c.id)
                               .where(live_sessions.c.mode == "self-study", live_sessions.c.ended_at.is_(None),
                                      quiz_sessions.c.blueprint == blueprint, live_participants.c.learner == key,
                                      live_participants.c.done.is_(False))
                               .order_by(live_sessions.c.id.desc())).scalar()
        s = self.get(sid) if sid is not None else None
        if s is None:
            s = self.create(blueprint, "self-study", cohort=None, time_limit=None, created_by=key[:100])
            return s, self.join(s, learner, token=None, fresh_token=fresh_token)
        self.release(s, learner, keep=True)
        return s, self.join(s, learner, token=None, fresh_token=fresh_token)

    def submit(self, s: LiveSession, p: Participant, number: int, response: Any, answer_id: str | None = None) -> None:
        """Grade one answer and store it (the last answer to a question is the one kept); blocks until
        it is committed. Refused says why it was not stored."""
        self.enqueue(s, p, number, response, answer_id).result()

    def enqueue(self, s: LiveSession, p: Participant, number: int, response: Any,
                answer_id: str | None = None) -> Future:
        """Grade one answer and hand it to the writer thread: the future is done once it is committed
        (or refused)."""
        if not 1 <= number <= len(p.paper.items):
            raise Refused("there is no such question", 404)
        item = p.paper.items[number - 1]
        graded = self._grader(item, s.blueprint)(response)
        if answer_id:  # the page's id with the answer's own: a form sent again with another choice is new
            answer_id = f"{answer_id[:40]}.{hashlib.sha256(dump_response(response).encode()).hexdigest()[:12]}"
        job = _Job(s, p, item, response, graded, answer_id or secrets.token_hex(16), Future())
        self._queue.put(job)
        if self._writer is None or not self._writer.is_alive():
            with self.lock:
                if self._writer is None or not self._writer.is_alive():
                    self._writer = threading.Thread(target=self._write_loop, name="thbcourse-answers", daemon=True)
                    self._writer.start()
        return job.future

    def finish_paper(self, s: LiveSession, p: Participant) -> None:
        """Self-paced or self-study: the learner hands in (or the time is up); the answers are totalled."""
        key = learner_key(p.learner)
        try:
            with writer(self.engine).begin() as conn:
                row = self._locked(conn, s.id)
                found = conn.execute(select(live_participants.c.done, live_participants.c.attempt_id).where(
                    live_participants.c.session_id == s.id, live_participants.c.learner == key)).first()
                if found is None or found.done:
                    return
                stamp = self._bump(conn, row, seen=False)
                close_attempt(conn, found.attempt_id, p.paper)
                conn.execute(update(live_participants).where(
                    live_participants.c.session_id == s.id, live_participants.c.learner == key)
                    .values(done=True, stamp=stamp))
                if s.mode == "self-study":  # its only learner is done: the session is over
                    self._bump(conn, {**row, "stamp": stamp}, phase="finished", ended_at=self.clock())
        finally:
            self._load(s.id)

    def settle(self, s: LiveSession, p: Participant) -> None:
        """Hand in a self-paced paper whose time is up (checked whenever the learner's page is shown)."""
        if not p.done and p.deadline is not None and self.clock() > p.deadline:
            self.finish_paper(s, p)

    def expire_study(self) -> int:
        """Total and close self-study attempts left for STUDY_IDLE_HOURS. Returns how many."""
        cutoff = self.clock() - 3600 * STUDY_IDLE_HOURS
        with self.engine.connect() as conn:
            ids = list(conn.execute(select(live_sessions.c.id).where(
                live_sessions.c.mode == "self-study", live_sessions.c.ended_at.is_(None),
                live_sessions.c.touched_at < cutoff)).scalars())
        for sid in ids:
            s = self.get(sid)
            if s is not None:
                for p in list(s.participants.values()):
                    self.finish_paper(s, p)
                with self.lock:
                    self.sessions.pop(sid, None)
        return len(ids)

    def feedback_visible(self, s: LiveSession, p: Participant, index: int, answered=None) -> bool:
        """The key and feedback of a question: only once it is closed for this learner."""
        if s.mode == "paced":
            return s.finished or index in s.revealed
        if s.mode == "self-study":
            if p.done:
                return True
            answered = self.answers(p) if answered is None else answered
            return p.paper.items[index].question.id in answered
        return p.done or s.finished

    def answers(self, p: Participant) -> dict[str, Any]:
        """question id -> canonical response, read back from the gradebook."""
        types = {item.question.id: item.question.type for item in p.paper.items}
        with self.engine.connect() as conn:
            stored = queries.attempt_answers(conn, p.attempt)
        return {qid: load_response(types[qid], text) for qid, text in stored.items()
                if qid in types and text != "null"}

    def result(self, p: Participant) -> AttemptResult:
        return mark_paper(p.paper, self.answers(p))

    # --- the writer thread -------------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except Exception as err:  # noqa: BLE001  (one bad answer must not fail the others)
                if len(batch) == 1:
                    _settle(batch[0], err)
                else:
                    for job in batch:
                        try:
                            self._write([job])
                        except Exception as single:  # noqa: BLE001
                            _settle(job, single)

    def _write(self, jobs: list[_Job]) -> None:
        now = self.clock()
        outcome: dict[int, Exception | None] = {}
        with writer(self.engine).begin() as conn:
            sids = sorted({j.s.id for j in jobs})
            query = select(live_sessions.c.id, live_sessions.c.phase, live_sessions.c.step, live_sessions.c.current,
                           live_sessions.c.opened_at).where(live_sessions.c.id.in_(sids)).order_by(live_sessions.c.id)
            if self.postgres:  # closing and ending wait until this transaction is over
                query = query.with_for_update(read=True)
            states = {r.id: r for r in conn.execute(query)}
            attempt_ids = sorted({j.p.attempt for j in jobs})
            status = dict(conn.execute(select(attempts.c.id, attempts.c.status)
                                       .where(attempts.c.id.in_(attempt_ids))).all())
            receipts = set(conn.execute(select(answer_receipts.c.attempt_id, answer_receipts.c.answer_id).where(
                answer_receipts.c.answer_id.in_(sorted({j.answer_id for j in jobs})))).all())
            study = sorted({j.p.attempt for j in jobs if j.s.mode == "self-study"})
            answered = set(conn.execute(select(responses.c.attempt_id, responses.c.question_id).where(
                responses.c.attempt_id.in_(study), responses.c.answer != "null")).all()) if study else set()
            rows: dict[tuple[int, str], dict] = {}
            new_receipts = []
            for n, j in enumerate(jobs):
                qid = j.item.question.id
                if (j.p.attempt, j.answer_id) in receipts:
                    outcome[n] = None  # sent again: stored already, not stored twice
                    continue
                why = _refusal(states.get(j.s.id), status.get(j.p.attempt), j, now,
                               (j.p.attempt, qid) in answered)
                if why:
                    outcome[n] = Refused(why)
                    continue
                state = states[j.s.id]
                if j.s.mode == "self-study":
                    answered.add((j.p.attempt, qid))
                q = j.item.question
                rows[(j.p.attempt, qid)] = dict(
                    attempt_id=j.p.attempt, question_id=qid, topic=q.topic.value, objective=q.objective,
                    answer=dump_response(j.response), score=j.graded.score, max_score=j.graded.max,
                    answered_at=gradebook_now(), seconds=now - state.opened_at if j.s.mode == "paced" else None)
                new_receipts.append({"attempt_id": j.p.attempt, "answer_id": j.answer_id, "question_id": qid})
                receipts.add((j.p.attempt, j.answer_id))
                outcome[n] = None
            if rows:
                stmt = _dialect(conn).insert(responses)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["attempt_id", "question_id"],
                    set_={k: stmt.excluded[k] for k in ("answer", "score", "max_score", "answered_at", "seconds")}),
                    [rows[k] for k in sorted(rows)])
            if new_receipts:
                conn.execute(_dialect(conn).insert(answer_receipts).on_conflict_do_nothing(), new_receipts)
        self.batches[0] += 1
        self.batches[1] += len(jobs)
        for n, j in enumerate(jobs):
            _settle(j, outcome[n])

    # --- inside ----------------------------------------------------------------------------------

    def _grader(self, item: PaperItem, blueprint: Blueprint):
        key = (item.question.id, item.points, id(blueprint))
        found = self._graders.get(key)
        if found is None:
            found = self._graders[key] = grader(item.question, item.points, blueprint.grading)
        return found


def _refusal(state, status: str | None, j: _Job, now: float, answered: bool) -> str | None:
    if state is None:
        return "There is no such session; the answer was not saved."
    if state.phase == "finished":
        return "The session has ended; the answer was not saved."
    if status != "open":
        return "Your paper is handed in; the answer was not saved."
    if j.s.mode == "paced" and not (state.step == "open" and state.current == j.item.number - 1):
        return "This question is closed; the answer was not saved."
    if j.p.deadline is not None and now > j.p.deadline:
        return "Time is up; the answer was not saved."
    if j.s.mode == "self-study" and answered:
        return "You have answered this question already; its feedback is shown."
    return None


def _settle(job: _Job, outcome: Exception | None) -> None:
    if job.future.done():
        return
    if outcome is None:
        job.future.set_result(None)
    else:
        job.future.set_exception(outcome)


def _dialect(conn):
    return {"sqlite": sqlite, "postgresql": postgresql}[conn.dialect.name]


def _at(row) -> str:
    return f"{row['current']}:{row['step'] or 'none'}:{row['phase']}"


def _stale(row, s: LiveSession) -> str:
    where = (f"question {row['current'] + 1} is {row['step']}" if row["current"] >= 0 else "no question is open yet")
    if row["phase"] == "finished":
        where = "the session has ended"
    return (f"Not done: this page was out of date ({where} now). The page now shows where the session is; "
            "do it again if you still mean it.")


def _join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_LENGTH))
