"""Facilitators' verdicts on rivalry: stored, read in order, written through the change log.

A verdict is one ``RIVALRY {verdict, note, at}`` relationship between two members of a network,
from the smaller id to the larger (a pair is unordered). ``rivals`` makes the two count as rivals
wherever rivals matter; ``not_rivals`` stops an inferred rivalry (or a COMPETES_WITH tie) from
counting; no verdict leaves the pair to inference (``matching.rivalry``). Every write records a
``rivalry`` change in the same transaction, so live matchers apply it without a refit; a write
that would change nothing (the same verdict and note again, or forgetting a verdict never given)
writes nothing and records nothing: the network's version stays.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from neo4j import ManagedTransaction
from pydantic import TypeAdapter, ValidationError

from graph import queries as q
from graph.changes import ChangeKind, record_change
from graph.database import Database
from graph.document import Identifier, Rivalry, RivalryVerdict
from graph.members import MemberNotFound
from graph.store import read_network


class SameMember(ValueError):
    """A verdict on a member and itself."""


_IDENTIFIER = TypeAdapter(Identifier)


def _pair(a: str, b: str) -> tuple[str, str]:
    for mid in (a, b):  # no member has an id outside the pattern: it is not there
        try:
            _IDENTIFIER.validate_python(mid)
        except ValidationError:
            raise MemberNotFound(mid) from None
    if a == b:
        raise SameMember(a)
    return (a, b) if a < b else (b, a)


def _lock_and_read(tx: ManagedTransaction, nid: str, a: str, b: str) -> dict[str, Any] | None:
    """Take both members' write locks (in id order, as every pair write does) before reading
    anything, then return the pair's stored verdict (None without one). A concurrent deletion
    of either member, or another write on the pair, is either seen here or waits for this
    transaction; ``MemberNotFound`` when either is not there."""
    present = {row["id"] for row in tx.run(q.LOCK_MEMBERS, nid=nid, ids=[a, b]).data()}
    for mid in (a, b):
        if mid not in present:
            raise MemberNotFound(mid)
    rows = tx.run(q.RIVALRY_BETWEEN, nid=nid, a=a, b=b).data()
    return rows[0] if rows else None


def set_verdict(db: Database, nid: str, a: str, b: str, verdict: RivalryVerdict | str,
                note: str | None = None) -> dict[str, Any]:
    """Record (or replace) the verdict on members ``a`` and ``b``, either order; returns it as
    stored. The same verdict with the same note again changes nothing (not even its time).

    Raises ``SameMember`` when a == b, ``MemberNotFound`` for an unknown member."""
    read_network(db, nid)
    first, second = _pair(a, b)
    row = Rivalry(a=first, b=second, verdict=RivalryVerdict(verdict), note=note or None,
                  at=dt.datetime.now(dt.UTC).replace(microsecond=0)).model_dump(mode="json")

    def work(tx: ManagedTransaction) -> dict[str, Any]:
        stored = _lock_and_read(tx, nid, first, second)
        if stored is not None and (stored["verdict"], stored["note"]) == (row["verdict"],
                                                                          row["note"]):
            return {**row, "at": stored["at"]}
        record_change(tx, nid, ChangeKind.RIVALRY, (first, second))
        tx.run(q.DELETE_RIVALRY, nid=nid, a=first, b=second).consume()
        tx.run(q.CREATE_RIVALRIES, nid=nid, rows=[row]).consume()
        return row

    return db.write(work)


def clear_verdict(db: Database, nid: str, a: str, b: str) -> None:
    """Forget the verdict on ``a`` and ``b`` (if any): the pair goes back to inference."""
    read_network(db, nid)
    first, second = _pair(a, b)

    def work(tx: ManagedTransaction) -> None:
        if _lock_and_read(tx, nid, first, second) is None:
            return  # nothing to forget: no write, no change record
        record_change(tx, nid, ChangeKind.RIVALRY, (first, second))
        tx.run(q.DELETE_RIVALRY, nid=nid, a=first, b=second).consume()

    db.write(work)
