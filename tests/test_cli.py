"""The command line, end to end: drawing papers, the terminal quiz (prompts and answer files), schemas."""
from __future__ import annotations

import html
import json
import re
import shutil

import pytest
from click.testing import CliRunner

from thbcourse.bank.schema import schema_text
from thbcourse.cli import main
from thbcourse.engine.draw import draw
from thbcourse.deliveries.papers import key_text

from conftest import DATA, REPO
from test_book import make_mini


@pytest.fixture
def course_dir(tmp_path, monkeypatch):
    """A working directory with the sample banks under quizzes/ and no book."""
    shutil.copytree(DATA / "quizzes", tmp_path / "quizzes")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def mini_dir(tmp_path, monkeypatch):
    """A working directory with the mini book (tests/books/mini) and its quizzes, not built."""
    root = make_mini(tmp_path)
    shutil.copytree(REPO / "tests/books/mini-quizzes", root / "quizzes")
    monkeypatch.chdir(root)
    return root


# How the mini book's sources are named to a reader: number and title of the page, then the section
# (a `(label)=` names the heading after it), and the page of the built student edition.
MINI_SECTIONS = {
    "book/01-alpha.md#act-means-and-purpose": ("1 Alpha chapter › Act, means and purpose",
                                               "book/01-alpha.html#act-means-and-purpose"),
    "book/01-1-alpha-detail.md#detail-heading": ("1.1 Alpha detail › Detail heading",
                                                 "book/01-1-alpha-detail.html#detail-heading"),
    "book/01-alpha.md#alpha-label": ("1 Alpha chapter › Façade sites, escort pages & more...",
                                     "book/01-alpha.html#alpha-label"),
    "book/01-alpha.md#siena-jit-and-the-eio": ("1 Alpha chapter › SIENA / JIT and the EIO",
                                               "book/01-alpha.html#siena-jit-and-the-eio"),
    "book/01-alpha.md#changes-to-the-law": ("1 Alpha chapter › 2024 changes to the law",
                                            "book/01-alpha.html#changes-to-the-law"),
    "book/01-alpha.md#case-anna-s-job-offer": ("1 Alpha chapter › Case: Anna's job offer",
                                               "book/01-alpha.html#case-anna-s-job-offer"),
    "book/01-alpha.md#facade-sites-escort-pages-more": ("1 Alpha chapter › Façade sites, escort pages & more...",
                                                        "book/01-alpha.html#facade-sites-escort-pages-more"),
    "book/01-alpha.md#key-points": ("1 Alpha chapter › Key points", "book/01-alpha.html#key-points"),
    "book/02-beta.md#case-beta-case": ("2 Beta chapter › Case: Beta case", "book/02-beta.html#case-beta-case"),
}


def run(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_draw_writes_paper_and_key_in_both_formats(course_dir, sample_course):
    result = run("draw", "sample-quiz", "--seed", "7", "--out", "papers")
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (course_dir / "papers").iterdir())
    assert files == ["sample-quiz-seed7-key.html", "sample-quiz-seed7-key.md",
                     "sample-quiz-seed7.html", "sample-quiz-seed7.md", "sample-quiz-seed7.pdf"]
    paper = draw(sample_course, sample_course.blueprint("sample-quiz"), 7)
    student = (course_dir / "papers/sample-quiz-seed7.md").read_text()
    key = (course_dir / "papers/sample-quiz-seed7-key.md").read_text()
    for item in paper.items:
        assert item.question.stem.strip() in student
        assert f"## Question {item.number}: {key_text(item)}" in key
        assert item.question.feedback in key and item.question.source in key
        assert item.question.feedback not in student
    html = (course_dir / "papers/sample-quiz-seed7.html").read_text()
    assert "@media print" in html and "<script" not in html and "http" not in html


def test_answer_key_names_sections_by_number_and_title(mini_dir):
    from thbcourse.bank.course import load_course

    course = load_course([mini_dir / "quizzes"], book_root=mini_dir)
    paper = draw(course, course.blueprint("self-check-alpha"), 1)
    assert run("draw", "self-check-alpha", "--seed", "1", "--out", "papers").exit_code == 0
    key_md = (mini_dir / "papers/self-check-alpha-seed1-key.md").read_text()
    key_html = (mini_dir / "papers/self-check-alpha-seed1-key.html").read_text()
    for item in paper.items:
        name = MINI_SECTIONS[item.question.source][0]
        assert f"Section: {name}" in key_md
        assert f'<p class="book-section">Section: {html.escape(name)}</p>' in key_html
    assert ".md#" not in key_md + key_html  # no file paths left for trainers to decode


