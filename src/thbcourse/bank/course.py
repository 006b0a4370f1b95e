"""Load every bank and blueprint once, check them against each other and against the book.

`load_course` is the one entry point: it returns a `Course` or raises `AuthoringError` with every
problem of the run, each with its file, line and column.
"""
from __future__ import annotations

import difflib
import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from thbcourse.bank.blueprint import Blueprint
from thbcourse.bank.checks import check_question
from thbcourse.bank.model import Bank, BankInfo, Question
from thbcourse.bank.rubric import Rubric
from thbcourse.bank.strict import convert
from thbcourse.bank.yamlfile import YamlDocument, read_yaml
from thbcourse.problems import AuthoringError, NotFound, Problem

QUIZ_SUFFIXES = (".yml", ".yaml")
DUPLICATES_KEPT = Path("_build") / ".cache" / "near-duplicates.json"


class Course(msgspec.Struct):
    banks: dict[str, Bank] = msgspec.field(default_factory=dict)
    questions: dict[str, Question] = msgspec.field(default_factory=dict)  # topic filled in from the bank
    bank_of: dict[str, str] = msgspec.field(default_factory=dict)  # question id -> bank id
    blueprints: dict[str, Blueprint] = msgspec.field(default_factory=dict)
    blueprint_paths: dict[str, Path] = msgspec.field(default_factory=dict)
    rubrics: dict[str, Rubric] = msgspec.field(default_factory=dict)
    where: dict[str, tuple[str, int]] = msgspec.field(default_factory=dict)  # question id -> (file, line of its id)

    def blueprint(self, name: str) -> Blueprint:
        """A blueprint by id or by file path."""
        if name in self.blueprints:
            return self.blueprints[name]
        wanted = Path(name).resolve()
        for bid, path in self.blueprint_paths.items():
            if path.resolve() == wanted:
                return self.blueprints[bid]
        raise NotFound(_unknown("blueprint", name, self.blueprints))

    def rubric(self, name: str):
        """A rubric by id."""
        if name in self.rubrics:
            return self.rubrics[name]
        raise NotFound(_unknown("rubric", name, self.rubrics))


def _unknown(kind: str, name: str, known) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known)) or 'none'}"
    return f"no {kind} {name!r}{hint}"


def quiz_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in QUIZ_SUFFIXES and p.is_file())
        else:
            found.append(path)
    return found


def load_course(paths: Iterable[Path] = (Path("quizzes"),), *, book_root: Path | None = Path("."),
                keep: bool = False) -> Course:
    """With `keep` (the commands), what the checks read from the book and the near-duplicate pairs they
    found are kept in `<book root>/_build/.cache`, so that the next run reads only the pages that
    changed (thbcourse.book.facts) and scores the stems again only when one of them changed
    (thbcourse.bank.duplicates)."""
    with _cycle_collector_paused():
        return _load_course(paths, book_root, keep)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Loading makes hundreds of thousands of objects (node trees, values, records) and drops none in
    reference cycles, yet the cycle collector would traverse them again and again as they accumulate:
    half the time of validating 5,000 questions (benchmark (a)). It runs again as soon as loading ends
    (if it was running: a caller that paused it keeps it paused)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _load_course(paths: Iterable[Path], book_root: Path | None, keep: bool) -> Course:
    course, problems = Course(), []
    documents: list[tuple[YamlDocument, Bank | Blueprint | Rubric]] = []
    for path in quiz_files(paths):
        doc, found = read_yaml(path)
        problems += found
        if doc is None:
            continue
        kind = _kind(doc.data)
        parsed, found = _parse(doc, kind)
        problems += found
        if parsed is not None:
            documents.append((doc, parsed))

    first_seen: dict[str, tuple[str, int]] = {}
    for doc, parsed in documents:
        if isinstance(parsed, Bank):
            problems += _add_bank(course, doc, parsed, first_seen)
        elif parsed.id in course.blueprints or parsed.id in course.rubrics:
            what = "rubric" if isinstance(parsed, Rubric) else "blueprint"
            problems.append(doc.problem(("id",), f"{what} id {parsed.id!r} is used twice (blueprint and rubric "
                                                 f"ids name quizzes in the gradebook, so they must differ)"))
        elif isinstance(parsed, Rubric):
            course.rubrics[parsed.id] = parsed
        else:
            course.blueprints[parsed.id] = parsed
            course.blueprint_paths[parsed.id] = doc.path
    kept_pairs = book_root / DUPLICATES_KEPT if keep and book_root is not None else None
    problems += _check_variants(course, documents, kept_pairs)
    if book_root is not None and (book_root / "book").is_dir():
        problems += _check_against_book(course, documents, book_root, keep)
    from thbcourse.engine.draw import (
        blueprint_problems,  # the drawing rules own feasibility
    )

    for doc, parsed in documents:
        if isinstance(parsed, Blueprint):
            problems += [doc.problem(loc, msg) for loc, msg in blueprint_problems(course, parsed)]
    if problems:
        raise AuthoringError(problems)
    return course


