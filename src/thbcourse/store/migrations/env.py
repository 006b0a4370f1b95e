"""Alembic environment: runs on the engine the gradebook opened, one writing transaction."""
from __future__ import annotations

from alembic import context
from sqlalchemy import text

from thbcourse.store.db import writer
from thbcourse.store.tables import metadata

engine = context.config.attributes["engine"]

with writer(engine).connect() as connection:
    if connection.dialect.name == "postgresql":
        # Processes opening a new gradebook at once must not create the tables twice.
        connection.execute(text("SELECT pg_advisory_lock(74817)"))
    try:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                          transaction_per_migration=False)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(74817)"))
            connection.commit()
