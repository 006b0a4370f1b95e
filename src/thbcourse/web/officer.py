"""Officers in a live session: join with the code and a learner id, answer on a phone, see feedback.

A learner's page shows the key and the feedback of a question only once `Live.feedback_visible` says
the question is closed for that learner; every answer is graded by the engine and stored before the
page that confirms it is sent.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import re
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from thbcourse.engine.grade import ResponseError
from thbcourse.store.gradebook import learner_key
from thbcourse.web.auth import OFFICER_HOURS, new_token, set_cookie
from thbcourse.web.live import LiveSession, Participant, Refused
from thbcourse.web.pages import OFFICER_COOKIE, checked_form, client, officer, redirect, render, web
from thbcourse.web.questions import describe, form_state, read_answer, review, view

LEARNER_ID = re.compile(r"\w[\w.@-]{0,99}")
LEARNER_ID_HELP = "A learner id is 1 to 100 letters, digits, '.', '_', '-' or '@', starting with a letter or digit."
ANSWER_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")  # made by the page (a form field): a resent answer counts once


async def join_form(request: Request):
    code = request.query_params.get("code", "")[:20]
    return render(request, "officer/join.html", {"code": code, "learner": "", "device": secrets.token_urlsafe(18)})


def _device_token(request: Request, device) -> str:
    """The token a join form's device id stands for: a join whose reply was lost and that is sent again
    (the same form) is the same device, not a second one locked out."""
    if isinstance(device, str) and ANSWER_ID.fullmatch(device):
        return hmac.new(web(request).csrf.key, b"device:" + device.encode(), hashlib.sha256).hexdigest()[:43]
    return new_token()


async def join(request: Request):
    w = web(request)
    if not await run_in_threadpool(w.join_limit.allow, client(request)):
        wait = await run_in_threadpool(w.join_limit.retry_after, client(request))
        return render(request, "officer/join.html", {"code": "", "learner": "", "error": (
            f"Too many attempts from this device. Wait {wait} seconds and try again.")},
            status=429, headers={"Retry-After": str(wait)})
    form = await checked_form(request)
    code, learner = str(form.get("code", "")).strip()[:20], str(form.get("learner", "")).strip()
    page = {"code": code, "learner": learner, "device": secrets.token_urlsafe(18)}
    if not LEARNER_ID.fullmatch(learner):
        return render(request, "officer/join.html", {**page, "error": LEARNER_ID_HELP}, status=422)
    session = await run_in_threadpool(w.live.find, code)
    if session is None:
        return render(request, "officer/join.html", {**page, "error": "No session has this code. Check the code "
                                                                       "on the projector."}, status=404)
    held = w.officers.read(request.cookies.get(OFFICER_COOKIE))
    token = held[0] if held and held[1][0] == session.id and learner_key(held[1][1]) == learner_key(learner) else None
    fresh = _device_token(request, form.get("device"))
    try:
        p = await run_in_threadpool(w.live.join, session, learner, token=token, fresh_token=fresh)
    except Refused as err:
        return render(request, "officer/join.html", {**page, "error": str(err)}, status=err.status)
    response = redirect("/play")
    if p.token == fresh:
        _, cookie = w.officers.issue((session.id, learner), token=fresh)
        set_cookie(response, OFFICER_COOKIE, cookie, max_age=OFFICER_HOURS * 3600, secure=w.secure)
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
    answer_id = str(form.get("answer_id", ""))
    if not ANSWER_ID.fullmatch(answer_id):
        answer_id = None  # a form without one (an old page): this answer is not idempotent
    try:
        response = read_answer(p.paper.items[number - 1], form)
        await asyncio.wrap_future(web(request).live.enqueue(s, p, number, response, answer_id))
    except ResponseError as err:
        return number, await show(request, s, p, number, error=f"Not saved: {err}.", status=422)
    except Refused as err:
        return number, await show(request, s, p, number, error=str(err), status=err.status)
    except Exception:  # noqa: BLE001  (the gradebook did not answer: nothing was stored, say so)
        return number, await show(request, s, p, number, error="Not saved: the gradebook is busy. Send your "
                                  "answer again.", status=503)
    return number, None


async def finish(request: Request):
    form = await checked_form(request)
    s, p = _joined(request)
    if s.mode != "self-paced":
        raise HTTPException(409, "The trainer ends this session.")
    if form.get("confirm") != "yes":  # handing in cannot be undone: ask first (no script needed)
        return confirm_page(request, "/play/finish", "Hand in your paper?",
                            f"{_unanswered(web(request).live, p)} question(s) not answered. After handing in "
                            "you cannot change any answer.", "Yes, hand in", "/play")
    await run_in_threadpool(web(request).live.finish_paper, s, p)
    return redirect("/play")


def _unanswered(live, p: Participant) -> int:
    answered = live.answers(p)
    return sum(item.question.id not in answered for item in p.paper.items)


def confirm_page(request: Request, action: str, title: str, text: str, button: str, back: str, fields=None):
    """The page that asks before an action that cannot be undone (End, Hand in, Finish)."""
    return render(request, "confirm.html", {"action": action, "title": title, "text": text, "button": button,
                                            "back": back, "fields": fields or {}})


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
            "saved": request.query_params.get("saved"), "answer_id": secrets.token_urlsafe(18)}
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
