"""Schema migrations with Alembic, run from code (no alembic.ini to keep in step)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError


MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0002"  # the newest revision; a test checks it against migrations/versions


def config(engine: Engine | None = None):
    from alembic.config import Config  # imported only when a migration has to run

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head" and _revision(engine) == HEAD:
        return  # already current: skip loading the migration scripts
    from alembic import command

    command.upgrade(config(engine), revision)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        except DBAPIError:
            return None


def current(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
