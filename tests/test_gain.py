"""Learning gain, mastery and the cohort report, against computations written out here in plain Python.

A generated cohort has a known effect: each learner has a true chance p_i of answering a pre-test
question right (uniform on 0.2 to 0.6) and p_i + GAIN[o] on a post-test question of objective o, so
the true mean pre-test is 40 %, the true mean gain of objective o is 100 * GAIN[o] points and the
true gain over the paper is their mean. The gradebook runs on SQLite and PostgreSQL (db_url).
"""
from __future__ import annotations

import csv
import random
import re
import shutil
import statistics
import warnings
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from thbcourse.analysis.cohort_report import inline_svg, render_html
from thbcourse.analysis.gain import gain_report, paired
from thbcourse.analysis.mastery import HALVING, cohort_mastery, learner_mastery, revise_plan
from thbcourse.cli import main
from thbcourse.store.db import open_gradebook, writer
from thbcourse.store.gradebook import LearnerRow, add_learners, create_cohort, learner_id
from thbcourse.store.tables import attempts, export_log, responses

from conftest import DATA
from store_fixtures import db_url  # noqa: F401  (fixture)

OBJECTIVES = ["chain.recruitment", "chain.stages", "chain.transport-control", "fraud.anonymisation",
              "opps.indicators-triage", "legal.elements"]
GAIN = [0.10, 0.20, 0.30, 0.15, 0.25, 0.05]
QUESTIONS = 30  # per paper: five per objective
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
TRUE_PRE = 40.0
TRUE_GAIN = 100 * statistics.mean(GAIN)


def add_attempt(conn, code: str, blueprint: str, when: datetime, marks: list[tuple[str, str, float, float]]) -> int:
    """A complete attempt with one response per (question, objective, score, max)."""
    lid = learner_id(conn, code, create=True)
    score, most = sum(m[2] for m in marks), sum(m[3] for m in marks)
    aid = conn.execute(insert(attempts).values(
        learner_id=lid, blueprint=blueprint, seed=1, status="complete", started_at=when, finished_at=when,
        score=score, max_score=most, pass_mark=70.0, percent=100 * score / most,
        passed=100 * score / most >= 70)).inserted_primary_key[0]
    conn.execute(insert(responses), [dict(attempt_id=aid, question_id=q, topic=o.split(".")[0], objective=o,
                                          answer="null", score=s, max_score=m, answered_at=when)
                                     for q, o, s, m in marks])
    return aid


def paper(rng: random.Random, blueprint: str, chance: float, gain: list[float]) -> list[tuple]:
    return [(f"{blueprint}-q{k}", OBJECTIVES[k % 6], float(rng.random() < chance + gain[k % 6]), 1.0)
            for k in range(QUESTIONS)]


def simulate(engine, n: int, *, seed: int = 11, cohort: str = "Cohort A", day: int = 0) -> dict[str, tuple]:
    """n learners with a pre-test and a post-test; returns code -> (pre marks, post marks)."""
    rng = random.Random(seed)
    made = {}
    with writer(engine).begin() as conn:
        create_cohort(conn, cohort)
        codes = [f"{cohort[-1].lower()}-{i:04d}" for i in range(n)]
        add_learners(conn, cohort, [LearnerRow(c) for c in codes])
        for i, code in enumerate(codes):
            chance = rng.uniform(0.2, 0.6)
            pre, post = paper(rng, "pre-test", chance, [0] * 6), paper(rng, "post-test", chance, GAIN)
            add_attempt(conn, code, "pre-test", T0 + timedelta(days=day, seconds=i), pre)
            add_attempt(conn, code, "post-test", T0 + timedelta(days=day + 1, seconds=i), post)
            made[code] = (pre, post)
    return made


def report_of(engine, cohort="Cohort A", course=None, **options):
    return gain_report(engine, course, cohort, pre="pre-test", post="post-test", **options)


# ---- an independent computation ------------------------------------------------------------------------

def percent(marks, objective=None) -> float:
    chosen = [m for m in marks if objective is None or m[1] == objective]
    return 100 * sum(m[2] for m in chosen) / sum(m[3] for m in chosen)


