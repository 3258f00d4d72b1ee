"""Access tokens, stored as SHA-256 digests only.

Tokens are 256-bit random strings, so a fast unsalted hash is enough: there is nothing to guess
by brute force, and a digest lookup is one indexed match.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from neo4j import ManagedTransaction

from graph import queries as q
from graph.database import Database

BOOTSTRAP_TOKEN_ID = "bootstrap-admin"


@dataclass(frozen=True)
class StoredToken:
    id: str
    role: str
    network: str | None = None
    member: str | None = None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_secret() -> str:
    return "pm_" + secrets.token_urlsafe(32)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def issue_token(db: Database, role: str, network: str | None, member: str | None) -> tuple[str, StoredToken]:
    """Create a token; the secret is returned once and only its digest is stored."""
    secret = new_secret()
    stored = StoredToken(id=secrets.token_hex(8), role=role, network=network, member=member)

    def work(tx: ManagedTransaction) -> None:
        tx.run(q.CREATE_TOKEN, id=stored.id, hash=digest(secret), role=role, network=network,
               member=member, created=_now()).consume()

    db.write(work)
    return secret, stored


def replace_bootstrap_token(db: Database) -> str:
    """A fresh admin token for this start of the service; the previous one stops working."""
    secret = new_secret()

    def work(tx: ManagedTransaction) -> None:
        tx.run(q.REPLACE_BOOTSTRAP_TOKEN, id=BOOTSTRAP_TOKEN_ID, hash=digest(secret),
               created=_now()).consume()

    db.write(work)
    return secret


def find_token(db: Database, secret: str) -> StoredToken | None:
    rows = db.query(q.TOKEN_BY_HASH, hash=digest(secret))
    return StoredToken(**rows[0]) if rows else None


def get_token(db: Database, token_id: str) -> StoredToken | None:
    rows = db.query(q.TOKEN_BY_ID, id=token_id)
    return StoredToken(**rows[0]) if rows else None


def revoke_token(db: Database, token_id: str) -> None:
    def work(tx: ManagedTransaction) -> None:
        tx.run(q.DELETE_TOKEN, id=token_id).consume()

    db.write(work)
