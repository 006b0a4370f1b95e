"""Alignment of objectives, questions, practice and assessment: near-duplicate stems, variant groups,
objectives that every exam paper must cover, rubric-marked tasks and the citations the content uses.

Small courses are written on the fly so that each rule can be seen to fail; the real course is then
held to the same rules (every seed of the exam, every objective practised, every cited key in the
bibliography).
"""
from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import msgspec
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from thbcourse.bank.course import load_course
from thbcourse.bank.blueprint import Blueprint
from thbcourse.bank.coverage import MIN_QUESTIONS, coverage
from thbcourse.bank.duplicates import THRESHOLD, near_duplicates, similarity
from thbcourse.book.myst import Block, cite_keys, read_page
from thbcourse.book.objectives import parse_activity, practice, read_objectives, read_overviews
from thbcourse.cli import main
from thbcourse.engine.draw import DrawError, blueprint_problems, covered_objectives, draw, objective_reach
from thbcourse.problems import AuthoringError

from conftest import DATA, REPO
from store_fixtures import db_url  # noqa: F401  (fixture)


def question(qid: str, objective: str, stem: str, difficulty: int = 1, **extra) -> dict:
    return {"id": qid, "type": "true_false", "difficulty": difficulty, "objective": objective,
            "source": "book/04-1-recruitment.md#online-adverts", "stem": stem, "answer": True,
            "feedback": "Because.", **extra}


def write_course(folder: Path, questions: list[dict], *blueprints: dict, rubrics: tuple[dict, ...] = ()) -> Path:
    (folder / "banks").mkdir(parents=True, exist_ok=True)
    bank = {"id": "b", "title": "Bank", "topic": "chain", "questions": questions}
    (folder / "banks" / "b.yml").write_text(yaml.safe_dump(bank, sort_keys=False))
    for bp in blueprints:
        (folder / f"blueprint-{bp['id']}.yml").write_text(yaml.safe_dump(bp, sort_keys=False))
    for rubric in rubrics:
        (folder / f"{rubric['id']}.yml").write_text(yaml.safe_dump(rubric, sort_keys=False))
    return folder


def problems(folder: Path) -> list[str]:
    with pytest.raises(AuthoringError) as caught:
        load_course([folder], book_root=None)
    return [str(p) for p in caught.value.problems]


# --- near-duplicate stems ------------------------------------------------------------------------

STEM = "A dynamic IP address on its own identifies the person who used it."


def test_similarity_scale():
    assert similarity(STEM, STEM) == 100
    assert similarity(STEM, "A **dynamic IP address**, on its own, identifies the person who used it.") >= 95
    assert similarity(STEM, "Which sites does the notification list as recruitment channels?") < THRESHOLD


def test_a_near_duplicate_stem_is_reported_with_both_places(tmp_path):
    folder = write_course(tmp_path, [question("q1", "chain.a", STEM),
                                     question("q2", "chain.a", STEM.replace("identifies", "identifies, by itself,"))])
    found = problems(folder)
    assert len(found) == 1
    assert re.match(r".*b\.yml:\d+:\d+: stem is a near-duplicate of q1 \(.*b\.yml:\d+; similarity \d+", found[0])
    assert "variant_group" in found[0] and "distinct_from: [q1]" in found[0]


@pytest.mark.parametrize("resolution", [
    ({"variant_group": "ip"}, {"variant_group": "ip"}),
    ({}, {"distinct_from": ["q1"]}),
    ({"distinct_from": ["q2"]}, {}),
])
def test_a_declared_pair_is_not_reported(tmp_path, resolution):
    first, second = resolution
    folder = write_course(tmp_path, [question("q1", "chain.a", STEM, **first),
                                     question("q2", "chain.a", STEM, **second)])
    course = load_course([folder], book_root=None)
    assert near_duplicates(course.questions) == []


def test_variant_groups_keep_one_objective_and_distinct_from_names_real_questions(tmp_path):
    folder = write_course(tmp_path, [question("q1", "chain.a", "First stem about adverts.", variant_group="g"),
                                     question("q2", "chain.b", "Other stem on transport routes.", variant_group="g"),
                                     question("q3", "chain.b", "Third stem on cameras.", distinct_from=["q9"])])
    found = "\n".join(problems(folder))
    assert "variant group 'g' mixes objectives: q1 tests 'chain.a'" in found
    assert "distinct_from names 'q9', which is not a question in the banks" in found


