"""Concurrent requests share version queries, and none misses a write committed before it
arrived (api/version_checks.py)."""

from __future__ import annotations

import threading
import time

import pytest

from api.version_checks import SharedChecks


class _Database:
    """A version that writes bump; a query reads it when it starts, then waits to be let go
    (a round trip in flight)."""

    def __init__(self) -> None:
        self.version = 0
        self.queries = 0
        self.started = threading.Event()
        self.go = threading.Event()
        self.fail = False

    def query(self) -> int:
        self.queries += 1
        seen = self.version
        self.started.set()
        assert self.go.wait(10)
        if self.fail:
            raise LookupError("network gone")
        return seen


def _in_thread(checks: SharedChecks, db: _Database, out: dict, name: str) -> threading.Thread:
    def run() -> None:
        try:
            out[name] = checks.check("n", db.query)
        except LookupError as exc:
            out[name] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _waiting(threads_before: int, checks: SharedChecks) -> None:
    deadline = time.monotonic() + 10
    while checks._arrivals < threads_before and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_request_never_uses_a_query_that_started_before_it_arrived() -> None:
    checks, db, out = SharedChecks(), _Database(), {}
    first = _in_thread(checks, db, out, "first")
    assert db.started.wait(10)  # the first query has read version 0 and is in flight
    db.version = 1  # a write commits
    db.started.clear()
    second = _in_thread(checks, db, out, "second")  # arrives after the write
    _waiting(2, checks)
    db.go.set()
    first.join(10)
    second.join(10)
    assert out == {"first": 0, "second": 1}
    assert db.queries == 2


def test_requests_that_arrive_during_a_query_share_the_next_one() -> None:
    checks, db, out = SharedChecks(), _Database(), {}
    threads = [_in_thread(checks, db, out, "first")]
    assert db.started.wait(10)
    db.version = 7
    threads += [_in_thread(checks, db, out, f"later-{k}") for k in range(5)]
    _waiting(6, checks)
    db.go.set()
    for thread in threads:
        thread.join(10)
    assert out["first"] == 0
    assert {out[f"later-{k}"] for k in range(5)} == {7}  # every later one saw the write
    assert db.queries == 2  # one query for the five of them


def test_a_failed_query_fails_every_request_that_shared_it() -> None:
    checks, db, out = SharedChecks(), _Database(), {}
    db.fail = True
    threads = [_in_thread(checks, db, out, "first")]
    assert db.started.wait(10)
    threads += [_in_thread(checks, db, out, f"later-{k}") for k in range(3)]
    _waiting(4, checks)
    db.go.set()
    for thread in threads:
        thread.join(10)
    assert all(isinstance(v, LookupError) for v in out.values()) and len(out) == 4
    db.fail = False
    assert checks.check("n", db.query) == 0  # the next request asks again


def test_networks_do_not_share_queries() -> None:
    checks = SharedChecks()
    assert checks.check("a", lambda: 1) == 1
    assert checks.check("b", lambda: 2) == 2
    with pytest.raises(ZeroDivisionError):
        checks.check("c", lambda: 1 // 0)
