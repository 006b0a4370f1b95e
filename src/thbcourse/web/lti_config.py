"""The LTI 1.3 tool's registrations (a YAML file) and its key pair.

The file lists the platforms that may launch the tool, as each platform's administrator registered
it there (see docs/platforms-lti.md):

    tool_url: https://thb.academy.example      # optional: the address platforms and browsers use
    store_names: false                         # optional: keep names and e-mails the platform sends
    key_file: /var/lib/thbcourse/lti-key.pem   # optional: our private key (default: beside the gradebook)
    platforms:
      - issuer: https://moodle.academy.example
        client_id: Xq3kY8
        auth_login_url: https://moodle.academy.example/mod/lti/auth.php
        auth_token_url: https://moodle.academy.example/mod/lti/token.php
        key_set_url: https://moodle.academy.example/mod/lti/certs.php
        deployment_ids: ["3"]
        auth_audience: ...                     # optional, when the token URL is not the audience
        store_names: true                      # optional, this platform only

Every problem is reported as `file:line:column: message` (thbcourse.problems), all at once.

The key pair (RSA 2048) is made on first use and kept as a PEM file readable by its owner only
(0600); its public half is served as a JWKS at /lti/jwks.json, with the key's RFC 7638 thumbprint
as `kid`, so the same file always gives the same key set.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from thbcourse.problems import AuthoringError, Problem, display_path

TOP_KEYS = {"tool_url", "store_names", "key_file", "platforms"}
PLATFORM_KEYS = {"issuer", "client_id", "auth_login_url", "auth_token_url", "key_set_url", "deployment_ids",
                 "auth_audience", "store_names"}
REQUIRED = ("issuer", "client_id", "auth_login_url", "auth_token_url", "key_set_url", "deployment_ids")
URL_KEYS = ("issuer", "auth_login_url", "auth_token_url", "key_set_url", "auth_audience")


@dataclass(frozen=True)
class Platform:
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployment_ids: tuple[str, ...]
    auth_audience: str | None = None
    store_names: bool = False


@dataclass(frozen=True)
class LtiConfig:
    platforms: tuple[Platform, ...]
    tool_url: str | None = None  # without a trailing slash
    key_file: Path | None = None
    store_names: bool = False
    source: str = ""  # the file it came from, as problems name it

    def platform(self, issuer: str, client_id: str | None) -> Platform | None:
        for p in self.platforms:
            if p.issuer == issuer and (client_id is None or p.client_id == client_id):
                return p
        return None

    def tool_conf_dict(self) -> dict:
        """The registrations in PyLTI1p3's ToolConfDict form (one issuer, many client ids)."""
        found: dict[str, list] = {}
        for p in self.platforms:
            entry = {"default": p.issuer not in found, "client_id": p.client_id, "auth_login_url": p.auth_login_url,
                     "auth_token_url": p.auth_token_url, "key_set_url": p.key_set_url, "key_set": None,
                     "deployment_ids": list(p.deployment_ids)}
            if p.auth_audience:
                entry["auth_audience"] = p.auth_audience
            found.setdefault(p.issuer, []).append(entry)
        return found


