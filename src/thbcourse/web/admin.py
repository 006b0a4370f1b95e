"""Course admins: download the score exports (CSV or XLSX), behind the trainer sign-in.

The file is made by `thbcourse.store.exports.export_scores`, the same function as `thbcourse scores
export`: same columns, same formula neutralising, and the same entry in the export log.
"""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from thbcourse.store.exports import POLICIES, export_scores
from thbcourse.store.gradebook import GradebookError, list_cohorts, now
from thbcourse.web.pages import checked_form, client, render, trainer_only, web

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
BREAKDOWNS = ("per_topic", "per_objective", "per_question")


async def _page(request: Request, error: str | None = None, status: int = 200):
    w = web(request)

    def cohorts() -> list[str]:
        with w.engine.connect() as conn:
            return [name for name, _, _ in list_cohorts(conn)]

    return render(request, "admin/exports.html", {
        "cohorts": await run_in_threadpool(cohorts), "quizzes": sorted(w.course.blueprints), "policies": POLICIES,
        "error": error}, status=status)


@trainer_only
async def exports(request: Request):
    return await _page(request)


@trainer_only
async def download(request: Request):
    form = await checked_form(request)
    w = web(request)
    fmt, policy = str(form.get("format", "")), str(form.get("policy", ""))
    cohort, quiz = str(form.get("cohort", "")) or None, str(form.get("quiz", "")) or None
    if fmt not in FORMATS or policy not in POLICIES or (quiz and quiz not in w.course.blueprints):
        return await _page(request, "Choose a format, a policy and (optionally) a quiz from the lists.", 422)
    options = {name: form.get(name) == "on" for name in (*BREAKDOWNS, "with_names")}
    folder = Path(tempfile.mkdtemp(prefix="thbcourse-export-"))
    name = f"scores-{now():%Y%m%d-%H%M%S}.{fmt}"
    try:
        await run_in_threadpool(export_scores, w.engine, folder / name, who=f"trainer (web, {client(request)})",
                                fmt=fmt, policy=policy, cohort=cohort, quizzes=(quiz,) if quiz else (), **options)
    except GradebookError as err:  # a cohort that is not (or no longer) in the gradebook
        shutil.rmtree(folder, ignore_errors=True)
        return await _page(request, str(err), 422)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(folder / name, media_type=FORMATS[fmt], filename=name,
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


routes = [
    Route("/admin/exports", exports, methods=["GET"]),
    Route("/admin/exports", download, methods=["POST"]),
]
