"""The change log: every write to a network records what it changed, in the same transaction.

Each record is one ``Change`` node ``{network, version, kind, members, at}``. Recording a change
bumps the network's version (so the record's version is the network's new version), which takes
the network node's write lock: writes to one network are numbered in commit order without gaps.

A process that holds a matcher fitted at version ``v`` catches up by reading the records after
``v`` and the current state of the members they name (``read_changes``), instead of re-reading
the whole network. Records older than ``KEEP`` versions are deleted (compaction); a reader that
far behind sees a gap and refits from scratch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from neo4j import ManagedTransaction

from graph import queries as q
from graph.database import Database

KEEP = 2000  # records kept per network; a process further behind refits from scratch
COMPACT_EVERY = 100  # compaction runs in one write out of this many


class ChangeKind(StrEnum):
    """What a write changed; it tells a reader what to re-read about the named members."""

    MEMBERS = "members"  # profile, capabilities, weaknesses, needs of the members (never ties)
    REMOVED = "removed"  # the members were deleted, their ties and decisions with them
    TIES = "ties"  # ties of the named members
    FEEDBACK = "feedback"  # a decision between the two named members
    INTRODUCTION = "introduction"  # an introduction between the named members (no matching data)
    PROJECT = "project"  # a project and its participants (no matching data)
    NETWORK = "network"  # the network's own properties (name, policy)
    AGENTS = "agents"  # the network's outside agents (read again whole: a few rows)
    RIVALRY = "rivalry"  # a facilitator's verdict on the two named members (all read again)
    REPLACED = "replaced"  # the whole network (an import): readers refit from scratch
    TAXONOMY = "taxonomy"  # the network's taxonomy: readers refit from scratch

    @property
    def needs_refit(self) -> bool:
        return self in (ChangeKind.REPLACED, ChangeKind.TAXONOMY)


def record_change(tx: ManagedTransaction, nid: str, kind: ChangeKind | str,
                  members: Iterable[str] = ()) -> int:
    """Bump ``nid``'s version and append one change record; returns the new version.

    Call it inside the write transaction that makes the change, so the record commits (or rolls
    back) with it. Every write to a network goes through here.
    """
    row = tx.run(q.RECORD_CHANGE, nid=nid, kind=str(ChangeKind(kind)),
                 members=sorted(set(members)),
                 at=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")).single()
    if row is None:  # no such network: nothing to version
        return 0
    version = int(row["version"])
    if version % COMPACT_EVERY == 0:
        tx.run(q.COMPACT_CHANGES, nid=nid, upto=version - KEEP).consume()
    return version


def record_taxonomy_change(tx: ManagedTransaction) -> None:
    """The shared taxonomy changed: bump its one version, which every reader compares with the
    one its matcher was fitted on (one counter, not a record in every network)."""
    tx.run(q.BUMP_TAXONOMY_VERSION).consume()


@dataclass(frozen=True)
class Change:
    version: int
    kind: ChangeKind
    members: tuple[str, ...]
    at: str


@dataclass(frozen=True)
class Catchup:
    """What happened to a network after some version, read in one transaction.

    ``complete`` is false when the log no longer reaches back to ``since`` (compacted), the
    taxonomy changed, or a change cannot be applied as a delta: the reader must refit from
    scratch. Otherwise
    ``network`` holds the network's properties when they changed (else None),
    ``members`` holds the current rows of the members whose profile changed (absent: deleted),
    ``ties`` every tie touching a member in ``tie_members``, and ``feedback`` every decision
    between members of ``feedback_members``.
    """

    since: int
    version: int
    taxonomy_version: int
    changes: list[Change]
    complete: bool
    network: dict[str, Any] | None = None
    profile_members: frozenset[str] = frozenset()
    members: list[dict[str, Any]] = field(default_factory=list)
    tie_members: frozenset[str] = frozenset()
    ties: list[dict[str, Any]] = field(default_factory=list)
    feedback_members: frozenset[str] = frozenset()
    feedback: list[dict[str, Any]] = field(default_factory=list)
    agents: list[dict[str, Any]] | None = None  # all of them, when they changed
    verdicts: list[dict[str, Any]] | None = None  # every verdict on rivalry, when one changed


def _plan(changes: list[Change]) -> tuple[set[str], set[str], set[str]]:
    """Which members' profiles, ties and decisions must be re-read for these changes."""
    profile: set[str] = set()
    ties: set[str] = set()
    feedback: set[str] = set()
    for change in changes:
        if change.kind is ChangeKind.MEMBERS:
            # A profile write keeps the member's ties and decisions (a new member has none).
            profile.update(change.members)
        elif change.kind is ChangeKind.REMOVED:
            # A deleted member takes its ties and decisions along (and one created again under
            # the same id later in the window starts with none).
            profile.update(change.members)
            ties.update(change.members)
            feedback.update(change.members)
        elif change.kind is ChangeKind.TIES:
            ties.update(change.members)
        elif change.kind is ChangeKind.FEEDBACK:
            feedback.update(change.members)
    return profile, ties, feedback


