"""The `thbcourse` command line: a thin layer over the package's functions.

Problems in authored files are printed as `path:line:column: message` (exit 1), never as a traceback.
"""
from __future__ import annotations

import sys
from functools import wraps
from pathlib import Path

import click

from thbcourse.problems import AuthoringError, NotFound

QUIZZES = Path("quizzes")


def _user_name() -> str:
    import getpass

    return getpass.getuser()


DB_OPTION = click.option("--db", envvar="THBCOURSE_DB", metavar="URL|PATH",
                         help="Gradebook: a SQLite file or a PostgreSQL URL (default: the user's data folder).")
BY_OPTION = click.option("--by", default=_user_name, show_default="your user name",
                         help="Who does this (written to the export log).")
# Input that the drawing rules and the gradebook refuse, by module. Each command imports only what it
# uses, so the handler looks the classes up among the modules already loaded: an error of a module
# that was never imported cannot have been raised.
REFUSALS = {"thbcourse.engine.draw": "DrawError", "thbcourse.store.gradebook": "GradebookError",
            "thbcourse.paper.layout": "LayoutError"}


def _refused(err: Exception) -> bool:
    loaded = [getattr(sys.modules[module], name) for module, name in REFUSALS.items() if module in sys.modules]
    return isinstance(err, (NotFound, *loaded))


def reports_problems(command):
    """Print authoring problems and refused input for people, and exit 1."""
    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AuthoringError as err:
            for problem in err.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{len(err.problems)} problem(s) found.", err=True)
            sys.exit(1)
        except Exception as err:
            if not _refused(err):
                raise
            click.echo(f"error: {err}", err=True)
            sys.exit(1)
    return wrapper


