"""Web sessions in the graph: every service process (``serve --workers N``, several hosts on one
database) finds a session another one opened, and a sign-out anywhere ends it everywhere.

A session is stored under the SHA-256 of its id (the browser's cookie), with the hash of the API
token behind it (never the token), its CSRF token and two wall-clock times. Its last use is
written at most once a minute (``TOUCH_EVERY``), so reading pages costs no write per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from neo4j import ManagedTransaction

from graph import queries as q
from graph.database import Database

TOUCH_EVERY = 60.0  # seconds: the resolution of the idle timeout
PURGE_BATCH = 1000


@dataclass
class StoredSession:
    token_hash: str  # the API token behind the session, found by its hash on every request
    csrf: str
    created: float
    seen: float


def session_key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def open_session(db: Database, token_hash: str, now: float, *, expired_before: float,
                 created_before: float) -> tuple[str, StoredSession]:
    """A new session (its id for the cookie, the session); expired sessions are purged."""
    sid = secrets.token_urlsafe(32)
    session = StoredSession(token_hash, secrets.token_urlsafe(32), now, now)

    def work(tx: ManagedTransaction) -> None:
        tx.run(q.PURGE_SESSIONS, seen_before=expired_before, created_before=created_before,
               limit=PURGE_BATCH).consume()
        tx.run(q.CREATE_SESSION, key=session_key(sid), token_hash=token_hash, csrf=session.csrf,
               now=now).consume()

    db.write(work)
    return sid, session


def find_session(db: Database, sid: str, now: float, *, idle: float, lifetime: float
                 ) -> StoredSession | None:
    """The live session of ``sid`` (its last use recorded), or None; an expired one is deleted."""
    key = session_key(sid)
    rows = db.query(q.SESSION, key=key)
    if not rows:
        return None
    session = StoredSession(**rows[0])
    if now - session.seen > idle or now - session.created > lifetime:
        close_session(db, sid)
        return None
    if now - session.seen >= TOUCH_EVERY:
        db.write(lambda tx: tx.run(q.TOUCH_SESSION, key=key, now=now).consume())
        session.seen = now
    return session


def close_session(db: Database, sid: str) -> None:
    db.write(lambda tx: tx.run(q.DELETE_SESSION, key=session_key(sid)).consume())


def count_sessions(db: Database) -> int:
    return int(db.query(q.COUNT_SESSIONS)[0]["sessions"])


def service_key(db: Database, name: str) -> bytes:
    """A random key shared by every process on this database (created by the first to ask;
    ``Database.write`` runs a MERGE that lost a race again, and it then reads the winner's).
    An existing key is only read, so checking a signature needs no write (a full disk)."""
    if rows := db.query(q.SERVICE_KEY_VALUE, name=name):
        return bytes.fromhex(rows[0]["value"])
    value = secrets.token_hex(32)
    rows = db.write(lambda tx: tx.run(q.SERVICE_KEY, name=name, value=value).data())
    return bytes.fromhex(rows[0]["value"])
