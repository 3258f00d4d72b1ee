"""The change log: every write to a network records what it changed, in the same transaction.

Each record is one ``Change`` node ``{network, version, kind, members, at}``. Recording a change
bumps the network's version (so the record's version is the network's new version), which takes
the network node's write lock: writes to one network are numbered in commit order without gaps.

A process that holds a matcher fitted at version ``v`` catches up by reading the records after
``v`` and the current state of the members they name (``read_changes``), instead of re-reading
the whole network. A write made by a service (whose engine follows its writes) keeps that state
on its records, read in its own transaction, so another process reads the records and nothing
else: one statement. Records older than ``KEEP`` versions are deleted (compaction); a reader that
far behind sees a gap and refits from scratch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from neo4j import ManagedTransaction

from graph import queries as q
from graph.database import Database
from graph.turns import note_version, wait_turn

KEEP = 2000  # records kept per network; a process further behind refits from scratch
COMPACT_EVERY = 100  # compaction runs in one write out of this many
# A write naming more members than this is not handed over whole (``CommittedChanges``): the
# state read would lengthen the write; readers catch up through the log instead.
WRITE_THROUGH_MEMBERS = 200
# A write keeps the state it left on its change records when its JSON is at most this long (a
# member's row is about 1-2 KB); a bigger one (a hub's hundreds of ties) is read by the readers.
# Measured before: a catch-up read the log and then the state in up to 8 statements, 77 ms of a
# 105 ms catch-up under the mixed load of two processes at 10k.
KEPT_STATE_LIMIT = 64 * 1024
log = logging.getLogger("partnermatch.changes")

# The changes recorded by the write transaction running in this context, while a
# ``CommittedChanges`` watches it (``None``: nobody does). Their versions are not known yet: the
# watch appends them right before the commit (``_Watch.before_commit``).
_recorded: ContextVar[list["_Pending"] | None] = ContextVar("recorded", default=None)


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

    @property
    def needs_state(self) -> bool:
        """Whether a reader must learn the state the change left (introductions and projects
        carry no matching data)."""
        return not self.needs_refit and self not in (ChangeKind.INTRODUCTION, ChangeKind.PROJECT)


def record_change(tx: ManagedTransaction, nid: str, kind: ChangeKind | str,
                  members: Iterable[str] = (), *, left: dict[str, Any] | None = None) -> None:
    """Record that this transaction changed ``nid`` (``kind``, naming ``members``): the
    network's version is bumped and one change record appended, so the record commits (or rolls
    back) with the change. Every write to a network goes through here, once its own statements
    have run.

    ``left``: the rows the write knows it left for what it names, exactly as a reader of the
    current state gets them (``_state``): ``{"members": [row]}`` for a profile write (rows as
    ``member_row`` gives them), ``{"feedback": [...]}`` for a decision (every decision touching
    its two members). A watched write that brings them reads nothing back before its bump: one
    statement and one round trip fewer (tests/test_write_through.py holds them to the read).

    The bump is the write's last statement before its commit. On Neo4j it holds the network
    node's write lock until the commit; on ArcadeDB (optimistic) a second write that bumps the
    version before the first commits fails at its commit and runs again whole. While a
    ``CommittedChanges`` watches the transaction the bump waits for the watch, which first reads
    the state the write left (``_Watch.before_commit``): measured under two processes' mixed load
    at 10k, a write that bumped first and read its state after it conflicted and ran again 1.1
    times on average (put_member p50 478 ms). Writes of one process to one network take turns
    for the bump (``wait_turn``), so they queue instead of conflicting with each other.
    """
    pending = _Pending(nid, ChangeKind(kind), tuple(sorted(set(members))),
                       dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"), left)
    recorded = _recorded.get()
    if recorded is not None:  # a ``CommittedChanges`` watches: it appends them before the commit
        recorded.append(pending)
    else:
        _append(tx, nid, [pending], None)


@dataclass(frozen=True)
class _Pending:
    """A change recorded by a write transaction, not yet numbered."""

    network: str
    kind: ChangeKind
    members: tuple[str, ...]
    at: str
    left: dict[str, Any] | None = field(default=None, compare=False)  # (``record_change``)


def _append(tx: ManagedTransaction, nid: str, pending: list[_Pending], state: str | None
            ) -> list[int]:
    """Bump ``nid``'s version once per pending change and create their records (``state`` kept
    on those whose kind needs it); the new versions, in order (none: no such network)."""
    if any(p.kind in (ChangeKind.REMOVED, ChangeKind.REPLACED) for p in pending):
        # A deleted member's rows (weaknesses included) are not kept on records until they are
        # compacted; a reader whose window holds such a record reads the state instead. Before an
        # import's record nothing is replayed anyway (the reader refits). (Before the records are
        # created: their own state, which no longer holds the member, stays.)
        replaced = any(p.kind is ChangeKind.REPLACED for p in pending)
        gone = sorted({m for p in pending if p.kind is ChangeKind.REMOVED for m in p.members})
        tx.run(q.FORGET_KEPT_STATES, nid=nid, ids=None if replaced else gone).consume()
    wait_turn(f"network:{nid}")  # writes to nid bump its version in turn (graph/turns.py)
    records = [{"kind": str(p.kind), "members": list(p.members), "at": p.at,
                "state": state if p.kind.needs_state else None} for p in pending]
    row = tx.run(q.RECORD_CHANGES, nid=nid, records=records).single()
    if row is None:  # no such network: nothing to version
        return []
    last = int(row["version"])
    note_version(f"network:{nid}", last)  # on the board once the write commits
    versions = list(range(last - len(pending) + 1, last + 1))
    for version in versions:
        if version % COMPACT_EVERY == 0:
            # Versions are numbered without gaps and the write of every COMPACT_EVERY-th
            # compacts, so what is left below the kept records is one step's worth (two are
            # looked up).
            tx.run(q.COMPACT_CHANGES, nid=nid, upto=version - KEEP,
                   oldest=version - KEEP - 2 * COMPACT_EVERY + 1).consume()
    return versions


def record_taxonomy_change(tx: ManagedTransaction) -> None:
    """The shared taxonomy changed: bump its one version, which every reader compares with the
    one its matcher was fitted on (one counter, not a record in every network)."""
    wait_turn("taxonomy")
    row = tx.run(q.BUMP_TAXONOMY_VERSION).single()
    if row is not None:
        note_version("taxonomy", int(row["version"]))


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


def _touching(tx: ManagedTransaction, statement: str, nid: str, ids: set[str]
              ) -> list[dict[str, Any]]:
    """The edges (ties or decisions) touching ``ids``, each once."""
    return tx.run(statement, nid=nid, ids=sorted(ids)).data() if ids else []


def read_changes(db: Database, nid: str, since: int, since_taxonomy: int) -> Catchup:
    """The changes of ``nid`` after version ``since`` and the current state they point to.

    ``since_taxonomy`` is the taxonomy version the reader was fitted on: when the shared
    taxonomy moved on, the catch-up is incomplete (refit).

    One statement reads the versions and then the records up to that version, with the state
    their writes kept (``_replayed``), on its own. Records without it (written by a process that
    does not follow its writes, or too big) send the reader to the members' current state, in a
    transaction that reads the log again first, then the state, so a write that commits in
    between is newer than the log read there; it shows up again in the next catch-up, and
    applying a member's current state twice is harmless.
    """

    def of(rows: list[dict[str, Any]]) -> Catchup | tuple[int, int, list[Change]]:
        """The catch-up the records give, or what ``_state`` needs to read it."""
        wanted = [r for r in rows if r["wanted"] > since]
        changes = [Change(int(r["change"]), ChangeKind(r["kind"]), tuple(r["members"] or ()),
                          r["at"] or "") for r in wanted if r["change"] is not None]
        version = changes[-1].version if changes else since
        stored = int(rows[0]["version"]) if rows else None  # None: no such network
        # A record gone (compacted) or never written (a network created again).
        contiguous = len(changes) == len(wanted) and \
            all(c.version == since + k + 1 for k, c in enumerate(changes))
        # No records read up to the version: the reader is too far behind (``$most``).
        behind = stored is not None and stored > version
        # A stored version below the reader's: the network was deleted and created again.
        replaced = stored is not None and stored < since
        taxonomy = int(rows[0]["taxonomy"]) if rows else 0
        if (not contiguous or behind or replaced or taxonomy != since_taxonomy
                or any(c.kind.needs_refit for c in changes)):
            return Catchup(since, version, taxonomy, changes, complete=False)
        kept = _replayed(since, version, taxonomy, changes, [r["state"] for r in wanted])
        return kept if kept is not None else (version, taxonomy, changes)

    params = {"nid": nid, "since": since, "most": KEEP + COMPACT_EVERY}
    # Usually every record keeps its write's state: one auto-commit statement then (one round
    # trip, where a transaction takes three: a catch-up of each write in every other process).
    found = of(db.lookup(q.CHANGES_SINCE, **params))
    if isinstance(found, Catchup):
        return found

    def work(tx: ManagedTransaction) -> Catchup:
        found = of(tx.run(q.CHANGES_SINCE, **params).data())
        return found if isinstance(found, Catchup) else _state(tx, nid, since, *found)

    return db.read(work)


def _kept_state(catchup: Catchup) -> str | None:
    """The state part of a write's catch-up as JSON, or None when it is too big to keep (or not
    plain data)."""
    state = {"profile": sorted(catchup.profile_members), "members": catchup.members,
             "tie_members": sorted(catchup.tie_members), "ties": catchup.ties,
             "feedback_members": sorted(catchup.feedback_members), "feedback": catchup.feedback,
             "network": catchup.network, "agents": catchup.agents, "verdicts": catchup.verdicts}
    try:
        text = json.dumps(state, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text if len(text) <= KEPT_STATE_LIMIT else None


def _replayed(since: int, version: int, taxonomy: int, changes: list[Change],
              kept: list[str | None]) -> Catchup | None:
    """The catch-up built from the states the writes kept on their records, replayed in
    version order; None when a record that needs state has none.

    Each kept state is exact for what its write named, at that write's version: the member rows
    (absent: deleted), every tie touching ``tie_members`` and every decision involving
    ``feedback_members``. Replaying them in order, each replacing what touches the members it
    names, leaves exactly what the current state gives for the union of the names (a tie or a
    decision is last described by the last write naming one of its ends)."""
    profile: dict[str, dict[str, Any] | None] = {}
    ties: list[dict[str, Any]] = []
    feedback: list[dict[str, Any]] = []
    tie_members: set[str] = set()
    feedback_members: set[str] = set()
    network = agents = verdicts = None
    previous = None
    for change, text in zip(changes, kept, strict=True):
        if not change.kind.needs_state:
            continue
        if text is None:
            return None
        if text == previous:  # one write's state, kept on each of its records
            continue
        previous = text
        state = json.loads(text)
        rows = {row["id"]: row for row in state["members"]}
        profile.update((mid, rows.get(mid)) for mid in state["profile"])
        named = set(state["tie_members"])
        ties = [t for t in ties if t["source"] not in named and t["target"] not in named]
        ties += state["ties"]
        tie_members |= named
        named = set(state["feedback_members"])
        feedback = [f for f in feedback
                    if f["member"] not in named and f["candidate"] not in named]
        feedback += state["feedback"]
        feedback_members |= named
        network = state["network"] if state["network"] is not None else network
        agents = state["agents"] if state["agents"] is not None else agents
        verdicts = state["verdicts"] if state["verdicts"] is not None else verdicts
    return Catchup(
        since, version, taxonomy, changes, complete=True, network=network,
        profile_members=frozenset(profile),
        members=sorted((row for row in profile.values() if row is not None),
                       key=lambda row: row["id"]),
        tie_members=frozenset(tie_members), ties=ties,
        feedback_members=frozenset(feedback_members), feedback=feedback,
        agents=agents, verdicts=verdicts)


# A member row's lists and the fields of their entries, as ``q.MEMBERS`` returns them.
MEMBER_ENTRY_FIELDS = {"capabilities": ("id", "level", "capacity", "core"),
                       "weaknesses": ("id", "severity"),
                       "needs": ("id", "kind", "urgency", "volume")}


def member_row(row: dict[str, Any]) -> dict[str, Any]:
    """A member's row as a catch-up carries it: ``q.MEMBERS``'s row with each list in id order
    (the database returns a member's edges in no promised order), so a row read back and one a
    write builds from what it stored are equal, order and nulls included."""
    return {**row, **{key: sorted(row[key], key=lambda e: e["id"])
                      for key in MEMBER_ENTRY_FIELDS}}


def _left_by_the_write(changes: list[Change], pending: list[_Pending]) -> Catchup | None:
    """The catch-up of one write's ``changes`` from the rows it said it left
    (``record_change(left=...)``), as ``_state`` would read them; None when it must read
    them: more than one change needs state, or one brings none."""
    stating = [p for p in pending if p.kind.needs_state]
    if len(stating) != 1 or stating[0].left is None or \
            stating[0].kind not in (ChangeKind.MEMBERS, ChangeKind.FEEDBACK):
        return None
    change, left = stating[0], stating[0].left
    profile = feedback = frozenset(change.members)
    if change.kind is ChangeKind.MEMBERS:
        return Catchup(0, len(changes), -1, changes, complete=True, profile_members=profile,
                       members=sorted(left["members"], key=lambda row: row["id"]))
    return Catchup(0, len(changes), -1, changes, complete=True, feedback_members=feedback,
                   feedback=left["feedback"])


def _state(tx: ManagedTransaction, nid: str, since: int, version: int, taxonomy: int,
           changes: list[Change]) -> Catchup:
    """The complete catch-up for ``changes``: the current state of what they name."""
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
        members=[member_row(row) for row in tx.run(
            q.MEMBERS_BY_IDS, nid=nid, ids=sorted(profile), sector=None, region=None,
            capability=None).data()]
        if profile else [],
        tie_members=frozenset(ties),
        ties=_touching(tx, q.TIES_TOUCHING, nid, ties),
        feedback_members=frozenset(feedback),
        feedback=_touching(tx, q.FEEDBACK_TOUCHING, nid, feedback),
        agents=[{k: v for k, v in row.items() if v is not None}
                for row in tx.run(q.AGENTS, nid=nid).data()]
        if any(c.kind is ChangeKind.AGENTS for c in changes) else None,
        verdicts=[{k: v for k, v in row.items() if v is not None}
                  for row in tx.run(q.RIVALRIES, nid=nid).data()]
        if any(c.kind is ChangeKind.RIVALRY for c in changes) else None,
    )


@dataclass(frozen=True)
class Written:
    """What one committed write did to one network, as its own process learns it.

    ``catchup`` takes a matcher from ``catchup.since`` to ``catchup.version`` exactly like
    ``read_changes`` would (its state was read in the write's own transaction, after the write,
    so it is the state at that version); its ``taxonomy_version`` is -1 (not read: a write never
    changes the taxonomy, and readers compare it on their next request anyway). ``catchup`` is
    None when the write cannot be applied as a delta (an import) or named too many members to
    read back: the process catches up through the log.
    """

    network: str
    catchup: Catchup | None


Subscriber = Callable[[list[Written]], None]


class CommittedChanges:
    """Hands each committed write's changes, and the state they left, to this process's
    subscribers (the live matchers), so the writer's process applies its own writes without
    reading the change log back: one read transaction fewer after every write, and the state
    read rides in the write's transaction (``Database.write_watcher``).

    Nothing depends on it for correctness: a subscriber that misses a write (another process
    made it, or a subscriber failed) still finds it through the version check and the log.
    """

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()
        # Writes per network between their state read and their hand-over: a reader that sees
        # the version one of them commits waits for the hand-over rather than read the log.
        self._committing: dict[str, int] = {}
        self._settled = threading.Condition(self._lock)

    def subscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            if subscriber in self._subscribers:
                self._subscribers.remove(subscriber)

    @contextlib.contextmanager
    def watch(self, tx: ManagedTransaction) -> Iterator[_Watch | None]:
        if not self._subscribers:  # nobody listens: the write runs as it would without this
            yield None
            return
        recorded: list[_Pending] = []
        token = _recorded.set(recorded)
        watch = _Watch(self, tx, recorded)
        try:
            yield watch
        finally:
            _recorded.reset(token)
            watch.finish()  # a write that failed to commit hands nothing over

    def settle(self, nid: str, timeout: float) -> bool:
        """Wait until no write to ``nid`` is between its commit and its hand-over (at most
        ``timeout`` seconds); whether none is."""
        with self._settled:
            return self._settled.wait_for(lambda: not self._committing.get(nid), timeout)

    def _committing_now(self, networks: list[str], delta: int) -> None:
        with self._settled:
            for nid in networks:
                count = self._committing.get(nid, 0) + delta
                if count > 0:
                    self._committing[nid] = count
                else:
                    self._committing.pop(nid, None)
            if delta < 0:
                self._settled.notify_all()

    def _publish(self, written: list[Written]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            try:
                subscriber(written)
            except Exception:  # the write stands; the subscriber catches up through the log
                log.exception("a subscriber to committed changes failed")


class _Watch:
    """One write attempt under a ``CommittedChanges``."""

    def __init__(self, feed: CommittedChanges, tx: ManagedTransaction,
                 recorded: list[_Pending]):
        self._feed, self._tx, self._recorded = feed, tx, recorded
        self._written: list[Written] = []
        self._committed = False
        self._marked: list[str] = []  # the networks whose readers wait for this hand-over

    def before_commit(self) -> None:
        """Read, in the write's transaction, the state its changes left, network by network;
        then number the changes (the version bumps, last: ``record_change``) with that state
        kept on their records for other processes."""
        by_network: dict[str, list[_Pending]] = {}
        for pending in self._recorded:
            by_network.setdefault(pending.network, []).append(pending)
        states: dict[str, Catchup | None] = {}
        for nid, pending in by_network.items():
            named = set().union(*(p.members for p in pending))
            if any(p.kind.needs_refit for p in pending) or len(named) > WRITE_THROUGH_MEMBERS:
                states[nid] = None
                continue
            # Numbered 1.. for now: what the state read needs is their kinds and members.
            unnumbered = [Change(k + 1, p.kind, p.members, p.at) for k, p in enumerate(pending)]
            states[nid] = _left_by_the_write(unnumbered, pending) or \
                _state(self._tx, nid, 0, len(pending), -1, unnumbered)
        for nid in sorted(by_network):  # (the turns in one order)
            pending, state = by_network[nid], states[nid]
            kept = _kept_state(state) if state is not None and \
                any(p.kind.needs_state for p in pending) else None
            versions = _append(self._tx, nid, pending, kept)
            if not versions:  # the network is gone: nothing to hand over
                continue
            if state is None:
                self._written.append(Written(nid, None))
                continue
            changes = [Change(v, p.kind, p.members, p.at)
                       for v, p in zip(versions, pending, strict=True)]
            self._written.append(Written(nid, dataclasses.replace(
                state, since=versions[0] - 1, version=versions[-1], changes=changes)))
        # From here to the hand-over, readers of these networks wait for it (``settle``).
        self._marked = [w.network for w in self._written]
        self._feed._committing_now(self._marked, +1)

    def committed(self) -> None:
        """The write committed: hand it over (``finish`` then ends its wait)."""
        self._committed = True

    def finish(self) -> None:
        try:
            if self._committed and self._written:
                self._feed._publish(self._written)
        finally:
            self._feed._committing_now(self._marked, -1)


def committed_changes(db: Database) -> CommittedChanges:
    """The database's feed of committed changes (created on first use)."""
    if db.write_watcher is None:
        db.write_watcher = CommittedChanges()
    assert isinstance(db.write_watcher, CommittedChanges)
    return db.write_watcher