def test_same_seed_same_file(course_dir):
    run("draw", "sample-quiz", "--seed", "3", "--out", "a", "--format", "md")
    run("draw", "sample-quiz", "--seed", "3", "--out", "b", "--format", "md")
    assert (course_dir / "a/sample-quiz-seed3.md").read_text() == (course_dir / "b/sample-quiz-seed3.md").read_text()


def test_unknown_blueprint_is_a_clear_error(course_dir):
    result = CliRunner().invoke(main, ["draw", "sample-quizz"])
    assert result.exit_code == 1
    assert "no blueprint 'sample-quizz'; did you mean 'sample-quiz'?" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _key_answers(sample_course, seed):
    paper = draw(sample_course, sample_course.blueprint("sample-quiz"), seed)
    return paper, {i.question.id: key_text(i).split(" ± ")[0].split(" / ")[0].rstrip(" %") for i in paper.items}


def test_take_with_answers_file(course_dir, sample_course):
    paper, answers = _key_answers(sample_course, 11)
    first = paper.items[0].question.id
    answers.pop(first)  # unanswered: counts as wrong, and its section is listed to re-read
    (course_dir / "answers.yml").write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in answers.items()))
    result = run("take", "sample-quiz", "--seed", "11", "--answers", "answers.yml")
    assert result.exit_code == 0, result.output
    assert "Score 4 / 5 (80 %), pass mark 70 %: passed" in result.output
    assert "Sections to re-read:" in result.output and paper.items[0].question.source in result.output
    assert "By topic" in result.output and "By objective" in result.output


def test_take_names_sections_to_reread_and_their_pages_in_the_student_edition(mini_dir):
    from thbcourse.book import build

    (mini_dir / "none.yml").write_text("{}\n")  # nothing answered: every question's section is listed
    before = run("take", "self-check-alpha", "--seed", "1", "--answers", "none.yml")
    assert before.exit_code == 0, before.output
    assert "The student edition is not built yet: `thbcourse build --only student` writes it." in before.output

    assert build.main(out=mini_dir / "_build", only=("student",), root=mini_dir) == 0
    result = run("take", "self-check-alpha", "--seed", "1", "--answers", "none.yml")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "not built yet" not in out and ".md#" not in out  # no source paths, only what a reader finds
    reread = out[out.index("Sections to re-read:"):].splitlines()[1:]
    sources = list(dict.fromkeys(m.item.question.source for m in _mini_marks(mini_dir)))
    assert reread == [line for source in sources for line in (
        f"  - {MINI_SECTIONS[source][0]}", f"    _build/student/html/{MINI_SECTIONS[source][1]}")]
    for source in sources:
        name, page = MINI_SECTIONS[source]
        assert f"Read again: {name}" in out  # in each question's feedback
        assert f"Open in a browser: _build/student/html/{page}" in out
        built, anchor = page.split("#")
        assert (mini_dir / "_build/student/html" / built).is_file()
        assert f'id="{anchor}"' in (mini_dir / "_build/student/html" / built).read_text()


def _mini_marks(root):
    from thbcourse.bank.course import load_course
    from thbcourse.engine.attempt import mark_paper

    course = load_course([root / "quizzes"], book_root=root)
    return mark_paper(draw(course, course.blueprint("self-check-alpha"), 1), {}).marks


def test_section_numbers_follow_the_table_of_contents():
    from thbcourse.book.sections import Place, page_numbers, place

    numbers = page_numbers(REPO)
    assert [numbers[f"book/{p.stem}"] for p in sorted((REPO / "book").glob("0*.md"))] == \
        ["1", "2", "3", "4.1", "4.2", "4.3", "4.4", "4.5", "4", "5", "6", "7", "8"]
    assert not [page for page in numbers if "appendix" in page or page.startswith("exercises/")]
    assert place(REPO, "book/04-1-recruitment.md#online-recruitment-channels") == Place(
        "4.1 Recruitment › Online recruitment channels", "book/04-1-recruitment.html#online-recruitment-channels")
    assert place(REPO, "book/no-such-page.md#x") == Place("book/no-such-page.md#x", None)  # named as written
    assert place(REPO, "book/appendix-glossary.md#appendix-glossary").name == "Glossary"


