"""The classroom app as an LTI 1.3 tool: OIDC login, resource-link launch, scores back through AGS.

A platform (Moodle, Canvas, ...) registered in the tool's configuration file (web/lti_config.py)
launches a link: the browser comes to /lti/login (third-party initiated login), goes to the
platform's authorisation endpoint and comes back to /lti/launch with a signed id token. PyLTI1p3
checks everything about that token (the platform's key set, signature, expiry, issuer, client id,
deployment, message type); this module only adapts PyLTI1p3 to Starlette, keeps its login state in
the database, and decides what the launch opens:

- a link whose custom parameter is `quiz=<blueprint>` starts that self-check or practice quiz in
  self-study at once (the same attempt /study starts);
- a link with `live=1` asks for the join code of the trainer's live session and joins it;
- any other link shows both: the list of self-study quizzes and the join form.

The learner is `lti-<hash of issuer and sub>`: the platform's pseudonymous user id, never a name
(unless `store_names: true` in the configuration). When an attempt started from a launch is complete,
its score goes to the platform's line item for that quiz (found or made through the link's line item
container, `resourceId` = the quiz), as scoreGiven / scoreMaximum, Completed, FullyGraded. A sender
thread does that off the request path; every POST wakes it, and it looks again every RETRY_SECONDS
for attempts closed some other way (a time limit, the trainer ending a session) and for retries.

PyLTI1p3 is used as shipped, with four adaptations made through its own extension points:
- request, cookies and redirect for Starlette (it ships Django and Flask ones);
- its session service is replaced by the database (store/lti.py): the state and nonce of a login are
  one row, and a launch consumes that row in one DELETE, so a nonce (or a state) works once; the
  library itself only checks that a nonce was issued, so a replayed launch would pass it;
- the checks run signature first and consume the nonce last, so a forged token cannot use up the
  nonce of a genuine launch;
- without HTTPS (a classroom laptop) browsers do not send the state cookie back on the platform's
  cross-site POST; the state is then checked in the database instead (issued by us, unused, at most
  ten minutes old, bound to the token's nonce). Behind HTTPS (`tool_url: https://...`) the cookie is
  SameSite=None; Secure and required, as PyLTI1p3 does it.
"""
from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from datetime import timezone
from urllib.parse import urlsplit

import requests
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.cookie import CookieService
from pylti1p3.exception import LtiException, LtiServiceException, OIDCException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.request import Request as LtiRequestBase
from pylti1p3.service_connector import REQUESTS_USER_AGENT, ServiceConnector
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfDict
from sqlalchemy import update
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from thbcourse.store import lti as store
from thbcourse.store.db import writer
from thbcourse.store.gradebook import learner_id
from thbcourse.store.tables import learners
from thbcourse.web.auth import OFFICER_HOURS, RateLimit, new_token, set_cookie
from thbcourse.web.live import Refused
from thbcourse.web.lti_config import KeyPair, LtiConfig
from thbcourse.web.pages import OFFICER_COOKIE, STUDY_COOKIE, checked_form, client, redirect, render, web
from thbcourse.web.study import studyable

log = logging.getLogger("thbcourse.lti")

LTI_COOKIE = "thb_lti"  # which launch this browser came from: (launch id, learner code)
LOGIN_LIMIT = (120, 60.0)  # OIDC logins per client address per minute: a class behind one address
RETRY_SECONDS = 30.0
HTTP_TIMEOUT = 15.0  # seconds, every request to a platform (key set, token, line items, scores)
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
LINE_ITEM_TAG = "thbcourse"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"


def learner_code(issuer: str, sub: str) -> str:
    """Our learner id for a platform user: stable, pseudonymous, no name in it."""
    return "lti-" + hashlib.sha256(f"{issuer}\n{sub}".encode()).hexdigest()[:20]


class Refusal(Exception):
    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


# --- PyLTI1p3 for Starlette -------------------------------------------------------------------------------

