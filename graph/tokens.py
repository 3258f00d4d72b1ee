"""Access tokens with a life cycle, stored as SHA-256 digests only.

Tokens are 256-bit random strings, so a fast unsalted hash is enough: there is nothing to guess
by brute force, and a digest lookup is one indexed match.

A token expires (the network's policy says after how many days, per role), can be listed and
revoked, and names who issued it. A member token is bound to the member's internal ``uid``, given
once when the member node is created: when the member is removed its tokens go, and a later member
with the same id is a different principal that no old token opens.

A secret carries a MAC of its random part under a key every process on the database shares
(``signed_here``): a secret that no longer opens anything (its network deleted, its member
removed, revoked, expired) is still recognisably one this service issued, so a dashboard left
open with it is not taken for someone guessing secrets (api/deps.py). Without the key nobody can
make one, so a guesser cannot use the format to escape the failed-authentication throttle.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import math
import secrets
import uuid
import weakref
from dataclasses import asdict, dataclass
from typing import Any

from neo4j import ManagedTransaction

from graph import queries as q
from graph.database import Database
from graph.sessions import service_key
from graph.store import NetworkNotFound, network_policy

BOOTSTRAP_TOKEN_ID = "bootstrap-admin"
# Defaults for tokens outside any network (admins); networks set theirs in their policy.
ADMIN_TOKEN_DAYS = 90
DEFAULT_TOKEN_DAYS = {"member": 180, "analyst": 180, "facilitator": 90, "admin": ADMIN_TOKEN_DAYS}


class TokenMemberGone(LookupError):
    """The member a token was to be issued for does not exist (any more)."""


@dataclass(frozen=True)
class StoredToken:
    """A token as listed: everything but the secret and its digest."""

    id: str
    role: str
    network: str | None = None
    member: str | None = None
    created: str | None = None
    expires: str | None = None
    issued_by: str | None = None  # the issuing token's id, or None (bootstrap, environment)
    issuer_role: str | None = None  # admin, facilitator, or "invitation" (redeemed by the member)
    invitation: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_MAC_BYTES = 16  # 128 bits: a guessed MAC is right once in 2**128
# The key is created once per database and never changes: one read per process and database.
_keys: weakref.WeakKeyDictionary[Database, bytes] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class SecretKind:
    """A kind of secret this service hands out: random bytes after a prefix, then their MAC."""

    prefix: str
    random_bytes: int
    domain: bytes  # in the MAC, so a token's MAC never passes for an invitation code's

    @property
    def random_chars(self) -> int:
        return math.ceil(self.random_bytes * 4 / 3)  # secrets.token_urlsafe, unpadded

    def make(self, key: bytes) -> str:
        random_part = secrets.token_urlsafe(self.random_bytes)
        return self.prefix + random_part + self._mac(key, random_part)

    def _mac(self, key: bytes, random_part: str) -> str:
        mac = hmac.new(key, self.domain + random_part.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:_MAC_BYTES]).rstrip(b"=").decode()

    def shaped(self, secret: str) -> bool:
        return (secret.startswith(self.prefix) and
                len(secret) == len(self.prefix) + self.random_chars + 22)  # 16 bytes: 22 chars

    def signed(self, key: bytes, secret: str) -> bool:
        random_part = secret[len(self.prefix):len(self.prefix) + self.random_chars]
        return self.shaped(secret) and hmac.compare_digest(
            secret[len(self.prefix) + self.random_chars:], self._mac(key, random_part))


TOKEN_SECRET = SecretKind("pm_", 32, b"token:")  # 256 random bits
INVITATION_CODE = SecretKind("pmi_", 18, b"invitation:")  # 144 random bits


def signing_key(db: Database) -> bytes:
    """The key that signs this database's token secrets, shared by every process using it."""
    key = _keys.get(db)
    if key is None:
        key = _keys[db] = service_key(db, "tokens")
    return key


def new_secret(key: bytes) -> str:
    """A random token secret, signed with ``key`` (``signing_key``)."""
    return TOKEN_SECRET.make(key)


def signed_here(db: Database, secret: str, kind: SecretKind = TOKEN_SECRET) -> bool:
    """Whether ``secret`` was made by this service, valid or not any more.

    Secrets issued before secrets were signed are not recognised."""
    if not kind.shaped(secret):
        return False  # no read of the key for what cannot be one of ours
    return kind.signed(signing_key(db), secret)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(moment: dt.datetime) -> str:
    """Timestamps are stored as ISO text in UTC, so text order is time order."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def token_days(db: Database, role: str, network: str | None) -> int:
    """How long a new token of ``role`` lives: the network's policy, else the defaults."""
    if network is None:
        return DEFAULT_TOKEN_DAYS[role]
    try:
        policy = network_policy(db, network)
    except NetworkNotFound:  # a token for a network yet to be created by an admin
        return DEFAULT_TOKEN_DAYS[role]
    return int(getattr(policy, f"{role}_token_days", DEFAULT_TOKEN_DAYS[role]))


def member_uid(tx: ManagedTransaction, network: str, member: str) -> str:
    """The member's internal uid (given here to a member stored before uids existed)."""
    row = tx.run(q.ENSURE_MEMBER_UID, nid=network, mid=member,
                 fresh=uuid.uuid4().hex).single()
    if row is None:
        raise TokenMemberGone(member)
    return row["uid"]


