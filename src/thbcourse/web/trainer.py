"""The trainer: sign in, start a session for a cohort, run it from the control view; the projector
view shows only what the room may see.

The control view (/trainer/sessions/{sid}, on the trainer's laptop or phone) has the actions at the
top, the answer count and distribution and the key. The projector view (.../projector) shows the join
code and a QR code of the join address (drawn here by segno, inline SVG), the open question, the
answer distribution once the question is closed (while it is open only in sessions started with live
bars, never for an exam or post-test blueprint), the key and explanation once revealed, and at the
end the score distribution and the questions most got wrong. Every action names the question and
step it was made on (`at`) and is refused when the session has moved on since (a stale second tab);
ending a session asks for confirmation first.
"""
from __future__ import annotations

from collections import Counter

import segno
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from thbcourse.deliveries.markdown import to_html
from thbcourse.engine.answers import letter
from thbcourse.engine.draw import PaperItem
from thbcourse.store import live as queries
from thbcourse.store.codec import load_response
from thbcourse.store.db import writer
from thbcourse.store.gradebook import create_cohort, list_cohorts
from thbcourse.web.auth import TRAINER_COOKIE, TRAINER_HOURS, check_password, set_cookie
from thbcourse.web.live import LiveSession, Refused
from thbcourse.web.officer import confirm_page
from thbcourse.web.pages import (checked_form, client, is_trainer, redirect, render, session_of, trainer_only,
                                 web)
from thbcourse.web.questions import key, key_labels, view

CREATED_BY = "trainer (web)"
ACTIONS = {"next": "open_next", "close": "close_question", "reopen": "reopen", "reveal": "reveal",
           "finish": "finish"}
RECENT_HOURS = 12  # finished sessions listed on the dashboard


def _safe_next(target) -> str:
    """Only a path on this site: never an open redirect."""
    target = str(target or "")
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/trainer"


async def sign_in_form(request: Request):
    if is_trainer(request):
        return redirect("/trainer")
    return render(request, "trainer/sign_in.html", {"next": _safe_next(request.query_params.get("next"))})


async def sign_in(request: Request):
    w = web(request)
    if not await run_in_threadpool(w.sign_in_limit.allow, client(request)):
        wait = await run_in_threadpool(w.sign_in_limit.retry_after, client(request))
        return render(request, "trainer/sign_in.html", {"next": "/trainer", "error": (
            f"Too many attempts. Wait {wait} seconds and try again.")}, status=429, headers={"Retry-After": str(wait)})
    form = await checked_form(request)
    target = _safe_next(form.get("next"))
    if not await run_in_threadpool(check_password, str(form.get("password", "")), w.password):
        return render(request, "trainer/sign_in.html", {"next": target, "error": "Wrong password."}, status=401)
    held = await run_in_threadpool(w.trainers.read, request.cookies.get(TRAINER_COOKIE))
    if held:
        await run_in_threadpool(w.trainers.revoke, held[0])
    _, cookie = await run_in_threadpool(w.trainers.issue, "trainer")  # a new token at each sign-in
    response = redirect(target)
    set_cookie(response, TRAINER_COOKIE, cookie, max_age=TRAINER_HOURS * 3600, strict=True, secure=w.secure)
    return response