def test_take_answers_file_errors_have_lines(course_dir, sample_course):
    paper, answers = _key_answers(sample_course, 11)
    single = next(i for i in paper.items if i.question.type == "single")
    (course_dir / "answers.yml").write_text(f"not-on-paper: A\n{single.question.id}: Z\n")
    result = CliRunner().invoke(main, ["take", "sample-quiz", "--seed", "11", "--answers", "answers.yml"])
    assert result.exit_code == 1
    assert "answers.yml:1:1: question 'not-on-paper' is not on this paper" in result.output
    assert re.search(rf"answers.yml:2:\d+: answer to {single.question.id} rejected: 'Z' is not one of the letters",
                     result.output)


def test_take_interactive_retries_bad_input_and_gives_feedback(course_dir, sample_course):
    paper, answers = _key_answers(sample_course, 5)
    typed = []
    for item in paper.items:
        typed += ["???", answers[item.question.id]] if item.number == 1 else [answers[item.question.id]]
    result = run("take", "sample-quiz", "--seed", "5", input="\n".join(typed) + "\n")
    assert result.exit_code == 0, result.output
    assert "try again" in result.output
    assert result.output.count("Correct ·") == 5
    assert "Score 5 / 5 (100 %)" in result.output and "nothing to re-read" in result.output


def test_take_feedback_at_end(course_dir, sample_course):
    paper, answers = _key_answers(sample_course, 5)
    typed = ["skip"] + [answers[i.question.id] for i in paper.items[1:]]
    result = run("take", "sample-quiz", "--seed", "5", "--feedback", "end", input="\n".join(typed) + "\n")
    out = result.output
    assert out.index("Result") > out.index("Not correct") > out.index("Question 5 of 5")
    assert "Score 4 / 5" in out


def test_schema_files_match_the_model():
    for kind in ("bank", "blueprint"):
        committed = (REPO / "quizzes/schema" / f"{kind}.schema.json").read_text()
        assert committed == schema_text(kind), "run 'thbcourse schema' and commit the result"
    schema = json.loads(schema_text("bank"))
    single = schema["$defs"]["Single"]
    assert single["additionalProperties"] is False  # editors flag a typo such as 'corect'
    assert set(schema["$defs"]["Topic"]["enum"]) >= {"chain", "modi-operandi", "opportunities"}


def test_schema_check_flags_stale_file(tmp_path):
    out = tmp_path / "schema"
    assert run("schema", "--out", str(out)).exit_code == 0
    assert CliRunner().invoke(main, ["schema", "--out", str(out), "--check"]).exit_code == 0
    (out / "bank.schema.json").write_text("{}")
    stale = CliRunner().invoke(main, ["schema", "--out", str(out), "--check"])
    assert stale.exit_code == 1 and "out of date" in stale.output


def test_json_schema_accepts_sample_bank_and_flags_typo():
    import jsonschema
    import yaml

    schema = json.loads(schema_text("bank"))
    bank = yaml.safe_load((DATA / "quizzes/banks/sample.yml").read_text())
    jsonschema.validate(bank, schema)
    bank["questions"][0]["options"][0]["corect"] = bank["questions"][0]["options"][0].pop("correct")
    with pytest.raises(jsonschema.ValidationError, match="corect"):
        jsonschema.validate(bank, schema)


@pytest.mark.parametrize("fmt, name", [("moodle-xml", "bank.xml"), ("gift", "bank.gift"),
                                       ("qti12", "bank-qti12.zip"), ("qti21", "bank-qti21.zip")])
def test_bank_export_command_writes_file_and_reports(course_dir, fmt, name):
    result = CliRunner().invoke(main, ["bank", "export", name, "--format", fmt])
    assert result.exit_code == 0, result.output
    assert (course_dir / name).stat().st_size > 500
    assert f"wrote {name}" in result.output
    if fmt == "gift":  # GIFT has no ordering question: said, not dropped silently
        assert "note: s-ordering:" in result.output