def expected(made: dict) -> dict:
    pre = [percent(a) for a, _ in made.values()]
    post = [percent(b) for _, b in made.values()]
    diff = [b - a for a, b in zip(pre, post)]
    g = [(b - a) / (100 - a) for a, b in zip(pre, post) if a < 100]
    return {"mean_pre": statistics.mean(pre), "mean_post": statistics.mean(post), "mean_gain": statistics.mean(diff),
            "hake": (statistics.mean(post) - statistics.mean(pre)) / (100 - statistics.mean(pre)),
            "mean_g": statistics.mean(g), "d_z": statistics.mean(diff) / statistics.stdev(diff)}


def test_a_cohort_with_a_known_effect(db_url):
    engine = open_gradebook(db_url)
    made = simulate(engine, 300)
    report = report_of(engine)
    f = report.cohort_figures
    want = expected(made)
    assert f.n == 300 and not report.having("only pre-test") and f.at_ceiling == 0
    for name, value in want.items():
        assert getattr(f, name).value == pytest.approx(value, rel=1e-9), name
    # the true effect lies within the report's intervals
    assert f.mean_pre.low <= TRUE_PRE <= f.mean_pre.high
    assert f.mean_gain.low <= TRUE_GAIN <= f.mean_gain.high
    assert f.hake.low <= TRUE_GAIN / (100 - TRUE_PRE) <= f.hake.high
    assert f.d_z.value > 1 and f.p_value < 1e-10
    by_key = {b.key: b for b in report.objectives}
    for objective, gain in zip(OBJECTIVES, GAIN):
        b = by_key[objective]
        pre = statistics.mean(percent(a, objective) for a, _ in made.values())
        post = statistics.mean(percent(p, objective) for _, p in made.values())
        assert (b.n, b.pre, b.post) == (300, pytest.approx(pre), pytest.approx(post))
        assert b.gain.low <= 100 * gain <= b.gain.high, objective
        assert b.mastery == pytest.approx(post) and b.flagged == (post < 70)
    # reproducible: the same seed gives the same intervals, another seed others
    again = report_of(engine).cohort_figures
    assert (again.mean_gain, again.hake) == (f.mean_gain, f.hake)
    assert report_of(engine, seed=2).cohort_figures.mean_gain.low != f.mean_gain.low


def test_bootstrap_intervals_cover_the_true_values():
    """Coverage of the 95 % intervals over 300 simulated cohorts of 40 (independent of the gradebook)."""
    rng = np.random.default_rng(5)
    true_gain, true_hake = 15.0, 15.0 / 60.0
    covered = {"mean_gain": 0, "hake": 0}
    runs = 300
    for run in range(runs):
        chance = rng.uniform(0.2, 0.6, size=40)
        pre = 100 * rng.binomial(30, chance) / 30
        post = 100 * rng.binomial(30, chance + 0.15) / 30
        f = paired(pre, post, seed=run, resamples=1000)
        covered["mean_gain"] += f.mean_gain.low <= true_gain <= f.mean_gain.high
        covered["hake"] += f.hake.low <= true_hake <= f.hake.high
    rates = {k: v / runs for k, v in covered.items()}
    print(f"bootstrap 95 % interval coverage over {runs} cohorts of 40: {rates}")
    assert all(0.90 <= r <= 0.985 for r in rates.values()), rates


# ---- edge cases -------------------------------------------------------------------------------------------

def marks_at(share: float, objective: str = "chain.recruitment", n: int = 10, prefix: str = "q") -> list[tuple]:
    right = round(share * n)
    return [(f"{prefix}{k}", objective, 1.0 if k < right else 0.0, 1.0) for k in range(n)]


def cohort(engine, name="Cohort E", codes=()):
    with writer(engine).begin() as conn:
        create_cohort(conn, name)
        add_learners(conn, name, [LearnerRow(c) for c in codes])