class TimeoutSession(requests.Session):
    """requests with a timeout on every call (PyLTI1p3 passes none) and PyLTI1p3's user agent."""

    def __init__(self, timeout: float = HTTP_TIMEOUT):
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = REQUESTS_USER_AGENT

    def request(self, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(*args, **kwargs)


class LtiRequest(LtiRequestBase):
    """What PyLTI1p3 reads of a request: parameters (query and form, read beforehand), cookies, HTTPS."""

    def __init__(self, params: dict[str, str], cookies: dict[str, str], secure: bool):
        self._params, self._cookies, self._secure = params, cookies, secure

    @property
    def session(self):  # PyLTI1p3's default storage; replaced by LaunchStore
        return {}

    def is_secure(self) -> bool:
        return self._secure

    def get_param(self, key: str):
        return self._params.get(key)

    def get_cookie(self, key: str):
        return self._cookies.get(key)


class Cookies(CookieService):
    def __init__(self, request: LtiRequest):
        self.request = request
        self.to_set: dict[str, tuple[str, int | None]] = {}

    def _name(self, name: str) -> str:
        return f"{self._cookie_prefix}-{name}"

    def get_cookie(self, name: str):
        return self.request.get_cookie(self._name(name))

    def set_cookie(self, name: str, value, exp: int | None = 3600):
        self.to_set[self._name(name)] = (str(value), exp)

    def apply(self, response: Response) -> Response:
        secure = self.request.is_secure()
        for key, (value, exp) in self.to_set.items():
            # Cross-site POST from the platform: only SameSite=None comes back, and browsers take that
            # only with Secure. Over plain HTTP the state is checked in the database (LaunchStore).
            response.set_cookie(key, value, max_age=exp, path="/lti/", httponly=True, secure=secure,
                                samesite="none" if secure else "lax")
        return response


class StarletteRedirect(Redirect[Response]):
    def __init__(self, location: str, cookies: Cookies):
        self.location, self.cookies = location, cookies

    def do_redirect(self) -> Response:
        return self.cookies.apply(RedirectResponse(self.location, status_code=302))

    def do_js_redirect(self) -> Response:  # the app's CSP runs no inline script: a plain redirect
        return self.do_redirect()

    def set_redirect_url(self, location: str):
        self.location = location

    def get_redirect_url(self) -> str:
        return self.location


class LaunchStore(SessionService):
    """PyLTI1p3's session service, without a browser session: the login's state and nonce go to the
    database together (after the redirect is built, see `login`), launch data stays in this object."""

    def __init__(self, tool: LtiTool, request: LtiRequest):
        super().__init__(request)
        self.tool, self.request = tool, request
        self.nonce: str | None = None
        self.data: dict = {}

    def save_nonce(self, nonce: str):
        self.nonce = nonce

    def check_nonce(self, nonce: str) -> bool:  # not used: Launch.validate_nonce consumes the row
        return False

    def save_launch_data(self, key, jwt_body):
        self.data[key] = jwt_body

    def get_launch_data(self, key):
        return self.data.get(key)

    def save_state_params(self, state, params):
        self.data[("params", state)] = params

    def get_state_params(self, state):
        return self.data.get(("params", state))

    def set_state_valid(self, state, id_token_hash):
        pass

    def check_state_is_valid(self, state, id_token_hash) -> bool:
        """Without HTTPS the state cookie cannot come back (see Cookies.apply): the state must then be
        one we issued and that is still pending. With HTTPS this says no, and the cookie must match."""
        return not self.request.is_secure() and bool(state) and store.state_pending(self.tool.engine, state)


class ToolConf(ToolConfDict):
    def get_iss_config(self, iss, client_id=None):
        try:
            return super().get_iss_config(iss, client_id)
        except LtiException:
            raise
        except Exception as err:  # PyLTI1p3 says "not found" with a bare Exception
            raise LtiException(f"this platform is not registered with the tool: {err}") from None


class Login(OIDCLogin):
    state: str | None = None

    def get_redirect(self, url: str):
        return StarletteRedirect(url, self._cookie_service)

    def _get_uuid(self) -> str:  # the state is "state-" + this
        value = secrets.token_urlsafe(24)
        self.state = "state-" + value
        return value

    def _generate_nonce(self) -> str:
        return secrets.token_urlsafe(32)


class Launch(MessageLaunch):
    def __init__(self, request: LtiRequest, tool_conf, session_service: LaunchStore, cookie_service: Cookies,
                 *, requests_session: requests.Session):
        super().__init__(request, tool_conf, session_service=session_service, cookie_service=cookie_service,
                         requests_session=requests_session)
        self.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})  # aud: validate_registration

    def _get_request_param(self, key: str):
        return self._request.get_param(key)

    def validate(self):
        """PyLTI1p3's checks, the signature before the nonce: a forged token cannot use up a nonce."""
        if self._restored:
            raise LtiException("Can't validate restored launch")
        self._validated = True
        try:
            return (self.validate_state().validate_jwt_format().validate_registration().validate_jwt_signature()
                    .validate_deployment().validate_message().validate_nonce().save_launch_data())
        except Exception:
            self._validated = False
            raise

    def validate_nonce(self):
        nonce = self._get_jwt_body().get("nonce")
        if not nonce or not isinstance(nonce, str):
            raise LtiException('"nonce" is empty')
        tool: LtiTool = self._session_service.tool
        if not store.consume_state(tool.engine, state=self._get_request_param("state") or "", nonce=nonce,
                                   issuer=self.get_iss(), client_id=self.get_client_id()):
            raise LtiException("Invalid nonce: this launch was used already, has expired, or was not asked for "
                               "by this tool. Open the link in the platform again.")
        return self


