"""Incremental builds of the mini book: an edit shows up, what did not change is not rewritten, what
Sphinx cannot follow (table of contents, headings, citations) builds afresh, and so does a part whose
last build failed; --clean starts from nothing. No timings here: benchmarks/build.py measures them.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from test_book import make_mini, norm, soup, text_of
from thbcourse.book import build
from thbcourse.cli import main as cli

MINI_QUIZZES = Path(__file__).parent / "books" / "mini-quizzes"
FIGURE = """\
title: Mini figure
alt: Two boxes side by side, the first one leading to the second one, for the incremental build tests.
nodes:
  - {id: first, label: FIGURE-LABEL-ONE, row: 0, col: 0}
  - {id: second, label: Second box, row: 0, col: 1}
edges:
  - {from: first, to: second}
"""


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def stamp(path: Path) -> tuple[int, int]:
    """What changes when a file is written again: its modification time or, if replaced, its inode."""
    st = path.stat()
    return st.st_mtime_ns, st.st_ino


def links(box) -> set[str]:
    return {a["href"] for a in box.find_all("a", href=True)}


def rebuilt(root: Path, capsys, *parts: str, code: int = 0) -> str:
    result = build.main(out=root / "_build", only=parts or None, root=root)
    captured = capsys.readouterr()
    assert result == code, captured.err
    assert "Traceback" not in captured.out + captured.err
    return captured.out + captured.err


@pytest.fixture
def mini(tmp_path) -> Path:
    """The mini book with self-checks and a figure on the beta chapter's page and in the alpha deck."""
    root = make_mini(tmp_path)
    shutil.copytree(MINI_QUIZZES, root / "quizzes")
    (root / "book" / "figures").mkdir()
    (root / "book" / "figures" / "mini-figure.yml").write_text(FIGURE, encoding="utf-8")
    edit(root / "book" / "02-beta.md", "## Key points", "```{course-figure} mini-figure\n```\n\n## Key points")
    edit(root / "book" / "slides" / "01-alpha.md", "- A fictional offer",
         "```{course-figure} mini-figure\n```\n\n- A fictional offer")
    return root


def test_an_edited_chapter_is_rebuilt_and_nothing_else_is_rewritten(mini, capsys):
    out = mini / "_build"
    first = rebuilt(mini, capsys)  # every part, two at a time
    assert first.count("built afresh") == 3  # the editions and the decks; workbooks are written, never built
    unchanged = [out / "trainer/html/book/appendix-references.html", out / "student/html/book/appendix-references.html",
                 out / "slides/01-alpha.html", out / "trainer/html/slides/01-alpha.html",
                 out / "workbooks/trainer/ex01-one.ipynb", out / "workbooks/student/ex01-one.ipynb"]
    before = {path: stamp(path) for path in unchanged}

    append(mini / "book" / "02-beta.md", "\nBETA-EDITED: a sentence added after the first build.\n")
    second = rebuilt(mini, capsys)
    assert second.count("(incremental)") == 3 and "built afresh" not in second
    for edition in ("trainer", "student"):
        assert "beta edited" in text_of(out / edition / "html/book/02-beta.html")
    assert {path: stamp(path) for path in unchanged} == before


def test_a_changed_figure_deck_bank_objective_or_exercise_shows_up(mini, capsys):
    out = mini / "_build"
    rebuilt(mini, capsys, "trainer", "slides")
    figures = mini / "book" / "figures" / "mini-figure.yml"
    edit(figures, "FIGURE-LABEL-ONE", "FIGURE-LABEL-TWO")
    edit(mini / "book" / "slides" / "01-alpha.md", "Tell the case.", "DECK-EDITED: tell the case.")
    edit(mini / "quizzes" / "banks" / "mini.yml", "Beta question one?", "Beta question EDITED?")
    edit(mini / "book" / "01-alpha.md", "Identify the first thing.", "Identify the OBJECTIVE-EDITED thing.")
    edit(mini / "exercises" / "ex01-one.md", "objectives: [alpha.first]", "objectives: [beta.only]")

    assert rebuilt(mini, capsys, "trainer", "slides").count("(incremental)") == 2
    beta = (out / "trainer/html/book/02-beta.html").read_text(encoding="utf-8")
    assert "FIGURE-LABEL-TWO" in beta and "FIGURE-LABEL-ONE" not in beta  # the figure
    assert "Beta question EDITED?" in beta and "Beta question one?" not in beta  # the self-check, from the bank
    for deck in (out / "slides/01-alpha.html", out / "trainer/html/slides/01-alpha.html"):
        notes = " ".join(a.get_text(" ") for a in soup(deck).select("aside.notes"))
        assert "DECK-EDITED" in notes and "FIGURE-LABEL-TWO" in deck.read_text(encoding="utf-8")
        assert "identify the objective edited thing" in norm(notes)  # the objectives, in full in the notes
    exercise = soup(out / "trainer/html/exercises/ex01-one.html").select_one(".exercise-overview")
    assert "Plan the beta thing." in exercise.get_text(" ")  # the objective it now trains
    alpha = soup(out / "trainer/html/book/01-alpha.html")
    assert "identify the objective edited thing" in norm(alpha.select_one(".learning-objectives").get_text(" "))
    assert "../exercises/ex01-one.html" not in links(alpha.select_one(".chapter-resources"))  # a chapter's exercises
    assert "../exercises/ex01-one.html" in links(soup(out / "trainer/html/book/02-beta.html").select_one(".chapter-resources"))


