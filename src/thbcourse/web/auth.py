"""Who may do what: the trainer's password, signed cookies, CSRF tokens and rate limits.

- The trainer password is made at first start, printed once and kept only as an scrypt hash in a file
  beside the gradebook (readable by its owner only).
- Cookies carry a random token signed with itsdangerous; the server keeps the tokens it issued, so a
  forged, expired or signed-out token is worth nothing. Every cookie is HttpOnly and SameSite.
- Every form carries a CSRF token: an HMAC of a per-browser random cookie, which a page on another
  site can neither read nor compute; a request whose Origin is another site is refused as well.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner
from starlette.requests import Request
from starlette.responses import Response

SCRYPT = {"n": 2**14, "r": 8, "p": 1}
TRAINER_COOKIE, CSRF_COOKIE = "thb_trainer", "thb_csrf"
TRAINER_HOURS = OFFICER_HOURS = 12  # a course day


def hash_password(password: str, *, salt: bytes | None = None) -> dict:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **SCRYPT)
    return {"scheme": "scrypt", **SCRYPT, "salt": salt.hex(), "hash": digest.hex()}


def check_password(password: str, record: dict) -> bool:
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(record["salt"]), dklen=32,
                            n=record["n"], r=record["r"], p=record["p"])
    return hmac.compare_digest(digest.hex(), record["hash"])


def credentials_path(gradebook_url: str) -> Path:
    """The password file: beside a SQLite gradebook, else in the user's thbcourse data folder."""
    from thbcourse.store.db import default_path

    if gradebook_url.startswith("sqlite:///") and not gradebook_url.endswith(":memory:"):
        db = Path(gradebook_url.split("///", 1)[1])
        return db.with_name(db.stem + "-trainer.json")
    return default_path().with_name("web-trainer.json")


def load_or_create_password(path: Path) -> tuple[dict, str | None]:
    """(the stored hash, the new password when this call made one: to be shown once, never stored)."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8")), None
    password = secrets.token_urlsafe(12)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(hash_password(password), f)
    return json.loads(path.read_text(encoding="utf-8")), password


def new_token() -> str:
    return secrets.token_urlsafe(32)


class Tokens:
    """Random tokens handed out in signed cookies, and what each one stands for."""

    def __init__(self, secret: bytes, salt: str, max_age: int):
        self.signer, self.max_age = TimestampSigner(secret, salt=salt), max_age
        self.issued: dict[str, object] = {}
        self.lock = threading.Lock()

    def issue(self, value: object, token: str | None = None) -> tuple[str, str]:
        """(token, the cookie value that carries it); a new random token unless one is given."""
        token = token or new_token()
        with self.lock:
            self.issued[token] = value
        return token, self.signer.sign(token).decode()

    def read(self, cookie: str | None) -> tuple[str, object] | None:
        if not cookie:
            return None
        try:
            token = self.signer.unsign(cookie, max_age=self.max_age).decode()
        except (BadSignature, SignatureExpired):
            return None
        value = self.issued.get(token)
        return None if value is None else (token, value)

    def revoke(self, token: str) -> None:
        with self.lock:
            self.issued.pop(token, None)


def set_cookie(response: Response, name: str, value: str, *, max_age: int, strict: bool = False) -> None:
    # Not Secure: the classroom app is served over plain HTTP on loopback or the classroom network.
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="strict" if strict else "lax")


class Csrf:
    def __init__(self, secret: bytes):
        self.key = hashlib.sha256(b"csrf:" + secret).digest()

    def token_for(self, browser: str) -> str:
        return hmac.new(self.key, browser.encode(), hashlib.sha256).hexdigest()

    def browser(self, request: Request) -> tuple[str, bool]:
        """(this browser's random CSRF cookie value, whether it is new and must be set)."""
        found = request.cookies.get(CSRF_COOKIE)
        if found and 20 <= len(found) <= 100:
            return found, False
        return secrets.token_urlsafe(32), True

    def valid(self, request: Request, submitted: str | None) -> bool:
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.split("://", 1)[-1] != request.headers.get("host"):
            return False
        browser = request.cookies.get(CSRF_COOKIE)
        return bool(browser and submitted) and hmac.compare_digest(self.token_for(browser), submitted)


class RateLimit:
    """At most `limit` events per `window` seconds per key (a client address), sliding window."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self.events: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self.lock:
            if len(self.events) > 10_000:  # forget idle addresses so the table stays small
                self.events = {k: q for k, q in self.events.items() if q and q[-1] > now - self.window}
            recent = self.events.setdefault(key, deque())
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if len(recent) >= self.limit:
                return False
            recent.append(now)
            return True

    def retry_after(self, key: str) -> int:
        recent = self.events.get(key)
        return max(1, int(recent[0] + self.window - self.clock()) + 1) if recent else 1