# --- the tool -----------------------------------------------------------------------------------------------

class LtiTool:
    """The registrations, our key pair, the routes, and the thread that sends scores back."""

    def __init__(self, config: LtiConfig, keys: KeyPair, *, http: requests.Session | None = None,
                 retry_seconds: float = RETRY_SECONDS):
        self.config, self.keys = config, keys
        self.conf = ToolConf(config.tool_conf_dict())
        for p in config.platforms:
            self.conf.set_private_key(p.issuer, keys.private_pem, client_id=p.client_id)
            self.conf.set_public_key(p.issuer, keys.public_pem, client_id=p.client_id)
        self.http = http or TimeoutSession()
        # The launch cookie is signed with a key derived from our private key: the same in every worker
        # and after a restart, and nothing to keep in memory.
        self.launches = LaunchPass(hashlib.sha256(b"thbcourse lti cookie\n" + keys.private_pem.encode()).digest())
        self.login_limit = RateLimit(*LOGIN_LIMIT)
        self.engine = None
        self.course = None
        self.retry_seconds = retry_seconds
        self._wake = threading.Event()
        self._stopping = False
        self._sending = threading.Lock()
        self._thread: threading.Thread | None = None

    # --- wiring ---

    def install(self, app) -> None:
        """Add the /lti routes to the app (before its own), create the LTI tables, start the sender."""
        w = app.state.web
        self.engine, self.course = w.engine, w.course
        store.create_tables(self.engine)
        app.router.routes[0:0] = routes
        app.state.lti = self
        app.add_middleware(WakeSender, tool=self)
        self._thread = threading.Thread(target=self._run, name="lti-scores", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def wake(self) -> None:
        self._wake.set()

    def secure(self, request: Request) -> bool:
        if self.config.tool_url:
            return self.config.tool_url.startswith("https://")
        return request.url.scheme == "https"

    def base_url(self, request: Request) -> str:
        return self.config.tool_url or f"{request.url.scheme}://{request.url.netloc}"

    # --- scores back to the platform ---

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.retry_seconds)
            self._wake.clear()
            if self._stopping:
                break
            try:
                self.send_scores()
            except Exception:  # never let the thread die: the next round tries again
                log.exception("sending LTI scores failed")

    def send_scores(self) -> int:
        """Send every score that is due; returns how many went through."""
        with self._sending:
            with self.engine.connect() as conn:
                rows = store.due(conn)
                launches = {lid: store.launch(conn, lid) for lid in {r["launch_id"] for r in rows}}
            connectors: dict[tuple[str, str], ServiceConnector] = {}
            sent = 0
            for row in rows:
                sent += self._send(row, launches[row["launch_id"]], connectors)
            return sent

    def _send(self, row: dict, launch: dict | None, connectors: dict) -> int:
        attempt = row["attempt_id"]
        with writer(self.engine).begin() as conn:
            if not store.claim(conn, attempt):  # another worker has it
                return 0

        def fail(message: str, final: bool = False) -> int:
            with writer(self.engine).begin() as conn:
                store.mark_failed(conn, attempt, message, final=final)
            log.warning("LTI score of attempt %s not sent: %s", attempt, message)
            return 0

        if launch is None:
            return fail("the launch is gone", final=True)
        ags = launch["ags"]
        if not ags or SCORE_SCOPE not in (ags.get("scope") or []):
            return fail("the platform takes no scores from this link (no Assignment and Grade Services)", final=True)
        platform = self.config.platform(launch["issuer"], launch["client_id"])
        if platform is None:
            return fail(f"platform {launch['issuer']} ({launch['client_id']}) is no longer registered", final=True)
        key = (launch["issuer"], launch["client_id"])
        if key not in connectors:
            registration = self.conf.find_registration_by_params(launch["issuer"], launch["client_id"])
            connectors[key] = ServiceConnector(registration, self.http)
        service = AssignmentsGradesService(connectors[key], ags)
        score, maximum = max(0.0, float(row["score"] or 0.0)), float(row["max_score"])
        finished = row["finished_at"]
        finished = finished if finished.tzinfo else finished.replace(tzinfo=timezone.utc)
        grade = (Grade().set_score_given(score).set_score_maximum(maximum).set_activity_progress("Completed")
                 .set_grading_progress("FullyGraded").set_timestamp(finished.isoformat(timespec="milliseconds"))
                 .set_user_id(launch["sub"]))
        item_url, cached = None, False
        try:
            item_url, cached = self._line_item(service, ags, launch, row["blueprint"], maximum)
            if item_url is None and not ags.get("lineitem"):
                return fail("the platform gives no line item for this link and lets the tool make none", final=True)
            service.put_grade(grade, LineItem({"id": item_url}) if item_url else None)
        except (LtiException, requests.RequestException) as err:
            if cached and isinstance(err, LtiServiceException) and err.response.status_code == 404:
                with writer(self.engine).begin() as conn:  # the line item was deleted in the platform
                    store.forget_line_item(conn, issuer=launch["issuer"], client_id=launch["client_id"],
                                           lineitems=ags["lineitems"], blueprint=row["blueprint"])
            return fail(str(err))
        with writer(self.engine).begin() as conn:
            store.mark_sent(conn, attempt, score=score, maximum=maximum, line_item=item_url or ags.get("lineitem"))
        return 1

    def _line_item(self, service: AssignmentsGradesService, ags: dict, launch: dict, blueprint: str,
                   maximum: float) -> tuple[str | None, bool]:
        """(the line item of this quiz in the link's course, whether it came from our cache); None when
        the platform lets the tool neither read nor make line items (then the link's own one is used)."""
        container = ags.get("lineitems")
        if not container or not service.can_read_lineitem():
            return None, False
        where = dict(issuer=launch["issuer"], client_id=launch["client_id"], lineitems=container, blueprint=blueprint)
        with self.engine.connect() as conn:
            known = store.line_item(conn, **where)
        if known:
            return known, True
        bp = self.course.blueprints.get(blueprint) if self.course else None
        wanted = (LineItem().set_resource_id(blueprint).set_tag(LINE_ITEM_TAG).set_score_maximum(maximum)
                  .set_label(bp.title if bp else blueprint))
        try:
            found = service.find_or_create_lineitem(wanted, find_by="resource_id")
        except LtiException:
            if ags.get("lineitem"):  # not allowed to make one: the link's own line item takes the score
                return None, False
            raise
        if not found.get_id():
            raise LtiException("the platform answered a line item without an id")
        with writer(self.engine).begin() as conn:
            store.remember_line_item(conn, **where, url=found.get_id())
        return found.get_id(), False


