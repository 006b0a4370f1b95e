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
    Column("code", String(100), nullable=False, unique=True),  # the pseudonymous learner id
    Column("name", String(200)),
    Column("email", String(320)),
    Column("created_at", DateTime(timezone=True), nullable=False),
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
