"""Server-side web sessions: the browser holds a random session id, never the API token.

A session expires after ``idle`` seconds without use and ``lifetime`` seconds after sign-in,
and is deleted at sign-out, so a copied cookie dies with them. Each session carries its own CSRF
token for the forms of its pages. Sessions are stored in the graph (``graph.sessions``), keyed by
the hash of their id and holding only the hash of the API token, so every process of the service
(``serve --workers N``, several hosts on one database) knows every session, and a restart signs
nobody out.

Sign-in itself happens before any session exists; its form carries a token derived from a
random per-browser nonce cookie with a key every process shares (``signin_token``).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

from graph.database import Database
from graph.sessions import (StoredSession, close_session, count_sessions, find_session,
                            open_session, service_key)
from graph.tokens import digest

Session = StoredSession


class SessionStore:
    """Open, find and close sessions by their id; expired ones are forgotten."""

    def __init__(self, db: Callable[[], Database], *, idle: float = 2 * 3600,
                 lifetime: float = 12 * 3600, clock: Callable[[], float] = time.time):
        self._db = db  # the app's database, once its lifespan has opened it
        self.idle = idle
        self.lifetime = lifetime
        self._clock = clock  # wall-clock: the times are compared across processes
        self._signin_key: bytes | None = None

    def open(self, token: str) -> tuple[str, Session]:
        """A new session for ``token``: (its id for the cookie, the session)."""
        now = self._clock()
        return open_session(self._db(), digest(token), now, expired_before=now - self.idle,
                            created_before=now - self.lifetime)

    def get(self, sid: str | None) -> Session | None:
        """The live session of ``sid`` (its last use updated), or None."""
        if not sid:
            return None
        return find_session(self._db(), sid, self._clock(), idle=self.idle,
                            lifetime=self.lifetime)

    def close(self, sid: str | None) -> None:
        if sid:
            close_session(self._db(), sid)

    def __len__(self) -> int:
        return count_sessions(self._db())

    def signin_token(self, nonce: str) -> str:
        """The sign-in form's CSRF token for the browser holding ``nonce`` in its cookie."""
        if self._signin_key is None:
            self._signin_key = service_key(self._db(), "signin")
        return hmac.new(self._signin_key, nonce.encode(), hashlib.sha256).hexdigest()