class LaunchPass:
    """The launch cookie: (launch id, learner code), signed and dated; the launch row is in the database."""

    def __init__(self, key: bytes, max_age: int = OFFICER_HOURS * 3600):
        self.signer, self.max_age = TimestampSigner(key, salt="lti-launch"), max_age

    def issue(self, launch_id: int, learner: str) -> str:
        return self.signer.sign(f"{int(launch_id)}~{learner}").decode()

    def read(self, cookie: str | None) -> tuple[int, str] | None:
        if not cookie:
            return None
        try:
            launch_id, learner = self.signer.unsign(cookie, max_age=self.max_age).decode().split("~", 1)
            return int(launch_id), learner
        except (BadSignature, SignatureExpired, ValueError, UnicodeDecodeError):
            return None


class WakeSender:
    """Every POST may have closed an attempt (finish, hand in, the trainer ending a session)."""

    def __init__(self, app, tool: LtiTool):
        self.app, self.tool = app, tool

    async def __call__(self, scope, receive, send):
        await self.app(scope, receive, send)
        if scope["type"] == "http" and scope.get("method") == "POST":
            self.tool.wake()


# --- routes ---------------------------------------------------------------------------------------------------

def tool_of(request: Request) -> LtiTool:
    return request.app.state.lti


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    if request.method == "POST":
        params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
    return params


def _refused(request: Request, message: str, status: int = 403) -> Response:
    return render(request, "error.html", {"message": f"The platform's launch was refused: {message}"}, status=status)


async def jwks(request: Request):
    return JSONResponse(tool_of(request).keys.jwks(), headers={"cache-control": "max-age=300"})


