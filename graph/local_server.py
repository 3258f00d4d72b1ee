"""The embedded default database: ArcadeDB's Bolt endpoint in a child Java process.

ArcadeDB runs as a separate process (the Java runtime bundled in the ``arcadedb-embedded`` wheel
with its server jars), never in-process through JPype, which crashes at interpreter exit. One data
directory has at most one server; its ports and process id are kept in ``server.json`` there so
that a second command reuses a running server instead of starting another.

The data directory is private to its owner: created 0700, every file in it 0600, and the server
runs under umask 077. The root password reaches the server through a file
(``arcadedb.server.rootPasswordPath``), never on the command line: ``/proc/<pid>/cmdline`` is
readable by every local user.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from graph.leases import Lease, live_leases

DATABASE_NAME = "partnermatch"
ROOT_USER = "root"
_STATE_FILE = "server.json"
_PASSWORD_FILE = "root-password"
_LOG_FILE = "server.log"
_LOCK_FILE = ".lock"
_UNUSED_JARS = ("arcadedb-mcp-", "arcadedb-graphql-", "arcadedb-postgresw-", "arcadedb-redisw-",
                "arcadedb-console-")
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600
_PRIVATE_UMASK = 0o077


def _private_opener(path: str, flags: int) -> int:
    """An ``open`` opener that creates files readable by their owner only."""
    return os.open(path, flags, _PRIVATE_FILE)


class LocalServerError(RuntimeError):
    """The local database server could not be started, reached or stopped."""


@dataclass(frozen=True)
class ServerInfo:
    pid: int
    bolt_port: int
    http_port: int
    started_at: float
    # Stopped by the last process that leaves it (see ``graph.leases``); ``db start``'s is not.
    managed: bool = True

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"


def _arcadedb_home() -> Path:
    try:
        import arcadedb_embedded  # only for its install location: the server runs out of process
    except ImportError as exc:  # pragma: no cover - a dependency of the distribution
        raise LocalServerError(
            "the package arcadedb-embedded is not installed; run `pip install .` again"
        ) from exc
    return Path(arcadedb_embedded.__file__).parent


def find_java() -> Path:
    bundled = _arcadedb_home() / "jre" / "bin" / "java"
    if bundled.is_file() and os.access(bundled, os.X_OK):
        return bundled
    system = shutil.which("java")
    if system:
        return Path(system)
    raise LocalServerError(
        f"no Java runtime: neither the bundled {bundled} nor `java` on PATH exists; "
        "reinstall arcadedb-embedded or set NEO4J_URI to use a Neo4j server"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _process_alive(pid: int, data_dir: Path) -> bool:
    """True when ``pid`` runs and is an ArcadeDB server for this data directory (pids get reused)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    if "\tZ" in status.split("State:", 1)[-1].splitlines()[0]:
        return False
    # The whole argument: as a substring, a server for /x/data-2 passed for one of /x/data,
    # which then took it for its own and killed it before starting.
    return ("ArcadeDBServer" in cmdline
            and f"-Darcadedb.server.rootPath={data_dir}" in cmdline.split("\0"))


