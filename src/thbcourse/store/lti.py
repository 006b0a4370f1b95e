"""What the LTI 1.3 tool keeps in the gradebook's database: login states, launches, scores to send.

These tables belong to the LTI tool (thbcourse.web.lti) alone. They live on a MetaData of their own
and are made by `create_tables` (`metadata.create_all`, which creates only what is missing) when the
tool starts; they are not part of the gradebook's Alembic migrations, so nothing in the gradebook's
schema or its exports depends on them. They refer to gradebook attempts by id only (no foreign key
across the two schemas): a purged attempt leaves its grade row behind, which `purge` clears.

- lti_states: one row per OIDC login in flight (state, nonce, platform). A launch consumes its row in
  one DELETE: a nonce or a state is good once, for STATE_SECONDS, and only together.
- lti_launches: each accepted resource-link launch: the platform (issuer, client id, deployment), the
  platform's pseudonymous user id (`sub`, needed to send the score back), our learner code derived
  from it, and the Assignment and Grade Services endpoint of the link. No name, no e-mail.
- lti_grades: one row per attempt started from a launch, and whether its score went back.
- lti_line_items: the platform line item found or made for each quiz (per platform and course).
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from sqlalchemy import (Column, Connection, DateTime, Engine, Float, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, delete, insert, select, text, update)
from sqlalchemy.dialects import postgresql, sqlite

from thbcourse.store.db import writer
from thbcourse.store.tables import attempts

STATE_SECONDS = 10 * 60  # from the OIDC login to the launch: the platform answers in a second or two
MAX_TRIES = 8  # sending a score: then the row stays 'failed', with the platform's last answer
RETRY_MINUTES = 1  # after a failure: 1, 2, 4 ... minutes (about two hours in all)
CLAIM_SECONDS = 300  # a row 'sending' for longer (its worker died) is taken up again

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
})

lti_states = Table(
    "lti_states", metadata,
    Column("state", String(100), primary_key=True),
    Column("nonce", String(100), nullable=False),
    Column("issuer", String(300), nullable=False),
    Column("client_id", String(300), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

lti_launches = Table(
    "lti_launches", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("issuer", String(300), nullable=False),
    Column("client_id", String(300), nullable=False),
    Column("deployment_id", String(300), nullable=False),
    Column("sub", String(300), nullable=False),  # the platform's pseudonymous user id (AGS userId)
    Column("learner", String(100), nullable=False),  # our learner code, lti-<hash of issuer and sub>
    Column("resource_link", String(300), nullable=False),
    Column("context", String(300)),
    Column("ags", Text),  # the AGS endpoint claim as JSON (scope, lineitems, lineitem), or null
)

lti_grades = Table(
    "lti_grades", metadata,
    Column("attempt_id", Integer, primary_key=True),  # attempts.id in the gradebook
    Column("launch_id", Integer, nullable=False),
    Column("blueprint", String(80), nullable=False),
    Column("status", String(12), nullable=False),  # pending, sending, sent, failed, no-service
    Column("tries", Integer, nullable=False, default=0),
    Column("next_try_at", DateTime(timezone=True)),  # after a failure
    Column("claimed_at", DateTime(timezone=True)),  # status 'sending': by one worker, since then
    Column("last_error", Text),
    Column("score_given", Float),
    Column("score_maximum", Float),
    Column("line_item", String(500)),
    Column("sent_at", DateTime(timezone=True)),
)

lti_line_items = Table(
    "lti_line_items", metadata,
    Column("id", Integer, primary_key=True),
    Column("issuer", String(300), nullable=False),
    Column("client_id", String(300), nullable=False),
    Column("lineitems", String(500), nullable=False),  # the platform's line item container (a course)
    Column("blueprint", String(80), nullable=False),
    Column("line_item", String(500), nullable=False),
    UniqueConstraint("issuer", "client_id", "lineitems", "blueprint", name="uq_lti_line_items_key"),
)


def now() -> datetime:
    return datetime.now(timezone.utc)


def create_tables(engine: Engine) -> None:
    """Create the LTI tables that are missing (idempotent; the gradebook's own tables are untouched)."""
    with writer(engine).begin() as conn:
        if conn.dialect.name == "postgresql":  # workers starting at once: one creates, the others wait
            conn.execute(text("SELECT pg_advisory_xact_lock(74818)"))
        metadata.create_all(conn, checkfirst=True)


# --- login states ---------------------------------------------------------------------------------------

def issue_state(engine: Engine, *, state: str, nonce: str, issuer: str, client_id: str) -> None:
    with writer(engine).begin() as conn:
        conn.execute(delete(lti_states).where(lti_states.c.expires_at < now()))
        conn.execute(insert(lti_states).values(state=state, nonce=nonce, issuer=issuer, client_id=client_id,
                                               expires_at=now() + timedelta(seconds=STATE_SECONDS)))


def state_pending(engine: Engine, state: str) -> bool:
    """A state this tool issued, not used yet and not expired."""
    with engine.connect() as conn:
        found = conn.execute(select(lti_states.c.expires_at).where(lti_states.c.state == state)).scalar()
    return found is not None and _aware(found) > now()


def consume_state(engine: Engine, *, state: str, nonce: str, issuer: str, client_id: str) -> bool:
    """True once for a (state, nonce) this tool issued to this platform and that has not expired."""
    with writer(engine).begin() as conn:
        gone = conn.execute(delete(lti_states).where(
            lti_states.c.state == state, lti_states.c.nonce == nonce, lti_states.c.issuer == issuer,
            lti_states.c.client_id == client_id, lti_states.c.expires_at > now())).rowcount
    return gone == 1


# --- launches and grades ------------------------------------------------------------------------------

def record_launch(conn: Connection, *, issuer: str, client_id: str, deployment_id: str, sub: str, learner: str,
                  resource_link: str, context: str | None, ags: dict | None) -> int:
    return conn.execute(insert(lti_launches).values(
        at=now(), issuer=issuer, client_id=client_id, deployment_id=deployment_id, sub=sub, learner=learner,
        resource_link=resource_link, context=context, ags=json.dumps(ags) if ags else None)).inserted_primary_key[0]


def launch(conn: Connection, launch_id: int) -> dict | None:
    row = conn.execute(select(lti_launches).where(lti_launches.c.id == launch_id)).mappings().first()
    if row is None:
        return None
    found = dict(row)
    found["ags"] = json.loads(found["ags"]) if found["ags"] else None
    return found


def expect_grade(conn: Connection, *, attempt: int, launch_id: int, blueprint: str) -> None:
    """The attempt's score is to go back to the platform of this launch once the attempt is complete
    (an attempt continued from a later launch keeps its first launch)."""
    dialect = {"sqlite": sqlite, "postgresql": postgresql}[conn.dialect.name]
    conn.execute(dialect.insert(lti_grades).values(attempt_id=attempt, launch_id=launch_id, blueprint=blueprint,
                                                   status="pending", tries=0)
                 .on_conflict_do_nothing(index_elements=["attempt_id"]))


def _sendable(at: datetime):
    waiting = lti_grades.c.status.in_(("pending", "failed")) & (
        lti_grades.c.next_try_at.is_(None) | (lti_grades.c.next_try_at <= at))
    stuck = (lti_grades.c.status == "sending") & (lti_grades.c.claimed_at < at - timedelta(seconds=CLAIM_SECONDS))
    return (waiting | stuck) & (lti_grades.c.tries < MAX_TRIES)


def due(conn: Connection) -> list[dict]:
    """Grades to send: the attempt is complete, the score has not gone back, its time to try has come."""
    rows = conn.execute(
        select(lti_grades.c.attempt_id, lti_grades.c.launch_id, lti_grades.c.blueprint, lti_grades.c.tries,
               attempts.c.score, attempts.c.max_score, attempts.c.finished_at)
        .join(attempts, attempts.c.id == lti_grades.c.attempt_id)
        .where(attempts.c.status == "complete", _sendable(now()))
        .order_by(lti_grades.c.attempt_id)).mappings().all()
    return [dict(r) for r in rows]


def claim(conn: Connection, attempt: int) -> bool:
    """Take the grade for sending (one worker only: the UPDATE decides)."""
    at = now()
    return conn.execute(update(lti_grades).where(lti_grades.c.attempt_id == attempt, _sendable(at)).values(
        status="sending", claimed_at=at)).rowcount == 1


def mark_sent(conn: Connection, attempt: int, *, score: float, maximum: float, line_item: str | None) -> None:
    conn.execute(update(lti_grades).where(lti_grades.c.attempt_id == attempt).values(
        status="sent", score_given=score, score_maximum=maximum, line_item=line_item, sent_at=now(),
        last_error=None, tries=lti_grades.c.tries + 1))


def mark_failed(conn: Connection, attempt: int, error: str, *, final: bool = False) -> None:
    """A try that failed: again after RETRY_MINUTES, doubling; `final`: nothing to retry (no service)."""
    tries = conn.execute(select(lti_grades.c.tries).where(lti_grades.c.attempt_id == attempt)).scalar() or 0
    conn.execute(update(lti_grades).where(lti_grades.c.attempt_id == attempt).values(
        status="no-service" if final else "failed", last_error=error[:2000], tries=tries + 1,
        next_try_at=now() + timedelta(minutes=RETRY_MINUTES * 2 ** tries)))


def grade(conn: Connection, attempt: int) -> dict | None:
    row = conn.execute(select(lti_grades).where(lti_grades.c.attempt_id == attempt)).mappings().first()
    return dict(row) if row else None


def line_item(conn: Connection, *, issuer: str, client_id: str, lineitems: str, blueprint: str) -> str | None:
    return conn.execute(select(lti_line_items.c.line_item).where(
        lti_line_items.c.issuer == issuer, lti_line_items.c.client_id == client_id,
        lti_line_items.c.lineitems == lineitems, lti_line_items.c.blueprint == blueprint)).scalar()


def remember_line_item(conn: Connection, *, issuer: str, client_id: str, lineitems: str, blueprint: str,
                       url: str) -> None:
    forget_line_item(conn, issuer=issuer, client_id=client_id, lineitems=lineitems, blueprint=blueprint)
    conn.execute(insert(lti_line_items).values(issuer=issuer, client_id=client_id, lineitems=lineitems,
                                               blueprint=blueprint, line_item=url))


def forget_line_item(conn: Connection, *, issuer: str, client_id: str, lineitems: str, blueprint: str) -> None:
    conn.execute(delete(lti_line_items).where(
        lti_line_items.c.issuer == issuer, lti_line_items.c.client_id == client_id,
        lti_line_items.c.lineitems == lineitems, lti_line_items.c.blueprint == blueprint))


def purge(conn: Connection, cutoff: datetime) -> tuple[int, int]:
    """Delete launches older than cutoff with no grade still to send, and grades whose attempt is gone
    (after the gradebook's own `purge`). Returns (launches deleted, grades deleted)."""
    orphans = conn.execute(delete(lti_grades).where(
        ~select(attempts.c.id).where(attempts.c.id == lti_grades.c.attempt_id).exists())).rowcount
    waiting = select(lti_grades.c.launch_id).where(lti_grades.c.status.in_(("pending", "sending", "failed")),
                                                   lti_grades.c.tries < MAX_TRIES)
    old = list(conn.execute(select(lti_launches.c.id).where(lti_launches.c.at < cutoff,
                                                            lti_launches.c.id.not_in(waiting))).scalars())
    if old:
        conn.execute(delete(lti_grades).where(lti_grades.c.launch_id.in_(old)))
        conn.execute(delete(lti_launches).where(lti_launches.c.id.in_(old)))
    conn.execute(delete(lti_states).where(lti_states.c.expires_at < now()))
    return len(old), orphans


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