async def login(request: Request):
    """Third-party initiated login: the platform sends the browser here first (GET or POST)."""
    tool = tool_of(request)
    if not tool.login_limit.allow(client(request)):
        return _refused(request, "too many launches from this address; wait a minute and try again.", 429)
    params = await _params(request)
    target = params.get("target_link_uri")
    base = tool.base_url(request)
    if target and urlsplit(target).netloc.lower() != urlsplit(base).netloc.lower():
        return _refused(request, f"the link points to {target}, not to this tool ({base}).", 400)
    lti_request = LtiRequest(params, dict(request.cookies), tool.secure(request))
    cookies, session = Cookies(lti_request), LaunchStore(tool, lti_request)
    oidc = Login(lti_request, tool.conf, session, cookies)
    try:
        response = oidc.redirect(f"{base}/lti/launch")
    except (OIDCException, LtiException) as err:
        return _refused(request, str(err), 400)
    await run_in_threadpool(store.issue_state, tool.engine, state=oidc.state, nonce=session.nonce,
                            issuer=oidc.get_iss(), client_id=oidc.get_client_id())
    return response


async def launch(request: Request):
    """The platform's form post with the id token: checked by PyLTI1p3, then the quiz or the join form."""
    tool = tool_of(request)
    params = await _params(request)
    lti_request = LtiRequest(params, dict(request.cookies), tool.secure(request))
    message = Launch(lti_request, tool.conf, LaunchStore(tool, lti_request), Cookies(lti_request),
                     requests_session=tool.http)
    try:
        claims = await run_in_threadpool(lambda: message.validate().get_launch_data())
    except LtiException as err:
        log.info("LTI launch refused: %s", err)
        return _refused(request, str(err))
    if not message.is_resource_launch():
        return _refused(request, "only resource-link launches are supported (no deep linking).", 400)
    try:
        launch_id, learner = await run_in_threadpool(_record_launch, tool, message, claims)
    except Refusal as err:
        return _refused(request, str(err), err.status)
    custom = claims.get(CLAIM + "custom") or {}
    quiz = str(custom.get("quiz", "")).strip()
    cookie = tool.launches.issue(launch_id, learner)
    if quiz:
        bp = _studyable(request).get(quiz)
        if bp is None:
            response = _home(request, learner, error=f"This link asks for the quiz {quiz!r}, which this course "
                                                    "does not have as a self-check or practice quiz.", status=404)
        else:
            response = await _start_study(request, launch_id, learner, bp)
    else:
        response = _home(request, learner, live_only=_truthy(custom.get("live")))
    set_cookie(response, LTI_COOKIE, cookie, max_age=OFFICER_HOURS * 3600, secure=web(request).secure)
    return response


def _record_launch(tool: LtiTool, message: Launch, claims: dict) -> tuple[int, str]:
    issuer, client_id, sub = message.get_iss(), message.get_client_id(), str(claims["sub"])
    platform = tool.config.platform(issuer, client_id)
    if platform is None:  # PyLTI1p3 found a registration, so this would be a bug
        raise Refusal("this platform is not registered with the tool.")
    learner = learner_code(issuer, sub)
    context = (claims.get(CLAIM + "context") or {}).get("id")
    with writer(tool.engine).begin() as conn:
        lid = learner_id(conn, learner, create=True)
        if platform.store_names:
            given = {k: str(claims[c])[:limit] for k, c, limit in (("name", "name", 200), ("email", "email", 320))
                     if claims.get(c)}
            if given:
                conn.execute(update(learners).where(learners.c.id == lid).values(**given))
        launch_id = store.record_launch(
            conn, issuer=issuer, client_id=client_id, deployment_id=str(claims[CLAIM + "deployment_id"]), sub=sub,
            learner=learner, resource_link=str(claims[CLAIM + "resource_link"]["id"]),
            context=str(context) if context is not None else None, ags=claims.get(AGS_CLAIM))
    return launch_id, learner


def _truthy(value) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _studyable(request: Request) -> dict:
    return {bp.id: bp for bp in studyable(request)}


def _launched(request: Request) -> tuple[int, str]:
    found = tool_of(request).launches.read(request.cookies.get(LTI_COOKIE))
    if found is None:
        raise HTTPException(403, "Open this course from your learning platform first (your launch has expired).")
    return found


def _home(request: Request, learner: str, *, error: str | None = None, live_only: bool = False, status: int = 200,
          code: str = "") -> Response:
    quizzes = studyable(request)
    return render(request, "lti/home.html", {"learner": learner, "quizzes": [] if live_only else quizzes,
                                             "live_only": live_only, "error": error, "code": code}, status=status)


