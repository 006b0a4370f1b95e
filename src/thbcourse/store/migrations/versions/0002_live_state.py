"""The classroom app's live state in the gradebook, and learner ids in lower case.

Live quiz sessions (join code, mode, the open/closed/revealed state of the paced question, absolute
deadlines), their participants (attempt, seed, bound device), answer receipts (idempotent answers),
trainer sign-ins, the app's signing secret and shared rate limits: a restarted process, or another
worker, finds everything here.

Learner ids are matched without regard to case from now on (learners.code_key); each keeps the
spelling it was first written with.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-10
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.Integer, sa.ForeignKey("quiz_sessions.id", ondelete="CASCADE",
                                                  name="fk_live_sessions_id_quiz_sessions"), primary_key=True),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("cohort", sa.String(200)),
        sa.Column("roster_only", sa.Boolean, nullable=False),
        sa.Column("time_limit", sa.Integer),
        sa.Column("show_bars", sa.Boolean, nullable=False),
        sa.Column("phase", sa.String(10), nullable=False),
        sa.Column("current", sa.Integer, nullable=False),
        sa.Column("step", sa.String(10), nullable=False),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("revealed", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("stamp", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("touched_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.UniqueConstraint("code", name="uq_live_sessions_code"),
    )
    op.create_table(
        "live_participants",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("live_sessions.id", ondelete="CASCADE",
                                                          name="fk_live_participants_session_id_live_sessions"),
                  primary_key=True),
        sa.Column("learner", sa.String(100), primary_key=True),
        sa.Column("attempt_id", sa.Integer, sa.ForeignKey("attempts.id", ondelete="CASCADE",
                                                          name="fk_live_participants_attempt_id_attempts"),
                  nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("deadline", sa.Float),
        sa.Column("token", sa.String(64)),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("stamp", sa.Integer, nullable=False),
        sa.Column("waiting_at", sa.Float),
        sa.Column("waiting_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "answer_receipts",
        sa.Column("attempt_id", sa.Integer, sa.ForeignKey("attempts.id", ondelete="CASCADE",
                                                          name="fk_answer_receipts_attempt_id_attempts"),
                  primary_key=True),
        sa.Column("answer_id", sa.String(64), primary_key=True),
        sa.Column("question_id", sa.String(80), nullable=False),
    )
    op.create_table(
        "web_tokens",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_table(
        "web_settings",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "rate_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("bucket", sa.String(20), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_rate_events_bucket_key_at", "rate_events", ["bucket", "key", "at"])
    _learner_keys()


def _learner_keys() -> None:
    """learners.code_key: the id as matched (trimmed, case-folded), unique. Where two existing ids differ
    only by case, the older keeps the key and the others get '<key>#<id>' (found by their exact spelling
    only), listed in the log: merge them by hand."""
    op.add_column("learners", sa.Column("code_key", sa.String(120)))
    conn = op.get_bind()
    learners = sa.table("learners", sa.column("id", sa.Integer), sa.column("code", sa.String),
                        sa.column("code_key", sa.String))
    taken: dict[str, str] = {}
    for lid, code in conn.execute(sa.select(learners.c.id, learners.c.code).order_by(learners.c.id)).all():
        key = code.strip().casefold()
        if key in taken:
            log.warning("learner ids %r and %r differ only by case: kept apart (merge them by hand)", taken[key], code)
            key = f"{key}#{lid}"
        else:
            taken[key] = code
        conn.execute(sa.update(learners).where(learners.c.id == lid).values(code_key=key))
    op.create_index("uq_learners_code_key", "learners", ["code_key"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_learners_code_key", table_name="learners")
    with op.batch_alter_table("learners") as batch:
        batch.drop_column("code_key")
    op.drop_index("ix_rate_events_bucket_key_at", table_name="rate_events")
    for table in ("rate_events", "web_settings", "web_tokens", "answer_receipts", "live_participants",
                  "live_sessions"):
        op.drop_table(table)
