"""Officers in a live session: join with the code and a learner id, answer on a phone, see feedback.

A learner's page shows the key and the feedback of a question only once `Live.feedback_visible` says
the question is closed for that learner; every answer is graded by the engine and stored before the
page that confirms it is sent.
"""
from __future__ import annotations

import math
import re

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from thbcourse.engine.grade import ResponseError
from thbcourse.web.auth import OFFICER_HOURS, new_token, set_cookie
from thbcourse.web.live import LiveSession, Participant, Refused
from thbcourse.web.pages import OFFICER_COOKIE, checked_form, client, officer, redirect, render, web
from thbcourse.web.questions import describe, form_state, read_answer, review, view

LEARNER_ID = re.compile(r"\w[\w.@-]{0,99}")
LEARNER_ID_HELP = "A learner id is 1 to 100 letters, digits, '.', '_', '-' or '@', starting with a letter or digit."


async def join_form(request: Request):
    code = request.query_params.get("code", "")[:20]
    return render(request, "officer/join.html", {"code": code, "learner": ""})


async def join(request: Request):
    w = web(request)
    if not w.join_limit.allow(client(request)):
        wait = w.join_limit.retry_after(client(request))
        return render(request, "officer/join.html", {"code": "", "learner": "", "error": (
            f"Too many attempts from this device. Wait {wait} seconds and try again.")},
            status=429, headers={"Retry-After": str(wait)})
    form = await checked_form(request)
    code, learner = str(form.get("code", "")).strip()[:20], str(form.get("learner", "")).strip()
    page = {"code": code, "learner": learner}
    if not LEARNER_ID.fullmatch(learner):
        return render(request, "officer/join.html", {**page, "error": LEARNER_ID_HELP}, status=422)
    session = w.live.find(code)
    if session is None:
        return render(request, "officer/join.html", {**page, "error": "No session has this code. Check the code "
                                                                       "on the projector."}, status=404)
    held = w.officers.read(request.cookies.get(OFFICER_COOKIE))
    token = held[0] if held and held[1] == (session.id, learner) else None
    fresh = new_token()
    try:
        p = await run_in_threadpool(w.live.join, session, learner, token=token, fresh_token=fresh)
    except Refused as err:
        return render(request, "officer/join.html", {**page, "error": str(err)}, status=err.status)
    response = redirect("/play")
    if p.token == fresh:
        _, cookie = w.officers.issue((session.id, learner), token=fresh)
        set_cookie(response, OFFICER_COOKIE, cookie, max_age=OFFICER_HOURS * 3600)
    return response


def _joined(request: Request) -> tuple[LiveSession, Participant]:
    found = officer(request, OFFICER_COOKIE)
    if found is None:
        raise HTTPException(403, "Join the session first, with its code and your learner id.")
    return found


async def play(request: Request):
    if officer(request, OFFICER_COOKIE) is None:
        return redirect("/join")
    s, p = _joined(request)
    return await page(request, s, p, item_number(request.query_params.get("q"), p))


async def state(request: Request):
    """What the officer's page polls: only a version number, which changes when the page must reload."""
    found = officer(request, OFFICER_COOKIE)
    return JSONResponse({"version": found[0].version if found else -1})


async def answer(request: Request):
    form = await checked_form(request)
    s, p = _joined(request)
    number, refused = await store_answer(request, s, p, form, page)
    if refused is not None:
        return refused
    if s.mode == "paced":
        return redirect("/play?saved=1")
    return redirect(f"/play?q={min(number + 1, len(p.paper.items))}&saved={number}")


async def store_answer(request: Request, s: LiveSession, p: Participant, form, show) -> tuple[int, Response | None]:
    """Read the submitted answer, have it graded and stored: (question number, None), or the page
    `show` makes to say why it was not saved."""
    number = item_number(form.get("q"), p)
    if number is None:
        raise HTTPException(404, "There is no such question.")
    try:
        response = read_answer(p.paper.items[number - 1], form)
        await run_in_threadpool(web(request).live.submit, s, p, number, response)
    except ResponseError as err:
        return number, await show(request, s, p, number, error=f"Not saved: {err}.", status=422)
    except Refused as err:
        return number, await show(request, s, p, number, error=str(err), status=err.status)
    return number, None


async def finish(request: Request):
    await checked_form(request)
    s, p = _joined(request)
    if s.mode != "self-paced":
        raise HTTPException(409, "The trainer ends this session.")
    await run_in_threadpool(web(request).live.finish_paper, s, p)
    return redirect("/play")


def item_number(value, p: Participant) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= len(p.paper.items) else None


async def page(request: Request, s: LiveSession, p: Participant, number: int | None, *, error: str | None = None,
               status: int = 200):
    context = await run_in_threadpool(officer_context, request, s, p, number)
    if error:
        context["error"] = error
    template = "result.html" if "result" in context else "officer/play.html"
    return render(request, template, context, status=status)


def officer_context(request: Request, s: LiveSession, p: Participant, number: int | None) -> dict:
    """Everything the learner's page shows; the key and feedback only where the question is closed."""
    w = web(request)
    w.live.settle(s, p)
    base = {"s": s, "p": p, "poll": "/play/state", "version": s.version, "action": "/play",
            "saved": request.query_params.get("saved")}
    if p.done or s.finished:
        return {**base, **result_context(w.live, s, p)}
    answers = w.live.answers(p)
    if s.mode == "paced":
        item = s.item()
        if item is None:
            return {**base, "waiting": True}
        response = answers.get(item.question.id)
        base.update(question=view(item, len(p.paper.items)), number=item.number, step=s.step,
                    state=form_state(item, response), answered=response is not None)
        if s.step == "closed":
            base["yours"] = describe(item, response)
        if w.live.feedback_visible(s, p, s.current):
            graded = w.live.result(p).marks[s.current].graded
            base["review"] = review(item, len(p.paper.items), response, graded)
        return base
    left = None if p.deadline is None else max(0, math.ceil(p.deadline - w.live.clock()))
    return {**base, **paper_context(p, answers, number), "seconds_left": left}


def paper_context(p: Participant, answers: dict, number: int | None) -> dict:
    """A paper a learner moves through alone: the list of questions and the one on screen."""
    items = p.paper.items
    if number is None:
        number = next((i.number for i in items if i.question.id not in answers), 1)
    item = items[number - 1]
    response = answers.get(item.question.id)
    return {"number": number, "question": view(item, len(items)), "state": form_state(item, response),
            "answered": response is not None, "step": "open",
            "nav": [(i.number, i.question.id in answers) for i in items],
            "unanswered": sum(i.question.id not in answers for i in items)}


def result_context(live, s: LiveSession, p: Participant) -> dict:
    result = live.result(p)
    total = len(p.paper.items)
    reviews = [review(m.item, total, m.response, m.graded) for n, m in enumerate(result.marks)
               if live.feedback_visible(s, p, n)]
    topics = [(topic, score, mx, 100 * score / mx if mx else 0)
              for topic, (score, mx) in result.breakdown("topic").items()]
    return {"result": result, "reviews": reviews, "topics": topics, "reread": result.to_reread()}


routes = [
    Route("/join", join_form, methods=["GET"]),
    Route("/join", join, methods=["POST"]),
    Route("/play", play, methods=["GET"]),
    Route("/play/state", state, methods=["GET"]),
    Route("/play/answer", answer, methods=["POST"]),
    Route("/play/finish", finish, methods=["POST"]),
]