async def home(request: Request):
    _, learner = _launched(request)
    return _home(request, learner)


async def _start_study(request: Request, launch_id: int, learner: str, bp) -> Response:
    """A self-study attempt as /study starts one (web/study.py: `Live.study`, which continues the
    learner's unfinished attempt at the quiz), whose score goes back to the platform."""
    w, tool, fresh = web(request), tool_of(request), new_token()
    if w.study_limit is not None and not await run_in_threadpool(w.study_limit.allow, client(request)):
        return _home(request, learner, error="Too many quizzes started from this device. Wait a while and try "
                                             "again.", status=429)

    def begin():
        s, p = w.live.study(bp.id, learner, fresh)
        with writer(tool.engine).begin() as conn:
            store.expect_grade(conn, attempt=p.attempt, launch_id=launch_id, blueprint=bp.id)
        return s, p

    try:
        s, p = await run_in_threadpool(begin)
    except Refused as err:
        return _home(request, learner, error=str(err), status=err.status)
    _, cookie = w.officers.issue((s.id, p.learner), token=fresh)
    response = redirect("/study/attempt")
    set_cookie(response, STUDY_COOKIE, cookie, max_age=OFFICER_HOURS * 3600, secure=w.secure)
    return response


async def study(request: Request):
    await checked_form(request)
    launch_id, learner = _launched(request)
    bp = _studyable(request).get(request.path_params["blueprint"])
    if bp is None:
        raise HTTPException(404, "There is no such self-check or practice quiz.")
    return await _start_study(request, launch_id, learner, bp)


async def join(request: Request):
    """Join the trainer's live session with the code on the projector, as the launched learner."""
    form = await checked_form(request)
    launch_id, learner = _launched(request)
    w, tool = web(request), tool_of(request)
    code = str(form.get("code", "")).strip()[:20]
    if not await run_in_threadpool(w.join_limit.allow, client(request)):
        return _home(request, learner, error="Too many attempts from this device. Wait a minute and try again.",
                     status=429, code=code, live_only=True)
    session = await run_in_threadpool(w.live.find, code)
    if session is None:
        return _home(request, learner, error="No session has this code. Check the code on the projector.",
                     status=404, code=code, live_only=True)
    held = w.officers.read(request.cookies.get(OFFICER_COOKIE))
    token = held[0] if held and held[1] == (session.id, learner) else None
    fresh = new_token()

    def enter():
        p = w.live.join(session, learner, token=token, fresh_token=fresh)
        with writer(tool.engine).begin() as conn:
            store.expect_grade(conn, attempt=p.attempt, launch_id=launch_id, blueprint=session.blueprint.id)
        return p

    try:
        p = await run_in_threadpool(enter)
    except Refused as err:
        return _home(request, learner, error=str(err), status=err.status, code=code, live_only=True)
    response = redirect("/play")
    if p.token == fresh:
        _, cookie = w.officers.issue((session.id, learner), token=fresh)
        set_cookie(response, OFFICER_COOKIE, cookie, max_age=OFFICER_HOURS * 3600, secure=w.secure)
    return response


routes = [
    Route("/lti/jwks.json", jwks, methods=["GET"]),
    Route("/lti/login", login, methods=["GET", "POST"]),
    Route("/lti/launch", launch, methods=["POST"]),
    Route("/lti", home, methods=["GET"]),
    Route("/lti/study/{blueprint}", study, methods=["POST"]),
    Route("/lti/join", join, methods=["POST"]),
]


def load_tool(config_path, gradebook_url: str, *, names: list[str] | None = None, base: str | None = None,
              **kwargs) -> LtiTool:
    """The tool for `thbcourse serve --lti-config PATH`: the checked configuration and our key pair
    (made on first start, beside the gradebook unless the configuration names a key_file). `names`, the
    host names the app answers to, gets the tool_url's; the addresses to register are printed."""
    from pathlib import Path

    from thbcourse.web.lti_config import key_path, load_config, load_or_create_key

    config = load_config(Path(config_path))
    keys = load_or_create_key(config.key_file or key_path(gradebook_url))
    if names is not None and config.tool_url:
        names.append(urlsplit(config.tool_url).hostname)
    shown = config.tool_url or base
    print(f"LTI 1.3 tool for {len(config.platforms)} platform(s) ({config.source}). Register: "
          f"login {shown}/lti/login, redirect {shown}/lti/launch, key set {shown}/lti/jwks.json")
    return LtiTool(config, keys, **kwargs)
