"""Who may do what: the trainer's password, signed cookies, CSRF tokens and rate limits.

- The trainer password is made at first start, printed once and kept only as an scrypt hash in a file
  beside the gradebook (readable by its owner only).
- Cookies carry a random token signed with itsdangerous; the server keeps the tokens it issued, so a
  forged, expired or signed-out token is worth nothing. Every cookie is HttpOnly and SameSite.
- Every form carries a CSRF token: an HMAC of a per-browser random cookie, which a page on another
  site can neither read nor compute; a request whose Origin is another site is refused as well.
- Nothing a second worker or a restarted process needs is kept in memory: the signing secret is in the
  gradebook (web_settings), trainer sign-ins too (web_tokens), an officer's cookie names the session,
  the learner and a random token that the gradebook's live_participants row must still hold, and rate
  limits count in rate_events.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from sqlalchemy import Engine, delete, func, insert, select, text

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


def app_secret(engine: Engine) -> bytes:
    """The app's signing secret, kept in the gradebook: the same for every worker and after a restart
    (cookies and CSRF tokens stay good). Made at first start."""
    from thbcourse.store.db import writer
    from thbcourse.store.tables import web_settings

    with engine.connect() as conn:
        found = conn.execute(select(web_settings.c.value).where(web_settings.c.name == "secret")).scalar()
    if found is None:
        with writer(engine).begin() as conn:
            found = conn.execute(select(web_settings.c.value).where(web_settings.c.name == "secret")).scalar()
            if found is None:
                found = secrets.token_bytes(32).hex()
                conn.execute(insert(web_settings).values(name="secret", value=found))
    return bytes.fromhex(found)


class Tokens:
    """Random tokens handed out in signed cookies. With an engine (trainer sign-ins) the tokens issued
    are kept in the gradebook, shared by every worker; without one, in this process."""

    def __init__(self, secret: bytes, salt: str, max_age: int, engine: Engine | None = None, clock=time.time):
        self.signer, self.max_age, self.salt = TimestampSigner(secret, salt=salt), max_age, salt
        self.engine, self.clock = engine, clock
        self.issued: dict[str, object] = {}
        self.lock = threading.Lock()

    def issue(self, value: object, token: str | None = None) -> tuple[str, str]:
        """(token, the cookie value that carries it); a new random token unless one is given."""
        token = token or new_token()
        if self.engine is not None:
            from thbcourse.store.db import writer
            from thbcourse.store.tables import web_tokens

            now = self.clock()
            with writer(self.engine).begin() as conn:
                conn.execute(delete(web_tokens).where(web_tokens.c.expires_at < now))
                conn.execute(insert(web_tokens).values(token=token, kind=self.salt, expires_at=now + self.max_age))
        else:
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
        if self.engine is not None:
            from thbcourse.store.tables import web_tokens

            with self.engine.connect() as conn:
                found = conn.execute(select(web_tokens.c.kind).where(
                    web_tokens.c.token == token, web_tokens.c.expires_at > self.clock())).scalar()
            return None if found is None else (token, found)
        value = self.issued.get(token)
        return None if value is None else (token, value)

    def revoke(self, token: str) -> None:
        if self.engine is not None:
            from thbcourse.store.db import writer
            from thbcourse.store.tables import web_tokens

            with writer(self.engine).begin() as conn:
                conn.execute(delete(web_tokens).where(web_tokens.c.token == token))
        with self.lock:
            self.issued.pop(token, None)


class Passes:
    """A learner's cookie: the session, the learner id and a random token, signed. Nothing is kept here:
    the gradebook's live_participants row says whether the token still holds the learner id."""

    def __init__(self, secret: bytes, salt: str, max_age: int):
        self.signer, self.max_age = TimestampSigner(secret, salt=salt), max_age

    def issue(self, value: tuple[int, str], token: str | None = None) -> tuple[str, str]:
        token = token or new_token()
        sid, learner = value
        name = base64.urlsafe_b64encode(learner.encode()).decode().rstrip("=")
        return token, self.signer.sign(f"{token}~{int(sid)}~{name}").decode()

    def read(self, cookie: str | None) -> tuple[str, tuple[int, str]] | None:
        if not cookie:
            return None
        try:
            token, sid, name = self.signer.unsign(cookie, max_age=self.max_age).decode().split("~")
            learner = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
            return token, (int(sid), learner)
        except (BadSignature, SignatureExpired, ValueError, UnicodeDecodeError):
            return None

    def revoke(self, token: str) -> None:
        """Nothing to do: the token stops counting when the participant's row no longer holds it."""


def set_cookie(response: Response, name: str, value: str, *, max_age: int, strict: bool = False,
               secure: bool = False) -> None:
    # Secure when the app is served over TLS (--certfile/--keyfile); plain HTTP on loopback otherwise.
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        samesite="strict" if strict else "lax", secure=secure)


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


class SharedRateLimit:
    """At most `limit` events per `window` seconds per key (a client address), sliding window, counted
    in the gradebook (rate_events): every worker sees the same count, and a restart forgets nothing."""

    def __init__(self, engine: Engine, bucket: str, limit: int, window: float, clock=time.time):
        self.engine, self.bucket, self.limit, self.window, self.clock = engine, bucket, limit, window, clock

    def allow(self, key: str) -> bool:
        from thbcourse.store.db import writer
        from thbcourse.store.tables import rate_events

        now, key = self.clock(), key[:100]
        mine = (rate_events.c.bucket == self.bucket) & (rate_events.c.key == key)
        with writer(self.engine).begin() as conn:
            if conn.dialect.name == "postgresql":  # one count at a time per key, across workers
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{self.bucket}:{key}"})
            if random.random() < 0.01:  # now and then, forget every address idle for a day
                conn.execute(delete(rate_events).where(rate_events.c.at < now - max(self.window, 86400)))
            conn.execute(delete(rate_events).where(mine, rate_events.c.at <= now - self.window))
            count = conn.execute(select(func.count()).select_from(rate_events).where(mine)).scalar()
            if count >= self.limit:
                return False
            conn.execute(insert(rate_events).values(bucket=self.bucket, key=key, at=now))
            return True

    def retry_after(self, key: str) -> int:
        from thbcourse.store.tables import rate_events

        with self.engine.connect() as conn:
            first = conn.execute(select(func.min(rate_events.c.at)).where(
                rate_events.c.bucket == self.bucket, rate_events.c.key == key[:100])).scalar()
        return max(1, int(first + self.window - self.clock()) + 1) if first is not None else 1


class RateLimit:
    """At most `limit` events per `window` seconds per key (a client address), sliding window, in this
    process only (SharedRateLimit is the one the app uses)."""

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
