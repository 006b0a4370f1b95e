"""From a stack of scanned answer sheets to attempts in the gradebook and a review list for the rest.

Pages are read one by one (`scan.read_page`), then put together into sheets: a personal paper's
pages carry the learner in their QR code; the pages of an anonymous paper follow its first page in
the stack (scan each learner's pages together, first page first). A sheet is graded only when
every page of it was read, its learner is known and nothing on it is unclear; every other sheet,
and every page that could not be read at all, goes to the review list with what is ambiguous. That
list is a CSV that `thbcourse results import` takes once the trainer has filled in the blanks.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from thbcourse.engine.answers import parse_answer
from thbcourse.engine.attempt import AttemptResult, mark_paper
from thbcourse.engine.draw import Paper, draw
from thbcourse.engine.grade import ResponseError
from thbcourse.paper.layout import Code, Sheet, fingerprint, layout
from thbcourse.paper.scan import PageRead, count_pages, pages_of, read_page
from thbcourse.problems import AuthoringError, Problem, display_path
from thbcourse.store.gradebook import learner_key

REVIEW_HEADER = ("learner", "seed", "question", "answer", "points", "number", "file", "page", "problem")


@dataclass
class ScannedSheet:
    """One learner's answer sheet: its pages as read, and either a result or what needs review."""
    seed: int
    pages: list[PageRead] = field(default_factory=list)
    paper: Paper | None = None
    learner: str | None = None
    problems: list[str] = field(default_factory=list)  # about the sheet as a whole
    result: AttemptResult | None = None

    @property
    def where(self) -> str:
        files = dict.fromkeys(p.source for p in self.pages)
        return "; ".join(f"{f} p{','.join(str(p.page) for p in self.pages if p.source == f)}" for f in files)


@dataclass
class ScanOutcome:
    sheets: list[ScannedSheet]
    unreadable: list[PageRead]  # pages with no sheet to belong to

    @property
    def graded(self) -> list[ScannedSheet]:
        return [s for s in self.sheets if s.result is not None]

    @property
    def to_review(self) -> list[ScannedSheet]:
        return [s for s in self.sheets if s.result is None]


class Papers:
    """The papers and sheet layouts that scanned codes name, drawn once each."""

    def __init__(self, course, quiz: str):
        self.course, self.quiz = course, quiz
        self.blueprint = course.blueprint(quiz)
        self._papers: dict[int, Paper] = {}
        self._sheets: dict[tuple, Sheet] = {}

    def paper(self, seed: int) -> Paper:
        if seed not in self._papers:
            self._papers[seed] = draw(self.course, self.blueprint, seed)
        return self._papers[seed]

    def sheet_for(self, code: Code) -> Sheet | str:
        if code.quiz != self.quiz:
            return f"this is an answer sheet of quiz {code.quiz!r}, not {self.quiz!r} (scan it with --quiz {code.quiz})"
        paper = self.paper(code.seed)
        if fingerprint(paper) != code.fingerprint:
            return (f"the paper drawn today for seed {code.seed} is not the one printed (the question banks "
                    "changed since): mark this sheet by hand")
        key = (code.seed, code.fmt, code.learner, code.id_digits)
        if key not in self._sheets:
            self._sheets[key] = layout(paper, code.fmt, code.learner, code.id_digits)
        sheet = self._sheets[key]
        if code.pages != len(sheet.pages) or not 1 <= code.page <= code.pages:
            return f"the code says page {code.page} of {code.pages}, but this paper's sheet has {len(sheet.pages)}"
        return sheet


def read_scans(paths: list[Path], course, quiz: str, known_learners: dict[str, str]) -> ScanOutcome:
    """Read every page of every file. Each file is checked to open first, so a stack with a file that
    is not a scan is refused whole, naming the file, before anything is read. `known_learners` maps
    `learner_key(id)` to the id as the gradebook spells it (store.gradebook.known_learners)."""
    papers = Papers(course, quiz)
    problems = []
    for path in paths:
        try:
            count_pages(path)
        except ValueError as err:
            problems.append(Problem(display_path(path), 1, 1, f"cannot read this scan: {err}"))
    if problems:
        raise AuthoringError(problems)
    reads = [read_page(image, display_path(path), n, papers.sheet_for)
             for path in paths for n, image in enumerate(pages_of(path), 1)]
    return _assemble(reads, papers, known_learners)


