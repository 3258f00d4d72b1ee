"""Introductions between members: stored state machine, double opt-in, expiry."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from neo4j import ManagedTransaction

from graph import queries as q
from graph.acting import Acting, who
from graph.changes import ChangeKind, record_change
from graph.database import Database
from graph.feedback import record_decision
from graph.members import get_member
from graph.store import network_policy
from graph.validation import DocumentInvalid, Problem
from matching.workflow import (OPEN_INTRODUCTIONS, Actor, IntroductionPolicy, IntroStatus,
                               TransitionError, effective_status, initial_status,
                               introduction_transition)


class IntroductionNotFound(LookupError):
    """No introduction with this id in this network."""


class Conflict(RuntimeError):
    """The request clashes with the current state (an open request exists, a concurrent change).

    ``existing`` names the object it clashes with, when there is one (the open introduction).
    """

    def __init__(self, message: str, existing: str | None = None):
        super().__init__(message)
        self.existing = existing


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _public(row: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    status = effective_status(row["status"], row["expires"], now)
    return {"id": row["id"], "from": row["requester"], "to": row["recipient"],
            "message": row["message"], "suggestion_reasons": json.loads(row["reasons"] or "[]"),
            "status": status.value, "created": row["created"], "updated": row["updated"],
            "expires": row["expires"], "history": json.loads(row["history"] or "[]")}


def list_introductions(db: Database, nid: str, *, member: str | None = None,
                       status: str | None = None, now: dt.datetime | None = None
                       ) -> list[dict[str, Any]]:
    """Introductions of the network, or those a member sent or received; expiry applied."""
    now = now or _now()
    rows = db.query(q.INTRODUCTIONS, nid=nid, id=None, member=member)
    found = [_public(row, now) for row in rows]
    return [i for i in found if status is None or i["status"] == status]


def get_introduction(db: Database, nid: str, iid: str, now: dt.datetime | None = None
                     ) -> dict[str, Any]:
    rows = db.query(q.INTRODUCTIONS, nid=nid, id=iid, member=None)
    if not rows:
        raise IntroductionNotFound(iid)
    return _public(rows[0], now or _now())


def request_introduction(db: Database, nid: str, requester: str, recipient: str, *,
                         competitors: bool, tied: bool, message: str | None = None,
                         reasons: list[str] | None = None, now: dt.datetime | None = None,
                         by: str | Acting | None = None) -> dict[str, Any]:
    """Open a request; it waits for a facilitator's approval when the policy says so."""
    now = now or _now()
    if requester == recipient:
        raise DocumentInvalid([Problem("to", "a member cannot be introduced to itself")])
    get_member(db, nid, requester)
    get_member(db, nid, recipient)
    policy = IntroductionPolicy(**network_policy(db, nid).model_dump(
        include={"approval", "expiry_days", "suppress_declined_days"}))
    status = initial_status(policy, competitors=competitors, tied=tied)
    iid = secrets.token_hex(8)
    expires = (now + dt.timedelta(days=policy.expiry_days)).isoformat()
    history = [{"at": now.isoformat(), "status": status.value, **who(by or requester)}]

    def work(tx: ManagedTransaction) -> None:
        # Both members locked first, so the check below and the creation are one step: of
        # concurrent requests for one pair, exactly one creates, the others see it and get 409.
        tx.run(q.LOCK_MEMBERS, nid=nid, ids=sorted({requester, recipient})).consume()
        open_ids = tx.run(q.OPEN_INTRODUCTION_BETWEEN, nid=nid, a=requester, b=recipient,
                          open=[s.value for s in OPEN_INTRODUCTIONS], now=now.isoformat()).data()
        if open_ids:
            raise Conflict(f"an introduction between {requester!r} and {recipient!r} is already "
                           f"open ({open_ids[0]['id']})", existing=open_ids[0]["id"])
        tx.run(q.CREATE_INTRODUCTION, nid=nid, id=iid, requester=requester, recipient=recipient,
               message=message, reasons=json.dumps(reasons or []), status=status.value,
               now=now.isoformat(), expires=expires, history=json.dumps(history)).consume()
        record_change(tx, nid, ChangeKind.INTRODUCTION, (requester, recipient))

    db.write(work)
    return get_introduction(db, nid, iid, now)


def act_on_introduction(db: Database, nid: str, iid: str, action: str, actor: Actor,
                        by: str | Acting, now: dt.datetime | None = None,
                        note: str | None = None) -> dict[str, Any]:
    """Apply an action; an answer also records feedback, which steers later suggestions.
    ``note`` (a facilitator's reason for a rejection, say) is kept in the history entry.

    The introduction is locked, read, checked and moved in one transaction: of concurrent actions
    exactly one wins, the others see its result and fail with ``TransitionError`` (409).
    """
    now = now or _now()

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        row = tx.run(q.LOCK_INTRODUCTION, nid=nid, id=iid).single()
        if row is None:
            raise IntroductionNotFound(iid)
        current = _public(row.data(), now)
        target = introduction_transition(IntroStatus(current["status"]), action, actor)
        entry = {"at": now.isoformat(), "status": target.value, **who(by)}
        if note and note.strip():
            entry["note"] = note.strip()
        history = [*current["history"], entry]
        moved = tx.run(q.MOVE_INTRODUCTION, nid=nid, id=iid, status=target.value,
                       now=now.isoformat(), history=json.dumps(history)).single(strict=True)
        if target in (IntroStatus.ACCEPTED, IntroStatus.DECLINED):
            # The recipient's answer is feedback on the pair, in the same transaction.
            missing = record_decision(tx, nid, current["to"], current["from"], target.value,
                                      now, by)
            if missing is not None:  # a member went meanwhile: nothing is written
                raise missing
        else:
            record_change(tx, nid, ChangeKind.INTRODUCTION, (current["to"], current["from"]))
        return _public(moved.data(), now)

    return db.write(work)


def revealed_partners(db: Database, nid: str, member: str) -> set[str]:
    """Members whose contact details ``member`` may see: both said yes to an introduction."""
    return {row["partner"] for row in db.query(q.CONTACTS_REVEALED, nid=nid, member=member)}


__all__ = ["Conflict", "IntroductionNotFound", "TransitionError", "act_on_introduction",
           "get_introduction", "list_introductions", "request_introduction",
           "revealed_partners"]
