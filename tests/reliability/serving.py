"""Run ``partnermatch serve`` as an operator would: a real process, on a real data directory."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_state(pid: int) -> str | None:
    """The process's state letter (R, S, Z ...), or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    return status.split("State:", 1)[1].split()[0]


def database_pid(data_dir: Path) -> int | None:
    try:
        return int(json.loads((data_dir / "server.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def arcadedb_processes(data_dir: Path) -> list[int]:
    """Running ArcadeDB servers (not zombies) whose data lives in ``data_dir``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if ("ArcadeDBServer" in cmdline and f"rootPath={data_dir}" in cmdline
                and process_state(int(entry.name)) not in (None, "Z")):
            pids.append(int(entry.name))
    return pids


class Serve:
    """One ``partnermatch serve`` process on ``data_dir``; its log in ``data_dir/../serve-N.log``."""

    def __init__(self, data_dir: Path, admin_token: str | None = None, **env: str):
        self.data_dir = data_dir
        self.port = free_port()
        self.token = admin_token or "pm_rel_" + secrets.token_urlsafe(16)
        environ = {k: v for k, v in os.environ.items() if not k.startswith("NEO4J_")}
        environ.update(PARTNERMATCH_DATA=str(data_dir), PARTNERMATCH_ADMIN_TOKEN=self.token,
                       PARTNERMATCH_JAVA_HEAP="512m", **env)
        self.log_path = data_dir.parent / f"serve-{self.port}.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port),
             "--log-level", "warning"],
            env=environ, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30,
                                   headers={"Authorization": f"Bearer {self.token}"})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def wait_ready(self, timeout: float = 180) -> float:
        """Seconds until /health says ok."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                if self.client.get("/health", timeout=2).status_code == 200:
                    return time.monotonic() - start
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"serve was not ready within {timeout} s:\n{self.log()}")

    def signal(self, signum: int, timeout: float = 60) -> int:
        """Send ``signum`` and wait for the process to end; its exit code."""
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"serve did not end on signal {signum}:\n{self.log()}") from None

    def close(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def stop_leftovers(data_dir: Path) -> None:
    """Kill any database server a failed test left behind on ``data_dir``."""
    for pid in arcadedb_processes(data_dir):
        os.kill(pid, signal.SIGKILL)
