"""The gradebook on SQLite and PostgreSQL: cohorts, attempts, exports, imports, privacy, migrations."""
from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from thbcourse.cli import main
from thbcourse.engine.attempt import mark_paper
from thbcourse.engine.draw import draw
from thbcourse.store.db import open_gradebook, writer
from thbcourse.store.gradebook import (GradebookError, close_attempt, create_cohort, learner_id, open_attempt,
                                       record_attempt, record_response)
from thbcourse.store.migrate import current
from thbcourse.store.tables import attempts, export_log, learners, metadata, responses

from conftest import DATA
from store_fixtures import db_url  # noqa: F401  (fixture)


@pytest.fixture
def course_dir(tmp_path, monkeypatch):
    shutil.copytree(DATA / "quizzes", tmp_path / "quizzes")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(*args, db=None):
    result = CliRunner().invoke(main, [*args] + (["--db", db] if db else []))
    return result


def test_migrations_match_the_tables(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = open_gradebook(db_url)
    assert current(engine) == "0001"
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_roster_import_is_all_or_nothing(db_url, course_dir):
    assert cli("cohort", "create", "A-2026", db=db_url).exit_code == 0
    (course_dir / "roster.csv").write_text("learner,name,email\nofc-1,Ann,ann@example.org\nofc 2,,\n"
                                           "ofc-1,,\nofc-4,,not-an-address\n")
    bad = cli("cohort", "add", "A-2026", "roster.csv", db=db_url)
    assert bad.exit_code == 1
    assert "roster.csv:3:1: learner id 'ofc 2'" in bad.output
    assert "roster.csv:4:1: learner 'ofc-1' is listed twice (first on line 2)" in bad.output
    assert "roster.csv:5:1: e-mail 'not-an-address'" in bad.output
    with open_gradebook(db_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(learners)).scalar() == 0
    (course_dir / "roster.csv").write_text("Learner,Name\nofc-1,Ann\nofc-2,\n")
    good = cli("cohort", "add", "A-2026", "roster.csv", db=db_url)
    assert good.exit_code == 0 and "2 learner(s) added" in good.output
    assert "A-2026\t2 learner(s)" in cli("cohort", "list", db=db_url).output


@pytest.mark.parametrize("content, message", [
    (b"name,email\nAnn,a@example.org\n", "1:1: wrong header: missing column(s) learner"),
    (b"learner,nme\nx,y\n", "1:1: wrong header: unknown column(s) nme"),
    (b"learner\nofc-\xe9\n", "2:1: not valid UTF-8"),
    (b"", "file is empty"),
    (b"learner,name\nofc-1,Ann,extra\n", "2:1: 3 fields, the header has 2"),
])
def test_bad_roster_files(db_url, course_dir, content, message):
    cli("cohort", "create", "A", db=db_url)
    (course_dir / "r.csv").write_bytes(content)
    result = cli("cohort", "add", "A", "r.csv", db=db_url)
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output


def _paper(sample_course, seed=1):
    return draw(sample_course, sample_course.blueprint("sample-quiz"), seed)


def _seed_with(sample_course, *qids):
    """The first seed whose paper holds these questions (papers differ by seed)."""
    return next(s for s in range(1000) if set(qids) <= {i.question.id for i in _paper(sample_course, s).items})


def _record(engine, sample_course, learner, answers_by_type, seed=1):
    paper = _paper(sample_course, seed)
    from thbcourse.engine.draw import PaperItem  # noqa: F401
    responses_ = {i.question.id: answers_by_type[i.question.type] for i in paper.items
                  if i.question.type in answers_by_type}
    with writer(engine).begin() as conn:
        return record_attempt(conn, mark_paper(paper, responses_), learner=learner, mode="terminal",
                              created_by="test", create_learner=True)


RIGHT = {"single": 0, "multiple": frozenset({0, 1}), "true_false": True, "matching": {0: 0, 1: 1, 2: 2},
         "ordering": [0, 1, 2, 3], "short_answer": "multihoming", "numeric": 80}
WRONG = {"single": 2, "multiple": frozenset({2}), "true_false": False, "matching": {0: 3},
         "ordering": [3, 2, 1, 0], "short_answer": "no", "numeric": 1}


def _export(db_url, *args):
    result = cli("scores", "export", "out.csv", *args, db=db_url)
    assert result.exit_code == 0, result.output
    with open("out.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_attempt_policies_and_filters(db_url, course_dir, sample_course):
    engine = open_gradebook(db_url)
    _record(engine, sample_course, "ofc-1", WRONG)      # first: 0 %
    _record(engine, sample_course, "ofc-1", RIGHT, 2)   # best: 100 %
    _record(engine, sample_course, "ofc-1", {k: v for k, v in RIGHT.items() if k != "numeric"}, 3)  # last: 80 %
    _record(engine, sample_course, "ofc-2", RIGHT)
    by_policy = {p: {r["learner"]: r for r in _export(db_url, "--policy", p)} for p in ("first", "best", "last")}
    assert by_policy["first"]["ofc-1"]["percent"] == "0.0" and by_policy["first"]["ofc-1"]["attempt"] == "1"
    assert by_policy["best"]["ofc-1"]["percent"] == "100.0" and by_policy["best"]["ofc-1"]["result"] == "pass"
    assert by_policy["last"]["ofc-1"]["percent"] == "80.0" and by_policy["last"]["ofc-1"]["attempt"] == "3"
    everything = _export(db_url, "--policy", "all")
    assert [(r["learner"], r["attempt"]) for r in everything] == [("ofc-1", "1"), ("ofc-1", "2"), ("ofc-1", "3"),
                                                                  ("ofc-2", "1")]
    assert _export(db_url, "--quiz", "other-quiz") == []
    cli("cohort", "create", "B", db=db_url)
    (course_dir / "r.csv").write_text("learner\nofc-2\n")
    cli("cohort", "add", "B", "r.csv", db=db_url)
    assert [r["learner"] for r in _export(db_url, "--cohort", "B")] == ["ofc-2"]
    row = by_policy["best"]["ofc-2"]
    assert (row["score"], row["max"], row["quiz"]) == ("5.0", "5.0", "sample-quiz")
    assert "name" not in row  # pseudonymous unless asked


def test_breakdown_columns(db_url, course_dir, sample_course):
    engine = open_gradebook(db_url)
    seed = _seed_with(sample_course, "s-tf", "s-single")
    _record(engine, sample_course, "ofc-1", {"true_false": True, "single": 0, "numeric": 80}, seed)
    [row] = _export(db_url, "--per-topic", "--per-objective", "--per-question")
    paper = _paper(sample_course, seed)
    for item in paper.items:
        expected = "1.0" if item.question.type in ("true_false", "single", "numeric") else "0.0"
        assert row[f"question {item.question.id}"] == expected
    assert row["topic % chain"] == "60.0"  # every sample question is on the chain topic; 3 of 5 right
    assert row["objective % opps.indicators-triage"] == "100.0"


def test_names_and_formula_neutralisation(db_url, course_dir, sample_course):
    cli("cohort", "create", "A", db=db_url)
    (course_dir / "r.csv").write_text('learner,name,email\nofc-1,"=HYPERLINK(""http://x.example"")",a@example.org\n'
                                      "ofc-2,-2+3,\nofc-3,@SUM(A1),\n")
    assert cli("cohort", "add", "A", "r.csv", db=db_url).exit_code == 0
    engine = open_gradebook(db_url)
    for code in ("ofc-1", "ofc-2", "ofc-3"):
        _record(engine, sample_course, code, RIGHT)
    rows = {r["learner"]: r for r in _export(db_url, "--with-names")}
    assert rows["ofc-1"]["name"] == "'=HYPERLINK(\"http://x.example\")"
    assert rows["ofc-2"]["name"] == "'-2+3" and rows["ofc-3"]["name"] == "'@SUM(A1)"
    assert rows["ofc-1"]["email"] == "a@example.org"
    assert cli("scores", "export", "out.xlsx", "--with-names", db=db_url).exit_code == 0
    sheet = load_workbook("out.xlsx").active
    cells = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert cells["ofc-1"][1].data_type == "s" and cells["ofc-1"][1].value.startswith("=HYPERLINK")
    assert cells["ofc-1"][7].data_type == "n" and cells["ofc-1"][7].value == 100  # percent stays a number
    with engine.connect() as conn:
        logged = conn.execute(select(export_log.c.what, export_log.c.rows, export_log.c.details)).all()
    assert [(w, n) for w, n, _ in logged] == [("scores csv", 3), ("scores xlsx", 3)]
    assert json.loads(logged[0][2])["with_names"] is True


def test_results_import_checks_everything_first(db_url, course_dir, sample_course):
    cli("cohort", "create", "A", db=db_url)
    (course_dir / "r.csv").write_text("learner\nofc-1\nofc-2\n")
    cli("cohort", "add", "A", "r.csv", db=db_url)
    seed = _seed_with(sample_course, "s-single", "s-tf")
    paper = _paper(sample_course, seed)
    single = next(i for i in paper.items if i.question.type == "single")
    (course_dir / "answers.csv").write_text(
        "learner,question,answer\n"
        f"ofc-1,{single.question.id},A\n"
        "ofc-9,s-tf,true\n"
        "ofc-2,nope,A\n"
        f"ofc-2,{single.question.id},Q\n"
        f"ofc-1,{single.question.id},B\n")
    bad = cli("results", "import", "answers.csv", "--quiz", "sample-quiz", "--seed", str(seed), db=db_url)
    assert bad.exit_code == 1
    for expected in ("answers.csv:3:1: unknown learner 'ofc-9'", "answers.csv:4:1: question 'nope' is not in the banks",
                     "answers.csv:5:1: answer to", "answers.csv:6:1: learner 'ofc-1' answers"):
        assert expected in bad.output
    engine = open_gradebook(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(attempts)).scalar() == 0
    (course_dir / "answers.csv").write_text(f"learner,question,answer,seed\nofc-1,s-tf,true,{seed}\nofc-2,s-tf,f,{seed}\n")
    good = cli("results", "import", "answers.csv", "--quiz", "sample-quiz", db=db_url)
    assert good.exit_code == 0 and "imported 2 attempt(s)" in good.output
    rows = {r["learner"]: r for r in _export(db_url)}
    assert rows["ofc-1"]["score"] == "1.0" and rows["ofc-2"]["score"] == "0.0"


def test_take_records_attempt(db_url, course_dir, sample_course):
    paper = _paper(sample_course, 9)
    (course_dir / "a.yml").write_text("s-tf: true\n" if "s-tf" in {i.question.id for i in paper.items} else "{}\n")
    result = cli("take", "sample-quiz", "--seed", "9", "--answers", "a.yml", "--learner", "ofc-7", db=db_url)
    assert result.exit_code == 0, result.output
    assert "Recorded as attempt 1 for learner ofc-7" in result.output
    with open_gradebook(db_url).connect() as conn:
        stored = conn.execute(select(responses.c.question_id, responses.c.answer)).all()
    assert len(stored) == len(paper.items)  # unanswered questions are stored as null answers


def test_one_answer_per_question_and_closed_attempts_refuse(db_url, sample_course):
    from thbcourse.engine.grade import grade

    engine = open_gradebook(db_url)
    q = sample_course.questions["s-single"]
    with writer(engine).begin() as conn:
        lid = learner_id(conn, "ofc-1", create=True)
        attempt = open_attempt(conn, learner=lid, blueprint="sample-quiz", seed=1, max_score=1, pass_mark=70)
        record_response(conn, attempt, question=q, response=2, graded=grade(q, 2))
        record_response(conn, attempt, question=q, response=0, graded=grade(q, 0))  # the last one counts
        close_attempt(conn, attempt)
    with engine.connect() as conn:
        assert conn.execute(select(responses.c.answer, responses.c.score)).all() == [("0", 1.0)]
        assert conn.execute(select(attempts.c.percent, attempts.c.passed)).one() == (100.0, True)
    with pytest.raises(GradebookError, match="closed"), writer(engine).begin() as conn:
        record_response(conn, attempt, question=q, response=2, graded=grade(q, 2))


def test_purge(db_url, course_dir, sample_course):
    from datetime import timedelta

    from sqlalchemy import update

    engine = open_gradebook(db_url)
    _record(engine, sample_course, "old", RIGHT)
    _record(engine, sample_course, "new", RIGHT)
    past = attempts.c.learner_id == select(learners.c.id).where(learners.c.code == "old").scalar_subquery()
    with writer(engine).begin() as conn:
        conn.execute(update(attempts).where(past).values(finished_at=func.now() - timedelta(days=400)))
        conn.execute(update(learners).where(learners.c.code == "old").values(created_at=func.now() - timedelta(days=400)))
    result = cli("purge", "--older-than", "365d", "--yes", db=db_url)
    assert result.exit_code == 0 and "deleted 1 attempt(s) and 1 learner(s)" in result.output
    with engine.connect() as conn:
        assert list(conn.execute(select(learners.c.code)).scalars()) == ["new"]
        assert conn.execute(select(func.count()).select_from(responses)).scalar() == 5


def test_unknown_cohort_is_a_clear_error(db_url, course_dir):
    result = cli("cohort", "add", "Nope", "x.csv", db=db_url)
    assert result.exit_code == 2  # click: file does not exist
    (course_dir / "x.csv").write_text("learner\nofc-1\n")
    result = cli("cohort", "add", "Nope", "x.csv", db=db_url)
    assert result.exit_code == 1 and "no cohort 'Nope'" in result.output


def test_head_constant_matches_migration_scripts():
    from alembic.script import ScriptDirectory

    from thbcourse.store.migrate import HEAD, config

    assert ScriptDirectory.from_config(config()).get_current_head() == HEAD


def test_stats_command(db_url, course_dir, sample_course):
    engine = open_gradebook(db_url)
    for n, answers in enumerate([RIGHT, WRONG, RIGHT, {"single": 0}]):
        _record(engine, sample_course, f"ofc-{n}", answers, seed=n)
    result = cli("stats", "sample-quiz", "--out", "st", db=db_url)
    assert result.exit_code == 0, result.output
    assert (course_dir / "st/sample-quiz-item-analysis.csv").read_text(encoding="utf-8-sig").startswith("question,")
    missing = cli("stats", "nope", db=db_url)
    assert missing.exit_code == 1 and "no complete attempts" in missing.output
