"""The first gradebook: cohorts, learners, quiz sessions, attempts, responses, export log.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("name", name="uq_cohorts_name"),
    )
    op.create_table(
        "learners",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("email", sa.String(320)),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("code", name="uq_learners_code"),
    )
    op.create_table(
        "memberships",
        sa.Column("cohort_id", sa.Integer, sa.ForeignKey("cohorts.id", ondelete="CASCADE",
                                                         name="fk_memberships_cohort_id_cohorts"), primary_key=True),
        sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id", ondelete="CASCADE",
                                                          name="fk_memberships_learner_id_learners"), primary_key=True),
    )
    op.create_table(
        "quiz_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("blueprint", sa.String(80), nullable=False),
        sa.Column("seed", sa.BigInteger),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("cohort_id", sa.Integer, sa.ForeignKey("cohorts.id", ondelete="SET NULL",
                                                         name="fk_quiz_sessions_cohort_id_cohorts")),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("quiz_sessions.id", ondelete="SET NULL",
                                                          name="fk_attempts_session_id_quiz_sessions")),
        sa.Column("learner_id", sa.Integer, sa.ForeignKey("learners.id", ondelete="CASCADE",
                                                          name="fk_attempts_learner_id_learners"), nullable=False),
        sa.Column("blueprint", sa.String(80), nullable=False),
        sa.Column("seed", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("finished_at", TZ),
        sa.Column("score", sa.Float),
        sa.Column("max_score", sa.Float, nullable=False),
        sa.Column("pass_mark", sa.Float, nullable=False),
        sa.Column("percent", sa.Float),
        sa.Column("passed", sa.Boolean),
    )
    op.create_index("ix_attempts_learner_blueprint", "attempts", ["learner_id", "blueprint"])
    op.create_table(
        "responses",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("attempt_id", sa.Integer, sa.ForeignKey("attempts.id", ondelete="CASCADE",
                                                          name="fk_responses_attempt_id_attempts"), nullable=False),
        sa.Column("question_id", sa.String(80), nullable=False),
        sa.Column("topic", sa.String(40), nullable=False),
        sa.Column("objective", sa.String(120), nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("max_score", sa.Float, nullable=False),
        sa.Column("answered_at", TZ, nullable=False),
        sa.Column("seconds", sa.Float),
        sa.UniqueConstraint("attempt_id", "question_id", name="uq_responses_attempt_id"),
    )
    op.create_table(
        "export_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("who", sa.String(100), nullable=False),
        sa.Column("what", sa.String(200), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("export_log", "responses", "attempts", "quiz_sessions", "memberships", "learners", "cohorts"):
        op.drop_table(table)