def _kind(data) -> type:
    """A blueprint has sections, a rubric criteria, a bank questions."""
    if isinstance(data, dict) and "sections" in data:
        return Blueprint
    if isinstance(data, dict) and "criteria" in data:
        return Rubric
    return Bank


def _add_bank(course: Course, doc: YamlDocument, bank: Bank, first_seen: dict) -> list[Problem]:
    problems = []
    if bank.id in course.banks:
        problems.append(doc.problem(("id",), f"bank id {bank.id!r} is used by another bank too"))
    course.banks[bank.id] = bank
    for i, q in zip(doc.question_lines, bank.questions):
        loc = ("questions", i)
        for sub, msg in check_question(q):
            problems.append(doc.problem(loc + sub, msg))
        if q.id in first_seen:
            where, line = first_seen[q.id]
            problems.append(doc.problem(loc + ("id",), f"question id {q.id!r} is already used at {where}:{line}"))
            continue
        first_seen[q.id] = course.where[q.id] = (doc.shown, doc.position(loc + ("id",))[0])
        course.questions[q.id] = q if q.topic else msgspec.structs.replace(q, topic=bank.topic)
        course.bank_of[q.id] = bank.id
    return problems


def _check_variants(course: Course, documents, kept_pairs: Path | None) -> list[Problem]:
    """Variant groups share one objective; `distinct_from` names real questions; no unresolved
    near-duplicate stems (thbcourse.bank.duplicates; kept in `kept_pairs` between runs)."""
    from thbcourse.bank.duplicates import THRESHOLD, kept_near_duplicates

    problems: list[Problem] = []
    doc_of = {q.id: (doc, i) for doc, parsed in documents if isinstance(parsed, Bank)
              for i, q in zip(doc.question_lines, parsed.questions)}

    def at(qid: str, *sub) -> tuple:
        doc, i = doc_of[qid]
        return doc, ("questions", i, *sub)

    groups: dict[str, str] = {}
    for qid, q in course.questions.items():
        if qid not in doc_of:
            continue
        if q.variant_group is not None:
            first = groups.setdefault(q.variant_group, qid)
            other = course.questions[first]
            if other.objective != q.objective:
                doc, loc = at(qid, "variant_group")
                problems.append(doc.problem(loc, (
                    f"variant group {q.variant_group!r} mixes objectives: {first} tests {other.objective!r}, this "
                    f"question {q.objective!r}; variants test the same point, so give them the same objective or "
                    f"another group")))
        for k, other_id in enumerate(q.distinct_from):
            if other_id not in course.questions or other_id == qid:
                doc, loc = at(qid, "distinct_from", k)
                what = "itself" if other_id == qid else f"{other_id!r}, which is not a question in the banks"
                problems.append(doc.problem(loc, f"distinct_from names {what}"))
    for dup in kept_near_duplicates({k: v for k, v in course.questions.items() if k in doc_of}, kept_pairs):
        doc, loc = at(dup.second, "stem")
        path, line = course.where[dup.first]
        problems.append(doc.problem(loc, (
            f"stem is a near-duplicate of {dup.first} ({path}:{line}; similarity {dup.score:g}, threshold "
            f"{THRESHOLD:g}): merge the two or rewrite one; if both test the same point, give both "
            f"'variant_group: <id>' (never on one paper); if they test different points, add "
            f"'distinct_from: [{dup.first}]'")))
    return problems


