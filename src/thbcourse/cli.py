"""The `thbcourse` command line: a thin layer over the package's functions.

Problems in authored files are printed as `path:line:column: message` (exit 1), never as a traceback.
"""
from __future__ import annotations

import secrets
import sys
from functools import wraps
from pathlib import Path

import click

from thbcourse.problems import AuthoringError, NotFound

QUIZZES = Path("quizzes")


def reports_problems(command):
    """Print authoring problems and refused input for people, and exit 1."""
    @wraps(command)
    def wrapper(*args, **kwargs):
        from thbcourse.engine.draw import DrawError

        try:
            return command(*args, **kwargs)
        except AuthoringError as err:
            for problem in err.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{len(err.problems)} problem(s) found.", err=True)
            sys.exit(1)
        except (DrawError, NotFound) as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(1)
    return wrapper


def _course(paths=(QUIZZES,), book: Path = Path(".")):
    from thbcourse.bank.course import load_course

    return load_course([Path(p) for p in paths], book_root=book)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Trafficking in human beings and the internet: course tools."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--book", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder that holds book/: objectives and source anchors are checked against it.")
@reports_problems
def validate(paths: tuple[Path, ...], book: Path) -> None:
    """Check question banks and blueprints (default: quizzes/) and report every problem."""
    course = _course(paths or (QUIZZES,), book)
    click.echo(f"{len(course.questions)} questions in {len(course.banks)} banks and "
               f"{len(course.blueprints)} blueprints: no problems.")


@main.command()
@reports_problems
def coverage() -> None:
    """Table of learning objectives x questions; exit 1 when an objective has too few questions."""
    from rich.console import Console

    from thbcourse.bank.coverage import MIN_QUESTIONS, coverage as rows_of, table
    from thbcourse.book.objectives import read_objectives

    rows = rows_of(_course(), read_objectives(Path(".")))
    Console(width=160).print(table(rows))
    gaps = [r for r in rows if r.gap]
    for r in gaps:
        why = "is not declared by any chapter" if not r.declared else f"has {r.total} question(s)"
        click.echo(f"gap: {r.objective} {why} (needs at least {MIN_QUESTIONS})", err=True)
    click.echo(f"{len(rows)} objectives, {len(gaps)} with gaps.")
    sys.exit(1 if gaps else 0)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("quizzes/schema"), show_default=True)
@click.option("--check", is_flag=True, help="Only check that the files match the model; exit 1 if not.")
def schema(out: Path, check: bool) -> None:
    """Write the JSON Schemas of the bank and blueprint formats (for editors)."""
    from thbcourse.bank.schema import stale_schemas, write_schemas

    if check:
        stale = stale_schemas(out)
        for path in stale:
            click.echo(f"{path}: out of date; run 'thbcourse schema'", err=True)
        sys.exit(1 if stale else 0)
    for path in write_schemas(out):
        click.echo(f"wrote {path}")


@main.command()
@click.argument("blueprints", nargs=-1)
@click.option("--seed", type=int, multiple=True, help="One paper per seed (repeatable). Default: 1.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("_build/papers"), show_default=True)
@click.option("--format", "formats", type=click.Choice(["md", "html"]), multiple=True,
              help="Repeatable. Default: md and html.")
@reports_problems
def draw(blueprints: tuple[str, ...], seed: tuple[int, ...], out: Path, formats: tuple[str, ...]) -> None:
    """Draw papers and answer keys (default: every blueprint, seed 1)."""
    from thbcourse.deliveries.papers import write_paper
    from thbcourse.engine.draw import draw as draw_paper

    course = _course()
    chosen = [course.blueprint(b) for b in blueprints] or list(course.blueprints.values())
    for bp in chosen:
        for s in seed or (1,):
            for path in write_paper(draw_paper(course, bp, s), out, formats or ("md", "html")):
                click.echo(f"wrote {path}")


@main.command()
@click.argument("blueprint")
@click.option("--seed", type=int, help="Paper seed (default: a random one, printed so the paper can be redrawn).")
@click.option("--answers", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Answer without prompts: YAML file of question id -> answer as written on the paper.")
@click.option("--feedback", type=click.Choice(["immediate", "end"]), default="immediate", show_default=True)
@reports_problems
def take(blueprint: str, seed: int | None, answers: Path | None, feedback: str) -> None:
    """Take a quiz in the terminal, one question at a time, with feedback."""
    from rich.console import Console
    from rich.prompt import Prompt

    from thbcourse.deliveries.terminal import read_answers, run_interactive, show_feedback, show_result
    from thbcourse.engine.attempt import mark_paper
    from thbcourse.engine.draw import draw as draw_paper

    course = _course()
    bp = course.blueprint(blueprint)
    seed = secrets.randbelow(10**6) if seed is None else seed
    paper = draw_paper(course, bp, seed)
    console = Console(highlight=False)
    console.print(f"[bold]{bp.title}[/bold] · {len(paper.items)} questions · seed {seed}")
    if answers is not None:
        result = mark_paper(paper, read_answers(answers, paper))
        for m in result.marks:  # no one is waiting between questions: all feedback at the end
            show_feedback(console, m.item, m.graded)
    else:
        result = run_interactive(paper, console, lambda prompt: Prompt.ask(prompt, console=console),
                                 immediate=feedback == "immediate")
    show_result(console, result)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("_build"), show_default=True,
              help="Where the editions, slides and workbooks are written.")
@click.option("--only", type=click.Choice(["trainer", "student", "slides", "workbooks"]), multiple=True,
              help="Build only these parts (repeatable). Default: all.")
def build(out: Path, only: tuple[str, ...]) -> None:
    """Build the trainer and student editions, the slide decks and the workbooks."""
    from thbcourse.book.build import main as build_main

    sys.exit(build_main(out=out, only=only or None))
