"""The classroom web app: `create_app` builds it, `serve` runs it (`thbcourse serve`).

Pages are rendered on the server (Jinja2, autoescaped); one small script polls the live state. Routes
are split by audience: officer.py (joining and answering a live session), trainer.py (sessions and
the projector), admin.py (score exports), study.py (self-study with immediate feedback).
"""
from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from thbcourse.web import admin, gain, officer, study, trainer
from thbcourse.web.auth import (OFFICER_HOURS, TRAINER_HOURS, Csrf, Passes, SharedRateLimit, Tokens, app_secret,
                                credentials_path, load_or_create_password)
from thbcourse.web.live import Live, Refused
from thbcourse.web.workers import lifespan_for, serve_workers
from thbcourse.web.pages import HERE, Web, render, templates

JOIN_LIMIT = (20, 60.0)  # join attempts per client address per minute: guessing a code takes decades
SIGN_IN_LIMIT = (10, 300.0)  # trainer sign-in attempts per client address per five minutes
MAX_BODY = 64 * 1024
KEEP_ALIVE = 30  # seconds: longer than the pages' polling interval, so phones keep their connection

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]


class SecurityHeaders:
    """No inline script can run (CSP), no page can be framed, and no live page is cached."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + HEADERS + (
                    [] if static else [(b"cache-control", b"no-store")])
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def home(request: Request):
    return render(request, "home.html")


async def http_error(request: Request, exc: HTTPException):
    return render(request, "error.html", {"message": exc.detail}, status=exc.status_code)


async def refused(request: Request, exc: Refused):
    return render(request, "error.html", {"message": str(exc)}, status=exc.status)


def create_app(course, engine, *, password: dict, join_base: str | None = None,
               allowed_hosts: Sequence[str] | None = None, join_limit: tuple[int, float] = JOIN_LIMIT,
               sign_in_limit: tuple[int, float] = SIGN_IN_LIMIT, clock=time.time, lti=None,
               study_limit: tuple[int, float] = study.STUDY_LIMIT, secure: bool = False) -> Starlette:
    """The app for one course and gradebook. `password` is the trainer password's hash record
    (`auth.hash_password`); `join_base` the address shown to phones (default: the one in use);
    `secure`: served over TLS (cookies are Secure)."""
    secret = app_secret(engine)  # in the gradebook: the same for every worker and after a restart
    routes = [Route("/", home), *officer.routes, *gain.routes, *study.routes, *trainer.routes, *admin.routes,
              Mount("/static", StaticFiles(directory=HERE / "static"), name="static")]
    middleware = [Middleware(SecurityHeaders)]
    if allowed_hosts:  # against DNS rebinding: another site's name pointing at this address
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)))
    live = Live(course, engine, clock=clock)
    app = Starlette(routes=routes, middleware=middleware, max_body_size=MAX_BODY, lifespan=lifespan_for(live),
                    exception_handlers={HTTPException: http_error, Refused: refused})
    app.state.web = Web(
        course=course, engine=engine, live=live, templates=templates(),
        csrf=Csrf(secret), trainers=Tokens(secret, "trainer", TRAINER_HOURS * 3600, engine),
        officers=Passes(secret, "officer", OFFICER_HOURS * 3600), password=password,
        join_limit=SharedRateLimit(engine, "join", *join_limit),
        sign_in_limit=SharedRateLimit(engine, "sign-in", *sign_in_limit), join_base=join_base,
        study_limit=SharedRateLimit(engine, "study", *study_limit), secure=secure)
    if lti is not None:  # the LTI 1.3 tool (web/lti.py): /lti routes, its tables, the score sender
        lti.install(app)
    return app


def bind_address(host: str, lan: bool) -> str:
    """Loopback unless --lan: then the given address, or every interface when none was given."""
    loopback = _is_loopback(host)
    if not lan and not loopback:
        raise ValueError(f"{host} is not a loopback address: add --lan to serve the classroom network")
    return "0.0.0.0" if lan and loopback else host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lan_address() -> str:
    """This machine's address on the local network (no packet is sent: UDP connect only picks a route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def serve(host: str = "127.0.0.1", port: int = 8000, *, db: str | None = None, lan: bool = False,
          quizzes: Path | Sequence[Path] = Path("quizzes"), lti_config: Path | None = None, workers: int = 1,
          certfile: str | None = None, keyfile: str | None = None) -> None:
    """Run the classroom app until interrupted. The first start makes the trainer password and prints it once.
    `workers` > 1 needs a PostgreSQL gradebook; `certfile`/`keyfile` serve HTTPS (cookies then Secure)."""
    import uvicorn

    from thbcourse.bank.course import load_course
    from thbcourse.store.db import open_gradebook, resolve_url

    bind = bind_address(host, lan)
    course = load_course([Path(p) for p in ([quizzes] if isinstance(quizzes, (str, Path)) else quizzes)],
                         book_root=Path("."))
    engine = open_gradebook(db)
    path = credentials_path(resolve_url(db))
    password, new = load_or_create_password(path)
    if new:
        print(f"Trainer password (shown this once; only its hash is kept, in {path}): {new}")
        print(f"To make a new one, delete {path} and start again.")
    names = ["127.0.0.1", "localhost", "::1", "[::1]"]
    join_base = None
    if lan:
        address = host if bind == host else lan_address()
        names += [address, socket.gethostname(), f"{socket.gethostname()}.local"]
        join_base = f"{'https' if certfile else 'http'}://{address}:{port}"
        print(f"Learners join at {join_base}/join (the projector shows a QR code of it).")
    print(f"Trainer: {'https' if certfile else 'http'}://{'127.0.0.1' if bind == '0.0.0.0' else bind}:{port}/trainer")
    lti = None
    if lti_config is not None:  # LTI 1.3 tool (web/lti.py, docs/platforms-lti.md), checked before any worker starts
        from thbcourse.web.lti import load_tool
        lti = load_tool(lti_config, resolve_url(db), names=names,
                        base=join_base or f"{'https' if certfile else 'http'}://{bind}:{port}")
    if workers > 1 or engine.dialect.name == "sqlite":  # web/workers.py: PostgreSQL only; SQLite says so
        serve_workers(engine, workers, db=db, quizzes=quizzes, bind=bind, port=port, join_base=join_base,
                      allowed_hosts=names, certfile=certfile, keyfile=keyfile, keep_alive=KEEP_ALIVE,
                      lti_config=lti_config)
        if workers > 1:
            return
    app = create_app(course, engine, password=password, join_base=join_base, allowed_hosts=names, lti=lti,
                     secure=bool(certfile))
    uvicorn.run(app, host=bind, port=port, log_level="info", server_header=False, proxy_headers=False,
                timeout_keep_alive=KEEP_ALIVE, ssl_certfile=certfile, ssl_keyfile=keyfile)
