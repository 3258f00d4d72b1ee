"""Leases on a local server: which processes use the database of one data directory right now.

Each process that opens the local database holds a lease: a file in ``<data>/leases`` locked
with ``flock`` for as long as the process uses the server. The kernel drops the lock when the
process ends, however it ends (even ``kill -9``), so a lease left by a crashed process is seen as
free and cleaned up. The server is stopped by whichever process leaves last, not by the one that
happened to start it: a second ``serve`` on the same directory keeps working when the first stops.

Leases are taken and counted under the data directory's start lock, so no process can take one
between another's count and its decision to stop the server.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from pathlib import Path

_LEASE_DIR = "leases"


class Lease:
    """One process's claim on the server of ``data_dir``; released by ``release`` or at exit."""

    def __init__(self, data_dir: Path):
        folder = data_dir / _LEASE_DIR
        folder.mkdir(mode=0o700, exist_ok=True)
        self.path = folder / f"{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh file: nobody else can hold it
        self._fd: int | None = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        os.close(self._fd)  # closing drops the lock
        self._fd = None


def live_leases(data_dir: Path, *, besides: Lease | None = None) -> int:
    """How many leases on ``data_dir`` other than ``besides`` are held by running processes.

    Leases of processes that ended are removed on the way.
    """
    folder = data_dir / _LEASE_DIR
    try:
        entries = sorted(folder.iterdir())
    except FileNotFoundError:
        return 0
    alive = 0
    for path in entries:
        if besides is not None and path == besides.path:
            continue
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            alive += 1  # its owner runs and holds it
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # its owner ended without releasing it
        finally:
            os.close(fd)
    return alive
