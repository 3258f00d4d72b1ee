"""Server-side web sessions: the browser holds a random session id, never the API token.

A session expires after ``idle`` seconds without use and ``lifetime`` seconds after sign-in,
and is deleted at sign-out, so a copied cookie dies with them. Each session carries its own CSRF
token for the forms of its pages. Sessions live in this process's memory: a restart signs
everyone out (the service runs as one process; nothing secret is written to disk).

Sign-in itself happens before any session exists; its form carries a token derived from a
random per-browser nonce cookie with a key of this process (``signin_token``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Session:
    token: str  # the API token behind the session, checked again on every request
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    created: float = 0.0
    seen: float = 0.0


def _key(sid: str) -> str:
    # Looked up by hash: a dict probe with the raw id would compare secrets character by character.
    return hashlib.sha256(sid.encode()).hexdigest()


class SessionStore:
    """Open, find and close sessions by their id; expired ones are forgotten."""

    def __init__(self, *, idle: float = 2 * 3600, lifetime: float = 12 * 3600,
                 capacity: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.idle = idle
        self.lifetime = lifetime
        self.capacity = capacity
        self._clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._signin_key = secrets.token_bytes(32)

    def open(self, token: str) -> tuple[str, Session]:
        """A new session for ``token``: (its id for the cookie, the session)."""
        sid = secrets.token_urlsafe(32)
        now = self._clock()
        session = Session(token, created=now, seen=now)
        with self._lock:
            if len(self._sessions) >= self.capacity:
                self._drop_expired(now)
            while len(self._sessions) >= self.capacity:  # the least recently used goes first
                del self._sessions[min(self._sessions, key=lambda k: self._sessions[k].seen)]
            self._sessions[_key(sid)] = session
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        """The live session of ``sid`` (its last use updated), or None."""
        if not sid:
            return None
        now = self._clock()
        with self._lock:
            session = self._sessions.get(_key(sid))
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[_key(sid)]
                return None
            session.seen = now
            return session

    def close(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._sessions.pop(_key(sid), None)

    def __len__(self) -> int:
        return len(self._sessions)

    def signin_token(self, nonce: str) -> str:
        """The sign-in form's CSRF token for the browser holding ``nonce`` in its cookie."""
        return hmac.new(self._signin_key, nonce.encode(), hashlib.sha256).hexdigest()

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.seen > self.idle or now - session.created > self.lifetime

    def _drop_expired(self, now: float) -> None:
        for key in [k for k, s in self._sessions.items() if self._expired(s, now)]:
            del self._sessions[key]