def test_edge_cases_give_documented_results(db_url):
    engine = open_gradebook(db_url)
    cohort(engine, codes=["e-full", "e-half", "e-pre-only", "e-post-only", "e-none"])
    with writer(engine).begin() as conn:
        add_attempt(conn, "e-full", "pre-test", T0, marks_at(1.0))  # 100 % before: no room to gain
        add_attempt(conn, "e-full", "post-test", T0 + timedelta(days=1), marks_at(0.9))
        add_attempt(conn, "e-half", "pre-test", T0, marks_at(0.5))
        add_attempt(conn, "e-half", "post-test", T0 + timedelta(days=1), marks_at(0.8))
        add_attempt(conn, "e-pre-only", "pre-test", T0, marks_at(0.3))
        add_attempt(conn, "e-post-only", "post-test", T0 + timedelta(days=1), marks_at(0.6))
    report = report_of(engine, "Cohort E")
    f = report.cohort_figures
    assert [x.code for x in report.having("only pre-test")] == ["e-pre-only"]
    assert [x.code for x in report.having("only post-test")] == ["e-post-only"]
    assert [x.code for x in report.having("neither")] == ["e-none"]
    assert f.n == 2 and f.at_ceiling == 1
    assert f.mean_pre.value == pytest.approx(75) and f.mean_post.value == pytest.approx(85)
    assert f.hake.value == pytest.approx(10 / 25)
    assert f.mean_g.value == pytest.approx(0.6)  # only e-half's (80 - 50) / 50
    full = next(x for x in report.learners if x.code == "e-full")
    assert full.g is None and full.gain == pytest.approx(-10)
    recruitment = report.objectives[0]
    assert recruitment.mastery_n == 3 and recruitment.mastery == pytest.approx((90 + 80 + 60) / 3)
    page = render_html(report)
    for code in ("e-pre-only", "e-post-only", "e-none"):
        assert code in page


def test_one_learner_and_a_perfect_pre_test(db_url):
    engine = open_gradebook(db_url)
    cohort(engine, codes=["solo"])
    with writer(engine).begin() as conn:
        add_attempt(conn, "solo", "pre-test", T0, marks_at(1.0))
        add_attempt(conn, "solo", "post-test", T0 + timedelta(days=1), marks_at(1.0))
    report = report_of(engine, "Cohort E")
    f = report.cohort_figures
    assert f.n == 1 and f.mean_gain.value == 0
    assert f.hake.value is None and f.mean_g.value is None  # 100 % before: nothing to normalise by
    assert f.d_z.value is None and f.sd_gain is None and f.p_value is None
    assert f.mean_gain.low is None  # no interval from one learner
    html = render_html(report)
    assert "n/a" in html and "need at least two learners" in html


def test_a_cohort_without_pairs_and_equal_gains(db_url):
    engine = open_gradebook(db_url)
    cohort(engine, codes=["x-1", "x-2"])
    empty = report_of(engine, "Cohort E")
    assert empty.cohort_figures.n == 0 and empty.cohort_figures.mean_pre.value is None
    assert "Took neither test (2)" in render_html(empty)
    with writer(engine).begin() as conn:
        for code, before in (("x-1", 0.2), ("x-2", 0.4)):
            add_attempt(conn, code, "pre-test", T0, marks_at(before))
            add_attempt(conn, code, "post-test", T0 + timedelta(days=1), marks_at(before + 0.3))
    f = report_of(engine, "Cohort E").cohort_figures
    assert f.mean_gain.value == pytest.approx(30) and f.sd_gain == pytest.approx(0)
    assert f.d_z.value is None and f.p_value is None  # no spread: the effect size is not defined


@pytest.mark.parametrize("policy, post", [("first", 50.0), ("best", 90.0), ("last", 70.0)])
def test_a_post_test_taken_more_than_once(db_url, policy, post):
    engine = open_gradebook(db_url)
    cohort(engine, codes=["r-1"])
    with writer(engine).begin() as conn:
        add_attempt(conn, "r-1", "pre-test", T0, marks_at(0.2))
        add_attempt(conn, "r-1", "pre-test", T0 + timedelta(hours=1), marks_at(0.6))  # never counts
        for hours, share in ((30, 0.5), (31, 0.9), (32, 0.7)):
            add_attempt(conn, "r-1", "post-test", T0 + timedelta(hours=hours), marks_at(share))
    report = report_of(engine, "Cohort E", policy=policy)
    learner = report.learners[0]
    assert (learner.pre, learner.post, learner.post_attempts) == (pytest.approx(20), pytest.approx(post), 3)
    assert f"(policy <code>{policy}</code>)" in render_html(report)


def test_other_cohorts_are_compared(db_url):
    engine = open_gradebook(db_url)
    simulate(engine, 30, cohort="Cohort A", seed=1)
    simulate(engine, 20, cohort="Cohort B", seed=2, day=30)
    report = report_of(engine, "Cohort B")
    assert [(c.cohort, c.figures.n, c.current) for c in report.cohorts] == [("Cohort A", 30, False),
                                                                             ("Cohort B", 20, True)]
    assert "Cohorts compared" in render_html(report)


# ---- mastery and what to revise --------------------------------------------------------------------------

