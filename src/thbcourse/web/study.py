"""Self-study in the browser: any self-check or practice quiz, with feedback right after each answer.

Each attempt is a one-learner quiz session (mode 'self-study') in the gradebook; an answered
question is closed for good, so its key and feedback can be shown at once.

Limits: a learner has at most one unfinished attempt per quiz (starting it again, from any device,
continues it); each client address may start STUDY_LIMIT attempts per hour (counted in the gradebook,
shared by every worker); an attempt left for live.STUDY_IDLE_HOURS is totalled and leaves memory.
A self-check or practice quiz never draws a question reserved for assessment (live.Live._blueprint).
"""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

import secrets

from thbcourse.web.auth import OFFICER_HOURS, new_token, set_cookie
from thbcourse.web.live import LiveSession, Participant, Refused
from thbcourse.web.officer import (LEARNER_ID, LEARNER_ID_HELP, confirm_page, item_number, paper_context,
                                   result_context, store_answer)
from thbcourse.web.pages import STUDY_COOKIE, checked_form, client, officer, redirect, render, web
from thbcourse.web.questions import review

PURPOSES = ("self-check", "practice")
STUDY_LIMIT = (30, 3600.0)  # self-study attempts started per client address per hour


def studyable(request: Request):
    """What /study offers: self-checks and practice quizzes that can be drawn, by purpose and title."""
    live = web(request).live
    return sorted((bp for bp in web(request).course.blueprints.values() if bp.purpose in PURPOSES
                   and live.drawable(bp.id)), key=lambda bp: (bp.purpose, bp.title))


async def quizzes(request: Request):
    return render(request, "study/list.html", {"blueprints": studyable(request)})


def _blueprint(request: Request):
    found = web(request).course.blueprints.get(request.path_params["blueprint"])
    if found is None or found.purpose not in PURPOSES:
        raise HTTPException(404, "There is no such self-check or practice quiz.")
    if not web(request).live.drawable(found.id):
        raise HTTPException(404, "This quiz cannot be drawn without questions reserved for the exam or the "
                                 "post-test, so it is not offered here.")
    return found


async def start_form(request: Request):
    return render(request, "study/start.html", {"bp": _blueprint(request), "learner": ""})


async def start(request: Request):
    form = await checked_form(request)
    bp, learner = _blueprint(request), str(form.get("learner", "")).strip()
    if not LEARNER_ID.fullmatch(learner):
        return render(request, "study/start.html", {"bp": bp, "learner": learner, "error": LEARNER_ID_HELP},
                      status=422)
    w, fresh = web(request), new_token()
    if w.study_limit is not None and not await run_in_threadpool(w.study_limit.allow, client(request)):
        wait = await run_in_threadpool(w.study_limit.retry_after, client(request))
        return render(request, "study/start.html", {"bp": bp, "learner": learner, "error": (
            f"Too many quizzes started from this device. Wait {wait} seconds and try again.")},
            status=429, headers={"Retry-After": str(wait)})
    try:
        s, p = await run_in_threadpool(w.live.study, bp.id, learner, fresh)
    except Refused as err:
        return render(request, "study/start.html", {"bp": bp, "learner": learner, "error": str(err)},
                      status=err.status)
    _, cookie = w.officers.issue((s.id, p.learner), token=fresh)
    response = redirect("/study/attempt")
    set_cookie(response, STUDY_COOKIE, cookie, max_age=OFFICER_HOURS * 3600, secure=w.secure)
    return response


def _studying(request: Request) -> tuple[LiveSession, Participant]:
    found = officer(request, STUDY_COOKIE)
    if found is None:
        raise HTTPException(403, "Start a quiz first: choose one on the self-study page.")
    return found


async def attempt(request: Request):
    if officer(request, STUDY_COOKIE) is None:
        return redirect("/study")
    s, p = _studying(request)
    return await _page(request, s, p, item_number(request.query_params.get("q"), p))


async def answer(request: Request):
    form = await checked_form(request)
    s, p = _studying(request)
    number, refused = await store_answer(request, s, p, form, _page)
    return refused or redirect(f"/study/attempt?q={number}")


async def finish(request: Request):
    form = await checked_form(request)
    s, p = _studying(request)
    if form.get("confirm") != "yes":  # finishing cannot be undone: ask first (no script needed)
        return confirm_page(request, "/study/attempt/finish", "Finish this quiz?",
                            "Questions you have not answered count as wrong, and you cannot answer them later.",
                            "Yes, finish", "/study/attempt")
    await run_in_threadpool(web(request).live.finish_paper, s, p)
    return redirect("/study/attempt")


async def _page(request: Request, s: LiveSession, p: Participant, number: int | None, *, error: str | None = None,
                status: int = 200):
    live = web(request).live

    def context() -> dict:
        base = {"s": s, "p": p, "action": "/study/attempt", "study": True, "answer_id": secrets.token_urlsafe(18)}
        if p.done:
            return {**base, **result_context(live, s, p)}
        answers = live.answers(p)
        found = {**base, **paper_context(p, answers, number)}
        index = found["number"] - 1
        if live.feedback_visible(s, p, index, answers):
            item = p.paper.items[index]
            graded = live.result(p).marks[index].graded
            found["review"] = review(item, len(p.paper.items), answers.get(item.question.id), graded)
        return found

    found = await run_in_threadpool(context)
    if error:
        found["error"] = error
    return render(request, "result.html" if "result" in found else "study/question.html", found, status=status)


routes = [
    Route("/study", quizzes, methods=["GET"]),
    Route("/study/attempt", attempt, methods=["GET"]),
    Route("/study/attempt/answer", answer, methods=["POST"]),
    Route("/study/attempt/finish", finish, methods=["POST"]),
    Route("/study/{blueprint}", start_form, methods=["GET"]),
    Route("/study/{blueprint}", start, methods=["POST"]),
]
