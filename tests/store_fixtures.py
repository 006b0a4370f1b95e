"""Gradebooks for tests: a fresh SQLite file, and a fresh PostgreSQL database.

The PostgreSQL runs need THBCOURSE_TEST_PG (an admin URL); without it conftest.py leaves them out and
says so in one line. CI (.ci/run) starts PostgreSQL on loopback, sets the URL and refuses to leave
them out, so every store test runs on both there.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("THBCOURSE_TEST_PG")
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A URL (or path) of an empty gradebook, SQLite and PostgreSQL."""
    if request.param == "sqlite":
        yield str(tmp_path / "gradebook.sqlite")
        return
    name = f"thb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
