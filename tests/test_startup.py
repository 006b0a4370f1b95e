"""Each command imports only what it uses, and the book is read again only when it changes.

These check the structure that keeps start-up short (`make bench` times it): which modules a real
process has loaded after a command, and which book pages a second `validate` reads. No timing here.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from test_book import make_mini

# The gradebook (SQLAlchemy and its dialects), the web app, Sphinx and the export writers.
NEVER_FOR_QUIZZES = ("sqlalchemy", "psycopg", "starlette", "uvicorn", "jinja2", "sphinx", "openpyxl", "httpx")
PAGE_PARSER = ("markdown_it", "myst_parser")
BOOK_READER = PAGE_PARSER + ("docutils",)

RUN = """\
import json, sys
from thbcourse.cli import main
try:
    main.main(args=sys.argv[2:], prog_name="thbcourse")
except SystemExit as done:
    if done.code:
        raise
finally:
    with open(sys.argv[1], "w") as out:
        json.dump(sorted(sys.modules), out)
"""


def modules_after(root: Path, *args: str, check: bool = True) -> set[str]:
    """The top-level packages a fresh `thbcourse <args>` process has imported when it is done."""
    record = root / "modules.json"
    subprocess.run([sys.executable, "-c", RUN, str(record), *args], cwd=root, check=check, capture_output=True)
    return {name.partition(".")[0] for name in json.loads(record.read_text())}


@pytest.fixture
def mini_dir(tmp_path):
    root = make_mini(tmp_path)
    shutil.copytree(REPO / "tests/books/mini-quizzes", root / "quizzes")
    (root / "none.yml").write_text("{}\n")
    return root


def test_quiz_commands_import_neither_gradebook_nor_web_app_nor_sphinx(mini_dir):
    validate = modules_after(mini_dir, "validate", "quizzes/banks/mini.yml")
    draw = modules_after(mini_dir, "draw", "self-check-alpha", "--seed", "1", "--out", "papers")
    take = modules_after(mini_dir, "take", "self-check-alpha", "--seed", "1", "--answers", "none.yml")
    for command, loaded in (("validate", validate), ("draw", draw), ("take", take)):
        assert not loaded & set(NEVER_FOR_QUIZZES), command
    assert "rich" not in validate | draw  # the terminal quiz's console is for `take` only
    assert "rich" in take


def test_recording_an_attempt_still_loads_the_gradebook(mini_dir):
    loaded = modules_after(mini_dir, "take", "self-check-alpha", "--seed", "1", "--answers", "none.yml",
                           "--learner", "ofc-1", "--db", str(mini_dir / "gradebook.sqlite"))
    assert "sqlalchemy" in loaded


def test_an_unchanged_book_is_not_parsed_again(mini_dir):
    first = modules_after(mini_dir, "validate", "quizzes/banks/mini.yml")
    assert set(PAGE_PARSER) <= first  # the first run reads the pages
    assert (mini_dir / "_build/.cache/book-facts.json").is_file()
    again = modules_after(mini_dir, "validate", "quizzes/banks/mini.yml")
    assert not again & set(PAGE_PARSER)


def test_draw_and_take_name_sections_without_parsing_an_unchanged_book(mini_dir):
    draw = ("draw", "self-check-alpha", "--seed", "1", "--out", "papers", "--format", "md")
    take = ("take", "self-check-alpha", "--seed", "1", "--answers", "none.yml")
    modules_after(mini_dir, *draw)  # reads the pages once: the checks' facts and the sections' headings
    key = (mini_dir / "papers/self-check-alpha-seed1-key.md").read_text()
    # From then on neither parses a page, nor renders Markdown: a Markdown paper keeps the stems as
    # written, and `take` with an answers file shows no question (markdown-it is for HTML and prompts).
    assert not modules_after(mini_dir, *draw) & set(BOOK_READER)
    assert not modules_after(mini_dir, *take) & set(BOOK_READER)
    assert (mini_dir / "papers/self-check-alpha-seed1-key.md").read_text() == key  # same section names


def test_a_changed_title_is_named_anew(mini_dir):
    draw = ("draw", "self-check-alpha", "--seed", "1", "--out", "papers", "--format", "md")
    key = mini_dir / "papers/self-check-alpha-seed1-key.md"
    modules_after(mini_dir, *draw)
    assert "Section: 1 Alpha chapter › " in key.read_text()
    chapter = mini_dir / "book/01-alpha.md"
    chapter.write_text(chapter.read_text().replace("# Alpha chapter\n", "# Alpha chapter, renamed\n"))
    modules_after(mini_dir, *draw)
    assert "Section: 1 Alpha chapter, renamed › " in key.read_text()


def test_a_changed_page_is_read_again(mini_dir):
    def validate() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "thbcourse", "validate"], cwd=mini_dir, capture_output=True,
                              text=True)

    assert validate().returncode == 0  # the book's facts are kept from here on
    chapter = mini_dir / "book/01-alpha.md"
    text = chapter.read_text()
    chapter.write_text(text.replace("## Act, means and purpose", "## Act, means and aim"))
    result = validate()
    assert result.returncode == 1
    assert "book/01-alpha.md has no heading with anchor #act-means-and-purpose" in result.stderr

    chapter.write_text(text.replace("alpha.second:", "alpha.later:"))
    result = validate()
    assert result.returncode == 1 and "objective 'alpha.second' is not declared by any chapter" in result.stderr
    assert "has no heading" not in result.stderr

    chapter.write_text(text)
    assert validate().returncode == 0


def test_near_duplicates_are_kept_and_found_again_when_a_stem_changes(mini_dir):
    def validate() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "thbcourse", "validate", "quizzes/banks/mini.yml"],
                              cwd=mini_dir, capture_output=True, text=True)

    assert validate().returncode == 0
    assert (mini_dir / "_build/.cache/near-duplicates.json").is_file()
    assert "rapidfuzz" not in modules_after(mini_dir, "validate", "quizzes/banks/mini.yml")  # kept: not scored

    bank = mini_dir / "quizzes/banks/mini.yml"
    text = bank.read_text()
    copy = "stem: Which element is the **purpose**?"
    assert text.count(copy) == 1 and "stem: Which are online channels?" in text
    bank.write_text(text.replace("stem: Which are online channels?", "stem: Which element is the purpose?"))
    result = validate()
    assert result.returncode == 1 and "near-duplicate of mini-single" in result.stderr
    assert "rapidfuzz" not in modules_after(mini_dir, "validate", "quizzes/banks/mini.yml", check=False)  # kept
    again = validate()  # and the kept result reports the same problem
    assert again.returncode == 1 and again.stderr == result.stderr

    bank.write_text(bank.read_text().replace("  - id: mini-multiple\n", "  - id: mini-multiple\n"
                                                                        "    distinct_from: [mini-single]\n"))
    assert validate().returncode == 0  # resolved: the kept result does not hold


def test_pages_that_have_settled_are_known_by_size_and_time(mini_dir):
    import os
    import time

    hour_ago = time.time() - 3600
    for page in (mini_dir / "book").rglob("*.md"):
        os.utime(page, (hour_ago, hour_ago))
    fresh = mini_dir / "book/01-1-alpha-detail.md"
    fresh.write_text(fresh.read_text())  # written just now: digested on every run for now
    assert modules_after(mini_dir, "validate", "quizzes/banks/mini.yml") & set(PAGE_PARSER)
    kept = json.loads((mini_dir / "_build/.cache/book-facts.json").read_text())["pages"]
    assert "book/01-alpha.md" in kept and "book/01-1-alpha-detail.md" not in kept

    # An edit that keeps the page's size is still seen: its modification time changed.
    chapter = mini_dir / "book/01-alpha.md"
    text = chapter.read_text()
    edited = text.replace("## Act, means and purpose", "## Act, means and purposx")
    assert len(edited) == len(text) and edited != text
    chapter.write_text(edited)
    result = subprocess.run([sys.executable, "-m", "thbcourse", "validate"], cwd=mini_dir, capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert "book/01-alpha.md has no heading with anchor #act-means-and-purpose" in result.stderr
