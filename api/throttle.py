"""A throttle on failed authentications, per client address.

After ``limit`` failures within ``window`` seconds from one address, every authentication from
that address (a bearer token, a web sign-in, an invitation code) is refused with 429 and
``Retry-After`` until the oldest of those failures is older than the window, so an address cannot
try more than ``limit`` secrets a minute. The state is in this process's memory: a restart forgets
it, and several processes each count their own (documented in docs/security.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import HTTPException, Request, status


class FailureThrottle:
    """Counts failures per address in a sliding window; ``check`` raises 429 while over."""

    def __init__(self, limit: int = 10, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, max_addresses: int = 100_000):
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_addresses = max_addresses
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.get(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            self._failures.pop(address, None)
        return failures

    def retry_after(self, address: str) -> int:
        """Seconds until ``address`` may try again; 0 when it may now."""
        with self._lock:
            now = self.clock()
            failures = self._recent(address, now)
            if len(failures) < self.limit:
                return 0
            return max(1, math.ceil(failures[-self.limit] + self.window - now))

    def check(self, address: str) -> None:
        wait = self.retry_after(address)
        if wait:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                                f"too many failed authentications from this address; try again "
                                f"in {wait} s", headers={"Retry-After": str(wait)})

    def fail(self, address: str) -> None:
        """Count one failure from ``address``."""
        with self._lock:
            now = self.clock()
            if address not in self._failures and len(self._failures) >= self.max_addresses:
                self._forget_stale(now)
            failures = self._recent(address, now)
            failures.append(now)
            self._failures[address] = failures

    def _forget_stale(self, now: float) -> None:
        for address in list(self._failures):
            self._recent(address, now)


def client_address(request: Request) -> str:
    """The peer address of the connection (a proxy in front must pass the real one itself)."""
    return request.client.host if request.client else "unknown"


def throttle_of(request: Request) -> FailureThrottle:
    return request.app.state.auth_throttle
