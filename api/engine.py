"""Fitted matchers cached per network, refitted when the network's version changes.

The version is bumped in the same transaction as every write to a network, so a cache in any
process notices writes made by any other; checking it costs one indexed lookup per request.
"""

from __future__ import annotations

import datetime as dt
import threading

from graph.database import Database
from graph.projection import project_network
from graph.store import network_version
from matching.scoring import PartnerMatcher

DECLINE_DAYS = 180


class MatcherCache:
    def __init__(self) -> None:
        self._fitted: dict[str, tuple[tuple[int, dt.date], PartnerMatcher]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._pairs: dict[str, tuple[PartnerMatcher, tuple[int, str], list[dict]]] = {}

    def _lock(self, nid: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(nid, threading.Lock())

    def get(self, db: Database, nid: str) -> PartnerMatcher:
        # The date is part of the key: suppression of declined pairs expires with time.
        key = (network_version(db, nid), dt.date.today())
        cached = self._fitted.get(nid)
        if cached and cached[0] == key:
            return cached[1]
        lock = self._lock(nid)  # one fit per network at a time; others wait and reuse it
        while not lock.acquire(timeout=0.2):
            db.check_available()  # the database went down meanwhile: 503 now, not after the fit
        try:
            cached = self._fitted.get(nid)
            if cached and cached[0] == key:
                return cached[1]
            projection = project_network(db, nid)
            policy = projection.network.get("policy") or {}
            matcher = PartnerMatcher(
                decline_days=policy.get("suppress_declined_days") or DECLINE_DAYS
            ).fit(projection)
            self._fitted[nid] = ((projection.version, key[1]), matcher)
            return matcher
        finally:
            lock.release()

    def best_pairs(self, db: Database, nid: str, limit: int, policy: str) -> list[dict]:
        """The network's best pairs: scoring every member is seconds on a big network, so the
        answer is kept until the matcher itself is refitted."""
        matcher = self.get(db, nid)
        cached = self._pairs.get(nid)
        if cached and cached[0] is matcher and cached[1] == (limit, str(policy)):
            return cached[2]
        pairs = matcher.best_pairs(limit=limit, competitors=policy)
        self._pairs[nid] = (matcher, (limit, str(policy)), pairs)
        return pairs