def test_mastery_weighs_the_newest_attempts_most(db_url, sample_course):
    engine = open_gradebook(db_url)
    cohort(engine, codes=["m-1"])
    with writer(engine).begin() as conn:  # 0 %, then 50 %, then 100 % on chain.stages; one rubric-like 1/4
        for hours, share in ((0, 0.0), (1, 0.5), (2, 1.0)):
            add_attempt(conn, "m-1", f"quiz-{hours}", T0 + timedelta(hours=hours),
                        marks_at(share, "chain.stages", n=2, prefix=f"s{hours}-"))
        add_attempt(conn, "m-1", "rubric", T0, [("s-tf", "chain.transport-control", 1.0, 4.0)])
    with engine.connect() as conn:
        found = learner_mastery(conn, "m-1")
        assert cohort_mastery(conn, "Cohort E")["m-1"] == found
    weights = [HALVING ** k for k in range(3)]  # newest first: 100 %, 50 %, 0 %
    want = 100 * sum(w * s for w, s in zip(weights, (2, 1, 0))) / sum(w * 2 for w in weights)
    assert found["chain.stages"].percent == pytest.approx(want) and found["chain.stages"].attempts == 3
    assert found["chain.transport-control"].percent == pytest.approx(25)
    plan = revise_plan(engine, sample_course, "m-1")
    assert [item.objective for item in plan.items] == ["chain.transport-control"]  # 71 % is above 70 %
    assert plan.items[0].sections[0][0] == sample_course.questions["s-tf"].source  # the one missed
    assert plan.mastered == 1 and "fraud.anonymisation" in plan.untested


# ---- files, command line, plots ------------------------------------------------------------------------

TESTS = {"pre-test": "id: pre-test\ntitle: Before\npurpose: pre-test\nsections: [{title: All, count: 3, banks: [sample]}]\n",
         "post-test": "id: post-test\ntitle: After\npurpose: post-test\nsections: [{title: All, count: 2, banks: [sample]}]\n"}
RESERVED = ("s-matching", "s-short")  # a post-test draws only questions reserved for assessment


def with_tests(root):
    shutil.copytree(DATA / "quizzes", root / "quizzes")
    bank = root / "quizzes" / "banks" / "sample.yml"
    text = bank.read_text(encoding="utf-8")
    for qid in RESERVED:
        text = text.replace(f"  - id: {qid}\n", f"  - id: {qid}\n    reserved: true\n")
    bank.write_text(text, encoding="utf-8")
    for name, text in TESTS.items():
        (root / "quizzes" / "blueprints" / f"{name}.yml").write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def course_dir(tmp_path, monkeypatch):
    with_tests(tmp_path)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def gain_course(tmp_path_factory):
    from thbcourse.bank.course import load_course

    root = with_tests(tmp_path_factory.mktemp("gain"))
    return load_course([root / "quizzes"], book_root=None)


