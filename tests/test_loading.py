"""Validation: every class of broken bank is reported with file, line and column, never a traceback."""
from __future__ import annotations

import subprocess
import sys

import pytest

from thbcourse.bank.course import load_course
from thbcourse.bank.yamlfile import MAX_BYTES
from thbcourse.problems import AuthoringError

HEADER = """\
id: b
title: Test bank
topic: chain
questions:
"""

GOOD_SINGLE = """\
  - id: q1
    type: single
    difficulty: 1
    objective: chain.recruitment
    source: book/04-1-recruitment.md#online-adverts
    stem: Which?
    feedback: Because.
    options:
      - text: Right
        correct: true
      - text: Wrong
"""


def problems_of(tmp_path, text, name="bank.yml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(AuthoringError) as caught:
        load_course([tmp_path], book_root=None)
    return caught.value.problems


def one_problem(tmp_path, text):
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1, problems
    return problems[0]


def test_good_bank_loads(tmp_path):
    (tmp_path / "bank.yml").write_text(HEADER + GOOD_SINGLE)
    course = load_course([tmp_path], book_root=None)
    assert list(course.questions) == ["q1"]
    assert course.questions["q1"].topic.value == "chain"  # filled in from the bank


@pytest.mark.parametrize("replace, line, column, message", [
    ("        correct: true", 14, 9, "unknown field 'corect'; did you mean 'correct'?"),
    ("    difficulty: 1", 7, 17, "'difficulty' must be 1, 2 or 3; found 4"),
    ("    stem: Which?", 10, 11, "'stem' is empty"),
    ("    type: single", 6, 11, "unknown question type 'singel'"),
    ("    source: book/04-1-recruitment.md#online-adverts", 9, 13, "source must look like book/<file>.md#"),
    ("    objective: chain.recruitment", 8, 16, "objective ids look like"),
    ("  - id: q1", 5, 9, "ids use lower-case letters"),
])
def test_structural_problem_has_line_and_column(tmp_path, replace, line, column, message):
    broken = {
        "        correct: true": "        corect: true",
        "    difficulty: 1": "    difficulty: 4",
        "    stem: Which?": "    stem: '   '",
        "    type: single": "    type: singel",
        "    source: book/04-1-recruitment.md#online-adverts": "    source: chapter four",
        "    objective: chain.recruitment": "    objective: Recruitment",
        "  - id: q1": "  - id: Q 1",
    }[replace]
    problem = one_problem(tmp_path, HEADER + GOOD_SINGLE.replace(replace, broken))
    assert (problem.line, problem.column) == (line, column)
    assert message in problem.message
    assert str(problem) == f"{problem.path}:{line}:{column}: {problem.message}"


def test_missing_field_points_at_question(tmp_path):
    problem = one_problem(tmp_path, HEADER + GOOD_SINGLE.replace("    feedback: Because.\n", ""))
    assert problem.message == "missing field 'feedback'"
    assert problem.line == 5  # the question starts on line 5


@pytest.mark.parametrize("keys, message", [
    ((False, False), "needs exactly one option with 'correct: true'; it has 0"),
    ((True, True), "needs exactly one option with 'correct: true'; it has 2"),
])
def test_single_needs_exactly_one_key(tmp_path, keys, message):
    text = HEADER + GOOD_SINGLE.replace("        correct: true\n", "").replace(
        "      - text: Right\n", f"      - text: Right\n        correct: {str(keys[0]).lower()}\n").replace(
        "      - text: Wrong\n", f"      - text: Wrong\n        correct: {str(keys[1]).lower()}\n")
    problem = one_problem(tmp_path, text)
    assert message in problem.message and problem.line == 13


def test_multiple_needs_a_key_and_a_wrong_option(tmp_path):
    none = HEADER + GOOD_SINGLE.replace("type: single", "type: multiple").replace("        correct: true\n", "")
    assert "at least one option with 'correct: true'" in one_problem(tmp_path, none).message
    every = HEADER + GOOD_SINGLE.replace("type: single", "type: multiple").replace(
        "      - text: Wrong\n", "      - text: Wrong\n        correct: true\n")
    assert "every option is correct" in one_problem(tmp_path, every).message


def test_repeated_option_names_the_repeat(tmp_path):
    problem = one_problem(tmp_path, HEADER + GOOD_SINGLE.replace("text: Wrong", "text: '  right '"))
    assert problem.line == 15 and "option 2 repeats option 1" in problem.message


def test_matching_and_ordering_rules(tmp_path):
    text = HEADER + """\
  - id: m1
    type: matching
    difficulty: 2
    objective: chain.stages
    source: book/04-facilitator.md#the-chain
    stem: Match.
    feedback: Explained.
    pairs:
      - {left: A, right: one}
      - {left: B, right: two}
      - {left: A, right: three}
    distractors: [two]
  - id: o1
    type: ordering
    difficulty: 2
    objective: chain.stages
    source: book/04-facilitator.md#the-chain
    stem: Order.
    feedback: Explained.
    items: [only one]
  - id: n1
    type: numeric
    difficulty: 2
    objective: chain.stages
    source: book/04-facilitator.md#the-chain
    stem: How many?
    feedback: Explained.
"""
    messages = {(p.line, p.message) for p in problems_of(tmp_path, text)}
    assert (15, "left item 3 repeats left item 1: 'A'") in messages
    assert (16, "right-hand item 4 repeats right-hand item 2: 'two'") in messages
    assert (24, "an 'ordering' question needs at least two items; it has 1") in messages
    assert (25, "missing field 'value'") in messages


def test_duplicate_ids_across_files(tmp_path):
    (tmp_path / "a.yml").write_text(HEADER + GOOD_SINGLE)
    problems = problems_of(tmp_path, HEADER.replace("id: b", "id: c") + GOOD_SINGLE, name="z.yml")
    assert len(problems) == 1
    assert problems[0].path.endswith("z.yml") and "already used at" in problems[0].message
    assert "a.yml:5" in problems[0].message


def test_all_problems_of_a_run_are_reported_together(tmp_path):
    (tmp_path / "one.yml").write_text(HEADER + GOOD_SINGLE.replace("difficulty: 1", "difficulty: 9"))
    problems = problems_of(tmp_path, HEADER.replace("id: b", "id: c") + GOOD_SINGLE.replace(
        "id: q1", "id: q2").replace("correct: true", "corect: true"), name="two.yml")
    assert {p.path.rsplit("/", 1)[-1] for p in problems} == {"one.yml", "two.yml"}


@pytest.mark.parametrize("content, line, message", [
    (b"id: x\ntitle: \xff\n", 2, "not valid UTF-8"),
    (b"\x00\x01\x02binary", 1, "NUL byte"),
    (b"", 1, "file is empty"),
    (b"# only a comment\n", 1, "file is empty"),
    (b"id: b\n\ttitle: x\n", 2, "a tab"),
    (b"- a\n- b\n", 1, "found a list"),
    (b"just words\n", 1, "found a single text"),
    (b"id: a\nid: b\n", 2, "duplicate key 'id'"),
    (b"id: !!python/object/apply:os.system ['true']\n", 1, "!!python/object/apply:os.system is not allowed"),
    (b"id: [unclosed\n", 2, "YAML syntax error"),
    (b"a: " + b"[" * 30 + b"]" * 30 + b"\n" + b"b: " + b"[" * 60 + b"]" * 60, 2, "nesting deeper than"),
])
def test_hostile_files_give_one_clear_problem(tmp_path, content, line, message):
    problem = problems_of(tmp_path, content)[0]
    assert message in problem.message and problem.line == line


def test_billion_laughs_is_refused_quickly(tmp_path):
    text = 'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi"):
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
    problem = one_problem(tmp_path, text)
    assert "more than" in problem.message and "aliases" in problem.message


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.yml"
    with path.open("wb") as f:  # sparse: no disk used, but the size is what counts
        f.seek(300 * 2**20)
        f.write(b"\n")
    assert path.stat().st_size > MAX_BYTES
    with pytest.raises(AuthoringError) as caught:
        load_course([tmp_path], book_root=None)
    [problem] = caught.value.problems
    assert problem.path.endswith("huge.yml") and "is 300 MB" in problem.message


def test_cli_reports_without_traceback(tmp_path):
    (tmp_path / "bad.yml").write_bytes(b"id: !!python/object:os.system x\n\xff")
    (tmp_path / "good.yml").write_text(HEADER + GOOD_SINGLE)
    run = subprocess.run([sys.executable, "-m", "thbcourse", "validate", "--book", str(tmp_path), str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    assert "bad.yml:2:" in run.stderr and "not valid UTF-8" in run.stderr


def test_cli_clean_exit_zero(tmp_path):
    (tmp_path / "good.yml").write_text(HEADER + GOOD_SINGLE)
    run = subprocess.run([sys.executable, "-m", "thbcourse", "validate", "--book", str(tmp_path), str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "1 questions in 1 banks" in run.stdout


def test_text_fields_are_stripped_and_blank_items_refused(tmp_path):
    text = HEADER + GOOD_SINGLE.replace("    stem: Which?\n", "    stem: |\n      Which?\n\n").replace(
        "      - text: Wrong\n", "      - text: '  Wrong  '\n")
    (tmp_path / "bank.yml").write_text(text)
    q = load_course([tmp_path], book_root=None).questions["q1"]
    assert q.stem == "Which?" and [o.text for o in q.options] == ["Right", "Wrong"]
    ordering = HEADER + GOOD_SINGLE.replace("type: single", "type: ordering").replace(
        "    options:\n      - text: Right\n        correct: true\n      - text: Wrong\n",
        "    items: [First, '   ', Third]\n")
    problem = one_problem(tmp_path, ordering)
    assert (problem.line, problem.message) == (12, "item 2 of 'items' is empty")


@pytest.mark.parametrize("replace, by, line, message", [
    ("    difficulty: 1\n", "    difficulty: 1\n    points: 0\n", 8, "'points' must be more than 0"),
    ("    difficulty: 1\n", "    difficulty: 1\n    reserved: yes please\n", 8, "'reserved' must be true or false; found a text"),
    ("    difficulty: 1\n", "    difficulty: 1\n    topic: trafficking\n", 8,
     "'topic' must be course, legal-frame, chain, modi-operandi, fraud, opportunities or challenges; found 'trafficking'"),
    ("      - text: Wrong\n", "", 13, "'options' must have at least 2 items"),
    ("    type: single\n", "", 5, "missing field 'type' (one of: single, multiple, true_false, matching, ordering, "
                                  "short_answer, numeric)"),
    ("    type: single\n", "    type: singel\n", 6, "unknown question type 'singel'; use one of: single, multiple,"),
    ("    stem: Which?\n", "    stem: [Which?]\n", 10, "'stem' must be a text; found a list"),
    ("      - text: Wrong\n", "      - null\n", 15, "item 2 of 'options' must be a mapping of fields; found empty"),
    ("  - id: q1\n", "  - just a line of text\n  - id: q1\n", 5,
     "item 1 of 'questions' must be a mapping of fields; found a text"),
])
def test_format_problems_read_as_sentences(tmp_path, replace, by, line, message):
    problem = one_problem(tmp_path, HEADER + GOOD_SINGLE.replace(replace, by))
    assert problem.line == line and message in problem.message, problem


def test_a_format_must_not_postpone_its_annotations():
    import msgspec  # noqa: F401

    from thbcourse.bank.strict import Strict

    with pytest.raises(TypeError, match="from __future__ import annotations"):
        type("Late", (Strict,), {"__annotations__": {"name": "str"}})


def test_every_unknown_and_missing_field_of_a_question_is_reported_at_once(tmp_path):
    text = HEADER + GOOD_SINGLE.replace("        correct: true", "        corect: true").replace(
        "    stem: Which?\n", "    stme: Which?\n").replace("    feedback: Because.\n", "")
    found = {(p.line, p.message) for p in problems_of(tmp_path, text)}
    assert found == {
        (13, "unknown field 'corect'; did you mean 'correct'?"),  # a line up: feedback is gone
        (10, "unknown field 'stme'; did you mean 'stem'?"),
        (5, "missing field 'stem'"),
        (5, "missing field 'feedback'"),
    }, found


def test_a_question_without_a_known_type_is_not_searched_for_fields(tmp_path):
    problem = one_problem(tmp_path, HEADER + GOOD_SINGLE.replace("type: single", "type: singel").replace(
        "        correct: true", "        corect: true"))
    assert problem.message.startswith("unknown question type 'singel'")
