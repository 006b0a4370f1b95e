"""An LTI 1.3 platform for the tests: the PyPI package lti1p3platform behind a small Starlette app.

lti1p3platform implements the platform's side (registration, OIDC login initiation, the signed id
token, the client-credentials token endpoint that checks the tool's signed assertion against the
tool's JWKS, and the Assignment and Grade Services endpoints with their bearer-token checks) but
leaves the web framework and the storage of line items and scores to its user: its FastAPI and Django
adapters need those frameworks, so this file wraps the same abstract classes in Starlette and keeps
line items and scores in memory, where the tests read them. Every address is on 127.0.0.1.
"""
from __future__ import annotations

import html
import json
import threading
from dataclasses import dataclass, field

from jwcrypto.jwk import JWK
from lti1p3platform.exceptions import LineItemNotFoundException
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as PlatformRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import AssignmentsGradesService
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"


@dataclass
class Link:
    title: str
    custom: dict = field(default_factory=dict)


@dataclass
class User:
    name: str
    email: str


class Conf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, registration: Registration) -> None:
        self._registration = registration

    def get_registration_by_params(self, **kwargs) -> Registration:
        return self._registration


class Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> Response:
        return RedirectResponse(url, status_code=302)


class Meta(PlatformRequest):
    def build_metadata(self, request: dict) -> dict:
        return request


class Platform:
    """One platform (issuer = base + prefix), one registration of the tool, one course."""

    def __init__(self, base: str, prefix: str, tool: str, *, client_id: str, deployment_id: str):
        self.url = base + prefix
        self.issuer = self.url
        self.tool = tool
        key = JWK.generate(kty="RSA", size=2048)
        self.registration = (
            Registration().set_iss(self.issuer).set_client_id(client_id).set_deployment_id(deployment_id)
            .set_launch_url(f"{tool}/lti/launch").set_oidc_login_url(f"{tool}/lti/login")
            .set_tool_key_set_url(f"{tool}/lti/jwks.json")
            .set_platform_private_key(key.export_to_pem(private_key=True, password=None).decode())
            .set_platform_public_key(key.export_to_pem().decode()))
        self.conf = Conf(registration=self.registration)
        self.redirect_uris = {f"{tool}/lti/launch"}
        self.links: dict[str, Link] = {}
        self.users: dict[str, User] = {}
        self.line_items: dict[str, dict] = {}  # id (URL) -> line item
        self.scores: dict[str, list[dict]] = {}  # line item id -> scores received, in order
        self.token_requests = 0
        self.lock = threading.Lock()
        self.routes = [
            Route(f"{prefix}/launch", self.start, methods=["GET"]),
            Route(f"{prefix}/auth", self.auth, methods=["GET", "POST"]),
            Route(f"{prefix}/jwks", self.jwks, methods=["GET"]),
            Route(f"{prefix}/token", self.token, methods=["POST"]),
            Route(f"{prefix}/lineitems", self.lineitems, methods=["GET", "POST"]),
            Route(f"{prefix}/lineitems/{{n}}", self.lineitem, methods=["GET"]),
            Route(f"{prefix}/lineitems/{{n}}/scores", self.score, methods=["POST"]),
        ]

    # --- what a learner's click on a link does -------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        """The link in the course page: third-party initiated login at the tool."""
        login = Login(request, self.conf)
        login.set_lti_message_hint(hint=request.query_params["link"])
        return login.initiate_login(request.query_params["user"])

    async def auth(self, request: Request) -> Response:
        """The authorisation endpoint: checks the tool's request and answers with the signed id token."""
        params = dict(request.query_params)
        if request.method == "POST":
            params.update(dict(await request.form()))
        if params.get("redirect_uri") not in self.redirect_uris:
            return HTMLResponse("redirect_uri is not registered", status_code=400)
        if params.get("response_type") != "id_token" or params.get("scope") != "openid":
            return HTMLResponse("not an OIDC implicit id_token request", status_code=400)
        platform = self

        class Launch(LTIAdvantageMessageLaunchAbstract):
            def get_preflight_response(self):
                return params

            def prepare_launch(self, preflight):
                user, link = preflight["login_hint"], platform.links[preflight["lti_message_hint"]]
                person = platform.users.get(user)
                self.set_user_data(user, [LEARNER], full_name=person.name if person else None,
                                   email_address=person.email if person else None)
                self.set_resource_link_claim(preflight["lti_message_hint"], title=link.title)
                self.set_launch_context_claim("course-1", context_title="THB course")
                if link.custom:
                    self.set_custom_parameters_claim(dict(link.custom))
                self.set_ags(lineitems_url=f"{platform.url}/lineitems", allow_creating_lineitems=True)

            def render_launch_form(self, launch_data, **kwargs):
                fields = "".join(f'<input type="hidden" name="{k}" value="{html.escape(str(launch_data[k]))}">'
                                 for k in ("id_token", "state"))
                return HTMLResponse(f'<form method="post" action="{html.escape(launch_data["launch_url"])}">'
                                    f"{fields}</form>")

        return Launch(None, self.conf).lti_launch()

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(self.conf.get_jwks())

    # --- services ----------------------------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        form = dict(await request.form())
        with self.lock:
            self.token_requests += 1
        try:
            return JSONResponse(self.conf.get_access_token(form))
        except Exception as err:  # any refusal: a bad assertion, signature, grant type
            return JSONResponse({"error": "invalid_client", "error_description": str(err)}, status_code=401)

    def _service(self, request: Request, body) -> AssignmentsGradesService:
        meta = {"method": request.method, "form_data": {}, "get_data": dict(request.query_params),
                "headers": request.headers, "content_type": request.headers.get("content-type"),
                "path": request.url.path, "json": body}
        return Ags(self, Meta(meta), self.conf, f"{self.url}/lineitems")

    async def lineitems(self, request: Request) -> Response:
        body = json.loads(await request.body() or b"null") if request.method == "POST" else None
        service = self._service(request, body)
        handle = service.handle_create_lineitem if request.method == "POST" else service.handle_get_lineitems
        found = service.handle_resp(handle)
        if request.method == "GET" and found.code == 200:
            found.result = found.result["content"]
        return _json(found)

    async def lineitem(self, request: Request) -> Response:
        service = self._service(request, None)
        return _json(service.handle_resp(service.handle_get_lineitem, line_item_id=self._id(request)))

    async def score(self, request: Request) -> Response:
        service = self._service(request, json.loads(await request.body() or b"null"))
        return _json(service.handle_resp(service.handle_update_score, line_item_id=self._id(request)))

    def _id(self, request: Request) -> str:
        return f"{self.url}/lineitems/{request.path_params['n']}"


