"""Invitation codes: a facilitator hands one to a member, who redeems it once for its own token.

Only the code's SHA-256 is stored. Redemption takes the invitation's write lock before it reads
its state, in the transaction that creates the token, so a code opens exactly one token however
many requests race for it. The token made this way is the member's own credential: nobody else
saw its secret.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from neo4j import ManagedTransaction

from graph import queries as q
from graph.database import Database
from graph.store import network_policy, read_network
from graph.tokens import (
    DEFAULT_TOKEN_DAYS,
    INVITATION_CODE,
    StoredToken,
    TokenMemberGone,
    create_token,
    digest,
    member_uid,
    now_utc,
    signing_key,
    stamp,
)

INVITATION_ISSUER = "invitation"  # the issuer_role of a token redeemed from an invitation


class InvitationNotFound(LookupError):
    """No invitation with this id in this network, or no invitation with this code."""


class InvitationUnusable(RuntimeError):
    """The code was used, revoked or has expired (or its member left the network)."""


@dataclass(frozen=True)
class Redeemed:
    secret: str
    token: StoredToken


def new_code(key: bytes) -> str:
    """A code signed like a token secret (``graph.tokens.signing_key``), so one whose invitation
    is gone is still known for one this service made."""
    return INVITATION_CODE.make(key)


def _public(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """An invitation as listed: its state, never the code."""
    if row["redeemed"]:
        state = "redeemed"
    elif row["revoked"]:
        state = "revoked"
    elif stamp(now) >= row["expires"]:
        state = "expired"
    else:
        state = "open"
    keys = ("id", "network", "member", "created", "expires", "issued_by", "issuer_role",
            "redeemed", "token", "revoked")
    return {**{k: row[k] for k in keys}, "status": state}


def invite(db: Database, nid: str, member: str, *, days: int | None = None,
           issued_by: str | None, issuer_role: str | None, now: dt.datetime | None = None
           ) -> tuple[str, dict[str, Any]]:
    """A new single-use code for ``member``: (the code, shown once; the invitation)."""
    read_network(db, nid)
    days = days if days is not None else network_policy(db, nid).invitation_days
    moment = now or now_utc()
    code = new_code(signing_key(db))
    iid = secrets.token_hex(8)
    row: dict[str, Any] = {"id": iid, "network": nid, "member": member,
           "created": stamp(moment), "expires": stamp(moment + dt.timedelta(days=days)),
           "issued_by": issued_by, "issuer_role": issuer_role}

    def work(tx: ManagedTransaction) -> None:
        uid = member_uid(tx, nid, member)
        tx.run(q.CREATE_INVITATION, **row, hash=digest(code), member_uid=uid).consume()

    db.write(work)
    return code, get_invitation(db, nid, iid, moment)


def get_invitation(db: Database, nid: str, iid: str, now: dt.datetime | None = None
                   ) -> dict[str, Any]:
    rows = db.query(q.INVITATIONS, nid=nid, id=iid, member=None)
    if not rows:
        raise InvitationNotFound(iid)
    return _public(rows[0], now or now_utc())


def list_invitations(db: Database, nid: str, member: str | None = None,
                     now: dt.datetime | None = None) -> list[dict[str, Any]]:
    read_network(db, nid)
    moment = now or now_utc()
    return [_public(row, moment) for row in db.query(q.INVITATIONS, nid=nid, id=None,
                                                      member=member)]


def revoke_invitation(db: Database, nid: str, iid: str, now: dt.datetime | None = None
                      ) -> dict[str, Any]:
    """An open (or expired) invitation can no longer be redeemed; a redeemed one is refused:
    revoke its token instead."""
    moment = now or now_utc()

    def work(tx: ManagedTransaction) -> None:
        rows = tx.run(q.LOCK_INVITATION, nid=nid, id=iid).data()
        if not rows:
            raise InvitationNotFound(iid)
        if rows[0]["redeemed"]:
            raise InvitationUnusable(f"invitation {iid!r} was already redeemed (token "
                                     f"{rows[0]['token']}): revoke that token instead")
        if not rows[0]["revoked"]:
            tx.run(q.REVOKE_INVITATION, nid=nid, id=iid, now=stamp(moment)).consume()

    db.write(work)
    return get_invitation(db, nid, iid, moment)


def redeem(db: Database, code: str, now: dt.datetime | None = None) -> Redeemed:
    """Exchange a code for the member's own token, exactly once."""
    moment = now or now_utc()
    key = signing_key(db)

    def work(tx: ManagedTransaction) -> Redeemed:
        rows = tx.run(q.LOCK_INVITATION_BY_HASH, hash=digest(code)).data()
        if not rows:
            raise InvitationNotFound("code")
        row = rows[0]
        if row["redeemed"]:
            raise InvitationUnusable("this invitation code was already used")
        if row["revoked"]:
            raise InvitationUnusable("this invitation code was revoked")
        if stamp(moment) >= row["expires"]:
            raise InvitationUnusable("this invitation code has expired")
        if row["current_uid"] is None or row["current_uid"] != row["member_uid"]:
            raise InvitationUnusable("the member of this invitation left the network")
        nid = row["network"]
        days = token_days_in(tx, nid)
        secret, token = create_token(tx, "member", nid, row["member"], key=key, days=days,
                                     now=moment, issued_by=row["issued_by"],
                                     issuer_role=INVITATION_ISSUER,
                                     invitation=row["id"], uid=row["member_uid"])
        if not tx.run(q.REDEEM_INVITATION, id=row["id"], now=stamp(moment),
                      token=token.id).data():
            raise InvitationUnusable("this invitation code was already used")
        return Redeemed(secret, token)

    try:
        return db.write(work)
    except TokenMemberGone:
        raise InvitationUnusable("the member of this invitation left the network") from None


def token_days_in(tx: ManagedTransaction, nid: str) -> int:
    """The member token life of ``nid``'s policy, read in the redeeming transaction."""
    rows = tx.run(q.NETWORK, nid=nid).data()
    policy = (rows[0].get("policy") or {}) if rows else {}
    return int(policy.get("member_token_days") or DEFAULT_TOKEN_DAYS["member"])
