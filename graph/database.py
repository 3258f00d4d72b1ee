"""One driver per process, opened on the configured server or on the local default."""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

from neo4j import (READ_ACCESS, WRITE_ACCESS, Driver, GraphDatabase, ManagedTransaction,
                   NotificationMinimumSeverity)
from neo4j.exceptions import ConstraintError, Neo4jError, ServiceUnavailable, SessionExpired

from graph import schema
from graph.local_server import DATABASE_NAME, ROOT_USER, LocalServer, ServerInfo
from graph.settings import DatabaseSettings
from graph.supervisor import ServerSupervisor
from graph.turns import Board, TurnTimeout, committing, no_turns, write_attempt

T = TypeVar("T")


ENTITY_NOT_FOUND = "Neo.ClientError.Statement.EntityNotFound"


class DatabaseUnavailable(RuntimeError):
    """The graph database cannot be reached now; ``retry_after`` seconds is a fair wait."""

    def __init__(self, message: str, retry_after: int = 2):
        super().__init__(message)
        self.retry_after = retry_after


class DatabaseBusy(DatabaseUnavailable):
    """A transient conflict (lock, concurrent MERGE) outlasted the retry budget of a write."""


class StorageFull(RuntimeError):
    """The database cannot write: its disk is full. Reads still work."""


# Errors whose message means the server's disk is full (ArcadeDB wraps the Java IOException).
_DISK_FULL = ("no space left on device", "disk full", "not enough space")

_FULL_BELOW = 32 * 1024 * 1024  # bytes free on the local server's disk that count as full

Availability = Callable[[], "float | None"]

# A statement observer sees every statement (and its parameters) the code sends (tests use it to
# check each one with Neo4j's own Cypher front end).
StatementObserver = Callable[[str, dict[str, Any]], None]


class WriteWatch(Protocol):
    """One write transaction seen by a ``WriteWatcher``."""

    def before_commit(self) -> None:
        """The work is done and the transaction still open (it may read what the work left)."""

    def committed(self) -> None:
        """The transaction committed (the watch acts on it as its context ends)."""


class WriteWatcher(Protocol):
    """Watches every write attempt (graph/changes.py's ``CommittedChanges``: a process learns
    what its own writes changed without reading the change log back)."""

    def watch(self, tx: Any) -> contextlib.AbstractContextManager[WriteWatch | None]:
        ...


def _always_up() -> float | None:
    return None


# Backoff between attempts of a write that conflicted (ArcadeDB reports it at commit, once the
# transaction it lost to has committed): run again soon, at a random point of a span that starts
# at about one version bump and commit (measured 10-45 ms at 10,000 members, benchmarks/writes.py)
# and doubles, so the losers of one conflict spread out instead of meeting again.
CONFLICT_PAUSE = 0.03
CONFLICT_PAUSE_MAX = 0.25