def _assemble(reads: list[PageRead], papers: Papers, known: dict[str, str]) -> ScanOutcome:
    sheets: list[ScannedSheet] = []
    unreadable: list[PageRead] = []
    personal: dict[tuple[int, str], ScannedSheet] = {}
    last_anonymous: dict[int, ScannedSheet] = {}
    for read in reads:
        if read.problem or read.code is None:
            unreadable.append(read)
            continue
        code = read.code
        if code.learner:
            sheet = personal.get((code.seed, code.learner))
            if sheet is None:
                sheet = personal[(code.seed, code.learner)] = ScannedSheet(code.seed)
                sheets.append(sheet)
        elif code.page == 1 or code.seed not in last_anonymous:
            sheet = last_anonymous[code.seed] = ScannedSheet(code.seed)
            sheets.append(sheet)
        else:
            sheet = last_anonymous[code.seed]
        sheet.pages.append(read)
    seen: dict[str, ScannedSheet] = {}
    for sheet in sheets:
        _judge(sheet, papers, known, seen)
    return ScanOutcome(sheets, unreadable)


def _judge(sheet: ScannedSheet, papers: Papers, known: dict[str, str], seen: dict[str, ScannedSheet]) -> None:
    """Grade the sheet, or say why it needs review."""
    sheet.paper = papers.paper(sheet.seed)
    count = sheet.pages[0].code.pages
    numbers = [p.code.page for p in sheet.pages]
    for n in range(1, count + 1):
        if numbers.count(n) == 0:
            sheet.problems.append(f"sheet page {n} of {count} is missing (scan each learner's pages together, "
                                  "first page first)")
        elif numbers.count(n) > 1:
            sheet.problems.append(f"sheet page {n} of {count} was scanned more than once")
    first = next((p for p in sheet.pages if p.code.page == 1), None)
    sheet.learner = first.learner if first else sheet.pages[0].code.learner
    unclear_id = first.unclear.get("learner id") if first else None
    if unclear_id:
        sheet.problems.append(f"learner id: {unclear_id}")
    elif sheet.learner and learner_key(sheet.learner) not in known:
        sheet.problems.append(f"learner {sheet.learner!r} is not in the gradebook (add them to a cohort, or "
                              "correct the id)")
    elif sheet.learner:
        sheet.learner = known[learner_key(sheet.learner)]  # as the gradebook spells it
        other = seen.get(sheet.learner)
        if other is not None:
            sheet.problems.append(f"{sheet.learner} has another sheet in this scan ({other.where})")
        seen.setdefault(sheet.learner, sheet)
    if sheet.problems or any(q != "learner id" for p in sheet.pages for q in p.unclear):
        return
    answers, awarded, items = {}, {}, {i.question.id: i for i in sheet.paper.items}
    for page in sheet.pages:
        awarded.update(page.awarded)
        for qid, text in page.answers.items():
            try:
                answers[qid] = parse_answer(items[qid], text)
            except ResponseError as err:
                page.unclear[qid] = f"Q{items[qid].number}: {err}"
    if any(q != "learner id" for p in sheet.pages for q in p.unclear):
        return
    sheet.result = mark_paper(sheet.paper, answers, awarded)


def review_rows(outcome: ScanOutcome) -> list[dict[str, str]]:
    """The review list: every reading of each sheet that needs review (blank where unclear, with why),
    then one row per page that could not be read."""
    rows = []
    for sheet in outcome.to_review:
        by_page = {}
        for page in sheet.pages:
            for item in (b.item for b in _blocks(page)):
                by_page[item.question.id] = page
        sheet_note, before = "; ".join(sheet.problems), len(rows)
        for item in sheet.paper.items:
            page = by_page.get(item.question.id)
            if page is None:
                continue
            qid = item.question.id
            answer, points, why = page.answers.get(qid, ""), page.awarded.get(qid), page.unclear.get(qid, "")
            if not (answer or points is not None or why):
                continue  # left unanswered
            note = "; ".join(filter(None, [why, f"sheet: {sheet_note}" if sheet_note else ""]))
            rows.append({"learner": sheet.learner or "", "seed": str(sheet.seed), "question": qid,
                         "answer": answer, "points": "" if points is None else f"{points:g}",
                         "number": f"Q{item.number}", "file": page.source, "page": str(page.page), "problem": note})
        if len(rows) == before:  # nothing read on it: one row, so that the sheet is not forgotten
            first = sheet.pages[0]
            rows.append({"learner": sheet.learner or "", "seed": str(sheet.seed), "question": "", "answer": "",
                         "points": "", "number": "", "file": first.source, "page": str(first.page),
                         "problem": f"sheet: {sheet_note}" if sheet_note else "nothing marked on this sheet"})
    for page in outcome.unreadable:
        rows.append({"learner": (page.code.learner or "") if page.code else "",
                     "seed": str(page.code.seed) if page.code else "", "question": "", "answer": "", "points": "",
                     "number": "", "file": page.source, "page": str(page.page), "problem": page.problem})
    return rows


def _blocks(page: PageRead):
    return page.sheet.pages[page.code.page - 1].blocks if page.sheet else []


def write_review(path: Path, rows: list[dict[str, str]]) -> None:
    """The review list as CSV (UTF-8 with a byte-order mark, so spreadsheets open it as such), whole or not
    at all."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=REVIEW_HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(buf.getvalue(), encoding="utf-8-sig", newline="")
    tmp.replace(path)
