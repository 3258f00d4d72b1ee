"""One driver per process, opened on the configured server or on the local default."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j.exceptions import ConstraintError, ServiceUnavailable, SessionExpired

from graph import schema
from graph.local_server import DATABASE_NAME, ROOT_USER, LocalServer
from graph.settings import DatabaseSettings

T = TypeVar("T")


class DatabaseUnavailable(RuntimeError):
    """The graph database cannot be reached."""


class Database:
    """The driver and database name that every repository function takes.

    Reads and writes go through managed transactions (``execute_read``/``execute_write``), so the
    driver retries transient failures and a write either commits whole or not at all.
    """

    def __init__(self, driver: Driver, database: str | None):
        self.driver = driver
        self.database = database

    def read(self, work: Callable[..., T], *args: Any) -> T:
        with self._session() as session:
            return session.execute_read(work, *args)

    def write(self, work: Callable[..., T], *args: Any, attempts: int = 3) -> T:
        """Run ``work`` in one write transaction.

        Two concurrent ``MERGE``s on one unique key can raise ``ConstraintError``, which the driver
        does not retry; since callers validate their input first, such an error is a race, and the
        whole transaction is run again.
        """
        for attempt in range(1, attempts + 1):
            try:
                with self._session() as session:
                    return session.execute_write(work, *args)
            except ConstraintError:
                if attempt == attempts:
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def query(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """Run one read-only statement and return its records as dicts."""

        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            return tx.run(cypher, params).data()

        return self.read(work)

    def ping(self) -> None:
        """Raise ``DatabaseUnavailable`` unless the server answers now (no retries)."""
        try:
            with self._session() as session:
                session.run("RETURN 1 AS ok").consume()
        except OSError as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    @contextlib.contextmanager
    def _session(self):
        try:
            with self.driver.session(database=self.database) as session:
                yield session
        except (ServiceUnavailable, SessionExpired) as exc:
            raise DatabaseUnavailable(f"the graph database is unavailable: {exc}") from exc


@contextlib.contextmanager
def open_database(settings: DatabaseSettings | None = None) -> Iterator[Database]:
    """Open the database named by ``settings`` (default: the environment) and ensure its schema.

    Without ``NEO4J_URI`` the local server of ``PARTNERMATCH_DATA`` is used: reused when it already
    runs, otherwise started here and stopped again on exit.
    """
    settings = settings or DatabaseSettings.from_env()
    server: LocalServer | None = None
    started = False
    database: str | None
    if settings.is_local:
        server = LocalServer(settings.data_dir, java_heap=settings.java_heap)
        info, started = server.start()
        uri, auth, database = info.uri, (ROOT_USER, server.password()), DATABASE_NAME
    else:
        assert settings.uri is not None
        uri, auth, database = settings.uri, (settings.user, settings.password or ""), settings.database
    # Transient failures are retried for a few seconds, not the driver's default 30: a request
    # waiting on a dead database should get its 503 promptly.
    driver = GraphDatabase.driver(uri, auth=auth, max_transaction_retry_time=5.0)
    try:
        db = Database(driver, database)
        db.ping()
        schema.ensure(db)
        yield db
    finally:
        driver.close()
        if started and server is not None:
            server.stop()