class Database:
    """The driver and database name that every repository function takes.

    Each unit of work runs in one transaction, so a write either commits whole or not at all.
    Transient failures (a lost connection, a lock conflict, a concurrent ``MERGE`` on one unique
    key) are retried here, for at most ``retry_time`` seconds, not by the driver: between
    attempts ``availability`` (the local server's supervisor) is asked whether the database is
    up at all, so a request never waits on a retry loop while the database is known to be down.
    A read that gets no answer within ``read_timeout`` seconds fails instead of hanging.

    Every session shares one bookmark manager, so on a Neo4j cluster a read that follows a write
    (in this process) sees that write, whichever cluster member serves it.
    """

    def __init__(self, driver: Driver, database: str | None, *,
                 availability: Availability = _always_up, retry_time: float = 5.0,
                 read_timeout: float | None = 120.0, data_dir: Path | None = None):
        self.driver = driver
        self.database = database
        self.data_dir = data_dir  # the local server's files, to tell a full disk from other errors
        self.availability = availability
        self.retry_time = retry_time
        self.read_timeout = read_timeout
        self.write_failure: str | None = None  # why the last write failed, until one succeeds
        self.bookmarks = GraphDatabase.bookmark_manager()
        self.observer: StatementObserver | None = None
        self.write_watcher: WriteWatcher | None = None  # set by graph.changes.committed_changes
        # The turns and board of versions of the processes using the local server, for the
        # server run now connected to (graph/turns.py); None for a remote server.
        self.board: Board | None = None

    def read(self, work: Callable[..., T], *args: Any) -> T:
        return self._run(READ_ACCESS, work, args, attempts=3)

    def write(self, work: Callable[..., T], *args: Any, attempts: int = 3) -> T:
        """Run ``work`` in one write transaction.

        Two concurrent ``MERGE``s on one unique key can raise ``ConstraintError``; since callers
        validate their input first, such an error is a race, and the whole transaction is run
        again, ``attempts`` times at most (1: the caller handles the error itself).
        """
        result = self._run(WRITE_ACCESS, work, args, attempts=attempts)
        self.write_failure = None
        return result

    def lookup(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """Run one read-only statement as an auto-commit transaction and return its records:
        one round trip where an explicit transaction takes three (begin, run, commit). For the
        small reads made on every request (a network's version)."""

        def work(session: Any) -> list[dict[str, Any]]:
            return session.run(cypher, params).data()

        return self._run(READ_ACCESS, work, (), attempts=3, autocommit=True)

    def _run(self, mode: str, work: Callable[..., T], args: tuple, attempts: int,
             autocommit: bool = False) -> T:
        deadline = time.monotonic() + self.retry_time
        delay = 0.05
        conflict_pause = CONFLICT_PAUSE
        constraint_failures = 0
        while True:
            self.check_available()
            conflict = False
            try:
                if autocommit:
                    return self._autocommit(mode, work)
                return self._attempt(mode, work, args)
            except TurnTimeout as exc:
                raise DatabaseBusy("another write to the same network is taking long; try "
                                   "again", retry_after=1) from exc
            except ConstraintError:
                constraint_failures += 1
                if constraint_failures >= attempts or time.monotonic() > deadline:
                    raise
                conflict = True
            except (ServiceUnavailable, SessionExpired) as exc:
                if _timed_out(exc):
                    raise DatabaseUnavailable(
                        f"the graph database did not answer within {self.read_timeout:.0f} s",
                        retry_after=10) from exc
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(f"the graph database is unavailable: {exc}") from exc
            except Neo4jError as exc:
                if mode == WRITE_ACCESS and (_is_disk_full(exc) or self._disk_full()):
                    self.write_failure = "the database's disk is full"
                    raise StorageFull(self.write_failure) from exc
                # A write that finds a node another transaction deleted meanwhile (ArcadeDB:
                # two commits compacting the same change records) is a conflict: run it again.
                vanished = mode == WRITE_ACCESS and exc.code == ENTITY_NOT_FOUND
                if not (exc.is_retryable() or vanished):
                    raise
                if time.monotonic() > deadline:
                    raise DatabaseBusy("the graph database is busy with conflicting writes; "
                                       "try again", retry_after=1) from exc
                conflict = True
            except OSError as exc:
                if _is_disk_full(exc):
                    raise
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable(f"the graph database is unavailable: {exc}") from exc
            # Jitter, so that requests that conflicted once do not collide again in step.
            if conflict:
                pause = random.uniform(0.0, conflict_pause)
                conflict_pause = min(conflict_pause * 2, CONFLICT_PAUSE_MAX)
            else:  # the database is restarting or out of reach: wait longer
                pause = delay * random.uniform(0.5, 1.0)
                delay = min(delay * 2, 0.5)
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))

    def _attempt(self, mode: str, work: Callable[..., T], args: tuple) -> T:
        if mode != WRITE_ACCESS:
            with no_turns():  # (a read run inside a write's work takes none)
                return self._transaction(mode, work, args)
        # Committed or rolled back, the turns pass to the next writes; the board gets the
        # versions the write left only once it committed.
        with write_attempt(self.board) as committed:
            result = self._transaction(mode, work, args)
            committed()
            return result


    def _transaction(self, mode: str, work: Callable[..., T], args: tuple) -> T:
        with self.driver.session(database=self.database, default_access_mode=mode,
                                 bookmark_manager=self.bookmarks) as session:
            with _begin(session) as tx:
                self._limit_reads(tx)
                run = tx if self.observer is None else _Observed(tx, self.observer)
                watcher = self.write_watcher if mode == WRITE_ACCESS else None
                if watcher is None:
                    result = work(run, *args)
                    committing()  # (the board: graph/turns.py)
                    tx.commit()
                    return result
                with watcher.watch(run) as watch:  # each attempt afresh: a retry starts over
                    result = work(run, *args)
                    if watch is not None:
                        watch.before_commit()
                    committing()
                    tx.commit()
                    if watch is not None:
                        watch.committed()
                return result

    def _autocommit(self, mode: str, work: Callable[[Any], T]) -> T:
        with self.driver.session(database=self.database, default_access_mode=mode,
                                 bookmark_manager=self.bookmarks) as session:
            # The session's connection is taken first, so its answers are bounded in time too
            # (the statement then runs on it); skipped if the driver's insides change.
            connect = getattr(session, "_connect", None)
            if connect is not None and self.read_timeout is not None:
                connect(mode)
                self._limit_reads(session)
            return work(session if self.observer is None else _Observed(session, self.observer))

    def _limit_reads(self, tx: Any) -> None:
        """Bound how long one answer may take: a stalled server or a message it dropped would
        otherwise block the caller for good. The driver only applies a server's hint here, so the
        socket of this transaction's connection is set directly (skipped if the driver's insides
        change)."""
        if self.read_timeout is None:
            return
        sock = getattr(getattr(tx, "_connection", None), "socket", None)
        if hasattr(sock, "set_read_timeout"):
            sock.set_read_timeout(self.read_timeout)

    def _disk_full(self) -> bool:
        """Whether the local server's disk has (almost) no space left: ArcadeDB then fails the
        commit with a generic "Transaction error on commit" that does not say why."""
        if self.data_dir is None:
            return False
        try:
            stats = os.statvfs(self.data_dir)
        except OSError:
            return False
        return stats.f_bavail * stats.f_frsize < _FULL_BELOW

    def check_available(self) -> None:
        """Raise ``DatabaseUnavailable`` at once while the database is known to be down."""
        wait = self.availability()
        if wait is not None:
            raise DatabaseUnavailable("the graph database is restarting",
                                      retry_after=max(1, math.ceil(wait)))

    def query(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """Run one read-only statement and return its records as dicts."""

        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            return tx.run(cypher, params).data()

        return self.read(work)

    def ping(self) -> None:
        """Raise ``DatabaseUnavailable`` unless the server answers now (no retries)."""
        self.check_available()
        try:
            with self.driver.session(database=self.database) as session:
                session.run("RETURN 1 AS ok").consume()
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            raise DatabaseUnavailable(f"the graph database is unavailable: {exc}") from exc


def _begin(session: Any) -> Any:
    """Begin a transaction whose BEGIN goes out with its first statement: one round trip fewer
    per transaction (three instead of four for a write of two statements). The driver does this
    for its own ``execute_query`` through a session flag; used where the flag exists, else the
    BEGIN waits for its answer as before. A BEGIN the server refuses fails the first statement,
    with the same errors."""
    pipelined = getattr(session, "_pipelined_begin", None)
    if not (hasattr(pipelined, "__enter__") and hasattr(pipelined, "__exit__")):
        return session.begin_transaction()
    with pipelined:
        return session.begin_transaction()


class _Observed:
    """A transaction that shows each statement to an observer before running it."""

    def __init__(self, tx: Any, observe: StatementObserver):
        self._tx, self._observe = tx, observe

    def run(self, query: str, parameters: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        self._observe(query, {**(parameters or {}), **kwargs})
        return self._tx.run(query, parameters, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tx, name)


def _timed_out(exc: BaseException) -> bool:
    while exc is not None:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _is_disk_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _DISK_FULL)


@contextlib.contextmanager
def open_database(settings: DatabaseSettings | None = None, *,
                  supervise: bool = True) -> Iterator[Database]:
    """Open the database named by ``settings`` (default: the environment) and ensure its schema.

    Without ``NEO4J_URI`` the local server of ``PARTNERMATCH_DATA`` is used: reused when it already
    runs, otherwise started here, under a lease (``graph.leases``): the last process to leave
    stops it. While open, a supervisor restarts the server if it dies (``graph.supervisor``).
    """
    settings = settings or DatabaseSettings.from_env()
    if not settings.is_local:
        assert settings.uri is not None
        driver = _driver(settings.uri, (settings.user, settings.password or ""), settings)
        try:
            yield _ready(Database(driver, settings.database, read_timeout=settings.read_timeout))
        finally:
            driver.close()
        return
    server = LocalServer(settings.data_dir, java_heap=settings.java_heap,
                         java_options=settings.java_options)
    info, lease = server.attach()
    auth = (ROOT_USER, server.password())
    try:
        db = Database(_driver(info.uri, auth, settings), DATABASE_NAME,
                      read_timeout=settings.read_timeout, data_dir=server.data_dir)
        db.board = Board.of(server.data_dir / "turns", info.pid, info.started_at)

        def reconnect(new: ServerInfo) -> None:
            db.board = Board.of(server.data_dir / "turns", new.pid, new.started_at)
            if new.uri != info.uri:  # the old ports were taken: follow the server
                old, db.driver = db.driver, _driver(new.uri, auth, settings)
                old.close()

        try:
            if not supervise:
                yield _ready(db)
                return
            with ServerSupervisor(server, info, reconnect) as supervisor:
                db.availability = supervisor.availability
                yield _ready(db)
        finally:
            db.driver.close()
    finally:
        server.detach(lease)


def _driver(uri: str, auth: tuple[str, str], settings: DatabaseSettings) -> Driver:
    # Retries happen in Database, which knows whether the server is up; the driver gives up at
    # once. A connection attempt that hangs is bounded too.
    options: dict[str, Any] = {}
    if not settings.is_local:
        # Performance hints (a planned cartesian product, an unused index) are for a developer's
        # console, not the service's log; what the server deprecates still comes through.
        options["notifications_min_severity"] = NotificationMinimumSeverity.WARNING
    return GraphDatabase.driver(uri, auth=auth, max_transaction_retry_time=0.0,
                                connection_timeout=settings.connect_timeout,
                                connection_acquisition_timeout=settings.connect_timeout * 2,
                                **options)


def _ready(db: Database) -> Database:
    db.ping()
    schema.ensure(db)
    return db
