"""Network-wide analyses (metrics, leaders, opportunities, best pairs) off the request path.

Each analysis is computed on a frozen copy of the live matcher (``Engine.frozen``): the network
as it was at one version, which the writes applied to the live matcher meanwhile do not reach,
and kept with that version and time as ``as_of``. Taking the copy holds back the writes for
milliseconds (only the outer containers are copied: ``matching.sharing``); it shares the live
matcher's arrays until a write replaces one, and is let go at the live matcher's next change
(``PartnerMatcher.kept``): a process holds one fitted matcher, whatever it has served, and an
analysis costs no fit. An analysis asked for the first time since the last refresh is computed
on the refresh's copy while no write came since, with the refresh's ``as_of``; after a write,
on a copy of its own at the version the live matcher has reached, which its ``as_of``
reports. A request gets the last result at once;
when the network has moved on, a refresh runs in the background, debounced so a burst of writes
costs one refresh, and recomputes every analysis asked for before (of one reader's own analyses,
a member's roadmap or gaps, only those of the ``PERSONAL_LIMIT`` readers who asked last).
``fresh=True`` waits for the current version instead (for the version the live matcher has
reached: after an import, the previous one until its refit is done, as suggestions do).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from api.engine import Closing, Engine
from api.security import Principal
from graph.database import Database
from graph.store import versions
from matching.scoring import PartnerMatcher
from matching.sharing import Kept

DEBOUNCE_SECONDS = 2.0
# A refresh of a large network takes seconds of the process's CPU (every analysis),
# which requests would queue behind under a steady stream of writes: after a refresh that took
# t seconds, the next background one waits IDLE_PER_BUSY * t, so refreshes take at most a third of
# the time. ``fresh=true`` never waits for this.
IDLE_PER_BUSY = 2.0
# A reader's own analyses (``personal=True``: one member's roadmap or gaps) are refreshed in the
# background for the readers who asked last only: refreshing every member ever seen would make
# each refresh of a large network cost a share of every member's view.
PERSONAL_LIMIT = 32

Compute = Callable[[PartnerMatcher], Any]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class _Result:
    value: Any
    key: tuple[int, int]  # network and taxonomy versions it was computed at
    at: str

    @property
    def as_of(self) -> dict[str, Any]:
        return {"version": self.key[0], "at": self.at}


@dataclass
class _Snapshot:
    key: tuple[int, int]  # network and taxonomy versions of the last refresh
    at: str
    results: dict[Hashable, _Result] = field(default_factory=dict)
    kept: Kept | None = None  # the refresh's copy, until the live matcher's next change


def as_of_for(principal: Principal, nid: str, as_of: dict[str, Any]) -> dict[str, Any]:
    """``{"as_of": ...}`` for the network's facilitators and admins, else nothing: the version
    counts every write, private ones included (a member's weaknesses), so members and analysts
    may not read it."""
    return {"as_of": as_of} if principal.manages(nid) else {}


class Analyses:
    """The last snapshot and results per network (``app.state.analyses``)."""

    def __init__(self, engine: Engine | None = None, debounce: float = DEBOUNCE_SECONDS):
        """``engine``: the live matchers the analyses copy (``app.state.matchers``); a private
        one when not given."""
        self._own_engine = engine is None
        self.engine = Engine() if engine is None else engine
        self.debounce = debounce
        self._snapshots: dict[str, _Snapshot] = {}
        self._asked: dict[str, dict[Hashable, Compute]] = {}
        self._personal: dict[str, OrderedDict[Hashable, Compute]] = {}  # least recent first
        self._refreshing: dict[str, Future] = {}
        self._last_build: dict[str, tuple[float, float]] = {}  # nid: (finished, seconds)
        self._wake: dict[str, threading.Event] = {}  # ends a waiting refresh's rest
        self._guard = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # created on first use, again after close
        self._closing = False  # while ``close`` runs: refreshes stop, and none starts

    def get(self, db: Database, nid: str, name: Hashable, compute: Compute, *,
            fresh: bool = False, personal: bool = False) -> tuple[Any, dict[str, Any]]:
        """The result of ``compute`` on a snapshot of ``nid`` and that snapshot's ``as_of``.
        ``personal``: one reader's own analysis (see ``PERSONAL_LIMIT``)."""
        key = versions(db, nid)  # raises NetworkNotFound
        with self._guard:
            if personal:
                recent = self._personal.setdefault(nid, OrderedDict())
                recent[name] = compute
                recent.move_to_end(name)
                while len(recent) > PERSONAL_LIMIT:
                    recent.popitem(last=False)
            else:
                self._asked.setdefault(nid, {})[name] = compute
            snapshot = self._snapshots.get(nid)
        if snapshot is None or (fresh and snapshot.key != key):
            snapshot = self._refresh(db, nid, delay=0.0).result()
        elif snapshot.key != key:
            self._refresh(db, nid, delay=max(self.debounce, self._rest(nid)))
        result = snapshot.results.get(name)
        if result is None:
            result = snapshot.results[name] = self._late(db, nid, snapshot, compute)
        return result.value, result.as_of

    def _late(self, db: Database, nid: str, snapshot: _Snapshot, compute: Compute) -> _Result:
        """``compute`` asked for the first time since the last refresh: on the refresh's copy
        if no write came since (with that refresh's ``as_of``), else on a copy of the network
        as the live matcher has it now."""
        kept = None if snapshot.kept is None else snapshot.kept.copy
        if kept is not None:
            return _Result(compute(kept), snapshot.key, snapshot.at)
        matcher, version, taxonomy = self.engine.frozen(db, nid)
        if (version, taxonomy) == snapshot.key:
            return _Result(compute(matcher), snapshot.key, snapshot.at)
        return _Result(compute(matcher), (version, taxonomy), _now())

    def _refresh(self, db: Database, nid: str, delay: float) -> Future:
        with self._guard:
            running = self._refreshing.get(nid)
            if running is not None and not running.done():
                if delay > 0:
                    return running
                self._wake[nid].set()  # the waiting refresh starts now: it is wanted
            if self._closing:
                raise Closing()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analyses")
            wake = self._wake[nid] = threading.Event()
            future = self._pool.submit(self._build, db, nid, delay, wake)
            self._refreshing[nid] = future
            return future

    def _rest(self, nid: str) -> float:
        """Seconds the next background refresh of ``nid`` waits for (see IDLE_PER_BUSY)."""
        with self._guard:
            finished, seconds = self._last_build.get(nid, (0.0, 0.0))
        return max(0.0, finished + IDLE_PER_BUSY * seconds - time.monotonic())

    def _build(self, db: Database, nid: str, delay: float, wake: threading.Event) -> _Snapshot:
        if delay:  # debounce (writes arriving meanwhile count too) and rest, unless woken
            wake.wait(delay)
        self._go_on()  # (``close`` wakes a resting refresh to end it)
        started = time.monotonic()
        try:
            return self._build_now(db, nid)
        finally:
            with self._guard:
                self._last_build[nid] = (time.monotonic(), time.monotonic() - started)

    def _build_now(self, db: Database, nid: str) -> _Snapshot:
        with self._guard:
            current = self._snapshots.get(nid)
        copied = self.engine.frozen(db, nid, unless=None if current is None else current.key,
                                    kept=True)
        if copied is None:  # the live matcher is where the last refresh found it
            assert current is not None
            return current
        kept, version, taxonomy = copied
        matcher = kept.copy  # (held here while the analyses are computed, whatever comes)
        if matcher is None:  # a write already let it go: a copy of the state it left
            kept = None
            matcher, version, taxonomy = self.engine.frozen(db, nid)
        key = (version, taxonomy)
        snapshot = _Snapshot(key, _now(), kept=kept)
        with self._guard:
            asked = {**self._asked.get(nid, {}), **self._personal.get(nid, {})}
        for name, compute in asked.items():  # everything asked before, ready for the next ask
            self._go_on()  # (at 10k a refresh takes seconds: ``close`` waits for one analysis)
            snapshot.results[name] = _Result(compute(matcher), key, snapshot.at)
        with self._guard:
            self._snapshots[nid] = snapshot
        return snapshot  # (the copy is kept until the next write: then edits write in place)

    def forget(self, nid: str) -> None:
        """Drop the results of a deleted network."""
        with self._guard:
            self._snapshots.pop(nid, None)
            self._asked.pop(nid, None)
            self._personal.pop(nid, None)
            self._last_build.pop(nid, None)

    def _go_on(self) -> None:
        if self._closing:
            raise Closing()

    def close(self) -> None:
        """Stop the refreshes and wait for the one running to end (before the database is
        closed: it reads the live matcher, which may read the database); one resting is woken
        to end at once."""
        with self._guard:
            pool, self._pool = self._pool, None
            self._closing = True
            resting = list(self._wake.values())
        try:
            for wake in resting:
                wake.set()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if self._own_engine:
                self.engine.close()
        finally:
            with self._guard:
                self._closing = False