def create_token(tx: ManagedTransaction, role: str, network: str | None, member: str | None, *,
                 key: bytes, days: int, now: dt.datetime, issued_by: str | None,
                 issuer_role: str | None, invitation: str | None = None, uid: str | None = None
                 ) -> tuple[str, StoredToken]:
    """Write a new token inside ``tx``, its secret signed with ``key`` (``signing_key``, read
    before the transaction); a member token is bound to the member's current uid."""
    if member is not None and network is not None and uid is None:
        uid = member_uid(tx, network, member)
    secret = new_secret(key)
    stored = StoredToken(id=secrets.token_hex(8), role=role, network=network, member=member,
                         created=stamp(now), expires=stamp(now + dt.timedelta(days=days)),
                         issued_by=issued_by, issuer_role=issuer_role, invitation=invitation)
    tx.run(q.CREATE_TOKEN, **stored.as_dict(), hash=digest(secret), member_uid=uid).consume()
    return secret, stored


def issue_token(db: Database, role: str, network: str | None, member: str | None, *,
                days: int | None = None, issued_by: str | None = None,
                issuer_role: str | None = None, now: dt.datetime | None = None
                ) -> tuple[str, StoredToken]:
    """Create a token; the secret is returned once and only its digest is stored.

    ``days`` defaults to the network policy's life for the role.
    """
    days = days if days is not None else token_days(db, role, network)
    moment = now or now_utc()
    key = signing_key(db)

    def work(tx: ManagedTransaction) -> tuple[str, StoredToken]:
        return create_token(tx, role, network, member, key=key, days=days, now=moment,
                            issued_by=issued_by, issuer_role=issuer_role)

    return db.write(work)


def replace_bootstrap_token(db: Database) -> str:
    """A fresh admin token for this start of the service; the previous one stops working."""
    secret = new_secret(signing_key(db))

    def work(tx: ManagedTransaction) -> None:
        tx.run(q.REPLACE_BOOTSTRAP_TOKEN, id=BOOTSTRAP_TOKEN_ID, hash=digest(secret),
               created=stamp(now_utc())).consume()

    db.write(work)
    return secret


def _valid(row: dict[str, Any], now: dt.datetime) -> bool:
    """Not expired, and a member token's member is still the one it was issued for."""
    expires = row["expires"] or _legacy_expiry(row)
    if expires is not None and stamp(now) >= expires:
        return False
    if row["member"] is not None:
        if row["current_uid"] is None:
            return False  # the member is gone
        # Tokens from before uids existed carry none; member removal deletes those explicitly.
        if row["member_uid"] is not None and row["member_uid"] != row["current_uid"]:
            return False
    return True


def _legacy_expiry(row: dict[str, Any]) -> str | None:
    """Tokens stored before expiry existed live the default span from their creation."""
    if row["id"] == BOOTSTRAP_TOKEN_ID or not row.get("created"):
        return None
    created = dt.datetime.fromisoformat(row["created"])
    return stamp(created + dt.timedelta(days=DEFAULT_TOKEN_DAYS[row["role"]]))


def _stored(row: dict[str, Any]) -> StoredToken:
    fields = StoredToken.__dataclass_fields__
    token = StoredToken(**{k: v for k, v in row.items() if k in fields})
    if token.expires is None and (legacy := _legacy_expiry(row)) is not None:
        token = StoredToken(**{**token.as_dict(), "expires": legacy})
    return token


def find_token(db: Database, secret: str, now: dt.datetime | None = None) -> StoredToken | None:
    """The valid token behind ``secret``; None when unknown, expired, or its member is gone."""
    return find_token_by_hash(db, digest(secret), now)


def find_token_by_hash(db: Database, token_hash: str, now: dt.datetime | None = None
                       ) -> StoredToken | None:
    """``find_token`` for a secret known by its hash (a web session keeps only the hash)."""
    rows = db.query(q.TOKEN_BY_HASH, hash=token_hash)
    if not rows or not _valid(rows[0], now or now_utc()):
        return None
    return _stored(rows[0])


def get_token(db: Database, token_id: str) -> StoredToken | None:
    rows = db.query(q.TOKEN_BY_ID, id=token_id)
    return _stored(rows[0]) if rows else None


def list_tokens(db: Database, *, network: str | None = None, member: str | None = None,
                roles: list[str] | None = None, ids: list[str] | None = None
                ) -> list[StoredToken]:
    """Stored tokens matching every given filter, oldest first; never their secrets."""
    rows = db.query(q.TOKENS, network=network, member=member, roles=roles, ids=ids)
    return [_stored(row) for row in rows]


def revoke_token(db: Database, token_id: str) -> bool:
    """Delete a token; False when there was none."""
    def work(tx: ManagedTransaction) -> bool:
        return bool(tx.run(q.DELETE_TOKEN, id=token_id).single(strict=True)["deleted"])

    return db.write(work)


def retire_bootstrap_token(db: Database) -> bool:
    """The bootstrap admin token stops working (an admin token is configured, or a real one was
    minted)."""
    return revoke_token(db, BOOTSTRAP_TOKEN_ID)
