"""What leaving a network means: a member's credentials die with it, its open requests end.

Used by ``DELETE /networks/{nid}/members/{mid}`` and by a re-import that drops members, inside
their own write transaction, before the member nodes are detached and deleted.
"""

from __future__ import annotations

import datetime as dt
import json

from neo4j import ManagedTransaction

from graph import queries as q

OPEN = ("pending_approval", "pending_response")  # matching.workflow.OPEN_INTRODUCTIONS
WITHDRAWN = "cancelled"


def remove_members(tx: ManagedTransaction, nid: str, ids: list[str],
                   now: dt.datetime | None = None) -> None:
    """Revoke the tokens and invitations of ``ids`` and withdraw their open introductions.

    The member nodes themselves are deleted by the caller (``DETACH DELETE``), which also drops
    the edges that tie introductions, projects and feedback to them: a later member with the same
    id starts with none of it.
    """
    if not ids:
        return
    moment = (now or dt.datetime.now(dt.UTC)).isoformat()
    tx.run(q.MARK_LEAVING_MEMBERS, nid=nid, ids=ids).consume()  # first: see the query
    tx.run(q.DELETE_MEMBER_TOKENS, nid=nid, ids=ids).consume()
    tx.run(q.DELETE_MEMBER_INVITATIONS, nid=nid, ids=ids).consume()
    # Their projects stay on record (possibly with no participant left), without them as lead.
    tx.run(q.RELEASE_PROJECT_LEADS, nid=nid, ids=ids).consume()
    for row in tx.run(q.OPEN_INTRODUCTIONS_OF, nid=nid, ids=ids, open=list(OPEN)).data():
        history = [*json.loads(row["history"] or "[]"),
                   {"at": moment, "status": WITHDRAWN, "by": "system",
                    "reason": "a member of this introduction left the network"}]
        tx.run(q.WITHDRAW_INTRODUCTION, nid=nid, id=row["id"], expected=row["status"],
               status=WITHDRAWN, now=moment, history=json.dumps(history)).consume()


def absent_members(tx: ManagedTransaction, nid: str, keep: list[str]) -> list[str]:
    """Stored members of ``nid`` that a document listing ``keep`` drops."""
    return [row["id"] for row in tx.run(q.ABSENT_MEMBERS, nid=nid, keep=keep).data()]