@trainer_only
async def sign_out(request: Request):
    await checked_form(request)
    w = web(request)
    held = w.trainers.read(request.cookies.get(TRAINER_COOKIE))
    if held:
        w.trainers.revoke(held[0])
    response = redirect("/")
    response.delete_cookie(TRAINER_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _cohorts(w) -> list[str]:
    with w.engine.connect() as conn:
        return [name for name, _, _ in list_cohorts(conn)]


@trainer_only
async def dashboard(request: Request):
    return await _dashboard(request)


async def _dashboard(request: Request, error: str | None = None, status: int = 200):
    w = web(request)

    def listed() -> list[dict]:
        with w.engine.connect() as conn:
            rows = queries.class_sessions(conn, w.live.clock() - RECENT_HOURS * 3600)
        return [{**r, "title": w.course.blueprints[r["blueprint"]].title if r["blueprint"] in w.course.blueprints
                 else r["blueprint"], "earlier": r["created_at"] < w.live.started_at and r["ended_at"] is None,
                 "at": f"{r['current']}:{r['step'] or 'none'}:{r['phase']}"} for r in rows]

    return render(request, "trainer/dashboard.html", {
        "blueprints": sorted(w.course.blueprints.values(), key=lambda bp: bp.title),
        "cohorts": await run_in_threadpool(_cohorts, w), "sessions": await run_in_threadpool(listed),
        "error": error}, status=status)


@trainer_only
async def create(request: Request):
    form = await checked_form(request)
    w = web(request)
    blueprint, mode = str(form.get("blueprint", "")), str(form.get("mode", ""))
    cohort = str(form.get("new_cohort", "")).strip()[:200] or str(form.get("cohort", "")).strip() or None
    if blueprint not in w.course.blueprints or mode not in ("paced", "self-paced"):
        return await _dashboard(request, "Choose a quiz and a mode.", 422)
    limit_text = str(form.get("time_limit", "")).strip()
    if limit_text and not (limit_text.isdigit() and 1 <= int(limit_text) <= 600):
        return await _dashboard(request, "The time limit is a number of minutes from 1 to 600.", 422)
    time_limit = int(limit_text) if limit_text else w.course.blueprints[blueprint].time_limit
    show_bars = form.get("show_bars") == "on"

    def start() -> LiveSession:
        if cohort and cohort not in _cohorts(w):
            with writer(w.engine).begin() as conn:
                create_cohort(conn, cohort)
        return w.live.create(blueprint, mode, cohort=cohort, time_limit=time_limit, created_by=CREATED_BY,
                             show_bars=show_bars)

    s = await run_in_threadpool(start)
    return redirect(f"/trainer/sessions/{s.id}")


def join_url(request: Request, s: LiveSession) -> str:
    base = web(request).join_base or str(request.base_url).rstrip("/")
    return f"{base}/join?code={s.code}"


def qr_svg(url: str) -> Markup:
    svg = segno.make(url, error="m").svg_inline(scale=1, omitsize=True, title="QR code of the join address",
                                                dark="#000", light="#fff", border=4)
    return Markup(svg)


@trainer_only
async def control_view(request: Request):
    """The trainer's own view: the actions first, then the answers coming in (not for the projector)."""
    s = session_of(request)
    url = join_url(request, s)
    context = await run_in_threadpool(projector_context, web(request), s, True)
    return render(request, "trainer/projector.html", {**context, "join_url": url, "control": True})


@trainer_only
async def projector(request: Request):
    s = session_of(request)
    url = join_url(request, s)
    context = await run_in_threadpool(projector_context, web(request), s, False)
    return render(request, "trainer/projector.html", {**context, "join_url": url, "qr": qr_svg(url), "control": False})


@trainer_only
async def live_state(request: Request):
    """The views' poll: the version (reload when it moves) and the figures to update in place (the
    projector's bars only where the projector may show them)."""
    s = session_of(request)
    control = request.query_params.get("view") == "control"
    context = await run_in_threadpool(projector_context, web(request), s, control)
    fields = {"joined": context["joined"], "handed-in": context["handed_in"]}
    meters = {}
    dist = context.get("distribution")
    if dist:
        fields["answered"] = dist["answered"]
        for bar in dist["bars"]:
            fields[f"count-{bar['label']}"] = bar["count"]
            meters[f"meter-{bar['label']}"] = [bar["count"], max(dist["answered"], 1)]
    return JSONResponse({"version": s.version, "fields": fields, "meters": meters})


def bars_shown(s: LiveSession, control: bool) -> bool:
    """The answer distribution: always on the trainer's control view; on the projector once the
    question is closed, or while it is open only when the session has live bars (never for an exam
    or a post-test: the room must not follow the majority)."""
    return control or s.step in ("closed", "revealed") or s.bars_live


def projector_context(w, s: LiveSession, control: bool = False) -> dict:
    participants = list(s.participants.values())
    for p in participants:  # self-paced papers whose time ran out are handed in
        w.live.settle(s, p)
    context = {"s": s, "joined": len(participants), "handed_in": sum(p.done for p in participants),
               "poll": f"/trainer/sessions/{s.id}/state" + ("?view=control" if control else ""),
               "version": s.version, "bars_shown": bars_shown(s, control)}
    item = s.item()
    if item is not None and not s.finished:
        revealed = s.step == "revealed"
        dist = distribution(w, s, item, revealed)
        if not context["bars_shown"]:
            dist = {**dist, "bars": [], "verdicts": None}
        context.update(question=view(item, len(s.paper.items)), distribution=dist)
        if control:
            context["trainer_key"] = key(item)
        if revealed:
            context.update(key=key(item), explanation=Markup(to_html(item.question.feedback)),
                           source=item.question.source)
    if s.finished:
        context["summary"] = summary(w, s)
    return context


def distribution(w, s: LiveSession, item: PaperItem, revealed: bool) -> dict:
    """How many chose what (options and true/false); right, partly right and wrong once revealed."""
    with w.engine.connect() as conn:
        rows = queries.answer_counts(conn, s.id, item.question.id)
    q = item.question
    counts: Counter[str] = Counter()
    bars = []
    if q.type in ("single", "multiple"):
        position = {canonical: n for n, canonical in enumerate(item.order)}
        for answer, _, _, n in rows:
            value = load_response(q.type, answer)
            for i in [value] if q.type == "single" else value:
                counts[letter(position[i])] += n
        keys = key_labels(item) if revealed else set()
        bars = [{"label": c.label, "html": c.html, "count": counts[c.label], "key": c.label in keys}
                for c in view(item, 0).choices]
    elif q.type == "true_false":
        for answer, _, _, n in rows:
            counts["True" if load_response(q.type, answer) else "False"] += n
        bars = [{"label": label, "html": label, "count": counts[label],
                 "key": revealed and q.answer == (label == "True")} for label in ("True", "False")]
    verdicts = None
    if revealed:
        verdicts = Counter()
        for _, score, mx, n in rows:
            verdicts["right" if score >= mx - 1e-9 else "partly right" if score > 0 else "wrong"] += n
    return {"answered": sum(n for *_, n in rows), "bars": bars, "verdicts": verdicts}


def summary(w, s: LiveSession) -> dict:
    """The score distribution (in tenths of the maximum) and the five questions most got wrong."""
    with w.engine.connect() as conn:
        percents = queries.attempt_percents(conn, s.id)
        questions = queries.question_results(conn, s.id)
    done = [(pc, passed) for _, pc, passed in percents if pc is not None]
    bins = [0] * 10
    for pc, _ in done:
        bins[min(int(pc // 10), 9)] += 1
    labels = [f"{10 * i}–{10 * i + 9} %" for i in range(9)] + ["90–100 %"]
    missed = []
    for qid, n, share, full in questions:
        if share is None or share >= 1 - 1e-9 or len(missed) == 5:
            continue
        item = _item_of(s, qid)
        missed.append({"id": qid, "question": view(item, 0), "n": n, "percent": 100 * share, "full": full,
                       "key": key(item), "explanation": Markup(to_html(item.question.feedback))})
    return {"count": len(done), "passed": sum(bool(p) for _, p in done),
            "mean": sum(pc for pc, _ in done) / len(done) if done else 0.0,
            "bins": [{"label": label, "count": c} for label, c in zip(labels, bins)],
            "most": max(bins) or 1, "missed": missed}


def _item_of(s: LiveSession, qid: str) -> PaperItem:
    papers = [s.paper] if s.paper else [p.paper for p in s.participants.values()]
    return next(item for paper in papers for item in paper.items if item.question.id == qid)


@trainer_only
async def control(request: Request):
    form = await checked_form(request)
    s, action = session_of(request), request.path_params["action"]
    if action not in ACTIONS or (action != "finish" and s.mode != "paced"):
        raise HTTPException(404, "There is no such action.")
    at = str(form.get("at", ""))[:40]
    if not at:
        raise HTTPException(400, "The action does not say which question it was made on. Reload the page.")
    if action == "finish" and form.get("confirm") != "yes":
        return confirm_page(request, f"/trainer/sessions/{s.id}/finish", "End the session?",
                            "Every paper still open is totalled now (unanswered questions count 0) and no "
                            "one can answer any more. This cannot be undone.", "Yes, end the session and total "
                            "the scores", f"/trainer/sessions/{s.id}", {"at": at})
    try:
        await run_in_threadpool(getattr(web(request).live, ACTIONS[action]), s, at)
    except Refused as err:
        context = await run_in_threadpool(projector_context, web(request), s, True)
        return render(request, "trainer/projector.html", {**context, "join_url": join_url(request, s),
                                                          "control": True, "error": str(err)}, status=err.status)
    return redirect(f"/trainer/sessions/{s.id}")


@trainer_only
async def learners(request: Request):
    s = session_of(request)
    w = web(request)

    def rows() -> list[dict]:
        with w.engine.connect() as conn:
            answered = queries.answered_per_attempt(conn, s.id)
            percents = {code: pc for code, pc, _ in queries.attempt_percents(conn, s.id)}
        return [{"learner": p.learner, "answered": answered.get(p.attempt, 0), "total": len(p.paper.items),
                 "done": p.done, "percent": percents.get(p.learner), "bound": p.token is not None,
                 "waiting": p.waiting_count, "waiting_since": _clock_text(p.waiting_at)}
                for p in sorted(s.participants.values(), key=lambda p: p.learner)]

    return render(request, "trainer/learners.html", {"s": s, "rows": await run_in_threadpool(rows)})


@trainer_only
async def release(request: Request):
    form = await checked_form(request)
    s = session_of(request)
    paper = str(form.get("paper", ""))
    keep = {"keep": True, "empty": False}.get(paper)  # none given: empty with a roster, kept without
    await run_in_threadpool(lambda: web(request).live.release(s, str(form.get("learner", "")), keep=keep))
    return redirect(f"/trainer/sessions/{s.id}/learners")


def _clock_text(at: float | None) -> str:
    from datetime import datetime

    return "" if at is None else datetime.fromtimestamp(at).strftime("%H:%M:%S")


routes = [
    Route("/trainer/sign-in", sign_in_form, methods=["GET"]),
    Route("/trainer/sign-in", sign_in, methods=["POST"]),
    Route("/trainer/sign-out", sign_out, methods=["POST"]),
    Route("/trainer", dashboard, methods=["GET"]),
    Route("/trainer/sessions", create, methods=["POST"]),
    Route("/trainer/sessions/{sid}", control_view, methods=["GET"]),
    Route("/trainer/sessions/{sid}/projector", projector, methods=["GET"]),
    Route("/trainer/sessions/{sid}/state", live_state, methods=["GET"]),
    Route("/trainer/sessions/{sid}/learners", learners, methods=["GET"]),
    Route("/trainer/sessions/{sid}/release", release, methods=["POST"]),
    Route("/trainer/sessions/{sid}/{action}", control, methods=["POST"]),
]