def test_the_course_banks_have_no_unresolved_near_duplicates():
    course = load_course()  # raises on any unresolved pair
    assert near_duplicates(course.questions) == []


# --- variant groups and covered objectives when drawing --------------------------------------------

def small_course(tmp_path, n_objectives=4, per_objective=3, groups=True):
    qs = []
    for o in range(n_objectives):
        for k in range(per_objective):
            extra = {"variant_group": f"g{o}"} if groups and k < 2 else {}
            qs.append(question(f"o{o}-q{k}", f"chain.o{o}", f"Stem number {o * 10 + k} about topic {o}: {'x' * o}{'y' * k}.",
                               difficulty=1 + k % 3, distinct_from=[f"o{p}-q{m}" for p in range(n_objectives)
                                                                      for m in range(per_objective)
                                                                      if (p, m) != (o, k)], **extra))
    return qs


def test_a_paper_never_holds_two_questions_of_one_variant_group(tmp_path):
    bp = {"id": "quiz", "title": "Q", "sections": [{"title": "All", "count": 8}]}
    course = load_course([write_course(tmp_path, small_course(tmp_path), bp)], book_root=None)
    for seed in range(200):
        groups = [i.question.variant_group for i in draw(course, course.blueprints["quiz"], seed).items]
        groups = [g for g in groups if g]
        assert len(groups) == len(set(groups))


def test_validate_counts_a_variant_group_as_one_question(tmp_path):
    bp = {"id": "quiz", "title": "Q", "sections": [{"title": "All", "count": 9}]}
    found = "\n".join(problems(write_course(tmp_path, small_course(tmp_path), bp)))
    assert "asks for 9 questions but only 12 match its filters (8 once the questions of each variant group count as one)" in found


def test_every_paper_covers_the_claimed_objectives(tmp_path):
    # Difficulty 1 holds every objective's first question; a blind draw of 2 from it misses some.
    bp = {"id": "quiz", "title": "Q", "covers": {"objectives": ["chain.o0", "chain.o1", "chain.o2", "chain.o3"]},
          "sections": [{"title": "Easy", "count": 2, "difficulty": [1]}, {"title": "Rest", "count": 2, "difficulty": [2, 3]}]}
    course = load_course([write_course(tmp_path, small_course(tmp_path, groups=False), bp)], book_root=None)
    papers = set()
    for seed in range(100):
        paper = draw(course, course.blueprints["quiz"], seed)
        assert {i.question.objective for i in paper.items} == {"chain.o0", "chain.o1", "chain.o2", "chain.o3"}
        papers.add(tuple(sorted(i.question.id for i in paper.items)))
    assert len(papers) > 10  # still random


def test_validate_refuses_a_blueprint_that_cannot_cover_its_objectives(tmp_path):
    bp = {"id": "quiz", "title": "Q", "covers": {"topics": ["chain"]},
          "sections": [{"title": "All", "count": 3}]}
    found = "\n".join(problems(write_course(tmp_path, small_course(tmp_path), bp)))
    assert "covers: the sections have too few places to test every required objective" in found
    bp["covers"] = {"objectives": ["chain.nowhere"]}
    found = "\n".join(problems(write_course(tmp_path, small_course(tmp_path), bp)))
    assert "no question in the banks tests objective 'chain.nowhere'" in found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_blueprint_that_validates_always_draws_and_covers(tmp_path_factory, data):
    """Random banks and blueprints: whenever validate finds nothing, every seed draws a paper that
    covers the claimed objectives and holds one question per variant group at most; whenever a seed
    cannot draw, validate had said so."""
    folder = tmp_path_factory.mktemp("random")
    n_obj = data.draw(st.integers(2, 5))
    qs = []
    for o in range(n_obj):
        for k in range(data.draw(st.integers(1, 4))):
            group = data.draw(st.sampled_from([None, f"g{o}a", f"g{o}b"]))
            qs.append(question(f"o{o}q{k}", f"chain.o{o}", f"stem {o}-{k}", difficulty=data.draw(st.integers(1, 3)),
                               **({"variant_group": group} if group else {})))
    ids = [q["id"] for q in qs]
    for q in qs:
        q["distinct_from"] = [i for i in ids if i != q["id"]]
    sections = [{"title": f"S{i}", "count": data.draw(st.integers(1, 3)),
                 "difficulty": data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3, unique=True))}
                for i in range(data.draw(st.integers(1, 3)))]
    covers = data.draw(st.lists(st.sampled_from([f"chain.o{o}" for o in range(n_obj)]), max_size=n_obj, unique=True))
    bank = {"id": "b", "title": "B", "topic": "chain", "questions": qs}
    (folder / "b.yml").write_text(yaml.safe_dump(bank))
    course = load_course([folder], book_root=None)
    bp = msgspec.convert({"id": "r", "title": "R", "covers": {"objectives": covers}, "sections": sections}, Blueprint)
    valid = not list(blueprint_problems(course, bp))
    for seed in range(15):
        try:
            paper = draw(course, bp, seed)
        except DrawError:
            assert not valid, f"validated blueprint failed to draw seed {seed}: {bp}"
            continue
        objectives = {i.question.objective for i in paper.items}
        assert set(covers) <= objectives
        groups = [i.question.variant_group for i in paper.items if i.question.variant_group]
        assert len(groups) == len(set(groups))


