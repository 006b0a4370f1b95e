"""Live quiz sessions: the state a classroom shares, kept in this process, with every answer in the gradebook.

The gradebook holds what must survive a lost connection: the quiz session, one attempt per learner
(its seed fixes the paper) and every answer, written before the request that carried it returns.
This module holds what only matters while the class is running: the join code, which question is
open, which learner is bound to which browser.

Paced: one paper for everyone (one seed per quiz session); the trainer opens, closes and reveals
each question. Self-paced: a paper per learner (a seed each), answered within the time limit.
Self-study: one learner alone, with no join code; each question closes as it is answered, and its
feedback follows at once.

An answer is accepted only while its question is open (paced) or its time runs (self-paced). The
check and a count of answers in flight are taken under the session's lock, and closing waits until
no accepted answer is still being written: what arrived before closing is kept, what arrives after
is refused, and totals and reveals never miss an answer on its way to the database.
"""
from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from thbcourse.bank.blueprint import Blueprint
from thbcourse.engine.attempt import AttemptResult, mark_paper
from thbcourse.engine.draw import Paper, PaperItem, draw
from thbcourse.engine.grade import grader
from thbcourse.store import live as queries
from thbcourse.store.codec import load_response
from thbcourse.store.db import writer
from thbcourse.store.gradebook import (GradebookError, close_attempt, create_session, learner_id, open_attempt,
                                       record_response)

JOIN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread on a projector
JOIN_LENGTH = 6  # 32**6: about a billion codes; the join form is rate-limited
SEED_RANGE = 10**6
DRAIN_SECONDS = 30.0


class Refused(Exception):
    """A request the live session turns down; the message is meant for the person who made it."""

    def __init__(self, message: str, status: int = 409):
        super().__init__(message)
        self.status = status


@dataclass(eq=False)
class Participant:
    learner: str
    attempt: int
    paper: Paper
    deadline: float | None  # self-paced: clock time after which answers are refused
    token: str | None = None  # the browser this learner is bound to; None: the next join takes it
    done: bool = False  # the attempt is closed (totals written)
    locked: set[str] = field(default_factory=set)  # self-study: questions answered and stored, hence closed
    pending: set[str] = field(default_factory=set)  # self-study: an answer on its way to the gradebook


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
    participants: dict[str, Participant] = field(default_factory=dict)
    inflight: int = 0
    cond: threading.Condition = field(default_factory=threading.Condition)
    join_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def finished(self) -> bool:
        return self.phase == "finished"

    def item(self) -> PaperItem | None:
        """The paced question on screen."""
        return self.paper.items[self.current] if self.paper and self.current >= 0 else None