def _check_against_book(course: Course, documents, book_root: Path, keep: bool) -> list[Problem]:
    from thbcourse.book.facts import BookFacts  # the book layer reads the book

    problems: list[Problem] = []
    book = BookFacts(book_root, keep=keep)
    try:
        objectives = book.objectives()
    except AuthoringError as err:  # a chapter's own declaration is broken: report it with the rest
        objectives, problems = {}, list(err.problems)
    anchors: dict[Path, set[str]] = {}
    for doc, parsed in documents:
        if isinstance(parsed, Rubric):
            problems += _check_rubric(doc, parsed, objectives, book_root)
        if not isinstance(parsed, Bank):
            continue
        for i, q in zip(doc.question_lines, parsed.questions):
            loc = ("questions", i)
            if objectives and q.objective not in objectives:
                close = difflib.get_close_matches(q.objective, list(objectives), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(doc.problem(loc + ("objective",), f"objective {q.objective!r} is not declared by any chapter{hint}"))
            page, _, anchor = q.source.partition("#")
            page_path = book_root / page
            if not page_path.is_file():
                problems.append(doc.problem(loc + ("source",), f"source page {page} does not exist"))
                continue
            if page_path not in anchors:
                anchors[page_path] = book.anchors(page_path)
            if anchor not in anchors[page_path]:
                close = difflib.get_close_matches(anchor, sorted(anchors[page_path]), n=1)
                hint = f"; did you mean #{close[0]}?" if close else ""
                problems.append(doc.problem(loc + ("source",), f"{page} has no heading with anchor #{anchor}{hint}"))
    book.save()
    return problems


def _check_rubric(doc: YamlDocument, rubric: Rubric, objectives: dict, book_root: Path) -> list[Problem]:
    problems = []
    if not (book_root / rubric.exercise).is_file():
        problems.append(doc.problem(("exercise",), f"exercise page {rubric.exercise} does not exist"))
    for i, criterion in enumerate(rubric.criteria):
        if objectives and criterion.objective not in objectives:
            close = difflib.get_close_matches(criterion.objective, list(objectives), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(doc.problem(("criteria", i, "objective"),
                                        f"objective {criterion.objective!r} is not declared by any chapter{hint}"))
    return problems


# --- checking each part of a file against its format -----------------------------------------------

def _parse(doc: YamlDocument, kind: type) -> tuple[Bank | Blueprint | Rubric | None, list[Problem]]:
    what = {Blueprint: "blueprint", Rubric: "rubric"}.get(kind, "bank")
    if not isinstance(doc.data, dict):
        found = {list: "a list", str: "a single text"}.get(type(doc.data), type(doc.data).__name__)
        return None, [doc.problem((), f"a {what} file must be a mapping of fields (id, title, ...); found {found}")]
    if kind is not Bank:
        parsed, found = convert(doc.data, kind)
        return parsed, doc.problems(found)
    # A bank is checked question by question, so that one broken question does not hide the
    # problems of the others (their semantic checks need a parsed question).
    info, found = convert({k: v for k, v in doc.data.items() if k != "questions"}, BankInfo)
    problems = doc.problems(found)
    raw_questions = doc.data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        problems.append(doc.problem(("questions",), "'questions' must be a non-empty list of questions", at_key=True))
        return None, problems
    questions, doc.question_lines = [], []
    for i, raw in enumerate(raw_questions):
        question, found = convert(raw, Question, at=("questions", i))
        if question is not None:
            questions.append(question)
            doc.question_lines.append(i)
        problems += doc.problems(found)
    bank = Bank(id=info.id, title=info.title, topic=info.topic, questions=questions) if info else None
    return bank, problems
