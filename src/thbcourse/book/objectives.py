"""Learning objectives, exercise overviews and heading anchors, read from the sources without Sphinx.

The quiz validator, the Sphinx extension, the slide decks and the workbooks all read objectives
here, so a chapter declares each objective once and everything else follows it.

Anchors: the built HTML ids come from docutils, not from MyST's GitHub-style slugs. A heading's id
is `docutils.nodes.make_id(<heading text with markup removed>)`: lower case, accents dropped,
every run of other characters turned into one hyphen, leading digits and hyphens dropped
("Case: Anna's offer" -> `case-anna-s-offer`, "2024 changes" -> `changes`). A `(label)=` target
gets `make_id(label)` (`ex01_intro` -> `ex01-intro`). When two headings of a page give the same
id, docutils numbers the later one (`id1`, ...); such headings are left out here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from docutils.nodes import make_id

from thbcourse.bank.yamlfile import safe_load
from thbcourse.book.myst import Block, read_page
from thbcourse.problems import AuthoringError, Problem, display_path

OBJECTIVE_ID = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")  # the bank's ObjectiveId pattern
OVERVIEW_KEYS = {"objectives", "format", "timing"}
ACTIVITY = "classroom-activity"
FICTIONAL = "All names, numbers, addresses and events in this exercise are fictional."


@dataclass(frozen=True)
class Objective:
    id: str
    text: str
    path: Path
    line: int  # 1-based line of the id in the source


@dataclass(frozen=True)
class Overview:
    """What an exercise page declares in its `exercise-overview` block."""

    path: Path
    line: int
    objectives: tuple[str, ...]
    format: str
    timing: str


@dataclass(frozen=True)
class Activity:
    """A classroom activity in a chapter: ```{classroom-activity} Title``` with options
    :objectives: (comma-separated ids), :format: and :timing:, and the task as its body."""

    path: Path
    line: int
    title: str
    objectives: tuple[str, ...]
    format: str
    timing: str


def parse_activity(block: Block, path: Path) -> Activity:
    where = (display_path(path), block.line, 1)
    problems = []
    if not block.argument.strip():
        problems.append(Problem(*where, f"{ACTIVITY} needs a title after the directive name"))
    for key in sorted(OVERVIEW_KEYS - set(block.options)):
        problems.append(Problem(*where, f"{ACTIVITY} needs the option :{key}:"))
    for key in sorted(set(block.options) - OVERVIEW_KEYS - {"class", "name"}):
        problems.append(Problem(*where, f"{ACTIVITY}: unknown option :{key}: (allowed: objectives, format, timing)"))
    objectives = tuple(o.strip() for o in block.options.get("objectives", "").split(",") if o.strip())
    for oid in objectives:
        if not OBJECTIVE_ID.match(oid):
            problems.append(Problem(*where, f"{ACTIVITY}: {oid!r} is not an objective id; write :objectives: id, id"))
    if "objectives" in block.options and not objectives:
        problems.append(Problem(*where, f"{ACTIVITY}: :objectives: is empty"))
    if not block.body.strip():
        problems.append(Problem(*where, f"{ACTIVITY} has no instructions: write the task below the options"))
    if problems:
        raise AuthoringError(problems)
    return Activity(path, block.line, block.argument.strip(), objectives, block.options["format"],
                    block.options["timing"])


def read_activities(root: Path) -> list[Activity]:
    """Every classroom activity in book/**/*.md, in page order."""
    found, problems = [], []
    for path in sorted(Path(root, "book").rglob("*.md")):
        for block in read_page(path).blocks_named(ACTIVITY):
            try:
                found.append(parse_activity(block, path))
            except AuthoringError as err:
                problems += err.problems
    if problems:
        raise AuthoringError(problems)
    return found


def parse_objectives(block: Block, path: Path) -> list[Objective]:
    """The objectives of one `learning-objectives` block; AuthoringError names file and line."""
    root, problems = _mapping(block, path)
    objectives = []
    for key, value in root.value if root else ():
        line = block.body_line + key.start_mark.line
        if not OBJECTIVE_ID.match(key.value):
            problems.append(Problem(display_path(path), line, 1, f"objective id {key.value!r} must look like 'chapter.objective-name' (lower case, digits, '-' and '.')"))
        elif not isinstance(value, yaml.ScalarNode) or not value.value.strip():
            problems.append(Problem(display_path(path), line, 1, f"objective {key.value!r} needs a text (id: text)"))
        else:
            objectives.append(Objective(key.value, " ".join(value.value.split()), path, line))
    if not objectives and not problems:
        problems.append(Problem(display_path(path), block.line, 1, "learning-objectives is empty; write one 'id: text' line per objective"))
    if problems:
        raise AuthoringError(problems)
    return objectives


def parse_overview(block: Block, path: Path) -> Overview:
    """The `exercise-overview` block of an exercise page (objectives, format, timing)."""
    root, problems = _mapping(block, path)
    data = safe_load(block.body) if root else {}
    where = (display_path(path), block.line, 1)
    for key in sorted(OVERVIEW_KEYS - set(data or {})):
        problems.append(Problem(*where, f"exercise-overview needs '{key}'"))
    for key in sorted(set(data or {}) - OVERVIEW_KEYS):
        problems.append(Problem(*where, f"exercise-overview: unknown key {key!r} (allowed: objectives, format, timing)"))
    objectives = (data or {}).get("objectives") or []
    if not isinstance(objectives, list) or not all(isinstance(o, str) for o in objectives):
        problems.append(Problem(*where, "exercise-overview: objectives must be a list of ids, e.g. [chain.recruitment, opps.indicators-triage]"))
    if problems:
        raise AuthoringError(problems)
    return Overview(path, block.line, tuple(objectives), str(data["format"]), str(data["timing"]))


def _mapping(block: Block, path: Path) -> tuple[yaml.MappingNode | None, list[Problem]]:
    """Compose the block's YAML body; refuse syntax errors and duplicate keys with their lines."""
    shown = display_path(path)
    try:
        root = yaml.compose(block.body, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = block.body_line + (mark.line if mark else 0)
        raise AuthoringError([Problem(shown, line, 1, f"{block.name}: YAML syntax error: {err.problem or err}; write 'key: value' lines (quote a text that contains ': ')")])
    if not isinstance(root, yaml.MappingNode):
        raise AuthoringError([Problem(shown, block.line, 1, f"{block.name}: the body must be 'key: value' lines")])
    problems, seen = [], {}
    for key, _ in root.value:
        line = block.body_line + key.start_mark.line
        if key.value in seen:
            problems.append(Problem(shown, line, 1, f"{block.name}: duplicate key {key.value!r} (first at line {seen[key.value]})"))
        seen.setdefault(key.value, line)
    return root, problems


def read_objectives(root: Path) -> dict[str, Objective]:
    """Every objective declared in book/**/*.md, by id. AuthoringError lists every problem found."""
    found, problems = collect_objectives(root)
    if problems:
        raise AuthoringError(problems)
    return found


def collect_objectives(root: Path) -> tuple[dict[str, Objective], list[Problem]]:
    """The objectives that are declared well, and the problems with the rest."""
    found: dict[str, Objective] = {}
    problems: list[Problem] = []
    for path in sorted(Path(root, "book").rglob("*.md")):
        for block in read_page(path).blocks_named("learning-objectives"):
            try:
                declared = parse_objectives(block, path)
            except AuthoringError as err:
                problems += err.problems
                continue
            for obj in declared:
                if obj.id in found:
                    first = found[obj.id]
                    problems.append(Problem(display_path(path), obj.line, 1, f"objective {obj.id!r} is already declared at {display_path(first.path)}:{first.line}"))
                else:
                    found[obj.id] = obj
    return found, problems


def read_overviews(root: Path) -> dict[str, Overview]:
    """The exercise-overview of every exercises/*.md page, by file stem."""
    found, problems = {}, []
    for path in sorted(Path(root, "exercises").glob("*.md")):
        for block in read_page(path).blocks_named("exercise-overview")[:1]:
            try:
                found[path.stem] = parse_overview(block, path)
            except AuthoringError as err:
                problems += err.problems
    if problems:
        raise AuthoringError(problems)
    return found


def practice(root: Path, rubrics=()) -> dict[str, list[str]]:
    """Objective id -> what practises it: exercise pages (by stem), classroom activities and the
    rubric-marked tasks among `rubrics` (the course's rubrics, passed in by the caller)."""
    found: dict[str, list[str]] = {}

    def add(oid: str, name: str) -> None:
        if name not in found.setdefault(oid, []):
            found[oid].append(name)

    for stem, overview in read_overviews(root).items():
        for oid in overview.objectives:
            add(oid, stem)
    for activity in read_activities(root):
        for oid in activity.objectives:
            add(oid, f"activity in {activity.path.stem}")
    for rubric in rubrics:
        for criterion in rubric.criteria:
            add(criterion.objective, f"{rubric.id} (assessed)")
    return found


def heading_anchors(path: Path) -> dict[str, int]:
    """The HTML ids the built page has for its headings and `(label)=` targets -> 1-based line."""
    page = read_page(Path(path))
    anchors: dict[str, int] = {}
    for label, line in page.targets.items():
        anchors.setdefault(make_id(label), line)
    for section in page.sections:
        anchor = make_id(section.text)
        if anchor and anchor not in anchors:
            anchors[anchor] = section.line
    return anchors