def test_the_exam_covers_every_claimed_objective_on_every_paper():
    course = load_course()
    exam = course.blueprints["exam"]
    claimed = covered_objectives(course, exam)
    declared = read_objectives(REPO)
    assert claimed == sorted(o for o in declared if not o.startswith("intro."))  # what the README says
    for seed in range(300):
        paper = draw(course, exam, seed)
        assert set(claimed) <= {i.question.objective for i in paper.items}, seed
        groups = [i.question.variant_group for i in paper.items if i.question.variant_group]
        assert len(groups) == len(set(groups)), seed
    assert set(objective_reach(course, exam).values()) == {"every"}


# --- every objective taught, practised and assessed --------------------------------------------------

def practice_of(course) -> dict[str, list[str]]:
    return practice(REPO, course.rubrics.values())


def test_every_objective_has_questions_and_practice():
    course = load_course()
    rows = coverage(course, read_objectives(REPO), practice_of(course))
    assert [(r.objective, r.gaps) for r in rows if r.gap] == []
    assert all(r.total >= MIN_QUESTIONS for r in rows)


def test_coverage_reports_an_objective_without_practice(monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(main, ["coverage"])
    assert result.exit_code == 0, result.output
    assert "with gaps" in result.output and "exam: papers" in result.output
    course = load_course()
    practice = practice_of(course)
    practice.pop("opps.awareness")
    rows = coverage(course, read_objectives(REPO), practice)
    gap = next(r for r in rows if r.objective == "opps.awareness")
    assert gap.gaps == ["has no exercise, classroom activity or assessed task that practises it"]


def test_an_assessed_task_with_a_rubric_exists_for_planning_a_campaign():
    course = load_course()
    rubrics = [r for r in course.rubrics.values() if any(c.objective == "opps.awareness" for c in r.criteria)]
    assert rubrics, "opps.awareness (plan a campaign) must be assessed by a rubric-marked task"
    page = read_page(REPO / rubrics[0].exercise)
    assert [b.argument for b in page.blocks_named("marking-rubric")] == [rubrics[0].id]
    assert page.blocks_named("solution"), "the trainer edition needs model answers"


# --- classroom activities ------------------------------------------------------------------------------

@pytest.mark.parametrize("options, body, message", [
    ({"format": "Pairs", "timing": "10 minutes"}, "Do it.", "needs the option :objectives:"),
    ({"objectives": "Chain Stages", "format": "Pairs", "timing": "10 minutes"}, "Do it.", "is not an objective id"),
    ({"objectives": "chain.stages", "format": "Pairs", "timing": "10 minutes", "colour": "red"}, "Do it.", "unknown option :colour:"),
    ({"objectives": "chain.stages", "format": "Pairs", "timing": "10 minutes"}, "  ", "has no instructions"),
])
def test_a_broken_activity_is_reported_with_file_and_line(options, body, message):
    block = Block("classroom-activity", "Title", options, body, 12, 20, 16)
    with pytest.raises(AuthoringError) as caught:
        parse_activity(block, Path("book/03-key-trends.md"))
    assert re.search(r"book/03-key-trends\.md:12:1: .*" + re.escape(message), str(caught.value))


# --- rubrics ---------------------------------------------------------------------------------------------

RUBRIC = {
    "id": "campaign", "title": "Plan a campaign", "exercise": "exercises/ex12-awareness-campaign.md",
    "topic": "opportunities", "pass_mark": 60,
    "criteria": [
        {"id": "audience", "title": "Audience", "objective": "opps.awareness", "levels": [
            {"points": 0, "label": "Not shown", "descriptor": "No audience."},
            {"points": 2, "label": "Partly", "descriptor": "An audience, no channel."},
            {"points": 4, "label": "Fully", "descriptor": "Audience and channel."}]},
        {"id": "tips", "title": "Handling tips", "objective": "opps.crowd-sourcing", "levels": [
            {"points": 0, "label": "Not shown", "descriptor": "No route for tips."},
            {"points": 3, "label": "Fully", "descriptor": "A safe route and triage."}]},
    ],
}


def test_rubric_levels_must_ascend_and_be_reported_with_a_line(tmp_path):
    broken = yaml.safe_load(yaml.safe_dump(RUBRIC))
    broken["criteria"][0]["levels"].reverse()
    write_course(tmp_path, [question("q1", "chain.a", "Stem.")], rubrics=(broken,))
    found = "\n".join(problems(tmp_path))
    assert re.search(r"campaign\.yml:1:1: criterion 'audience': levels must go from the fewest to the most points", found)


def test_rubric_and_blueprint_ids_must_differ(tmp_path):
    bp = {"id": "campaign", "title": "Q", "sections": [{"title": "All", "count": 1}]}
    write_course(tmp_path, [question("q1", "chain.a", "Stem.")], bp, rubrics=(RUBRIC,))
    assert any("id 'campaign' is used twice" in p for p in problems(tmp_path))


@pytest.fixture
def rubric_dir(tmp_path, monkeypatch):
    shutil.copytree(DATA / "quizzes", tmp_path / "quizzes")
    (tmp_path / "quizzes" / "rubrics").mkdir()
    (tmp_path / "quizzes" / "rubrics" / "campaign.yml").write_text(yaml.safe_dump(RUBRIC, sort_keys=False))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args, db=None):
    return CliRunner().invoke(main, [*args] + (["--db", db] if db else []))


