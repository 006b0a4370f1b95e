"""Item analysis: statistics checked against formulas written out here, choice counts, and the report
end to end on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import math
import re
import statistics
from dataclasses import astuple

import pytest
from sqlalchemy import event

from thbcourse.analysis import analyse, main
from thbcourse.analysis.distractors import choice_table
from thbcourse.analysis.items import CHECK_KEY, DUBIOUS, REVISE, TOO_EASY, TOO_HARD, item_statistics, quiz_figures
from thbcourse.analysis.load import QuizData, load_quiz
from thbcourse.analysis.report import Analysis, write_report
from thbcourse.engine.attempt import mark_paper
from thbcourse.engine.draw import draw
from thbcourse.engine.grade import grade
from thbcourse.store.db import open_gradebook, writer
from thbcourse.store.gradebook import GradebookError, learner_id, open_attempt, record_attempt, record_response

from store_fixtures import db_url  # noqa: F401  (fixture)


# ---- an independent computation: the textbook formulas with the statistics module ----------------

def expected_item(attempts, qid):
    """(n, facility, sd, discrimination, efficiency) of one item; None where a variance is 0."""
    having = [m for m in attempts if qid in m]
    x = [m[qid][0] for m in having]
    rest = [sum(s for s, _ in m.values()) - m[qid][0] for m in having]
    facility = statistics.mean(x) / having[0][qid][1]
    spread = statistics.pvariance(x) > 0 and statistics.pvariance(rest) > 0
    d = statistics.correlation(x, rest) if spread else None
    e = statistics.covariance(x, rest) / statistics.covariance(sorted(x), sorted(rest)) if spread else None
    return len(x), facility, statistics.stdev(x), d, e


def expected_alpha(attempts):
    common = sorted(set.intersection(*(set(m) for m in attempts)))
    p = len(common)
    totals = [sum(m[q][0] for q in common) for m in attempts]
    item_var = sum(statistics.variance([m[q][0] for m in attempts]) for q in common)
    alpha = p / (p - 1) * (1 - item_var / statistics.variance(totals))
    return p, alpha, statistics.stdev(totals) * math.sqrt(1 - alpha)


def marks(columns, points):
    """Attempts from item columns: {item: [mark of learner 1, 2, ...]}."""
    learners = len(next(iter(columns.values())))
    return [{q: (float(columns[q][i]), float(points[q])) for q in columns} for i in range(learners)]


# Eight learners, strongest first. q2 favours the weak (negative discrimination), everyone gets q3
# right, q4 is worth 2 points with partial credit, q5 is hard.
FIXED = marks({"q1": [1, 1, 1, 1, 1, 0, 0, 0],
               "q2": [0, 0, 0, 1, 0, 1, 1, 1],
               "q3": [1, 1, 1, 1, 1, 1, 1, 1],
               "q4": [2, 2, 2, 1, 1, 1, 0, 0],
               "q5": [1, 1, 0, 1, 0, 0, 0, 0]},
              {"q1": 1, "q2": 1, "q3": 1, "q4": 2, "q5": 1})


def test_fixed_data_against_the_formulas():
    items = {s.question_id: s for s in item_statistics(FIXED)}
    assert list(items) == ["q1", "q2", "q3", "q4", "q5"]
    for qid, item in items.items():
        n, facility, sd, d, e = expected_item(FIXED, qid)
        assert item.n == n == 8
        assert item.facility == pytest.approx(facility)
        assert item.sd == pytest.approx(sd)
        assert item.discrimination == (None if d is None else pytest.approx(d))
        assert item.efficiency == (None if e is None else pytest.approx(e))
    # a few by hand
    assert items["q1"].facility == 5 / 8 and items["q4"].facility == 9 / 16 and items["q4"].mean == 9 / 8
    assert items["q5"].efficiency == pytest.approx(1.0)  # the 3 best on the rest got it: as good as it can be
    assert items["q2"].discrimination < 0 and items["q2"].flags == (CHECK_KEY, DUBIOUS)
    assert items["q3"].discrimination is None and items["q3"].efficiency is None
    assert items["q3"].sd == 0.0 and items["q3"].flags == (TOO_EASY,)
    assert items["q1"].flags == () and items["q4"].flags == ()

    figures = quiz_figures(FIXED)
    totals = [sum(s for s, _ in m.values()) for m in FIXED]
    percents = [100 * t / 6 for t in totals]
    assert figures.attempts == 8
    assert figures.percents == pytest.approx(percents)
    assert figures.mean_percent == pytest.approx(statistics.mean(percents))
    assert figures.median_percent == pytest.approx(statistics.median(percents))
    assert figures.sd_percent == pytest.approx(statistics.stdev(percents))
    p, alpha, sem = expected_alpha(FIXED)
    assert figures.common_items == p == 5
    assert figures.alpha == pytest.approx(alpha) and figures.sem == pytest.approx(sem)
    assert figures.sem_percent == pytest.approx(100 * sem / 6)
    assert figures.alpha_note is None
    # KR-20 by hand for the 0/1 items alone: p/(p-1) * (1 - sum p_i q_i / var) with the same divisor
    zero_one = [{q: m[q] for q in ("q1", "q2", "q5")} for m in FIXED]
    assert quiz_figures(zero_one).alpha == pytest.approx(expected_alpha(zero_one)[1])


def test_flags_for_hard_and_weak_items():
    attempts = marks({"hard": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                      "weak": [1, 0, 1, 0, 0, 1, 1, 0, 0, 1],
                      "a": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
                      "b": [1, 1, 1, 1, 0, 1, 0, 0, 0, 0]}, {"hard": 1, "weak": 1, "a": 1, "b": 1})
    items = {s.question_id: s for s in item_statistics(attempts)}
    assert TOO_HARD in items["hard"].flags
    d = expected_item(attempts, "weak")[3]
    assert 0 <= d < 0.20 and items["weak"].flags[0] == REVISE


def test_randomised_papers_use_the_attempts_that_had_the_item():
    # a, b, c are on every paper; d on the first four papers, e on the last four
    attempts = [
        {"a": (1, 1), "b": (1, 1), "c": (2, 2), "d": (1, 1)},
        {"a": (1, 1), "b": (0, 1), "c": (1, 2), "d": (1, 1)},
        {"a": (0, 1), "b": (1, 1), "c": (2, 2), "d": (0, 1)},
        {"a": (1, 1), "b": (1, 1), "c": (0, 2), "d": (0, 1), "e": (1, 1)},
        {"a": (0, 1), "b": (0, 1), "c": (1, 2), "e": (0, 1)},
        {"a": (1, 1), "b": (1, 1), "c": (2, 2), "e": (1, 1)},
        {"a": (0, 1), "b": (0, 1), "c": (0, 2), "e": (0, 1)},
    ]
    attempts = [{q: (float(s), float(mx)) for q, (s, mx) in m.items()} for m in attempts]
    items = {s.question_id: s for s in item_statistics(attempts)}
    assert {q: s.n for q, s in items.items()} == {"a": 7, "b": 7, "c": 7, "d": 4, "e": 4}
    for qid, item in items.items():
        n, facility, sd, d, e = expected_item(attempts, qid)
        assert (item.n, item.facility, item.sd) == (n, pytest.approx(facility), pytest.approx(sd))
        assert item.discrimination == (None if d is None else pytest.approx(d))
        assert item.efficiency == (None if e is None else pytest.approx(e))
    figures = quiz_figures(attempts)
    p, alpha, sem = expected_alpha(attempts)  # over a, b and c only
    assert figures.common_items == p == 3
    assert figures.alpha == pytest.approx(alpha) and figures.sem == pytest.approx(sem)
    assert figures.sem_percent == pytest.approx(100 * sem / 4)
    percents = [100 * sum(s for s, _ in m.values()) / sum(mx for _, mx in m.values()) for m in attempts]
    assert figures.mean_percent == pytest.approx(statistics.mean(percents))

    one_common = [{"a": m["a"], **({"d": m["d"]} if "d" in m else {"e": m["e"]})} for m in attempts]
    figures = quiz_figures(one_common)
    assert figures.alpha is None and figures.sem is None and figures.common_items == 1
    assert "at least 2 questions that are on every paper" in figures.alpha_note
    single = quiz_figures(attempts[:1])
    assert single.alpha is None and "at least 2 attempts" in single.alpha_note and single.sd_percent is None
    assert item_statistics(attempts[:1])[0].sd is None


def _no_nan(obj):
    return not any(isinstance(v, float) and math.isnan(v) for v in astuple(obj) if not isinstance(v, tuple))


def test_zero_variance_gives_none_and_n_a(tmp_path):
    same = [{"a": (1.0, 1.0), "b": (0.5, 1.0)} for _ in range(5)]  # nobody differs at all
    items = item_statistics(same)
    assert all(s.discrimination is None and s.efficiency is None and s.sd == 0.0 for s in items)
    assert all(_no_nan(s) for s in items)
    figures = quiz_figures(same)
    assert figures.alpha is None and figures.sem is None and figures.sd_percent == 0.0 and _no_nan(figures)
    assert "same total" in figures.alpha_note
    # a constant item beside items that vary: its own figures are n/a, the others are defined
    mixed = marks({"const": [1, 1, 1, 1], "x": [1, 0, 1, 0], "y": [1, 1, 0, 0]}, {"const": 1, "x": 1, "y": 1})
    by_id = {s.question_id: s for s in item_statistics(mixed)}
    assert by_id["const"].discrimination is None and by_id["x"].discrimination is not None
    # marks like 1/3 that only round to the same value still count as no spread
    thirds = [{"a": (1 / 3, 1.0), "b": (float(i % 2), 1.0)} for i in range(6)]
    assert item_statistics(thirds)[0].discrimination is None

    analysis = Analysis("q", "Quiz", "first", item_statistics(same), quiz_figures(same))
    csv_path, html_path = write_report(analysis, tmp_path)
    html = html_path.read_text(encoding="utf-8")
    assert "n/a" in html and not re.search(r"\bnan\b", html.lower())
    with open(csv_path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["discrimination"] for r in rows] == ["", ""] and "nan" not in csv_path.read_text().lower()


def test_choice_counts_for_every_type(sample_course):
    q = sample_course.questions
    single = choice_table(q["s-single"], [0, 0, 2, None, 1, 9])  # 9: an option that does not exist
    assert [(r.label[:12], r.counts, r.key) for r in single.rows] == [
        ("Work in admi", (2,), True), ("Highly paid ", (1,), False), ("Construction", (1,), False)]
    assert (single.attempts, single.unanswered, single.unfitting) == (6, 1, 1)

    multiple = choice_table(q["s-multiple"], [frozenset({0, 1}), frozenset({0, 2}), frozenset()])
    assert [r.counts[0] for r in multiple.rows] == [2, 1, 1, 0]
    assert [r.key for r in multiple.rows] == [True, True, False, False]

    tf = choice_table(q["s-tf"], [True, True, False, None])
    assert [(r.label, r.counts, r.key) for r in tf.rows] == [("true", (2,), True), ("false", (1,), False)]

    matching = choice_table(q["s-matching"], [{0: 0, 1: 1, 2: 2}, {0: 0, 1: 3}, {0: 1, 1: 0, 2: 2}])
    assert [(r.label, r.counts) for r in matching.rows] == [
        ("Recruitment", (2, 1)), ("Transportation", (1, 2)), ("Harbouring and control", (2, 1))]

    ordering = choice_table(q["s-ordering"], [[0, 1, 2, 3], [0, 1, 3, 2], [3, 2, 1, 0], [0, 1, 2, 3]])
    assert [(r.label, r.counts) for r in ordering.rows] == [
        ("fully right", (2,)), ("partly right", (1,)), ("nothing right", (1,))]

    typed = ["multihoming", "Multi-homing", " NO ", "no", "proxy", "vpn", "vpn", "tor", "nat", "dns", "NO"]
    short = choice_table(q["s-short"], typed)
    assert [(r.label, r.counts[0]) for r in short.rows] == [
        ("accepted", 2), ("no", 3), ("vpn", 2), ("dns", 1), ("nat", 1), ("proxy", 1), ("1 other wrong answer(s)", 1)]

    numeric = choice_table(q["s-numeric"], [80, 80.4, 20, 20.0, 8, None])
    assert [(r.label, r.counts[0]) for r in numeric.rows] == [("within the tolerance", 2), ("20", 2), ("8", 1)]
    assert numeric.unanswered == 1


# ---- end to end: gradebook -> main() -> CSV and HTML --------------------------------------------

RIGHT = {"single": 0, "multiple": frozenset({0, 1}), "true_false": True, "matching": {0: 0, 1: 1, 2: 2},
         "ordering": [0, 1, 2, 3], "short_answer": "multihoming", "numeric": 80}
WRONG = {"single": 2, "multiple": frozenset({2}), "true_false": False, "matching": {0: 3},
         "ordering": [3, 2, 1, 0], "short_answer": "no", "numeric": 1}
PARTLY = {"single": 1, "multiple": frozenset({0}), "true_false": True, "matching": {0: 0, 1: 2, 2: 1},
          "ordering": [0, 1, 3, 2], "short_answer": "multi homing", "numeric": 79}

# (learner, seed, answers by type); seeds 1 and 5 give the same questions, seed 3 swaps s-tf for s-single
FIRST_ATTEMPTS = [
    ("ofc-1", 1, RIGHT),
    ("ofc-2", 3, {**RIGHT, "numeric": 1}),
    ("ofc-3", 5, {**WRONG, "true_false": True, "numeric": 80, "ordering": [0, 1, 2, 3]}),
    ("ofc-4", 1, WRONG),
    ("ofc-5", 3, PARTLY),
    ("ofc-6", 5, {"true_false": False, "short_answer": " NO "}),
    ("ofc-7", 1, {**RIGHT, "matching": {0: 1}, "short_answer": "proxy"}),
]


def _record(engine, course, learner, seed, answers):
    paper = draw(course, course.blueprint("sample-quiz"), seed)
    result = mark_paper(paper, {i.question.id: answers[i.question.type] for i in paper.items
                                if i.question.type in answers})
    with writer(engine).begin() as conn:
        record_attempt(conn, result, learner=learner, mode="terminal", created_by="test", create_learner=True)
    return {m.item.question.id: (m.graded.score, m.graded.max) for m in result.marks}


def _read_csv(path):
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as f:
        return {row["question"]: row for row in csv.DictReader(f)}


def _check_rows(rows, attempts):
    assert set(rows) == set().union(*attempts)
    for qid, row in rows.items():
        n, facility, sd, d, e = expected_item(attempts, qid)
        assert int(row["attempts"]) == n
        assert float(row["facility"]) == pytest.approx(facility, abs=1e-4)
        assert float(row["sd"]) == pytest.approx(sd, abs=1e-4)
        for column, value in (("discrimination", d), ("discriminative efficiency", e)):
            if value is None:
                assert row[column] == ""
            else:
                assert float(row[column]) == pytest.approx(value, abs=1e-4)


def test_end_to_end(db_url, sample_course, tmp_path):
    engine = open_gradebook(db_url)
    with pytest.raises(GradebookError, match="'sample-quiz' has no complete attempts"):
        main(engine, sample_course, "sample-quiz", tmp_path / "none")
    first = [_record(engine, sample_course, *attempt) for attempt in FIRST_ATTEMPTS]
    later = _record(engine, sample_course, "ofc-4", 3, RIGHT)  # a second try: left out by default
    with writer(engine).begin() as conn:  # an open attempt never counts
        paper = draw(sample_course, sample_course.blueprint("sample-quiz"), 1)
        attempt = open_attempt(conn, learner=learner_id(conn, "ofc-8", create=True), blueprint="sample-quiz",
                               seed=1, max_score=5, pass_mark=70)
        question = paper.items[0].question
        response = RIGHT[question.type]
        record_response(conn, attempt, question=question, response=response, graded=grade(question, response))

    queries = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):  # not SQLite's BEGIN
            queries.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    data = load_quiz(engine, sample_course, "sample-quiz")
    event.remove(engine, "before_cursor_execute", count)
    assert len(queries) == 1  # one query, whatever the number of learners
    assert data.marks == first

    csv_path, html_path = main(engine, sample_course, "sample-quiz", tmp_path / "out")
    assert (csv_path.name, html_path.name) == ("sample-quiz-item-analysis.csv", "sample-quiz-item-analysis.html")
    rows = _read_csv(csv_path)
    _check_rows(rows, first)
    assert list(rows) == [q for q in sample_course.questions if q in rows]  # bank order
    assert rows["s-tf"]["type"] == "true_false" and int(rows["s-single"]["attempts"]) == 2

    html = html_path.read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and 'role="img"' in html and "<desc" in html and '<th scope="col">' in html
    assert "<script" not in html.lower() and "http" not in html.lower() and not re.search(r"\bnan\b", html.lower())
    p, alpha, sem = expected_alpha(first)  # matching, ordering, short answer and numeric are on every paper
    assert p == 4
    assert f"{alpha:.2f} (over the 4 questions that are on every paper)" in html
    assert f"{sem:.2f} marks" in html
    assert re.search(r"Attempts analysed</th><td>7<", html)

    stats = analyse(data, sample_course)
    tf = stats.choices["s-tf"]  # on the papers of seeds 1 and 5: ofc-1, 3, 4, 6, 7
    assert [(r.label, r.counts[0]) for r in tf.rows] == [("true", 3), ("false", 2)]
    short = {r.label: r.counts[0] for r in stats.choices["s-short"].rows}
    assert short == {"accepted": 3, "no": 3, "proxy": 1}  # "multi homing" matches the pattern; " NO " is "no"

    everything = load_quiz(engine, sample_course, "sample-quiz", attempts="all")
    assert len(everything.marks) == 8
    _, html_all = main(engine, sample_course, "sample-quiz", tmp_path / "all", attempts="all")
    _check_rows(_read_csv(html_all.with_suffix(".csv")), first + [later])

    with pytest.raises(GradebookError, match="did you mean 'sample-quiz'"):
        main(engine, sample_course, "sample-quz", tmp_path / "typo")
    with pytest.raises(ValueError, match="first, all"):
        load_quiz(engine, sample_course, "sample-quiz", attempts="best")


def test_a_question_gone_from_the_banks_keeps_its_statistics(sample_course, tmp_path):
    data = QuizData("sample-quiz", "first",
                    marks=[{"s-tf": (1.0, 1.0), "retired": (0.0, 1.0)}, {"s-tf": (0.0, 1.0), "retired": (1.0, 1.0)}],
                    answers={"s-tf": [True, False], "retired": ['"x"', '"y"']})
    stats = analyse(data, sample_course)
    assert [s.question_id for s in stats.items] == ["s-tf", "retired"]  # bank order, unknown ones last
    assert set(stats.choices) == {"s-tf"} and stats.title == "Sample quiz"
    csv_path, html_path = write_report(stats, tmp_path)
    rows = _read_csv(csv_path)
    assert rows["retired"]["type"] == "" and float(rows["retired"]["discrimination"]) == -1.0
    assert "no longer in the banks" in html_path.read_text(encoding="utf-8")
