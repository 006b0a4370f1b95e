"""The terminal quiz for officers studying alone (rich), and its non-interactive twin for scripts.

Sections to re-read are named as the book numbers them ("4.1 Recruitment › Online recruitment
channels"), each with its page in the student edition, to open in a browser. `book` is the folder
that holds book/ and _toc.yml, as for `thbcourse validate`.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from thbcourse.bank.yamlfile import read_yaml
from thbcourse.deliveries.papers import _HOW, choices, key_text
from thbcourse.engine.answers import parse_answer
from thbcourse.engine.attempt import AttemptResult, mark_paper
from thbcourse.engine.draw import Paper, PaperItem
from thbcourse.engine.grade import Graded, ResponseError, grader
from thbcourse.problems import AuthoringError

if TYPE_CHECKING:
    from thbcourse.book.sections import Place

SKIP = "skip"
BOOK = Path(".")


def read_answers(path: Path, paper: Paper) -> dict[str, Any]:
    """An answers file (YAML: question id -> answer as written on the paper) -> canonical responses."""
    doc, problems = read_yaml(path)
    if doc is None:
        raise AuthoringError(problems)
    if not isinstance(doc.data, dict):
        raise AuthoringError([doc.problem((), "an answers file maps question ids to answers, e.g. 'chain-001: B'")])
    items = {item.question.id: item for item in paper.items}
    responses, problems = {}, []
    for qid, answer in doc.data.items():
        if qid not in items:
            problems.append(doc.problem((qid,), f"question {qid!r} is not on this paper "
                                                 f"({paper.blueprint.id}, seed {paper.seed})", at_key=True))
            continue
        try:
            responses[qid] = parse_answer(items[qid], answer)
        except ResponseError as err:
            problems.append(doc.problem((qid,), f"answer to {qid} rejected: {err}"))
    if problems:
        raise AuthoringError(problems)
    return responses


def show_question(console: Console, item: PaperItem, total: int) -> None:
    from rich.markdown import Markdown  # and markdown-it: only when a question is shown

    q = item.question
    console.rule(f"Question {item.number} of {total} · {item.points:g} pt")
    console.print(Markdown(q.stem))
    console.print(f"[italic]{_HOW[q.type]}[/italic]")
    for label, text in choices(item):
        console.print(f"  [bold]{label}[/bold] {text}" if label else f"  {text}", highlight=False)


@contextmanager
def places(book: Path, place: Callable[[str], Place] | None = None) -> Iterator[Callable[[str], Place]]:
    """`place` when the caller has the book's facts open already (a whole `take` opens them once),
    else `kept_places(book)`."""
    if place is not None:
        yield place
        return
    from thbcourse.book.sections import kept_places

    with kept_places(book) as opened:
        yield opened


def show_feedback(console: Console, item: PaperItem, graded: Graded, *, book: Path = BOOK,
                  place: Callable[[str], Place] | None = None) -> None:
    verdict = ("[green]Correct[/green]" if graded.correct
               else "[yellow]Partly correct[/yellow]" if graded.score > 0 else "[red]Not correct[/red]")
    lines = [f"{verdict} · {graded.score:g}/{graded.max:g}", f"Answer: {escape(key_text(item))}"]
    lines += [f"- {escape(note)}" for note in graded.feedback]
    with places(book, place) as find:
        where = find(graded.source)
    lines += ["", escape(graded.explanation.strip()), "", f"Read again: {escape(where.name)}"]
    console.print(Panel("\n".join(lines), expand=False), highlight=False)
    if where.page:  # outside the panel, so that the path is never broken across lines
        console.print(f"  Open in a browser: {_built(book, where.page)}", markup=False, highlight=False,
                      soft_wrap=True)


def _built(book: Path, page: str) -> str:
    """The page in the student edition, as a path from the current folder."""
    from thbcourse.book.sections import STUDENT_EDITION

    return (book / STUDENT_EDITION / page).as_posix()


def show_result(console: Console, result: AttemptResult, *, book: Path = BOOK,
                place: Callable[[str], Place] | None = None) -> None:
    verdict = "[green]passed[/green]" if result.passed else "[red]not passed[/red]"
    console.rule("Result")
    console.print(f"Score {result.score:g} / {result.max:g} ({result.percent:.0f} %), "
                  f"pass mark {result.paper.blueprint.pass_mark:g} %: {verdict}")
    for by in ("topic", "objective"):
        table = Table(title=f"By {by}")
        table.add_column(by.capitalize())
        table.add_column("Score", justify="right")
        table.add_column("%", justify="right")
        for key, (score, mx) in result.breakdown(by).items():
            table.add_row(key, f"{score:g}/{mx:g}", f"{100 * score / mx:.0f}")
        console.print(table)
    reread = result.to_reread()
    if not reread:
        console.print("Every question fully right: nothing to re-read.")
        return
    from thbcourse.book.sections import STUDENT_EDITION

    console.print("Sections to re-read:")
    with places(book, place) as find:
        found = [find(source) for source in reread]
    for where in found:
        console.print(f"  - {where.name}", markup=False, highlight=False)
        if where.page:
            console.print(f"    {_built(book, where.page)}", markup=False, highlight=False, soft_wrap=True)
    if any(where.page for where in found) and not (book / STUDENT_EDITION / "index.html").is_file():
        console.print("The student edition is not built yet: `thbcourse build --only student` writes it.",
                      markup=False, highlight=False, soft_wrap=True)


def run_interactive(paper: Paper, console: Console, ask: Callable[[str], str], *, immediate: bool,
                    book: Path = BOOK, place: Callable[[str], Place] | None = None) -> AttemptResult:
    responses: dict[str, Any] = {}
    policy = paper.blueprint.grading
    for item in paper.items:
        show_question(console, item, len(paper.items))
        while True:
            text = ask("Your answer (or 'skip')").strip()
            if text.lower() == SKIP:
                break
            try:
                responses[item.question.id] = parse_answer(item, text)
                break
            except ResponseError as err:
                console.print(f"[red]{err}[/red] — try again.")
        if immediate and item.question.id in responses:
            show_feedback(console, item, grader(item.question, item.points, policy)(responses[item.question.id]),
                          book=book, place=place)
    result = mark_paper(paper, responses)
    if not immediate:
        for m in result.marks:
            show_question(console, m.item, len(paper.items))
            show_feedback(console, m.item, m.graded, book=book, place=place)
    return result