def _course(paths=(QUIZZES,), book: Path = Path(".")):
    from thbcourse.bank.course import load_course

    return load_course([Path(p) for p in paths], book_root=book, keep=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Trafficking in human beings and the internet: course tools."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--book", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Folder that holds book/: objectives and source anchors are checked against it.")
@reports_problems
def validate(paths: tuple[Path, ...], book: Path) -> None:
    """Check question banks and blueprints (default: quizzes/) and report their problems as file:line:column."""
    course = _course(paths or (QUIZZES,), book)
    click.echo(f"{len(course.questions)} questions in {len(course.banks)} banks, {len(course.blueprints)} "
               f"blueprints and {len(course.rubrics)} rubric(s): no problems.")


@main.command()
@reports_problems
def coverage() -> None:
    """Objectives x questions, exercises, activities, assessed tasks and exam papers; exit 1 on a gap."""
    from rich.console import Console

    from thbcourse.bank.coverage import coverage as rows_of, table
    from thbcourse.book.objectives import practice as practice_of, read_objectives
    from thbcourse.engine.draw import objective_reach

    course = _course()
    practice = practice_of(Path("."), course.rubrics.values())
    exams: dict[str, dict[str, str]] = {}
    for blueprint in course.blueprints.values():
        if blueprint.purpose == "exam":
            for oid, reach in objective_reach(course, blueprint).items():
                exams.setdefault(oid, {})[blueprint.id] = reach
    rows = rows_of(course, read_objectives(Path(".")), practice, exams)
    Console(width=200).print(table(rows))
    gaps = [r for r in rows if r.gap]
    for r in gaps:
        for why in r.gaps:
            click.echo(f"gap: {r.objective} {why}", err=True)
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
@click.option("--format", "formats", type=click.Choice(["md", "html", "pdf"]), multiple=True,
              help="Repeatable. Default: all three. pdf: the questions and an answer sheet for `thbcourse scan`.")
@click.option("--paper", "paper_format", type=click.Choice(["a4", "letter"]), default="a4", show_default=True,
              help="Page size of the PDF papers.")
@click.option("--cohort", help="One personal PDF paper per learner of this cohort (id printed on it; seeds "
                               "from the first --seed on, one each).")
@click.option("--id-digits", type=click.IntRange(1, 12), default=6, show_default=True,
              help="Rows of the learner-id grid on the answer sheet (numeric ids).")
@DB_OPTION
@reports_problems
def draw(blueprints: tuple[str, ...], seed: tuple[int, ...], out: Path, formats: tuple[str, ...], paper_format: str,
         cohort: str | None, id_digits: int, db: str | None) -> None:
    """Draw papers and answer keys (default: every blueprint, seed 1)."""
    from thbcourse.deliveries.papers import write_paper
    from thbcourse.engine.draw import draw as draw_paper

    course = _course()
    chosen = [course.blueprint(b) for b in blueprints] or list(course.blueprints.values())
    formats = formats or ("md", "html", "pdf")
    learners: list[str | None] = [None]
    if cohort:
        from thbcourse.store.db import open_gradebook
        from thbcourse.store.gradebook import cohort_codes

        with open_gradebook(db).connect() as conn:
            learners = cohort_codes(conn, cohort)
        if not learners:
            raise click.UsageError(f"cohort {cohort!r} has no learners yet (thbcourse cohort add)")
        seeds = [(seed or (1,))[0] + n for n in range(len(learners))]
    else:
        seeds = list(seed or (1,))
    for bp in chosen:
        pdfs = []
        for n, s in enumerate(seeds):
            paper = draw_paper(course, bp, s)
            learner = learners[n] if cohort else None
            if set(formats) - {"pdf"}:
                for path in write_paper(paper, out, tuple(f for f in formats if f != "pdf")):
                    click.echo(f"wrote {path}")
            if "pdf" in formats:
                from thbcourse.paper.render import write_paper_pdf

                pdfs.append(write_paper_pdf(paper, out, paper_format, learner, id_digits))
                click.echo(f"wrote {pdfs[-1]}" + (f" for {learner}" if learner else ""))
        if len(pdfs) > 1:
            from thbcourse.paper.render import join_pdfs

            joined = join_pdfs(pdfs, out / f"{bp.id}-{cohort or 'papers'}-print.pdf")
            click.echo(f"wrote {joined} (all of them, to print)")


@main.command()
@click.argument("blueprint")
@click.option("--seed", type=int, help="Paper seed (default: a random one, printed so the paper can be redrawn).")
@click.option("--answers", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Answer without prompts: YAML file of question id -> answer as written on the paper.")
@click.option("--feedback", type=click.Choice(["immediate", "end"]), default="immediate", show_default=True)
@click.option("--learner", help="Your (pseudonymous) learner id: the attempt is recorded in the gradebook.")
@DB_OPTION
@reports_problems
def take(blueprint: str, seed: int | None, answers: Path | None, feedback: str, learner: str | None,
         db: str | None) -> None:
    """Take a quiz in the terminal, one question at a time, with feedback."""
    from rich.console import Console

    from thbcourse.book.sections import kept_places
    from thbcourse.deliveries.terminal import read_answers, run_interactive, show_feedback, show_result
    from thbcourse.engine.attempt import mark_paper
    from thbcourse.engine.draw import draw as draw_paper

    course = _course()
    bp = course.blueprint(blueprint)
    if seed is None:
        import secrets

        seed = secrets.randbelow(10**6)
    paper = draw_paper(course, bp, seed)
    console = Console(highlight=False)
    console.print(f"[bold]{bp.title}[/bold] · {len(paper.items)} questions · seed {seed}")
    with kept_places(Path(".")) as place:  # the book's facts, read once for every answer's feedback
        if answers is not None:
            result = mark_paper(paper, read_answers(answers, paper))
            for m in result.marks:  # no one is waiting between questions: all feedback at the end
                show_feedback(console, m.item, m.graded, place=place)
        else:
            from rich.prompt import Prompt

            result = run_interactive(paper, console, lambda prompt: Prompt.ask(prompt, console=console),
                                     immediate=feedback == "immediate", place=place)
        show_result(console, result, place=place)
    if learner:
        from thbcourse.store.db import open_gradebook, writer
        from thbcourse.store.gradebook import record_attempt

        with writer(open_gradebook(db)).begin() as conn:
            attempt = record_attempt(conn, result, learner=learner, mode="terminal", created_by=learner,
                                     create_learner=True)
        console.print(f"Recorded as attempt {attempt} for learner {learner}.")
        _print_revise(open_gradebook(db, migrate=False), course, learner)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("_build"), show_default=True,
              help="Where the editions, slides, workbooks and PDFs are written.")
@click.option("--only", type=click.Choice(["trainer", "student", "slides", "workbooks", "pdf"]), multiple=True,
              help="Build only these parts (repeatable). Default: all but pdf.")
@click.option("--pdf", "with_pdf", is_flag=True,
              help="Also lay out the print-ready PDFs (OUT/pdf: trainer handbook, student workbook, answer keys).")
@click.option("--clean", is_flag=True, help="Delete the parts' earlier output and build them afresh.")
def build(out: Path, only: tuple[str, ...], with_pdf: bool, clean: bool) -> None:
    """Build the trainer and student editions, the slide decks and the workbooks (and with --pdf the
    print-ready PDFs).

    Only what changed since the last build is rebuilt."""
    from thbcourse.book.build import EVERYDAY, main as build_main

    parts = tuple(only or EVERYDAY) + (("pdf",) if with_pdf else ())
    sys.exit(build_main(out=out, only=parts, clean=clean))


def _print_revise(engine, course, learner: str) -> None:
    """The learner's "what to revise" list from every attempt in the gradebook (analysis/mastery.py)."""
    from thbcourse.analysis.mastery import plan_lines, revise_plan
    from thbcourse.book.sections import STUDENT_EDITION

    plan = revise_plan(engine, course, learner, book_root=Path("."))
    for line in plan_lines(plan, pages_under=STUDENT_EDITION.as_posix()):
        click.echo(line)


@main.command()
@click.option("--learner", help="Show this learner's list (pseudonymous id).")
@click.option("--cohort", help="Every learner of this cohort: write the lists to --out.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="With --cohort: a .csv or .xlsx file.")
@click.option("--threshold", type=click.FloatRange(0, 100), default=70.0, show_default=True,
              help="Objectives below this mastery (percent) are listed.")
@DB_OPTION
@BY_OPTION
@reports_problems
def revise(learner: str | None, cohort: str | None, out: Path | None, threshold: float, db: str | None,
           by: str) -> None:
    """What to revise: objectives below the threshold, with sections to re-read and self-checks to retake.

    Mastery comes from every complete attempt (quizzes, self-study, live sessions, papers, rubric marks),
    the newest weighing most (docs/learning-gain.md)."""
    from thbcourse.store.db import open_gradebook

    if bool(learner) == bool(cohort):
        raise click.UsageError("give either --learner or --cohort")
    engine = open_gradebook(db)
    if learner:
        from thbcourse.analysis.mastery import plan_lines, revise_plan
        from thbcourse.book.sections import STUDENT_EDITION

        plan = revise_plan(engine, _course(), learner, threshold=threshold, book_root=Path("."))
        for line in plan_lines(plan, pages_under=STUDENT_EDITION.as_posix()):
            click.echo(line)
        return
    if out is None or out.suffix.lower() not in (".csv", ".xlsx"):
        raise click.BadParameter("with --cohort, give --out ending in .csv or .xlsx", param_hint="--out")
    from thbcourse.analysis.mastery import export_revise

    rows = export_revise(engine, _course(), cohort, out, who=by, threshold=threshold, book_root=Path("."))
    click.echo(f"wrote {rows} row(s) to {out}")


@main.command()
@click.option("--cohort", required=True, help="The cohort whose learning gain to report.")
@click.option("--pre", help="The pre-test blueprint (default: the course's blueprint with purpose pre-test).")
@click.option("--post", help="The post-test blueprint (default: the one with purpose post-test).")
@click.option("--policy", type=click.Choice(["first", "best", "last"]), default="first", show_default=True,
              help="Which post-test attempt counts when a learner took it more than once (the pre-test: the first).")
@click.option("--threshold", type=click.FloatRange(0, 100), default=70.0, show_default=True,
              help="Flag objectives whose post-test mastery (percent) is below this.")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the bootstrap resamples.")
@click.option("--resamples", type=click.IntRange(0, 100_000), default=2000, show_default=True,
              help="Bootstrap resamples for the 95 % intervals (0: no intervals).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("_build/gain"),
              show_default=True)
@click.option("--xlsx", is_flag=True, help="Also write the tables as one XLSX workbook.")
@DB_OPTION
@BY_OPTION
@reports_problems
def gain(cohort: str, pre: str | None, post: str | None, policy: str, threshold: float, seed: int, resamples: int,
         out: Path, xlsx: bool, db: str | None, by: str) -> None:
    """Learning gain of a cohort, pre-test to post-test: an HTML report and CSV tables.

    Per learner, objective and topic; Hake's normalised gain, effect size, bootstrap intervals, objectives
    below the threshold with what teaches them, and the other cohorts (docs/learning-gain.md)."""
    from thbcourse.analysis.cohort_report import interval, num, pct, write_report
    from thbcourse.analysis.gain import gain_report
    from thbcourse.store.db import open_gradebook
    from thbcourse.store.exports import log_export

    engine = open_gradebook(db)
    report = gain_report(engine, _course(), cohort, pre=pre, post=post, policy=policy, threshold=threshold,
                         seed=seed, resamples=resamples, book_root=Path("."))
    paths = write_report(report, out, xlsx=xlsx)
    log_export(engine, who=by, what="gain report", rows=len(report.learners),
               details={"cohort": cohort, "pre": report.pre, "post": report.post, "policy": policy,
                        "files": [str(p) for p in paths]})
    f = report.cohort_figures
    click.echo(f"{cohort}: {len(report.learners)} learner(s), {f.n} with both tests, "
               f"{len(report.having('only pre-test'))} only the pre-test, {len(report.having('only post-test'))} "
               f"only the post-test, {len(report.having('neither'))} neither (listed in the report)")
    if f.n:
        click.echo(f"mean pre {pct(f.mean_pre.value)}, mean post {pct(f.mean_post.value)}, gain "
                   f"{num(f.mean_gain.value, 1)} points (95 %: {interval(f.mean_gain)}); <g> {num(f.hake.value)} "
                   f"(95 %: {interval(f.hake, 2)}); d_z {num(f.d_z.value)}")
    flagged = [b.key for b in report.objectives if b.flagged]
    if flagged:
        click.echo(f"below {threshold:g} % on the post-test: {', '.join(flagged)}")
    for path in paths:
        click.echo(f"wrote {path}")


@main.group()
def cohort() -> None:
    """Cohorts of learners (course admins)."""


@cohort.command("create")
@click.argument("name")
@DB_OPTION
@reports_problems
def cohort_create(name: str, db: str | None) -> None:
    """Create a cohort."""
    from thbcourse.store.db import open_gradebook, writer
    from thbcourse.store.gradebook import create_cohort

    with writer(open_gradebook(db)).begin() as conn:
        create_cohort(conn, name)
    click.echo(f"created cohort {name!r}")


@cohort.command("add")
@click.argument("name")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@DB_OPTION
@reports_problems
def cohort_add(name: str, roster: Path, db: str | None) -> None:
    """Add learners from a CSV roster (columns: learner, and optionally name, email).

    Every bad row is reported with its line number and nothing is imported until the file is clean.
    """
    from thbcourse.store.db import open_gradebook
    from thbcourse.store.importing import import_roster

    created, joined = import_roster(open_gradebook(db), roster, name)
    click.echo(f"{joined} learner(s) added to {name!r} ({created} new to the gradebook)")


@cohort.command("list")
@DB_OPTION
def cohort_list(db: str | None) -> None:
    """Cohorts and their sizes."""
    from thbcourse.store.db import open_gradebook
    from thbcourse.store.gradebook import list_cohorts

    with open_gradebook(db).connect() as conn:
        for name, members, created in list_cohorts(conn):
            click.echo(f"{name}\t{members} learner(s)\tcreated {created:%Y-%m-%d}")


@main.group()
def scores() -> None:
    """Score exports (course admins)."""


@scores.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--policy", type=click.Choice(["first", "best", "last", "all"]), default="best", show_default=True,
              help="Which attempt counts when a learner took a quiz more than once.")
@click.option("--cohort", help="Only learners of this cohort.")
@click.option("--quiz", "quizzes", multiple=True, help="Only this quiz (blueprint id; repeatable).")
@click.option("--with-names", is_flag=True, help="Add names and e-mails (default: pseudonymous ids only).")
@click.option("--per-topic", is_flag=True, help="Add a percentage column per topic.")
@click.option("--per-objective", is_flag=True, help="Add a percentage column per learning objective.")
@click.option("--per-question", is_flag=True, help="Add a score column per question.")
@click.option("--mastery", is_flag=True, help="With --per-objective: add the learner's mastery per objective "
              "(every attempt, newest weighing most; docs/learning-gain.md).")
@DB_OPTION
@BY_OPTION
@reports_problems
def scores_export(out: Path, policy: str, cohort: str | None, quizzes: tuple[str, ...], with_names: bool,
                  per_topic: bool, per_objective: bool, per_question: bool, mastery: bool, db: str | None,
                  by: str) -> None:
    """Write scores to OUT (.csv or .xlsx): one row per learner x quiz."""
    from thbcourse.store.db import open_gradebook
    from thbcourse.store.exports import export_scores

    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise click.BadParameter("the file name must end in .csv or .xlsx", param_hint="OUT")
    if mastery and not per_objective:
        raise click.UsageError("--mastery goes with --per-objective (the mastery columns follow its columns)")
    rows = export_scores(open_gradebook(db), out, who=by, policy=policy, cohort=cohort, quizzes=quizzes,
                         with_names=with_names, per_topic=per_topic, per_objective=per_objective,
                         per_question=per_question, mastery=mastery)
    click.echo(f"wrote {rows} row(s) to {out}")


@main.group()
def results() -> None:
    """Answers collected outside the course tools (course admins)."""


@results.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--quiz", required=True, help="The blueprint the answers belong to.")
@click.option("--seed", type=int, help="The paper's seed for every row (else a 'seed' column).")
@DB_OPTION
@BY_OPTION
@reports_problems
def results_import(csv_file: Path, quiz: str, seed: int | None, db: str | None, by: str) -> None:
    """Grade and store a CSV of learner, question, answer (answers as written on the paper; a points column for
    written answers marked by hand), such as the review list of `thbcourse scan` once completed."""
    from thbcourse.store.db import open_gradebook
    from thbcourse.store.importing import import_results

    count = import_results(open_gradebook(db), csv_file, _course(), quiz, who=by, seed=seed)
    click.echo(f"imported {count} attempt(s)")


@main.command()
@click.argument("scans", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--quiz", required=True, help="The blueprint of the papers scanned.")
@click.option("--review", type=click.Path(dir_okay=False, path_type=Path), default=Path("scan-review.csv"),
              show_default=True, help="Where to write the sheets that need a trainer's eye.")
@DB_OPTION
@BY_OPTION
@reports_problems
def scan(scans: tuple[Path, ...], quiz: str, review: Path, db: str | None, by: str) -> None:
    """Grade scanned answer sheets (PDF, PNG, JPEG): readable sheets go to the gradebook, the rest to a review
    list that `thbcourse results import` takes once completed."""
    from thbcourse.paper.collect import read_scans, review_rows, write_review
    from thbcourse.store.db import open_gradebook
    from thbcourse.store.gradebook import known_learners
    from thbcourse.store.importing import store_scanned

    course = _course()
    engine = open_gradebook(db)
    with engine.connect() as conn:
        known = known_learners(conn)
    outcome = read_scans(list(scans), course, quiz, known)
    stored, already = store_scanned(engine, outcome.graded, quiz, who=by)
    for sheet in stored:
        r = sheet.result
        click.echo(f"graded   {sheet.learner:<14} seed {sheet.seed:<5} {round(r.score, 2):g}/{r.max:g} ({r.percent:.0f} %)  "
                   f"{sheet.where}")
    for sheet in already:
        click.echo(f"skipped  {sheet.learner:<14} seed {sheet.seed:<5} already in the gradebook from an earlier scan  "
                   f"{sheet.where}")
    rows = review_rows(outcome)
    for sheet in outcome.to_review:
        why = "; ".join(sheet.problems) or "; ".join(dict.fromkeys(
            v for p in sheet.pages for v in p.unclear.values()))
        click.echo(f"review   {sheet.learner or '?':<14} seed {sheet.seed:<5} {sheet.where}: {why}")
    for page in outcome.unreadable:
        click.echo(f"review   {page.source} p{page.page}: {page.problem}")
    if rows:
        write_review(review, rows)
    waiting = len(outcome.to_review) + len(outcome.unreadable)
    click.echo(f"{len(stored)} sheet(s) stored, {len(already)} already stored, {waiting} to review"
               + (f": complete {review} and load it with `thbcourse results import {review} --quiz {quiz}`"
                  if rows else "."))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["scorm12", "scorm2004"]), required=True,
              help="SCORM 1.2 or SCORM 2004 (4th edition).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The zip to write. Default: BUILD_DIR/scorm/thb-course-<format>.zip.")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("_build"),
              show_default=True, help="Where `thbcourse build` wrote the student edition (BUILD_DIR/student/html).")
