"""The trainer's "Learning gain" page and the officer's "What to revise" list.

The trainer page shows the same report as `thbcourse gain` (thbcourse.analysis.cohort_report builds
both, plots included: matplotlib SVG with presentation attributes only, so the page's content
security policy needs no 'unsafe-inline'), and offers its files as downloads, each written to the
export log like the score exports. The officer's list is `thbcourse revise --learner` in the browser.
matplotlib and scipy load on the first report, not when the app starts.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from markupsafe import Markup
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from thbcourse.store.gradebook import GradebookError, list_cohorts, now
from thbcourse.web.officer import LEARNER_ID, LEARNER_ID_HELP
from thbcourse.web.pages import checked_form, client, redirect, render, trainer_only, web

POLICIES = ("first", "best", "last")
BOOK = Path(".")  # the folder of book/ and _toc.yml, as for `thbcourse serve`
DOWNLOADS = {"html": "text/html; charset=utf-8", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "learners.csv": "text/csv; charset=utf-8", "objectives.csv": "text/csv; charset=utf-8",
             "revise.csv": "text/csv; charset=utf-8"}


def _options(source) -> tuple[dict, str | None]:
    """cohort, policy and threshold from a query or a form; an error text when one is wrong."""
    cohort = str(source.get("cohort", "")).strip()
    policy = str(source.get("policy", "first"))
    text = str(source.get("threshold", "70")).strip() or "70"
    try:
        threshold = float(text)
    except ValueError:
        threshold = -1.0
    options = {"cohort": cohort, "policy": policy, "threshold": threshold}
    if policy not in POLICIES:
        return options, "Choose a policy from the list."
    if not 0 <= threshold <= 100:
        return {**options, "threshold": 70.0}, "The threshold is a percentage from 0 to 100."
    return options, None


def _report(w, options: dict):
    from thbcourse.analysis.gain import gain_report

    return gain_report(w.engine, w.course, options["cohort"], policy=options["policy"],
                       threshold=options["threshold"], book_root=BOOK)


@trainer_only
async def page(request: Request):
    w = web(request)
    options, error = _options(request.query_params)

    def build() -> dict:
        with w.engine.connect() as conn:
            cohorts = [name for name, _, _ in list_cohorts(conn)]
        found = {"cohorts": cohorts, **options, "policies": POLICIES}
        if options["cohort"] and not error:
            from thbcourse.analysis.cohort_report import render_body

            try:
                found["body"] = Markup(render_body(_report(w, options)))
            except GradebookError as err:
                found["error"] = str(err)
        return found

    context = await run_in_threadpool(build)
    if error:
        context["error"] = error
    return render(request, "trainer/gain.html", context, status=422 if "error" in context else 200)


@trainer_only
async def download(request: Request):
    form = await checked_form(request)
    w = web(request)
    options, error = _options(form)
    kind = str(form.get("download", ""))
    if error or kind not in DOWNLOADS or not options["cohort"]:
        return redirect("/trainer/gain")
    folder = Path(tempfile.mkdtemp(prefix="thbcourse-gain-"))

    def make() -> Path:
        from thbcourse.analysis.cohort_report import slug, write_report, write_xlsx
        from thbcourse.store.exports import log_export

        who = f"trainer (web, {client(request)})"
        base = f"{slug(options['cohort'])}-gain"
        if kind == "revise.csv":
            from thbcourse.analysis.mastery import export_revise

            target = folder / f"{slug(options['cohort'])}-revise.csv"
            export_revise(w.engine, w.course, options["cohort"], target, who=who, threshold=options["threshold"],
                          book_root=BOOK)
            return target
        report = _report(w, options)
        if kind == "xlsx":
            target = write_xlsx(report, folder / f"{base}.xlsx")
        else:
            written = write_report(report, folder)
            target = next(p for p in written if p.name == (f"{base}.html" if kind == "html" else f"{base}-{kind}"))
        log_export(w.engine, who=who, what=f"gain report {kind}", rows=len(report.learners),
                   details={"cohort": options["cohort"], "policy": options["policy"], "file": target.name})
        return target

    try:
        target = await run_in_threadpool(make)
    except GradebookError as err:
        shutil.rmtree(folder, ignore_errors=True)
        return render(request, "error.html", {"message": str(err)}, status=422)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    name = f"{target.stem}-{now():%Y%m%d-%H%M%S}{target.suffix}"
    return FileResponse(target, media_type=DOWNLOADS[kind], filename=name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


async def revise(request: Request):
    form = await checked_form(request)
    w = web(request)
    learner = str(form.get("learner", "")).strip()
    if not LEARNER_ID.fullmatch(learner):
        return render(request, "study/revise.html", {"learner": learner, "error": LEARNER_ID_HELP}, status=422)

    def plan():
        from thbcourse.analysis.mastery import revise_plan

        from thbcourse.store.gradebook import find_learner

        with w.engine.connect() as conn:
            found = find_learner(conn, learner)  # whatever the case it is typed in (learner_key)
        try:
            return revise_plan(w.engine, w.course, found[1] if found else learner, book_root=BOOK)
        except GradebookError:  # an id the gradebook does not know: nothing recorded yet
            return None

    return render(request, "study/revise.html", {"learner": learner, "plan": await run_in_threadpool(plan)})


async def revise_form(request: Request):
    return redirect("/study#revise")


routes = [
    Route("/trainer/gain", page, methods=["GET"]),
    Route("/trainer/gain", download, methods=["POST"]),
    Route("/study/revise", revise_form, methods=["GET"]),
    Route("/study/revise", revise, methods=["POST"]),
]