def _servers_of(data_dir: Path) -> list[int]:
    """Every running ArcadeDB server process for ``data_dir``, known to server.json or not."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _process_alive(int(entry.name), data_dir):
            pids.append(int(entry.name))
    return pids


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# The server's code is compiled by the JVM's quick compiler only (C1), never by the optimising
# one (C2). The server shares the service's cores and does little per request (a write's
# statements and commit cost it 1.5-3 ms of CPU at 10k members), but C2 compiled ArcadeDB for
# minutes after every start: measured at 10k on a fresh server (docs/benchmarks.md, h2), a member
# edit cost 19 ms of the server's CPU in its first 200 writes, 12.5 ms of it compiling, and
# compilation still took 1-5 ms a write 2,400 writes later; that CPU was taken from the
# service's requests. With C1 only: 8 ms in the first 200, about 3 ms from the second 200 on
# (C2's code, once warm, about 2.4 ms). Every `partnermatch` command that starts the server
# starts it cold. What C2 does better is a long import (100k members: 806 against 551
# members/s, both at load 8-10): ``PARTNERMATCH_JAVA_OPTIONS=-XX:TieredStopAtLevel=4`` restores C2.
JIT_OPTIONS = ("-XX:TieredStopAtLevel=1",)


class LocalServer:
    """Start, find and stop the ArcadeDB Bolt server that keeps its data in ``data_dir``."""

    def __init__(self, data_dir: Path, *, java_heap: str = "2g",
                 java_options: tuple[str, ...] = (), startup_timeout: float = 90.0):
        self.data_dir = Path(data_dir).resolve()
        self.java_heap = java_heap
        self.java_options = tuple(java_options)  # after the defaults, so they override them
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None

    # -- files in the data directory ------------------------------------------------------------
    @property
    def log_path(self) -> Path:
        return self.data_dir / _LOG_FILE

    def password(self) -> str:
        """The root password, generated on first use and kept readable by the owner only."""
        path = self.data_dir / _PASSWORD_FILE
        if path.exists():
            return path.read_text().strip()
        secret = secrets.token_urlsafe(24)  # ArcadeDB refuses root passwords under 8 characters
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE)
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
        return secret

    @property
    def password_path(self) -> Path:
        return self.data_dir / _PASSWORD_FILE

    def _read_state(self) -> ServerInfo | None:
        try:
            return ServerInfo(**json.loads((self.data_dir / _STATE_FILE).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def _write_state(self, info: ServerInfo) -> None:
        tmp = self.data_dir / (_STATE_FILE + ".tmp")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # a leftover may carry older, looser permissions
        with open(tmp, "w", opener=_private_opener) as handle:
            handle.write(json.dumps(asdict(info)))
        tmp.replace(self.data_dir / _STATE_FILE)

    def _clear_state(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.data_dir / _STATE_FILE).unlink()

    def _prepare_data_dir(self) -> None:
        try:
            self.data_dir.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
            self._refuse_foreign_files()
            # An existing directory may have been made by hand with looser modes: tighten it,
            # since everything the server writes inside inherits its reach.
            if self.data_dir.stat().st_mode & 0o077:
                self.data_dir.chmod(_PRIVATE_DIR)
            # Its own name: service processes started together (``serve --workers``) prepare
            # the directory at once, and one removing a shared probe failed another's write.
            probe = self.data_dir / f".write-probe-{os.getpid()}-{threading.get_ident()}"
            with open(probe, "w", opener=_private_opener) as handle:
                handle.write("ok")
            probe.unlink()
        except OSError as exc:
            raise LocalServerError(
                f"cannot write to the data directory {self.data_dir}: {exc.strerror or exc}; "
                "set PARTNERMATCH_DATA to a writable directory"
            ) from exc

    def _refuse_foreign_files(self) -> None:
        """A data directory (or its password or state file) that another user made is theirs to
        plant: a root password they chose, a ``server.json`` naming their own process and port,
        to which every command would then send the password. Tightening its mode cannot help
        (they may change it back), so it is refused, as ssh refuses a key another user owns."""
        for path in (self.data_dir, self.data_dir / _PASSWORD_FILE, self.data_dir / _STATE_FILE):
            try:
                owner = path.stat().st_uid
            except FileNotFoundError:
                continue
            if owner != os.geteuid():
                raise LocalServerError(
                    f"{path} belongs to another user (uid {owner}), who could have chosen the "
                    "database password in it: use a data directory of your own "
                    "(PARTNERMATCH_DATA)")

    @contextlib.contextmanager
    def _start_lock(self):
        """Serialise start-ups so two commands on one directory do not launch two servers."""
        with open(self.data_dir / _LOCK_FILE, "w", opener=_private_opener) as handle:
            deadline = time.monotonic() + self.startup_timeout
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise LocalServerError(
                            f"the data directory {self.data_dir} is locked by another "
                            "partnermatch process that is starting a server"
                        ) from None
                    time.sleep(0.2)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- lifecycle ----------------------------------------------------------------------------
    def status(self) -> ServerInfo | None:
        """The running server of this data directory, or None."""
        info = self._read_state()
        if info is None or not _process_alive(info.pid, self.data_dir):
            return None
        return info

    def start(self, *, managed: bool = False) -> tuple[ServerInfo, bool]:
        """Return the running server, starting one if needed; the flag says whether we started it.

        A server started here without ``managed`` runs until ``stop`` (``partnermatch db start``).
        """
        self._prepare_data_dir()
        with self._start_lock():
            return self._start_locked(managed)

    def _start_locked(self, managed: bool,
                      ports: tuple[int, int] | None = None) -> tuple[ServerInfo, bool]:
        running = self.status()
        if running is not None:
            self._wait_for_bolt(running, None)
            return running, False
        self._clear_state()
        # A server that runs without server.json (its writer crashed in between) holds the
        # database's files: it has to go before another may open them.
        for pid in _servers_of(self.data_dir):
            self._kill(pid)
        info = self._launch(ports)
        info = ServerInfo(**{**asdict(info), "managed": managed})
        self._write_state(info)
        return info, True

    def attach(self) -> tuple[ServerInfo, Lease]:
        """Use this directory's server, starting (or adopting an orphaned) one if needed, under a
        lease that ``detach`` gives back."""
        self._prepare_data_dir()
        with self._start_lock():
            info, _ = self._start_locked(managed=True)
            return info, Lease(self.data_dir)

    def detach(self, lease: Lease) -> bool:
        """Give back ``lease``; the last process to leave stops a managed server. True if stopped."""
        with self._start_lock():
            lease.release()
            info = self.status()
            if info is None or not info.managed or live_leases(self.data_dir):
                return False
            self._kill(info.pid)
            self._clear_state()
            return True

    def restart(self, dead: ServerInfo) -> ServerInfo:
        """The server after ``dead`` died: the one another process already started, or a new one
        on the same ports, so that drivers connected to them need not change."""
        with self._start_lock():
            running = self.status()
            if running is not None and running.pid != dead.pid:
                self._wait_for_bolt(running, None)
                return running
            ports = (dead.bolt_port, dead.http_port)
            if not all(_port_free(port) for port in ports):
                ports = None
            return self._start_locked(dead.managed, ports)[0]

    def is_running(self, info: ServerInfo) -> bool:
        """Whether the server ``info`` still runs; reaps it when it was our child and exited."""
        if self._process is not None and self._process.pid == info.pid:
            return self._process.poll() is None
        return _process_alive(info.pid, self.data_dir)

    def _command(self, bolt_port: int, http_port: int) -> list[str]:
        jars = _arcadedb_home() / "jars"
        settings = {
            "arcadedb.server.rootPath": str(self.data_dir),
            # A path, not the secret: the command line is world-readable through /proc.
            "arcadedb.server.rootPasswordPath": str(self.password_path),
            "arcadedb.server.plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
            "arcadedb.bolt.host": "127.0.0.1",
            "arcadedb.bolt.port": str(bolt_port),
            # The HTTP listener always starts: keep it on loopback, on a port of its own.
            "arcadedb.server.httpIncomingHost": "127.0.0.1",
            "arcadedb.server.httpIncomingPort": str(http_port),
            "arcadedb.server.defaultDatabases": f"{DATABASE_NAME}[{ROOT_USER}]",
            # fsync every commit: a facilitator's data must survive a power cut.
            "arcadedb.txWalFlush": "2",
            # Start-up time is downtime after a crash: skip what partnermatch does not use.
            "arcadedb.polyglotEngineEnabled": "false",
            "arcadedb.serverMetrics": "false",
        }
        # Plugins found on the class path start too (MCP, GraphQL, Postgres and Redis wire
        # protocols): leave their jars out.
        classpath = [str(jar) for jar in sorted(jars.glob("*.jar"))
                     if not jar.name.startswith(_UNUSED_JARS)]
        return [
            str(find_java()),
            f"-Xmx{self.java_heap}",
            *JIT_OPTIONS,
            *[f"-D{key}={value}" for key, value in settings.items()],
            *self.java_options,
            "-cp",
            os.pathsep.join(classpath),
            "com.arcadedb.server.ArcadeDBServer",
        ]

    def _launch(self, ports: tuple[int, int] | None = None) -> ServerInfo:
        bolt_port, http_port = ports or (_free_port(), _free_port())
        self.password()  # make sure the file exists before the server reads it
        command = self._command(bolt_port, http_port)
        with open(self.log_path, "ab", opener=_private_opener) as log:
            # ArcadeDB writes ./log relative to its working directory: run it inside the data dir.
            # A session of its own keeps a Ctrl-C in the terminal from killing it mid-write.
            self._process = subprocess.Popen(
                command,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                umask=_PRIVATE_UMASK,  # databases, logs and config: the owner's only
            )
        info = ServerInfo(self._process.pid, bolt_port, http_port, time.time())
        try:
            self._wait_for_bolt(info, self._process)
        except BaseException:
            self._kill(info.pid)
            raise
        return info

    def _wait_for_bolt(self, info: ServerInfo, process: subprocess.Popen[bytes] | None) -> None:
        """Wait until Bolt answers ``RETURN 1``: a taken port is only logged, the process lives on."""
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable

        deadline = time.monotonic() + self.startup_timeout
        last_error: Exception | None = None
        with GraphDatabase.driver(
            info.uri, auth=(ROOT_USER, self.password()), connection_timeout=2.0
        ) as driver:
            while time.monotonic() < deadline:
                if process is not None and process.poll() is not None:
                    raise LocalServerError(
                        f"the database server exited with code {process.returncode} during "
                        f"start-up; last lines of {self.log_path}:\n{self.log_tail()}"
                    )
                try:
                    # An auto-commit query: execute_query would retry (and log) on its own.
                    with driver.session(database=DATABASE_NAME) as session:
                        session.run("RETURN 1 AS ok").consume()
                    return
                except AuthError as exc:
                    raise LocalServerError(
                        f"the database in {self.data_dir} refused the stored root password "
                        f"({exc.message}); was the data directory copied without its "
                        f"{_PASSWORD_FILE} file?"
                    ) from exc
                except (ServiceUnavailable, Neo4jError, OSError) as exc:
                    last_error = exc
                    time.sleep(0.3)
        raise LocalServerError(
            f"the database server did not answer on {info.uri} within {self.startup_timeout:.0f} s "
            f"(last error: {last_error}); last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop this directory's server cleanly; False when none was running."""
        info = self.status()
        if info is None:
            self._clear_state()
            return False
        self._kill(info.pid, timeout)
        self._clear_state()
        return True

    def _kill(self, pid: int, timeout: float = 30.0) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)  # ArcadeDB's shutdown hook closes its databases
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.pid == pid:
                if self._process.poll() is not None:
                    return
            elif not _process_alive(pid, self.data_dir):
                return
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if self._process is not None and self._process.pid == pid:
            self._process.wait(timeout=10)
