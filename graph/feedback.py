"""Members' decisions on suggestions, kept as history in the graph."""

from __future__ import annotations

import datetime as dt
from typing import Any

from neo4j import ManagedTransaction

from graph import queries as q
from graph.acting import Acting, feedback_credential
from graph.changes import ChangeKind, record_change
from graph.database import Database
from graph.members import MemberNotFound, get_member
from graph.store import NetworkNotFound
from graph.validation import DocumentInvalid, Problem

DECISIONS = ("accepted", "declined")


def record_feedback(db: Database, nid: str, member: str, candidate: str, decision: str,
                    at: dt.datetime | None = None, by: Acting | None = None) -> dict[str, Any]:
    """Store one decision (validated first); the matcher reads the latest one per pair.

    A decision a manager made on the member's behalf (``by.on_behalf_of``) is stored as such.
    ``NetworkNotFound``, then ``MemberNotFound`` (the member before the candidate): checked in
    the write transaction itself, nothing read before it."""
    if decision not in DECISIONS:
        raise DocumentInvalid([Problem("decision", f"must be one of {', '.join(DECISIONS)}")])
    if member == candidate:
        raise DocumentInvalid([Problem("candidate", "a member is never suggested to itself")])
    stamp = (at or dt.datetime.now(dt.UTC)).isoformat()
    credential = feedback_credential(by)

    def work(tx: ManagedTransaction) -> None:
        missing = record_decision(tx, nid, member, candidate, decision, stamp, by)
        if missing is not None:  # raised here, so the transaction rolls back
            raise missing

    db.write(work)
    return {"member": member, "candidate": candidate, "decision": decision, "at": stamp,
            "on_behalf": credential["on_behalf"]}


def record_decision(tx: ManagedTransaction, nid: str, member: str, candidate: str,
                    decision: str, at: dt.datetime | str, by: str | Acting | None
                    ) -> LookupError | None:
    """Write one decision inside the caller's transaction (full-precision time, the pair's next
    sequence number, the acting credential), and mark the network changed.

    Both members' write locks are taken first, in the statement that writes the decision, so the
    pair's latest number is read after every concurrent decision on the pair committed; so are
    the other decisions touching either member (every one is written under both its members'
    locks), which with the new one are the state the change leaves (``record_change``'s
    ``left``). Writes nothing and returns what is missing (``NetworkNotFound`` or
    ``MemberNotFound``) when the network or a member does not exist."""
    stamp = at if isinstance(at, str) else at.isoformat()
    credential = feedback_credential(by)
    written = tx.run(q.LOCK_AND_CREATE_FEEDBACK, nid=nid, ids=[member, candidate],
                     member=member, candidate=candidate, decision=decision, at=stamp,
                     **credential).data()
    if not written:  # which one is missing (the caller rolls back: the locks taken here go too)
        locked = {row["id"] for row in tx.run(q.LOCK_MEMBERS, nid=nid, ids=[member, candidate])}
        missing = next((mid for mid in (member, candidate) if mid not in locked), member)
        found = tx.run(q.NETWORK_VERSION, nid=nid).data()
        return MemberNotFound(missing) if found else NetworkNotFound(nid)
    made = {"member": member, "candidate": candidate, "decision": decision, "at": stamp,
            "on_behalf": bool(credential["on_behalf"]), "seq": written[0]["seq"]}
    touching = [{key: f[key] for key in made} for f in written[0]["touching"]] + [made]
    # FEEDBACK_TOUCHING's order (ids and times are ASCII: the same in Python as in Cypher)
    touching.sort(key=lambda f: (f["at"], f["seq"], f["member"], f["candidate"]))
    record_change(tx, nid, ChangeKind.FEEDBACK, (member, candidate), left={"feedback": touching})
    return None


def member_decisions(db: Database, nid: str, member: str) -> list[dict[str, Any]]:
    """The member's current decision on each candidate it answered (the latest one), newest
    first: its "my partners" list."""
    get_member(db, nid, member)
    latest: dict[str, dict[str, Any]] = {}
    for row in db.query(q.MEMBER_FEEDBACK, nid=nid, member=member):
        latest[row["candidate"]] = row
    return sorted(latest.values(), key=lambda r: (r["at"], r["seq"]), reverse=True)


def undo_decision(db: Database, nid: str, member: str, candidate: str) -> dict[str, Any]:
    """Take back the member's latest decision on ``candidate``: the one before it, if any, counts
    again (none: the candidate may be suggested again). ``NetworkNotFound``, ``MemberNotFound``
    (the candidate before the member), else ``DecisionNotFound`` when there is none.

    The member is locked before the latest decision is read, so two concurrent undos take back
    two decisions one after the other, never the same one twice. Nothing is read before the
    write: only when it finds no decision is it worked out which of the three is missing."""

    def work(tx: ManagedTransaction) -> str | None:
        tx.run(q.LOCK_MEMBERS, nid=nid, ids=[member]).consume()
        row = tx.run(q.DELETE_FEEDBACK, nid=nid, member=member, candidate=candidate).single()
        if row is None:
            return None
        record_change(tx, nid, ChangeKind.FEEDBACK, (member, candidate))
        return row["decision"]

    undone = db.write(work)
    if undone is None:
        get_member(db, nid, candidate)
        get_member(db, nid, member)
        raise DecisionNotFound(candidate)
    return {"member": member, "candidate": candidate, "undone": undone}


class DecisionNotFound(LookupError):
    """The member made no decision on this candidate."""