def load_config(path: Path) -> LtiConfig:
    """Read and check the registration file; AuthoringError lists every problem with its position."""
    from thbcourse.bank.yamlfile import read_yaml

    doc, problems = read_yaml(Path(path))
    if doc is None:
        raise AuthoringError(problems)
    data = doc.data
    if not isinstance(data, dict):
        raise AuthoringError([doc.problem((), "the LTI configuration is a mapping with a 'platforms' list")])

    def problem(loc: tuple, message: str, *, at_key: bool = False) -> None:
        problems.append(doc.problem(loc, message, at_key=at_key))

    for key in data:
        if key not in TOP_KEYS:
            problem((key,), f"unknown key {key!r} (known: {', '.join(sorted(TOP_KEYS))})", at_key=True)
    tool_url = data.get("tool_url")
    if tool_url is not None and not _is_url(tool_url):
        problem(("tool_url",), "tool_url must be an http:// or https:// address, e.g. https://thb.academy.example")
    store_names = data.get("store_names", False)
    if not isinstance(store_names, bool):
        problem(("store_names",), "store_names is true or false")
    key_file = data.get("key_file")
    if key_file is not None and not (isinstance(key_file, str) and key_file.strip()):
        problem(("key_file",), "key_file is the path of a PEM file")

    platforms: list[Platform] = []
    items = data.get("platforms")
    if not isinstance(items, list) or not items:
        problem(("platforms",) if "platforms" in data else (), "'platforms' must list at least one platform")
        items = []
    seen: dict[tuple[str, str], int] = {}
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            problem(("platforms", n), "each platform is a mapping (issuer, client_id, auth_login_url, ...)")
            continue
        ok = True
        for key in item:
            if key not in PLATFORM_KEYS:
                problem(("platforms", n, key), f"unknown key {key!r} (known: {', '.join(sorted(PLATFORM_KEYS))})",
                        at_key=True)
                ok = False
        for key in REQUIRED:
            if key not in item or item[key] in (None, ""):
                problem(("platforms", n), f"platform is missing {key!r}")
                ok = False
        for key in URL_KEYS:
            if key in item and item[key] not in (None, "") and not _is_url(item[key]):
                problem(("platforms", n, key), f"{key} must be an http:// or https:// address, not {item[key]!r}")
                ok = False
        client_id = item.get("client_id")
        if client_id is not None and not isinstance(client_id, (str, int)):
            problem(("platforms", n, "client_id"), "client_id is the text the platform gave (quote it)")
            ok = False
        deployments = item.get("deployment_ids")
        if deployments is not None and (not isinstance(deployments, list) or not deployments or
                                        not all(isinstance(d, (str, int)) and str(d) for d in deployments)):
            problem(("platforms", n, "deployment_ids"), "deployment_ids is a list of the deployment ids the "
                                                        "platform shows, e.g. [\"1\"]")
            ok = False
        names = item.get("store_names", store_names if isinstance(store_names, bool) else False)
        if not isinstance(names, bool):
            problem(("platforms", n, "store_names"), "store_names is true or false")
            ok = False
        if not ok:
            continue
        key = (str(item["issuer"]), str(client_id))
        if key in seen:
            problem(("platforms", n, "client_id"), f"issuer {key[0]} with client_id {key[1]} is registered twice "
                                                   f"(first as platform {seen[key] + 1})")
            continue
        seen[key] = n
        platforms.append(Platform(
            issuer=str(item["issuer"]), client_id=str(client_id), auth_login_url=item["auth_login_url"],
            auth_token_url=item["auth_token_url"], key_set_url=item["key_set_url"],
            deployment_ids=tuple(str(d) for d in deployments), auth_audience=item.get("auth_audience") or None,
            store_names=names))
    if problems:
        raise AuthoringError(problems)
    key_path = None
    if key_file:
        key_path = Path(key_file).expanduser()
        if not key_path.is_absolute():
            key_path = Path(path).parent / key_path
    return LtiConfig(tuple(platforms), tool_url=tool_url.rstrip("/") if tool_url else None, key_file=key_path,
                     store_names=store_names, source=doc.shown)


def _is_url(value) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# --- our key pair ---------------------------------------------------------------------------------------

def key_path(gradebook_url: str) -> Path:
    """Where the private key lives unless the configuration says: beside a SQLite gradebook, else in the
    user's thbcourse data folder (as the trainer password file)."""
    from thbcourse.store.db import default_path

    if gradebook_url.startswith("sqlite:///") and not gradebook_url.endswith(":memory:"):
        db = Path(gradebook_url.split("///", 1)[1])
        return db.with_name(db.stem + "-lti-key.pem")
    return default_path().with_name("lti-key.pem")


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str
    kid: str
    jwk: dict = field(compare=False)  # the public key as a JWK (kid, alg RS256, use sig)

    def jwks(self) -> dict:
        return {"keys": [self.jwk]}


def load_or_create_key(path: Path) -> KeyPair:
    """Our RSA key pair, made once (file mode 0600, never overwritten)."""
    from jwcrypto.jwk import JWK

    path = Path(path)
    if not path.exists():
        key = JWK.generate(kty="RSA", size=2048)
        pem = key.export_to_pem(private_key=True, password=None)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use that one
            pass
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
    key = JWK.from_pem(path.read_bytes())
    if not key.has_private or key.get("kty") != "RSA":
        raise AuthoringError([Problem(display_path(path), 1, 1, "the LTI key file must hold an RSA private key "
                                                                  "(PEM); delete it to have a new one made")])
    public = json.loads(key.export_public())
    kid = key.thumbprint()
    jwk = {**public, "kid": kid, "alg": "RS256", "use": "sig"}
    return KeyPair(key.export_to_pem(private_key=True, password=None).decode(), key.export_to_pem().decode(), kid, jwk)