@click.option("--one-sco", is_flag=True, help="The whole course as one SCO (default: one SCO per page of _toc.yml).")
def package(fmt: str, out: Path | None, build_dir: Path, one_sco: bool) -> None:
    """Zip the built student edition as a SCORM package for a learning platform (docs/platforms-scorm.md)."""
    from thbcourse.book.build import find_root
    from thbcourse.deliveries.scorm import PackageError, package as scorm_package

    out = out or build_dir / "scorm" / f"thb-course-{fmt}.zip"
    try:
        written = scorm_package(build_dir / "student" / "html", find_root(Path.cwd()), out, fmt,
                                per_chapter=not one_sco)
    except PackageError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(1)
    click.echo(f"{written} ({written.stat().st_size / 1e6:.1f} MB)")


@main.group()
def rubric() -> None:
    """Assessed practical tasks marked with a rubric (quizzes/rubrics/)."""


@rubric.command("sheet")
@click.argument("rubric_id")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cohort", help="One row per learner of this cohort (else an empty sheet).")
@DB_OPTION
@reports_problems
def rubric_sheet(rubric_id: str, out: Path, cohort: str | None, db: str | None) -> None:
    """Write a marking sheet (CSV) for RUBRIC_ID: a learner column and one column per criterion."""
    from thbcourse.store.marksheet import write_sheet

    rows = write_sheet(_course().rubric(rubric_id), out, cohort=cohort, db=db)
    click.echo(f"wrote {out} with {rows} learner row(s); fill each criterion with a level's label or points")