class Ags(AssignmentsGradesService):
    def __init__(self, platform: Platform, request, conf, lineitems_url):
        super().__init__(request, conf, lineitems_url)
        self.platform = platform

    def find_lineitems(self, page=1, limit=None, line_item_id=None, resource_link_id=None, resource_id=None,
                       tag=None):
        found = [item for item in self.platform.line_items.values()
                 if (resource_id is None or item.get("resourceId") == resource_id)
                 and (tag is None or item.get("tag") == tag)]
        return {"content": found, "has_next": False, "next": None}

    def find_lineitem(self, line_item_id):
        if line_item_id not in self.platform.line_items:
            raise LineItemNotFoundException(line_item_id)
        return self.platform.line_items[line_item_id]

    def create_lineitem(self, creation_data):
        with self.platform.lock:
            item = {**creation_data, "id": f"{self.platform.url}/lineitems/{len(self.platform.line_items) + 1}"}
            self.platform.line_items[item["id"]] = item
        return item

    def update_lineitem(self, update_data):
        raise NotImplementedError

    def delete_lineitem(self, line_item_id):
        raise NotImplementedError

    def update_score(self, line_item_id, score):
        self.find_lineitem(line_item_id)
        with self.platform.lock:
            self.platform.scores.setdefault(line_item_id, []).append(score)
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id, page=1, limit=None, user_id=None):
        raise NotImplementedError


def _json(found) -> Response:
    body = found.result if found.result is not None else {"message": found.message}
    return JSONResponse(body, status_code=found.code, media_type=found.media_type)


def app(platforms: list[Platform]) -> Starlette:
    return Starlette(routes=[route for p in platforms for route in p.routes])