def _both_ways(tx: ManagedTransaction, outgoing: str, incoming: str, nid: str, ids: set[str]
               ) -> list[dict[str, Any]]:
    """Edges leaving or reaching ``ids``, each once (two indexed statements, not one scan)."""
    if not ids:
        return []
    rows = tx.run(outgoing, nid=nid, ids=sorted(ids)).data()
    rows += [r for r in tx.run(incoming, nid=nid, ids=sorted(ids)).data()
             if r["source" if "source" in r else "member"] not in ids]
    return rows


def read_changes(db: Database, nid: str, since: int, since_taxonomy: int) -> Catchup:
    """The changes of ``nid`` after version ``since`` and the current state they point to.

    ``since_taxonomy`` is the taxonomy version the reader was fitted on: when the shared
    taxonomy moved on, the catch-up is incomplete (refit).

    The log is read first, then the members' state: a write that commits in between is newer
    than the log read here, so it shows up again in the next catch-up, and applying a member's
    current state twice is harmless.
    """

    def work(tx: ManagedTransaction) -> Catchup:
        # The version first: the log read after it reaches at least that far unless compacted.
        stored = tx.run(q.VERSIONS, nid=nid).data()
        rows = tx.run(q.CHANGES_SINCE, nid=nid, since=since).data()
        changes = [Change(int(r["version"]), ChangeKind(r["kind"]), tuple(r["members"] or ()),
                          r["at"] or "") for r in rows]
        version = changes[-1].version if changes else since
        contiguous = all(c.version == since + k + 1 for k, c in enumerate(changes))
        behind = bool(stored) and int(stored[0]["version"]) > version
        # A stored version below the reader's: the network was deleted and created again.
        replaced = bool(stored) and int(stored[0]["version"]) < since
        taxonomy = int(stored[0]["taxonomy"]) if stored else 0
        if (not contiguous or behind or replaced or taxonomy != since_taxonomy
                or any(c.kind.needs_refit for c in changes)):
            return Catchup(since, version, taxonomy, changes, complete=False)
        if not changes:
            return Catchup(since, version, taxonomy, changes, complete=True)
        profile, ties, feedback = _plan(changes)
        # The network's own properties (its policy) only when a change touched them.
        network = tx.run(q.NETWORK, nid=nid).data() \
            if any(c.kind is ChangeKind.NETWORK for c in changes) else []
        return Catchup(
            since, version, taxonomy, changes, complete=True,
            network=network[0] if network else None,
            profile_members=frozenset(profile),
            members=tx.run(q.MEMBERS_BY_IDS, nid=nid, ids=sorted(profile), sector=None,
                           region=None, capability=None).data()
            if profile else [],
            tie_members=frozenset(ties),
            ties=_both_ways(tx, q.TIES_FROM, q.TIES_TO, nid, ties),
            feedback_members=frozenset(feedback),
            feedback=_both_ways(tx, q.FEEDBACK_FROM, q.FEEDBACK_TO, nid, feedback),
            agents=[{k: v for k, v in row.items() if v is not None}
                    for row in tx.run(q.AGENTS, nid=nid).data()]
            if any(c.kind is ChangeKind.AGENTS for c in changes) else None,
            verdicts=[{k: v for k, v in row.items() if v is not None}
                      for row in tx.run(q.RIVALRIES, nid=nid).data()]
            if any(c.kind is ChangeKind.RIVALRY for c in changes) else None,
        )

    return db.read(work)