def test_rubric_marks_land_in_the_gradebook_and_the_export(rubric_dir, db_url):
    (rubric_dir / "roster.csv").write_text("learner\nofc-1\nofc-2\nofc-3\n")
    assert run("cohort", "create", "C", db=db_url).exit_code == 0
    assert run("cohort", "add", "C", "roster.csv", db=db_url).exit_code == 0
    sheet = run("rubric", "sheet", "campaign", "sheet.csv", "--cohort", "C", db=db_url)
    assert sheet.exit_code == 0, sheet.output
    rows = list(csv.reader((rubric_dir / "sheet.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert rows == [["learner", "audience", "tips", "comment"], ["ofc-1", "", "", ""], ["ofc-2", "", "", ""],
                    ["ofc-3", "", "", ""]]
    (rubric_dir / "marks.csv").write_text("learner,audience,tips,comment\nofc-1,Fully,3,\nofc-2,partly,0,late\n"
                                          "ofc-3,2,Not shown,\n")
    done = run("rubric", "import", "marks.csv", "--rubric", "campaign", db=db_url)
    assert done.exit_code == 0, done.output
    assert "recorded 3 learner(s)" in done.output
    assert run("scores", "export", "out.csv", "--per-objective", "--quiz", "campaign", db=db_url).exit_code == 0
    table = list(csv.DictReader((rubric_dir / "out.csv").read_text(encoding="utf-8-sig").splitlines()))
    by = {r["learner"]: r for r in table}
    assert {k: (float(by[k]["score"]), float(by[k]["max"]), by[k]["result"]) for k in by} == {
        "ofc-1": (7, 7, "pass"), "ofc-2": (2, 7, "fail"), "ofc-3": (2, 7, "fail")}
    objective_columns = [c for c in table[0] if "opps.awareness" in c]
    assert objective_columns and float(by["ofc-2"][objective_columns[0]]) == 50


def test_a_bad_mark_is_refused_with_its_line_and_nothing_is_stored(rubric_dir, db_url):
    (rubric_dir / "roster.csv").write_text("learner\nofc-1\nofc-2\n")
    run("cohort", "create", "C", db=db_url)
    run("cohort", "add", "C", "roster.csv", db=db_url)
    (rubric_dir / "marks.csv").write_text("learner,audience,tips\nofc-1,Fully,3\nofc-2,Excellent,1\nofc-9,0,0\n")
    bad = run("rubric", "import", "marks.csv", "--rubric", "campaign", db=db_url)
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "marks.csv:3:1: audience: 'Excellent' is not a level of this criterion (write one of: Not shown (0), Partly (2), Fully (4))" in bad.output
    assert "marks.csv:3:1: tips: '1' is not a level" in bad.output
    assert "marks.csv:4:1: unknown learner 'ofc-9'" in bad.output
    assert run("scores", "export", "out.csv", "--quiz", "campaign", db=db_url).exit_code == 0
    assert (rubric_dir / "out.csv").read_text(encoding="utf-8-sig").count("\n") == 1  # header only
    unknown = run("rubric", "import", "marks.csv", "--rubric", "campain", db=db_url)
    assert unknown.exit_code == 1 and "no rubric 'campain'; did you mean 'campaign'?" in unknown.output


# --- citations -------------------------------------------------------------------------------------------

def bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", (REPO / "references.bib").read_text(), re.M))


def test_every_cited_key_has_a_bibliography_entry():
    keys = bib_keys()
    cited: dict[str, str] = {}
    roles = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")
    for path in [*REPO.glob("book/*.md"), *REPO.glob("exercises/*.md"), *REPO.glob("quizzes/banks/*.yml")]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for content in roles.findall(line):
                for _, key, _ in cite_keys(content):
                    cited.setdefault(key, f"{path.relative_to(REPO)}:{n}")
    assert cited, "the course cites its sources"
    assert {k: where for k, where in cited.items() if k not in keys} == {}


# --- the lesson plans fit the timings the chapters and exercises ask for ---------------------------------

GUIDE = REPO / "book" / "appendix-trainer-guide.md"


def table_after(text: str, heading: str, first_cell: str) -> list[list[str]]:
    """Rows (cells stripped) of the first Markdown table under `heading` whose header starts with first_cell."""
    rest = text[text.index(heading):]
    lines = rest.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_cell} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


@pytest.mark.parametrize("heading", ["## One-day lesson plan", "### Day one", "### Day two"])
def test_lesson_plan_rows_add_up_and_keep_each_exercise_whole(heading):
    text = GUIDE.read_text(encoding="utf-8")
    rows = table_after(text, heading, "Time")
    timings = {stem: int(re.match(r"\d+", ov.timing).group()) for stem, ov in read_overviews(REPO).items()}
    previous_end = None
    for time, mins, _chapter, activity, _materials in rows:
        start, end = (minutes(t) for t in time.split("-"))
        assert end - start == int(mins), (heading, time, mins)
        assert previous_end in (None, start), (heading, time, "gap or overlap")
        previous_end = end
        for stem in re.findall(r"\{ref\}`(ex\d\d-[a-z0-9-]+)", activity):
            shorter = re.search(r"shorter version", activity)
            assert int(mins) >= timings[stem] or shorter, (heading, stem, mins, timings[stem])
    total = previous_end - minutes(rows[0][0].split("-")[0])
    assert total == sum(int(r[1]) for r in rows) == 510, heading  # 08:30-17:00, as the guide says


def test_time_budget_states_what_the_notes_and_exercises_ask_for():
    text = GUIDE.read_text(encoding="utf-8")
    rows = table_after(text, "## Time budget", "Chapter or exercise")
    overviews = read_overviews(REPO)
    notes = {}
    for path in sorted((REPO / "book").glob("0*.md")):
        found = re.search(r"\*\*Timing:\*\* about (\d+) minutes", path.read_text(encoding="utf-8"))
        if found:
            notes[path.stem.split("-")[0]] = int(found.group(1))
    checked = 0
    for name, asked, *_ in rows:
        exercise = re.match(r"Exercise (\d+),", name)
        chapter = re.match(r"(\d)\. ", name)
        if exercise:
            stem = next(s for s in overviews if s.startswith(f"ex{int(exercise.group(1)):02d}-"))
            assert re.match(r"\d+", asked).group() == re.match(r"\d+", overviews[stem].timing).group(), name
            checked += 1
        elif chapter and f"0{chapter.group(1)}" in notes:
            assert int(asked) == notes[f"0{chapter.group(1)}"], name
            checked += 1
    assert checked >= 15  # twelve exercises and the chapters with a single timing line
