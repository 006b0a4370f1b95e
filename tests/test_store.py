"""The gradebook on SQLite and PostgreSQL: cohorts, attempts, exports, imports, privacy, migrations."""
from __future__ import annotations

import csv
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
from thbcourse.store.gradebook import (GradebookError, close_attempt, learner_id, open_attempt,
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
    assert current(engine) == "0002"
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


# --- exports: breakdowns against a plain computation, XLSX cells ---------------------------------

def _half_up(value: float, digits: int) -> float:
    """How the database rounds (SQLite's round, PostgreSQL's numeric round): half away from zero."""
    from decimal import ROUND_HALF_UP, Decimal

    return float(Decimal(repr(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def _synthetic_gradebook(engine, seed: int = 3) -> None:
    """Learners who took three quizzes up to three times, each time on a different draw of questions
    across topics and objectives, with partial marks and some attempts left open."""
    import random

    from sqlalchemy import insert

    from thbcourse.store.gradebook import now

    rng = random.Random(seed)
    pool = {quiz: [(f"{quiz}-q{k}", ("chain", "fraud", "legal-frame")[k % 3], f"obj.{quiz[-1]}{k % 4}",
                    float(1 + k % 3)) for k in range(7)] for quiz in ("quiz-a", "quiz-b", "task-c")}
    with writer(engine).begin() as conn:
        for n in range(9):
            lid = learner_id(conn, f"ofc-{n}", create=True)
            for quiz, questions in pool.items():
                for take in range(rng.randrange(4)):
                    paper = rng.sample(questions, rng.randrange(2, len(questions) + 1))
                    attempt = open_attempt(conn, learner=lid, blueprint=quiz, seed=take,
                                           max_score=sum(q[3] for q in paper), pass_mark=60)
                    conn.execute(insert(responses), [
                        dict(attempt_id=attempt, question_id=qid, topic=topic, objective=objective, answer="0",
                             score=rng.randrange(int(most * 4) + 1) / 4, max_score=most, answered_at=now())
                        for qid, topic, objective, most in paper])
                    if rng.random() > 0.15:  # the others are still open: never exported
                        close_attempt(conn, attempt)


def _expected_table(engine, policy: str) -> tuple[list[str], list[list]]:
    """The per-topic, per-objective and per-question export computed in Python from the raw rows."""
    from collections import defaultdict
    from datetime import timezone

    with engine.connect() as conn:
        rows = conn.execute(select(attempts.c.id, learners.c.code, attempts.c.blueprint, attempts.c.status,
                                   attempts.c.finished_at, attempts.c.score, attempts.c.max_score,
                                   attempts.c.percent, attempts.c.passed)
                            .join(learners, learners.c.id == attempts.c.learner_id)).all()
        answers = conn.execute(select(responses.c.attempt_id, responses.c.question_id, responses.c.topic,
                                      responses.c.objective, responses.c.score, responses.c.max_score)).all()
    taken = defaultdict(list)
    for a in rows:
        if a.status == "complete":
            taken[(a.code, a.blueprint)].append(a)
    picked = []
    for key in sorted(taken):
        ordered = sorted(taken[key], key=lambda a: (a.finished_at, a.id))
        numbered = list(enumerate(ordered, 1))
        chosen = {"first": numbered[:1], "last": numbered[-1:], "all": numbered,
                  "best": [min(numbered, key=lambda n_a: (-n_a[1].percent, n_a[1].finished_at, n_a[1].id))]}[policy]
        picked += chosen
    by_attempt = defaultdict(list)
    for r in answers:
        by_attempt[r.attempt_id].append(r)
    ids = {a.id for _, a in picked}
    columns = {kind: sorted({getattr(r, kind) for i in ids for r in by_attempt[i]})
               for kind in ("topic", "objective", "question_id")}
    header = ["learner", "quiz", "attempt", "score", "max", "percent", "result", "date (UTC)"]
    header += [f"topic % {k}" for k in columns["topic"]] + [f"objective % {k}" for k in columns["objective"]]
    header += [f"question {k}" for k in columns["question_id"]]
    table = []
    for number, a in picked:
        when = a.finished_at.astimezone(timezone.utc) if a.finished_at.tzinfo else a.finished_at
        row = [a.code, a.blueprint, number, _half_up(a.score, 4), _half_up(a.max_score, 4), _half_up(a.percent, 2),
               "pass" if a.passed else "fail", when.strftime("%Y-%m-%d %H:%M:%S")]
        for kind in ("topic", "objective"):
            sums = defaultdict(lambda: [0.0, 0.0])
            for r in by_attempt[a.id]:
                sums[getattr(r, kind)][0] += r.score
                sums[getattr(r, kind)][1] += r.max_score
            row += [(_half_up(100.0 * sums[k][0] / sums[k][1], 2) if sums[k][1] else 0.0) if k in sums else None
                    for k in columns[kind]]
        scores = {r.question_id: r.score for r in by_attempt[a.id]}
        row += [_half_up(scores[k], 4) if k in scores else None for k in columns["question_id"]]
        table.append(row)
    return header, table


@pytest.mark.parametrize("chunk", [3, 2000])
def test_breakdowns_agree_with_a_plain_computation_under_every_policy(db_url, monkeypatch, chunk):
    from thbcourse.store import exports

    monkeypatch.setattr(exports, "CHUNK", chunk)  # a few attempts at a time: the same table whatever the chunk
    engine = open_gradebook(db_url)
    _synthetic_gradebook(engine)
    for policy in ("first", "best", "last", "all"):
        with engine.connect() as conn:
            header, rows = exports.score_table(conn, policy=policy, per_topic=True, per_objective=True,
                                               per_question=True)
            got = [list(row) for row in rows]
        expected_header, expected = _expected_table(engine, policy)
        assert header == expected_header
        assert got == expected, policy
        assert any(v is None for row in got for v in row)  # papers differ: some questions are not on them


def test_xlsx_export_has_the_csv_cells_typed(db_url, tmp_path):
    from thbcourse.store.exports import export_scores

    engine = open_gradebook(db_url)
    _synthetic_gradebook(engine)
    options = dict(policy="all", per_topic=True, per_objective=True, per_question=True)
    assert export_scores(engine, tmp_path / "s.csv", who="test", **options) == export_scores(
        engine, tmp_path / "s.xlsx", who="test", **options)
    with open(tmp_path / "s.csv", encoding="utf-8-sig", newline="") as f:
        text = list(csv.reader(f))
    sheet = load_workbook(tmp_path / "s.xlsx").active
    assert sheet.title == "scores" and sheet.max_row == len(text) and sheet.max_column == len(text[0])
    for row, cells in zip(text, sheet.iter_rows(max_col=len(text[0]))):
        for value, cell in zip(row, cells):
            if value == "":
                assert cell.value is None  # an empty cell, not an empty text
            elif cell.data_type == "n":
                assert repr(cell.value) == value or str(cell.value) == value
            else:
                assert cell.data_type == "s" and cell.value == value


def test_xlsx_writer_escapes_text_and_places_sparse_cells(tmp_path):
    import zipfile

    from thbcourse.store.xlsx import write_sheet

    rows = [
        (["ofc-1", "quiz", 1, 2.5, None, "pass"], [(10, 0.25), (30, 1.0), (800, "far")]),
        (["a & b <c>", "=1+1", True, float("inf"), -0.0, ""], []),
        ([" lead", "trail ", "bell\x07", "cr\rhere", "line\nbreak", "_x0041_"], [(7, "")]),
        ([None, "second", None, 7], ()),
    ]
    assert write_sheet(tmp_path / "w.xlsx", ["h1", "h2"], rows, sheet="scores") == 4
    sheet = load_workbook(tmp_path / "w.xlsx").active
    got = {c.coordinate: (c.value, c.data_type) for row in sheet.iter_rows() for c in row if c.value is not None}
    assert got == {
        "A1": ("h1", "s"), "B1": ("h2", "s"),
        "A2": ("ofc-1", "s"), "B2": ("quiz", "s"), "C2": (1, "n"), "D2": (2.5, "n"), "F2": ("pass", "s"),
        "K2": (0.25, "n"), "AE2": (1.0, "n"), "ADU2": ("far", "s"),
        "A3": ("a & b <c>", "s"), "B3": ("=1+1", "s"), "C3": (True, "b"), "D3": ("inf", "s"), "E3": (-0.0, "n"),
        # Excel's escapes for what XML cannot carry (openpyxl shows them as written; Excel decodes them)
        "A4": (" lead", "s"), "B4": ("trail ", "s"), "C4": ("bell_x0007_", "s"), "D4": ("cr_x000D_here", "s"),
        "E4": ("line\nbreak", "s"), "F4": ("_x005F_x0041_", "s"),
        "B5": ("second", "s"), "D5": (7, "n"),
    }
    sheet_xml = zipfile.ZipFile(tmp_path / "w.xlsx").read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and 't="s"' not in sheet_xml  # no formulas, no shared-string lookups
