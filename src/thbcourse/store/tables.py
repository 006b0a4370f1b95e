"""The gradebook's tables (SQLAlchemy Core). Changes go through a migration in migrations/versions/.

A learner is keyed by a pseudonymous code; name and e-mail are optional and leave with `purge`.
An attempt is 'open' while answers arrive (the classroom app) and 'complete' once its totals are
written; exports only ever read complete attempts, so a killed process never exports half a result.
"""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, BigInteger, MetaData,
                        String, Table, Text, UniqueConstraint)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

cohorts = Table(
    "cohorts", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

learners = Table(
    "learners", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(100), nullable=False, unique=True),  # the pseudonymous learner id, as first written
    Column("code_key", String(120)),  # the id as matched: learner_key(code), unique (migration 0002)
    Column("name", String(200)),
    Column("email", String(320)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("uq_learners_code_key", "code_key", unique=True),
)

memberships = Table(
    "memberships", metadata,
    Column("cohort_id", Integer, ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True),
    Column("learner_id", Integer, ForeignKey("learners.id", ondelete="CASCADE"), primary_key=True),
)

quiz_sessions = Table(
    "quiz_sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("blueprint", String(80), nullable=False),
    Column("seed", BigInteger),  # the paper's seed when everyone answers the same paper (paced)
    Column("mode", String(20), nullable=False),  # terminal, import, scan, paced, self-paced, rubric
    Column("cohort_id", Integer, ForeignKey("cohorts.id", ondelete="SET NULL")),
    Column("created_by", String(100), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

attempts = Table(
    "attempts", metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("quiz_sessions.id", ondelete="SET NULL")),
    Column("learner_id", Integer, ForeignKey("learners.id", ondelete="CASCADE"), nullable=False),
    Column("blueprint", String(80), nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("status", String(10), nullable=False),  # open, complete
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("score", Float),
    Column("max_score", Float, nullable=False),  # the paper's maximum, known when it is drawn
    Column("pass_mark", Float, nullable=False),
    Column("percent", Float),
    Column("passed", Boolean),
    Index("ix_attempts_learner_blueprint", "learner_id", "blueprint"),
)

responses = Table(
    "responses", metadata,
    Column("id", Integer, primary_key=True),
    Column("attempt_id", Integer, ForeignKey("attempts.id", ondelete="CASCADE"), nullable=False),
    Column("question_id", String(80), nullable=False),
    Column("topic", String(40), nullable=False),
    Column("objective", String(120), nullable=False),
    Column("answer", Text, nullable=False),  # the canonical response as JSON
    Column("score", Float, nullable=False),
    Column("max_score", Float, nullable=False),
    Column("answered_at", DateTime(timezone=True), nullable=False),
    Column("seconds", Float),
    UniqueConstraint("attempt_id", "question_id"),  # one answer per question: the last one counts
)

export_log = Table(
    "export_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("who", String(100), nullable=False),
    Column("what", String(200), nullable=False),
    Column("details", Text, nullable=False),
    Column("rows", Integer, nullable=False),
)

# --- the classroom app's live state (migration 0002): what a restarted or second process needs ---------

live_sessions = Table(
    "live_sessions", metadata,
    Column("id", Integer, ForeignKey("quiz_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("code", String(12), nullable=False, unique=True),  # the join code
    Column("mode", String(20), nullable=False),  # paced, self-paced, self-study
    Column("cohort", String(200)),
    Column("roster_only", Boolean, nullable=False),
    Column("time_limit", Integer),  # minutes, self-paced
    Column("show_bars", Boolean, nullable=False),  # live answer bars while a question is open
    Column("phase", String(10), nullable=False),  # lobby, running, finished
    Column("current", Integer, nullable=False),  # paced: index of the question on screen, -1 before the first
    Column("step", String(10), nullable=False),  # paced: open, closed, revealed
    Column("opened_at", Float, nullable=False),  # seconds since the epoch (absolute, not per process)
    Column("revealed", Text, nullable=False),  # JSON list of revealed question indexes
    Column("version", Integer, nullable=False),  # what learners see: their pages reload when it moves
    Column("stamp", Integer, nullable=False),  # any change (joins too): other processes reload when it moves
    Column("created_at", Float, nullable=False),
    Column("touched_at", Float, nullable=False),
    Column("ended_at", Float),
)

live_participants = Table(
    "live_participants", metadata,
    Column("session_id", Integer, ForeignKey("live_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("learner", String(100), primary_key=True),  # the normalised learner id
    Column("attempt_id", Integer, ForeignKey("attempts.id", ondelete="CASCADE"), nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("deadline", Float),  # self-paced: seconds since the epoch after which answers are refused
    Column("token", String(64)),  # the device this learner is bound to; NULL: the next join takes it
    Column("done", Boolean, nullable=False),
    Column("stamp", Integer, nullable=False),  # the session's stamp when this row last changed
    Column("waiting_at", Float),  # another device asked for this id (the trainer sees it)
    Column("waiting_count", Integer, nullable=False),
)

answer_receipts = Table(
    "answer_receipts", metadata,  # answer ids made by the page: a resent answer is never stored twice
    Column("attempt_id", Integer, ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True),
    Column("answer_id", String(64), primary_key=True),
    Column("question_id", String(80), nullable=False),
)

web_tokens = Table(
    "web_tokens", metadata,  # trainer sign-ins, shared by every worker and kept over a restart
    Column("token", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("expires_at", Float, nullable=False),
)

web_settings = Table(
    "web_settings", metadata,  # the app's signing secret (one for every worker and every restart)
    Column("name", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

rate_events = Table(
    "rate_events", metadata,  # rate limits shared by every worker
    Column("id", Integer, primary_key=True),
    Column("bucket", String(20), nullable=False),
    Column("key", String(100), nullable=False),
    Column("at", Float, nullable=False),
    Index("ix_rate_events_bucket_key_at", "bucket", "key", "at"),
)
