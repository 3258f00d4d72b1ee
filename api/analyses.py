"""Network-wide analyses (metrics, leaders, opportunities, best pairs) off the request path.

Each analysis is computed on a matcher fitted from scratch on one version of the network (its own
snapshot, never the live matcher that writes update in place) and kept with that version and
time as ``as_of``. A request gets the last result at once; when the network has moved on, a
refresh runs in the background, debounced so a burst of writes costs one refresh, and recomputes
every analysis asked for before (of one reader's own analyses, a member's roadmap or gaps, only
those of the ``PERSONAL_LIMIT`` readers who asked last). ``fresh=True`` waits for the current
version instead.
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

from api.security import Principal
from graph.database import Database
from graph.projection import projection_of
from graph.store import read_network_rows, versions
from matching.scoring import PartnerMatcher

DEBOUNCE_SECONDS = 2.0
# A refresh of a large network takes seconds of the process's CPU (a full fit and every analysis),
# which requests would queue behind under a steady stream of writes: after a refresh that took
# t seconds, the next background one waits IDLE_PER_BUSY * t, so refreshes take at most a third of
# the time. ``fresh=true`` never waits for this.
IDLE_PER_BUSY = 2.0
DECLINE_DAYS = 180
# A reader's own analyses (``personal=True``: one member's roadmap or gaps) are refreshed in the
# background for the readers who asked last only: refreshing every member ever seen would make
# each refresh of a large network cost a share of every member's view.
PERSONAL_LIMIT = 32

Compute = Callable[[PartnerMatcher], Any]


@dataclass
class _Snapshot:
    key: tuple[int, int]  # network and taxonomy versions
    at: str
    matcher: PartnerMatcher
    results: dict[Hashable, Any] = field(default_factory=dict)

    @property
    def as_of(self) -> dict[str, Any]:
        return {"version": self.key[0], "at": self.at}


def as_of_for(principal: Principal, nid: str, as_of: dict[str, Any]) -> dict[str, Any]:
    """``{"as_of": ...}`` for the network's facilitators and admins, else nothing: the version
    counts every write, private ones included (a member's weaknesses), so members and analysts
    may not read it."""
    return {"as_of": as_of} if principal.manages(nid) else {}


class Analyses:
    """The last snapshot and results per network (``app.state.analyses``)."""

    def __init__(self, debounce: float = DEBOUNCE_SECONDS):
        self.debounce = debounce
        self._snapshots: dict[str, _Snapshot] = {}
        self._asked: dict[str, dict[Hashable, Compute]] = {}
        self._personal: dict[str, OrderedDict[Hashable, Compute]] = {}  # least recent first
        self._refreshing: dict[str, Future] = {}
        self._last_build: dict[str, tuple[float, float]] = {}  # nid: (finished, seconds)
        self._wake: dict[str, threading.Event] = {}  # ends a waiting refresh's rest
        self._guard = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None  # created on first use, again after close

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
        if name not in snapshot.results:
            snapshot.results[name] = compute(snapshot.matcher)
        return snapshot.results[name], snapshot.as_of

    def _refresh(self, db: Database, nid: str, delay: float) -> Future:
        with self._guard:
            running = self._refreshing.get(nid)
            if running is not None and not running.done():
                if delay > 0:
                    return running
                self._wake[nid].set()  # the waiting refresh starts now: it is wanted
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
        started = time.monotonic()
        try:
            return self._build_now(db, nid)
        finally:
            with self._guard:
                self._last_build[nid] = (time.monotonic(), time.monotonic() - started)

    def _build_now(self, db: Database, nid: str) -> _Snapshot:
        rows = read_network_rows(db, nid)
        with self._guard:
            current = self._snapshots.get(nid)
        if current is not None and current.key == (rows.version, rows.taxonomy_version):
            return current
        projection = projection_of(rows)
        policy = rows.network.get("policy") or {}
        matcher = PartnerMatcher(decline_days=policy.get("suppress_declined_days")
                                 or DECLINE_DAYS).fit(projection)
        snapshot = _Snapshot((rows.version, rows.taxonomy_version),
                             dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), matcher)
        with self._guard:
            asked = {**self._asked.get(nid, {}), **self._personal.get(nid, {})}
        for name, compute in asked.items():  # everything asked before, ready for the next ask
            snapshot.results[name] = compute(matcher)
        with self._guard:
            self._snapshots[nid] = snapshot
        return snapshot

    def forget(self, nid: str) -> None:
        """Drop the results of a deleted network."""
        with self._guard:
            self._snapshots.pop(nid, None)
            self._asked.pop(nid, None)
            self._personal.pop(nid, None)
            self._last_build.pop(nid, None)

    def close(self) -> None:
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
