"""Keep the local database server running: notice when it dies, reap it, start it again.

A thread checks the server process a few times a second. When it has died (``kill -9``, out of
memory, a crash), the supervisor marks the database down at once, so that requests answer 503
with ``Retry-After`` instead of waiting on connection retries, and restarts the server with
backoff (immediately, then 1, 2, 4 ... 30 s between failed attempts). Another process on the same
data directory may have restarted it first: then that server is adopted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from graph.local_server import LocalServer, ServerInfo

log = logging.getLogger("partnermatch.database")

# Seconds from a crash to a server answering again, as measured (docs/reliability.md): what a
# client is told to wait while a restart runs.
TYPICAL_RESTART = 5.0
BACKOFF = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0)


class ServerSupervisor:
    """Watch ``server`` (now running as ``info``); ``on_restart`` gets each new server's info."""

    def __init__(self, server: LocalServer, info: ServerInfo,
                 on_restart: Callable[[ServerInfo], None], *, interval: float = 0.2):
        self.server = server
        self.info = info
        self.on_restart = on_restart
        self.interval = interval
        self.restarts = 0
        self._down_since: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="database-supervisor",
                                        daemon=True)

    def __enter__(self) -> ServerSupervisor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.server.startup_timeout + 5)

    def availability(self) -> float | None:
        """None while the server runs, else the seconds a client should wait before retrying."""
        down_since = self._down_since
        if down_since is None:
            return None
        return max(1.0, TYPICAL_RESTART - (time.monotonic() - down_since))

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            if self.server.is_running(self.info):
                continue
            self._down_since = time.monotonic()
            log.error("the database server (pid %d) died; restarting it", self.info.pid)
            self._restart()

    def _restart(self) -> None:
        for attempt, pause in enumerate(_backoff()):
            if self._stop.wait(pause):
                return
            try:
                info = self.server.restart(self.info)
            except Exception as exc:  # keep trying: the operator reads the log meanwhile
                log.error("restart %d of the database server failed: %s", attempt + 1, exc)
                continue
            self.info = info
            self.on_restart(info)
            self.restarts += 1
            self._down_since = None
            log.warning("the database server is back (pid %d)", info.pid)
            return


def _backoff():
    yield from BACKOFF
    while True:
        yield BACKOFF[-1]