def test_the_gain_command_writes_the_report_and_logs_it(db_url, course_dir):
    engine = open_gradebook(db_url)
    made = simulate(engine, 12)
    result = CliRunner().invoke(main, ["gain", "--cohort", "Cohort A", "--out", "out", "--xlsx", "--db", db_url, "--by", "tester"])
    assert result.exit_code == 0, result.output
    assert "12 with both tests" in result.output
    html = (course_dir / "out/cohort-a-gain.html").read_text()
    assert "<script" not in html and "http" not in re.sub(r'xmlns(:\w+)?="[^"]+"', "", html)
    assert html.count("<svg") == 2 and ' style="' not in html  # objectives and distribution; one cohort
    with open(course_dir / "out/cohort-a-gain-learners.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [r["learner"] for r in rows] == sorted(made)
    first = rows[0]
    assert float(first["pre %"]) == pytest.approx(round(percent(made[first["learner"]][0]), 2))
    from openpyxl import load_workbook

    book = load_workbook(course_dir / "out/cohort-a-gain.xlsx")
    assert book.sheetnames == ["summary", "learners", "objectives"]
    assert book["learners"].max_row == 13
    with engine.connect() as conn:
        assert conn.execute(select(export_log.c.what, export_log.c.who)).all() == [("gain report", "tester")]
    unknown = CliRunner().invoke(main, ["gain", "--cohort", "nobody", "--pre", "a", "--post", "b", "--db", db_url])
    assert unknown.exit_code == 1 and "no cohort 'nobody'" in unknown.output and "Traceback" not in unknown.output


def test_scores_export_adds_mastery_columns(db_url, course_dir):
    engine = open_gradebook(db_url)
    made = simulate(engine, 3)
    result = CliRunner().invoke(main, ["scores", "export", "s.csv", "--per-objective", "--mastery", "--db", db_url])
    assert result.exit_code == 0, result.output
    with open(course_dir / "s.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    code = sorted(made)[0]
    pre, post = made[code]
    weights = {0: 0.5, 1: 1.0}  # the pre-test is the older attempt
    stages = [(w, m) for w, marks in zip(weights.values(), (pre, post)) for m in marks if m[1] == "chain.stages"]
    want = 100 * sum(w * m[2] for w, m in stages) / sum(w * m[3] for w, m in stages)
    mine = [r for r in rows if r["learner"] == code]
    assert len(mine) == 2  # the same mastery on each of the learner's rows
    assert all(float(r["mastery % chain.stages"]) == pytest.approx(round(want, 2)) for r in mine)
    assert "objective % chain.stages" in rows[0]
    refused = CliRunner().invoke(main, ["scores", "export", "t.csv", "--mastery", "--db", db_url])
    assert refused.exit_code != 0 and "--per-objective" in refused.output


def test_revise_command(db_url, course_dir):
    engine = open_gradebook(db_url)
    simulate(engine, 3)
    code = "a-0000"
    result = CliRunner().invoke(main, ["revise", "--learner", code, "--db", db_url])
    assert result.exit_code == 0, result.output
    assert f"What to revise, {code}" in result.output
    out = CliRunner().invoke(main, ["revise", "--cohort", "Cohort A", "--out", "r.csv", "--db", db_url])
    assert out.exit_code == 0, out.output
    with open(course_dir / "r.csv", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert rows and {r["learner"] for r in rows} <= {"a-0000", "a-0001", "a-0002"}
    assert all(float(r["mastery %"]) < 70 for r in rows)


def test_inline_svg_has_no_style_and_unique_ids():
    svg = ('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10pt" height="5pt" '
           'viewBox="0 0 10 5"><defs><style type="text/css">*{stroke-linejoin: round}</style></defs>'
           '<path id="m1" style="fill: #ffffff; stroke: #000"/><use xlink:href="#m1"/>'
           '<g clip-path="url(#p1)"/></svg>')
    out = inline_svg(svg, "fig", "A title", "A description")
    assert "style" not in out and 'fill="#ffffff"' in out and 'stroke="#000"' in out
    assert 'id="fig-m1"' in out and 'xlink:href="#fig-m1"' in out and "url(#fig-p1)" in out
    assert out.startswith("<svg role=\"img\"") and "<title id=\"fig-title\">A title</title>" in out


# ---- the web pages ----------------------------------------------------------------------------------------

def test_trainer_gain_page_and_officer_revise_list(db_url, gain_course):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        from test_web import PASSWORD_RECORD, Browser, trainer
        from thbcourse.web import create_app
    engine = open_gradebook(db_url)
    simulate(engine, 10)
    app = create_app(gain_course, engine, password=PASSWORD_RECORD)
    anonymous = Browser(app)
    r = anonymous.client.get("/trainer/gain?cohort=Cohort+A", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/trainer/sign-in")
    tr = trainer(app)
    page = tr.get("/trainer/gain?cohort=Cohort+A&policy=first&threshold=70").text
    assert "Did the cohort learn?" in page and page.count("<svg") == 2 and ' style="' not in page
    assert "10 with both tests" in page
    r = tr.post("/trainer/gain", {"cohort": "Cohort A", "policy": "best", "threshold": "70",
                                  "download": "learners.csv"})
    assert r.status_code == 200 and r.content.decode("utf-8-sig").startswith("learner,tests taken,pre %")
    assert tr.post("/trainer/gain", {"cohort": "Cohort A", "download": "html"}, csrf=False).status_code == 403
    assert tr.get("/trainer/gain?cohort=Cohort+A&policy=worst").status_code == 422
    officer = Browser(app)
    r = officer.post("/study/revise", {"learner": "a-0000"})
    assert r.status_code == 200 and "What to revise: a-0000" in r.text
    assert officer.post("/study/revise", {"learner": "bad id!"}).status_code == 422
    assert "Nothing is recorded" in officer.post("/study/revise", {"learner": "new-one"}).text
    with engine.connect() as conn:
        assert [w for w, in conn.execute(select(export_log.c.what))] == ["gain report learners.csv"]
