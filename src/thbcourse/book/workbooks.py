"""Exercise workbooks: each exercise page as a Jupyter notebook that a learner can fill in.

The page is walked in order: title, overview, then every section as text; each task is followed
by an empty answer cell. The trainer copy adds each solution after its answer cell and the
trainer notes where the page has them; the student copy leaves both out. Roles become plain text
because the book's references do not resolve inside a notebook.

The notebooks hold Markdown only, yet name the python3 kernel that every Jupyter installation has:
without a kernelspec Jupyter asks which kernel to start when a notebook opens. An answer cell is the
prompt followed by empty paragraphs (`&nbsp;`), so that it shows, and prints, as room to write.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbformat.v4 import new_markdown_cell, new_notebook

from thbcourse.book.myst import Block, Page, read_page
from thbcourse.book.objectives import FICTIONAL, parse_overview, read_objectives
from thbcourse.book.plaintext import Plain

ANSWER_LINES = 8
ANSWER = "**Your answer:**\n\n" + "\n\n".join(["&nbsp;"] * ANSWER_LINES)
METADATA = {"kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
            "language_info": {"name": "python"}}
EDITIONS = ("student", "trainer")


def write_workbooks(root: Path, dest: Path) -> list[Path]:
    """Write each exercise's workbooks under dest/<edition>/. A notebook whose text is unchanged is
    left alone, and one whose exercise is gone is removed: dest is updated, not rebuilt."""
    plain, objectives = Plain(root), read_objectives(root)
    rubrics = _rubrics(root)
    written = []
    for path in sorted(Path(root, "exercises").glob("*.md")):
        page = read_page(path)
        for edition in EDITIONS:
            nb = workbook(page, plain, objectives, trainer=edition == "trainer", rubrics=rubrics)
            nb.metadata["thbcourse"] = {"exercise": path.stem, "edition": edition}
            nbformat.validate(nb)
            target = dest / edition / f"{path.stem}.ipynb"
            text = nbformat.writes(nb) + "\n"  # as nbformat.write ends the file
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
            written.append(target)
    for stale in {p for edition in EDITIONS for p in (dest / edition).glob("*.ipynb")} - set(written):
        stale.unlink()
    return written


def _rubrics(root: Path) -> dict:
    folder = Path(root, "quizzes")
    if not folder.is_dir():
        return {}
    from thbcourse.bank.course import load_course

    return load_course([folder], book_root=Path(root)).rubrics


def rubric_markdown(rubric) -> str:
    """The rubric as a Markdown table: one row per criterion, its levels in one cell."""
    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = [f"**Marking rubric: {cell(rubric.title)}**", "", "| Criterion | Points | Levels |", "|---|---|---|"]
    for c in rubric.criteria:
        levels = "<br>".join(f"**{cell(lv.label)} ({lv.points:g})**: {cell(lv.descriptor)}" for lv in c.levels)
        lines.append(f"| {cell(c.title)} | {c.max_points:g} | {levels} |")
    lines.append(f"| Total | {rubric.max_points:g} | Pass mark: {rubric.pass_mark:g} % of the total. |")
    return "\n".join(lines)


def workbook(page: Page, plain: Plain, objectives: dict, *, trainer: bool,
             rubrics: dict | None = None) -> nbformat.NotebookNode:
    cells: list[str] = []
    pending: list[str] = []
    tasks: dict[str, str] = {}  # exercise label -> "12.3", as the book numbers tasks
    exercise = int(re.match(r"ex(\d+)", page.path.stem).group(1)) if re.match(r"ex\d+", page.path.stem) else 0

    def flush() -> None:
        text = plain("".join(pending)).strip()
        if text:
            cells.append(text)
        pending.clear()

    def block(b: Block) -> None:
        body = plain(b.body).strip()
        if b.name == "exercise-overview":
            cells.append(_overview(b, page, objectives, trainer=trainer))
        elif b.name == "exercise":
            tasks[b.options.get("label", "")] = number = f"{exercise}.{len(tasks) + 1}"
            title = f": {plain(b.argument)}" if b.argument else ""
            cells.extend([f"### Task {number}{title}\n\n{body}", ANSWER])
        elif b.name == "solution" and trainer:
            number = tasks.get(b.argument.strip())
            cells.append(f"#### Model answer{f' to Task {number}' if number else ''}\n\n{body}")
        elif b.name == "trainer-notes" and trainer:
            cells.append(f"### Trainer notes\n\n{body}")
        elif b.name == "marking-rubric":
            rubric = (rubrics or {}).get(b.argument.strip())
            cells.append(rubric_markdown(rubric) if rubric else f"*(Rubric {b.argument.strip()!r} not found.)*")
        elif b.name not in ("solution", "trainer-notes", "learning-objectives", "chapter-resources"):
            title = plain(b.argument) or b.name.capitalize()  # {note}, {admonition} Title, ...
            cells.append(f"**{title}**\n\n" + "\n".join(f"> {line}" for line in body.splitlines()))

    starts = {b.line: b for b in page.blocks}
    skip = set(page.targets.values()) | set(range(1, page.body_start))
    n = 1
    while n <= len(page.lines):
        if n in starts:
            flush()
            block(starts[n])
            n = starts[n].end
            continue
        if n not in skip:
            if any(s.line == n and s.level <= 2 for s in page.sections):
                flush()  # one cell per section keeps the notebook easy to navigate
            pending.append(page.lines[n - 1])
        n += 1
    flush()
    # numbered cell ids (nbformat draws random ones): the same page gives the same notebook
    return new_notebook(cells=[new_markdown_cell(c, id=f"cell-{n}") for n, c in enumerate(cells, 1)],
                        metadata=copy.deepcopy(METADATA))


def _overview(b: Block, page: Page, objectives: dict, *, trainer: bool) -> str:
    overview = parse_overview(b, page.path)
    lines = ["**Objectives**", ""]
    for oid in overview.objectives:
        text = objectives[oid].text if oid in objectives else "(not declared by any chapter)"
        lines.append(f"- {text} (`{oid}`)" if trainer else f"- {text}")  # ids are for trainers
    lines += ["", f"**Format:** {overview.format}", "", f"**Timing:** {overview.timing}", "", f"*{FICTIONAL}*"]
    return "\n".join(lines)
