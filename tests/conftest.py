"""Shared fixtures, and the rule for tests that need a browser or a PostgreSQL server.

Tests that use the `browser` fixture need Debian's Chromium; the gradebook tests' PostgreSQL runs need
THBCOURSE_TEST_PG. On a machine without them those tests are left out, with one line each in the
summary. CI sets THBCOURSE_CI=1 and installs both: there, leaving anything out stops the run.
"""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from thbcourse.bank.course import load_course

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent
CHROMIUM = Path("/usr/bin/chromium")
# The flags Debian's Chromium needs here: no sandbox as root, no calls to Google's services.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through Playwright, one per test module (tests using it are left out, with
    one line, where Chromium is missing: pytest_collection_modifyitems below)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


def _missing(item) -> str | None:
    """Why this test cannot run on this machine, or None."""
    if "browser" in item.fixturenames and not CHROMIUM.exists():
        return "browser tests need Debian's chromium (apt-get install chromium)"
    params = getattr(getattr(item, "callspec", None), "params", {})
    if params.get("db_url") == "postgresql" and not os.environ.get("THBCOURSE_TEST_PG"):
        return "PostgreSQL runs need THBCOURSE_TEST_PG=postgresql+psycopg://user:password@host:port/postgres"
    return None


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what they will
def pytest_collection_modifyitems(config, items):
    left_out: dict[str, int] = {}
    keep = []
    for item in items:
        why = _missing(item)
        if why is None:
            keep.append(item)
        else:
            left_out[why] = left_out.get(why, 0) + 1
    if left_out and os.environ.get("THBCOURSE_CI") == "1":
        raise pytest.UsageError("CI runs every test, but: " + "; ".join(left_out))
    if left_out:
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    config.stash[_LEFT_OUT] = left_out


_LEFT_OUT = pytest.StashKey[dict]()


def pytest_terminal_summary(terminalreporter, config):
    for why, count in config.stash.get(_LEFT_OUT, {}).items():
        terminalreporter.write_line(f"NOT RUN: {count} test(s): {why}", yellow=True)


@pytest.fixture(scope="session")
def sample_course():
    return load_course([DATA / "quizzes"], book_root=None)


@pytest.fixture
def write(tmp_path):
    """Write a dedented text file under tmp_path and return its path."""
    def _write(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path
    return _write


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The whole course built once for the session (book editions, decks, workbooks, PDFs): (exit code,
    folder)."""
    from thbcourse.book import build

    out = tmp_path_factory.mktemp("book")
    return build.main(out=out, root=REPO, only=build.PARTS), out


@pytest.fixture(scope="session")
def out(built):
    code, folder = built
    if code != 0:
        pytest.fail("the book did not build; run `thbcourse build` to see the warnings")
    return folder