def test_what_sphinx_cannot_follow_builds_the_part_afresh(mini, capsys):
    out = mini / "_build"
    rebuilt(mini, capsys, "student")
    stale = out / "student" / "html" / "stale.html"
    stale.write_text("left from an earlier build")

    edit(mini / "book" / "02-beta.md", "# Beta chapter", "# Beta chapter RENAMED")  # in every page's sidebar
    assert "(built afresh: headings, labels or cited works changed)" in rebuilt(mini, capsys, "student")
    assert "Beta chapter RENAMED" in (out / "student/html/book/01-alpha.html").read_text(encoding="utf-8")
    assert not stale.exists()

    append(mini / "book" / "02-beta.md", "\nA new source {cite:p}`ilo2012`.\n")  # listed in the references
    assert "built afresh: headings, labels or cited works changed" in rebuilt(mini, capsys, "student")
    assert "ilo indicators of forced labour" in text_of(out / "student/html/book/appendix-references.html")

    (mini / "book" / "03-gamma.md").write_text("# Gamma chapter\n\nGAMMA-TEXT.\n")
    edit(mini / "_toc.yml", "      - file: book/02-beta\n", "      - file: book/02-beta\n      - file: book/03-gamma\n")
    message = rebuilt(mini, capsys, "student")
    assert "built afresh: _toc.yml" in message and "the content files' names" in message
    assert "gamma text" in text_of(out / "student/html/book/03-gamma.html")


def test_a_part_that_failed_is_built_afresh_and_warns_again(mini, capsys):
    rebuilt(mini, capsys, "trainer")
    append(mini / "book" / "02-beta.md", "\n```{math}\nx^2\n```\n")
    for _ in range(2):  # the same warning the second time: the failed build left nothing to build on
        assert "maths is not supported" in rebuilt(mini, capsys, "trainer", code=1)
    edit(mini / "book" / "02-beta.md", "```{math}\nx^2\n```\n", "")
    assert "built afresh: no finished build to update" in rebuilt(mini, capsys, "trainer")
    assert "(incremental)" in rebuilt(mini, capsys, "trainer")


def test_workbooks_follow_the_exercises(mini, capsys):
    dest = mini / "_build" / "workbooks"
    rebuilt(mini, capsys, "workbooks")
    before = stamp(dest / "student" / "ex01-one.ipynb")
    rebuilt(mini, capsys, "workbooks")
    assert stamp(dest / "student" / "ex01-one.ipynb") == before  # unchanged: not written again

    edit(mini / "exercises" / "ex01-one.md", "Task one text.", "Task one EDITED.")
    shutil.copy(mini / "exercises" / "ex01-one.md", mini / "exercises" / "ex02-two.md")
    rebuilt(mini, capsys, "workbooks")
    notebook = nbformat.read(dest / "student" / "ex01-one.ipynb", as_version=4)
    assert any("Task one EDITED." in cell.source for cell in notebook.cells)
    assert (dest / "trainer" / "ex02-two.ipynb").is_file()

    (mini / "exercises" / "ex02-two.md").unlink()  # its workbooks go with it
    rebuilt(mini, capsys, "workbooks")
    assert sorted(p.name for p in dest.rglob("*.ipynb")) == ["ex01-one.ipynb", "ex01-one.ipynb"]


def test_clean_removes_what_earlier_builds_left(mini, capsys, monkeypatch):
    out = mini / "_build"
    rebuilt(mini, capsys, "student", "slides")
    left = [out / "student/html/old-page.html", out / "slides/old-deck.html", out / ".slides-src/src/old-deck.md"]
    for path in left:
        path.write_text("from an earlier build")
    (out / "papers").mkdir()  # `thbcourse draw --out _build/papers` writes here: not the build's to delete
    (out / "papers" / "paper.md").write_text("a drawn paper")

    assert "(incremental)" in rebuilt(mini, capsys, "student", "slides")
    assert all(path.exists() for path in left[:2])  # an incremental build adds and updates, it does not sweep

    monkeypatch.chdir(mini)
    result = CliRunner().invoke(cli, ["build", "--out", "_build", "--only", "student", "--only", "slides", "--clean"])
    assert result.exit_code == 0, result.output
    assert result.output.count("built afresh: no finished build to update") == 2
    assert not any(path.exists() for path in left)
    assert (out / "student/html/index.html").is_file() and (out / "slides/01-alpha.html").is_file()
    assert (out / "papers" / "paper.md").is_file()