@rubric.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--rubric", "rubric_id", required=True, help="The rubric the marks belong to.")
@DB_OPTION
@BY_OPTION
@reports_problems
def rubric_import(csv_file: Path, rubric_id: str, db: str | None, by: str) -> None:
    """Store marks from a CSV: learner, then one column per criterion (level label or points)."""
    from thbcourse.store.db import open_gradebook
    from thbcourse.store.importing import import_rubric_marks

    count = import_rubric_marks(open_gradebook(db), csv_file, _course().rubric(rubric_id), who=by)
    click.echo(f"recorded {count} learner(s) on {rubric_id}")


@main.command()
@click.option("--older-than", "older_than", required=True, metavar="DAYS",
              help="Retention period, e.g. 365 or 365d: personal data older than this is deleted.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@DB_OPTION
@BY_OPTION
@reports_problems
def purge(older_than: str, yes: bool, db: str | None, by: str) -> None:
    """Delete attempts and learners older than the retention period."""
    from datetime import timedelta

    from thbcourse.store.db import open_gradebook, writer
    from thbcourse.store.exports import log_export
    from thbcourse.store.gradebook import now, purge as purge_old

    try:
        days = int(older_than.rstrip("dD"))
    except ValueError:
        raise click.BadParameter("give a number of days, e.g. 365 or 365d", param_hint="--older-than") from None
    cutoff = now() - timedelta(days=days)
    if not yes:
        click.confirm(f"Delete attempts and learners older than {cutoff:%Y-%m-%d}?", abort=True)
    engine = open_gradebook(db)
    with writer(engine).begin() as conn:
        gone_attempts, gone_learners = purge_old(conn, cutoff)
    log_export(engine, who=by, what="purge", details={"older_than_days": days}, rows=gone_attempts)
    click.echo(f"deleted {gone_attempts} attempt(s) and {gone_learners} learner(s) older than {cutoff:%Y-%m-%d}")


@main.group()
def bank() -> None:
    """Question banks for the academy's learning platform."""


@bank.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["moodle-xml", "gift", "qti12", "qti21"]), required=True,
              help="moodle-xml and gift for Moodle; qti12 (zip) for Canvas classic quizzes; qti21 (zip).")
