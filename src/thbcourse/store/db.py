"""Where the gradebook lives and how to open it.

Default: one SQLite file, `$XDG_DATA_HOME/thbcourse/gradebook.sqlite` (usually
`~/.local/share/thbcourse/gradebook.sqlite`), created on first use. Academy-wide: a PostgreSQL URL
given with `--db` or the environment variable THBCOURSE_DB. Opening a gradebook brings its schema to
the newest migration.

SQLite runs in WAL mode with a generous busy timeout, and every writing transaction starts with
BEGIN IMMEDIATE: several processes then queue for the write lock instead of failing with
"database is locked" halfway through a transaction.

Permissions: a data folder this module creates is 0700, and the gradebook file is created 0600 before
SQLite opens it (SQLite gives its -wal and -shm files the mode of the database file). An existing
gradebook readable by others is narrowed to 0600 (with its -wal and -shm) when it is opened.
"""
from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event

ENV_VAR = "THBCOURSE_DB"
BUSY_TIMEOUT_MS = 120_000


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "thbcourse" / "gradebook.sqlite"


def resolve_url(db: str | None = None) -> str:
    """--db, else $THBCOURSE_DB, else the default file. A plain path means a SQLite file."""
    target = db or os.environ.get(ENV_VAR) or str(default_path())
    if "://" in target:
        return target
    return f"sqlite:///{Path(target).expanduser().resolve()}"


def open_gradebook(db: str | None = None, *, migrate: bool = True) -> Engine:
    url = resolve_url(db)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            private_file(Path(path))
        engine = create_engine(url)
        _sqlite_setup(engine)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if migrate:
        from thbcourse.store.migrate import upgrade

        upgrade(engine)
    return engine


def private_file(path: Path) -> None:
    """Create the gradebook's folder (0700) and file (0600) if missing; narrow an existing one to 0600."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)  # mkdir's mode is cut by the umask
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for found in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if found.stat().st_mode & 0o077 and found.stat().st_uid == os.getuid():
                os.chmod(found, 0o600)
        except FileNotFoundError:
            pass


def writer(engine: Engine) -> Engine:
    """The same engine, for transactions that write (BEGIN IMMEDIATE on SQLite)."""
    return engine.execution_options(thbcourse_write=True)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable against a killed process in WAL mode
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        immediate = connection.get_execution_options().get("thbcourse_write")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
