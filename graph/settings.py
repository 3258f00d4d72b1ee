"""Where the graph lives: a Neo4j server named in the environment, or the local ArcadeDB default."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DatabaseSettings:
    """Connection settings read once from the environment.

    With ``uri`` set (``NEO4J_URI``) partnermatch talks to that server; without it, it runs its own
    local Bolt server with its data in ``data_dir`` (``PARTNERMATCH_DATA``).
    """

    uri: str | None = None
    user: str = "neo4j"
    password: str | None = None
    database: str | None = None
    data_dir: Path = Path("partnermatch-data")
    java_heap: str = "2g"
    # More options for the local server's JVM (PARTNERMATCH_JAVA_OPTIONS, split at white space),
    # after partnermatch's own, so they override them (graph/local_server.py ``JIT_OPTIONS``).
    java_options: tuple[str, ...] = ()
    # Seconds to wait for a connection, and for any one answer of the server: a stalled server
    # or a message it dropped becomes an error, never a hang.
    connect_timeout: float = 5.0
    read_timeout: float = 120.0

    @property
    def is_local(self) -> bool:
        return not self.uri

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> DatabaseSettings:
        env = os.environ if environ is None else environ
        return cls(
            uri=env.get("NEO4J_URI") or None,
            user=env.get("NEO4J_USER", "neo4j"),
            password=env.get("NEO4J_PASSWORD"),
            database=env.get("NEO4J_DATABASE") or None,
            data_dir=Path(env.get("PARTNERMATCH_DATA", "partnermatch-data")).expanduser().resolve(),
            java_heap=env.get("PARTNERMATCH_JAVA_HEAP", "2g"),
            java_options=tuple(env.get("PARTNERMATCH_JAVA_OPTIONS", "").split()),
            connect_timeout=float(env.get("PARTNERMATCH_DB_CONNECT_TIMEOUT", "5")),
            read_timeout=float(env.get("PARTNERMATCH_DB_READ_TIMEOUT", "120")),
        )