@click.option("--bank", "bank_ids", multiple=True, help="Only this bank (repeatable). Default: every bank.")
@click.option("--no-negative-marking", is_flag=True, help="Wrong options of multiple-response questions cost nothing.")
@reports_problems
def bank_export(out: Path, fmt: str, bank_ids: tuple[str, ...], no_negative_marking: bool) -> None:
    """Export the banks; what the format cannot carry is listed, never dropped silently."""
    from thbcourse.deliveries.platforms import export_banks

    notes = export_banks(_course(), fmt, out, bank_ids, negative_marking=not no_negative_marking)
    for note in notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {out} ({len(notes)} note(s) on what {fmt} cannot carry)")


@main.command()
@click.argument("quiz")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("_build/stats"),
              show_default=True)
@click.option("--attempts", type=click.Choice(["first", "all"]), default="first", show_default=True,
              help="Analyse each learner's first attempt (as Moodle does) or every attempt.")
@DB_OPTION
@reports_problems
def stats(quiz: str, out: Path, attempts: str, db: str | None) -> None:
    """Item analysis of a quiz: facility, discrimination, alpha, distractors (CSV and HTML report)."""
    from thbcourse.analysis import main as analyse
    from thbcourse.store.db import open_gradebook

    for path in analyse(open_gradebook(db), _course(), quiz, out, attempts=attempts):
        click.echo(f"wrote {path}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback unless --lan).")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--lan", is_flag=True, help="Listen on the classroom network too (needed for officers' phones).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (more than 1 needs a PostgreSQL gradebook).")
@click.option("--certfile", type=click.Path(exists=True, dir_okay=False), help="TLS certificate (PEM): serve HTTPS.")
@click.option("--keyfile", type=click.Path(exists=True, dir_okay=False), help="TLS private key (PEM).")
@click.option("--lti-config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              envvar="THBCOURSE_LTI_CONFIG",
              help="Also be an LTI 1.3 tool for the platforms in this file (docs/platforms-lti.md).")
@DB_OPTION
@reports_problems
def serve(host: str, port: int, lan: bool, workers: int, certfile: str | None, keyfile: str | None,
          lti_config: Path | None, db: str | None) -> None:
    """Run the classroom web app: live quizzes for a cohort, self-study, score downloads."""
    from thbcourse.web import serve as run

    if bool(certfile) != bool(keyfile):
        raise click.UsageError("--certfile and --keyfile go together")
    try:
        run(host, port, db=db, lan=lan, quizzes=QUIZZES, workers=workers, certfile=certfile, keyfile=keyfile,
            lti_config=lti_config)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
