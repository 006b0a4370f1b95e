"""What every route shares: the app's parts, page rendering, form checks and the sign-in guard."""
from __future__ import annotations

import functools
from urllib.parse import quote
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from thbcourse.store.gradebook import learner_key
from thbcourse.web.auth import CSRF_COOKIE, TRAINER_COOKIE, Csrf, Tokens, set_cookie
from thbcourse.web.live import Live, LiveSession, Participant

HERE = Path(__file__).parent
OFFICER_COOKIE, STUDY_COOKIE = "thb_officer", "thb_study"
CSRF_MAX_AGE = 24 * 3600
MAX_FIELDS = 200  # form fields in one request; a file is never accepted


@dataclass
class Web:
    """The app's parts, at request.app.state.web."""

    course: object
    engine: object
    live: Live
    templates: Jinja2Templates
    csrf: Csrf
    trainers: Tokens  # trainer sign-ins
    officers: object  # auth.Passes: learners in a live session or a self-study attempt: (session id, learner)
    password: dict  # the trainer password's scrypt hash
    join_limit: object  # auth.SharedRateLimit (or RateLimit): .allow(key), .retry_after(key)
    sign_in_limit: object
    join_base: str | None  # the address learners' phones use, when it is not the one the trainer uses
    study_limit: object = None  # self-study attempts started per client address
    secure: bool = False  # served over TLS: every cookie is Secure


def web(request: Request) -> Web:
    return request.app.state.web


def templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["g"] = lambda x: f"{x:g}"
    return Jinja2Templates(env=env)


def render(request: Request, name: str, context: dict | None = None, status: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    w = web(request)
    browser, new = w.csrf.browser(request)
    page = {"csrf": w.csrf.token_for(browser), "signed_in": is_trainer(request), **(context or {})}
    response = w.templates.TemplateResponse(request, name, page, status_code=status, headers=headers)
    if new:
        set_cookie(response, CSRF_COOKIE, browser, max_age=CSRF_MAX_AGE, secure=w.secure)
    return response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def checked_form(request: Request):
    """The submitted form, once its CSRF token is found good (else 403). A form that sends a file (or
    too many fields) is refused with 400: no field of any form here is a file."""
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    if any(not isinstance(value, str) for _, value in form.multi_items()):  # belt and braces
        raise HTTPException(400, "This form takes no files.")
    if not web(request).csrf.valid(request, form.get("csrf")):
        raise HTTPException(403, "The form has expired or came from another site. Go back, reload the page "
                                 "and try again.")
    return form


def client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_trainer(request: Request) -> bool:
    return web(request).trainers.read(request.cookies.get(TRAINER_COOKIE)) is not None


def trainer_only(endpoint):
    """Every trainer and admin page and action: signed in, or sent to the sign-in page."""
    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Response:
        if not is_trainer(request):
            if request.method == "GET":
                return redirect(f"/trainer/sign-in?next={quote(request.url.path)}")
            raise HTTPException(403, "Sign in as the trainer first.")
        return await endpoint(request)
    return guarded


def officer(request: Request, cookie: str) -> tuple[LiveSession, Participant] | None:
    """The learner this browser is, in which session; None once another browser has taken over."""
    w = web(request)
    found = w.officers.read(request.cookies.get(cookie))
    if found is None:
        return None
    token, (sid, learner) = found
    session = w.live.get(sid)
    if session is None:
        return None
    key = learner_key(learner)
    p = session.participants.get(key)
    if p is None or p.token != token:  # perhaps changed by another worker: look again in the gradebook
        w.live.refresh(session)
        p = session.participants.get(key)
        if p is None or p.token != token:
            return None
    return session, p


def session_of(request: Request) -> LiveSession:
    try:
        found = web(request).live.get(int(request.path_params["sid"]))
    except ValueError:
        found = None
    if found is None or found.mode == "self-study":
        raise HTTPException(404, "There is no such session.")
    return found