class Live:
    def __init__(self, course, engine: Engine, *, clock=time.time):
        self.course, self.engine, self.clock = course, engine, clock
        self.sessions: dict[int, LiveSession] = {}
        self.by_code: dict[str, LiveSession] = {}
        self.lock = threading.Lock()
        self._graders: dict[tuple[str, float, int], Any] = {}

    # --- the trainer ---------------------------------------------------------------------------

    def create(self, blueprint: str, mode: str, *, cohort: str | None, time_limit: int | None,
               created_by: str) -> LiveSession:
        bp = self.course.blueprint(blueprint)
        if mode not in ("paced", "self-paced", "self-study"):
            raise Refused(f"unknown mode {mode!r}: paced or self-paced", 400)
        seed = secrets.randbelow(SEED_RANGE) if mode == "paced" else None
        paper = draw(self.course, bp, seed) if seed is not None else None
        with writer(self.engine).begin() as conn:
            roster_only = bool(cohort) and queries.cohort_size(conn, cohort) > 0
            sid = create_session(conn, blueprint=bp.id, mode=mode, created_by=created_by, seed=seed, cohort=cohort)
        with self.lock:
            code = _join_code()
            while code in self.by_code:
                code = _join_code()
            live = LiveSession(sid, code, bp, mode, cohort, roster_only, time_limit if mode == "self-paced" else None,
                               paper, "lobby" if mode == "paced" else "running")
            self.sessions[sid] = live
            if mode != "self-study":  # a learner studying alone is the only one in the session
                self.by_code[code] = live
        return live

    def open_next(self, s: LiveSession) -> None:
        with s.cond:
            if s.mode != "paced" or s.finished or s.step == "open" or s.current + 1 >= len(s.paper.items):
                raise Refused("there is no next question to open")
            s.current, s.step, s.opened_at, s.phase = s.current + 1, "open", self.clock(), "running"
            s.version += 1

    def close_question(self, s: LiveSession) -> None:
        with s.cond:
            if s.step != "open":
                raise Refused("no question is open")
            s.step = "closed"
            s.cond.wait_for(lambda: s.inflight == 0, DRAIN_SECONDS)
            s.version += 1

    def reveal(self, s: LiveSession) -> None:
        with s.cond:
            if s.step != "closed":
                raise Refused("close the question before revealing the answer")
            s.step = "revealed"
            s.revealed.add(s.current)
            s.version += 1

    def finish(self, s: LiveSession) -> None:
        """End the session: close the open question and every attempt (totals written)."""
        with s.join_lock, s.cond:  # the same lock order as join: no one joins halfway through
            if s.finished:
                return
            s.phase = "finished"
            if s.step == "open":
                s.step = "closed"
            s.cond.wait_for(lambda: s.inflight == 0, DRAIN_SECONDS)
            open_ones = [p for p in s.participants.values() if not p.done]
            for p in open_ones:
                p.done = True
        self._close_attempts(open_ones)
        with s.cond:
            s.version += 1

    def release(self, s: LiveSession, learner: str) -> None:
        """Let the learner's next join come from a new browser (a phone that died, say)."""
        with s.cond:
            if learner not in s.participants:
                raise Refused(f"no learner {learner!r} in this session", 404)
            s.participants[learner].token = None

    # --- learners --------------------------------------------------------------------------------

    def find(self, code: str) -> LiveSession | None:
        return self.by_code.get(code.strip().upper().replace(" ", ""))

    def join(self, s: LiveSession, learner: str, *, token: str | None, fresh_token: str) -> Participant:
        """The learner's place in the session: new, or found again (a rejoin keeps every answer).

        `token` is the one this browser already holds (if any); a learner bound to another browser is
        refused until the trainer releases it. A new or released learner is bound to `fresh_token`.
        """
        with s.join_lock:
            found = s.participants.get(learner)
            if found is not None:
                if found.token is None:
                    found.token = fresh_token
                elif found.token != token:
                    raise Refused("This learner id is already in the session on another device. "
                                  "Ask the trainer to allow a new device, or check your learner id.")
                return found
            if s.finished:
                raise Refused("This session has ended.")
            seed = s.paper.seed if s.paper else secrets.randbelow(SEED_RANGE)
            paper = s.paper or draw(self.course, s.blueprint, seed)
            try:
                with writer(self.engine).begin() as conn:
                    lid = learner_id(conn, learner, create=not s.roster_only)  # a roster: only its learners
                    if s.cohort:
                        if s.roster_only and not queries.in_cohort(conn, s.cohort, lid):
                            raise GradebookError(learner)
                        queries.add_member(conn, s.cohort, lid)
                    attempt = open_attempt(conn, learner=lid, blueprint=s.blueprint.id, seed=seed,
                                           max_score=paper.max_score, pass_mark=s.blueprint.pass_mark, session=s.id)
            except GradebookError:
                raise Refused(f"The learner id {learner!r} is not on the list of this class. "
                              "Check your learner id or ask the trainer.", 403) from None
            deadline = self.clock() + 60 * s.time_limit if s.time_limit else None
            found = Participant(learner, attempt, paper, deadline, token=fresh_token)
            with s.cond:
                s.participants[learner] = found
            return found

    def submit(self, s: LiveSession, p: Participant, number: int, response: Any) -> None:
        """Grade one answer and store it (the last answer to a question is the one kept)."""
        if not 1 <= number <= len(p.paper.items):
            raise Refused("there is no such question", 404)
        item = p.paper.items[number - 1]
        with self._accepting(s, p, number):
            graded = self._grader(item, s.blueprint)(response)
            seconds = self.clock() - s.opened_at if s.mode == "paced" else None
            try:
                with writer(self.engine).begin() as conn:
                    record_response(conn, p.attempt, question=item.question, response=response, graded=graded,
                                    seconds=seconds)
            except GradebookError:
                raise Refused("Your paper is closed; the answer was not saved.") from None

    def finish_paper(self, s: LiveSession, p: Participant) -> None:
        """Self-paced: the learner hands in (or the time is up); the answers are totalled."""
        with s.cond:
            if p.done:
                return
            p.done = True
            s.cond.wait_for(lambda: s.inflight == 0, DRAIN_SECONDS)
        self._close_attempts([p])

    def settle(self, s: LiveSession, p: Participant) -> None:
        """Hand in a self-paced paper whose time is up (checked whenever the learner's page is shown)."""
        if not p.done and p.deadline is not None and self.clock() > p.deadline:
            self.finish_paper(s, p)

    def feedback_visible(self, s: LiveSession, p: Participant, index: int) -> bool:
        """The key and feedback of a question: only once it is closed for this learner."""
        if s.mode == "paced":
            return s.finished or index in s.revealed
        if s.mode == "self-study":
            return p.done or p.paper.items[index].question.id in p.locked
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

    # --- inside ----------------------------------------------------------------------------------

    @contextmanager
    def _accepting(self, s: LiveSession, p: Participant, number: int):
        with s.cond:
            if s.finished:
                raise Refused("The session has ended; the answer was not saved.")
            if p.done:
                raise Refused("Your paper is handed in; the answer was not saved.")
            if s.mode == "paced" and not (s.step == "open" and s.current == number - 1):
                raise Refused("This question is closed; the answer was not saved.")
            if p.deadline is not None and self.clock() > p.deadline:
                raise Refused("Time is up; the answer was not saved.")
            qid = p.paper.items[number - 1].question.id
            if s.mode == "self-study":
                if qid in p.locked or qid in p.pending:
                    raise Refused("You have answered this question already; its feedback is shown.")
                p.pending.add(qid)
            s.inflight += 1
        stored = False
        try:
            yield
            stored = True
        finally:
            with s.cond:
                if s.mode == "self-study":
                    p.pending.discard(qid)
                    if stored:
                        p.locked.add(qid)
                s.inflight -= 1
                s.cond.notify_all()

    def _grader(self, item: PaperItem, blueprint: Blueprint):
        key = (item.question.id, item.points, id(blueprint))
        found = self._graders.get(key)
        if found is None:
            found = self._graders[key] = grader(item.question, item.points, blueprint.grading)
        return found

    def _close_attempts(self, participants: list[Participant]) -> None:
        if not participants:
            return
        with writer(self.engine).begin() as conn:
            for p in participants:
                close_attempt(conn, p.attempt, p.paper)


def _join_code() -> str:
    return "".join(secrets.choice(JOIN_ALPHABET) for _ in range(JOIN_LENGTH))
