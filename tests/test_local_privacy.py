"""The local database is private to its owner: no secret on a command line, no readable file.

Every local user can read ``/proc/<pid>/cmdline`` of every process and list any directory it may
enter; these tests read ``/proc`` and the file modes as such a user would.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from graph.database import Database
from graph.local_server import LocalServer, LocalServerError
from graph.settings import DatabaseSettings

pytestmark = pytest.mark.database


def _local(settings: DatabaseSettings) -> LocalServer:
    if not settings.is_local:
        pytest.skip("only the local server is managed by partnermatch")
    return LocalServer(settings.data_dir)


def _command_lines() -> dict[int, bytes]:
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines[int(entry.name)] = (entry / "cmdline").read_bytes()
            except OSError:  # the process ended meanwhile
                continue
    return lines


def test_the_root_password_is_on_no_command_line(settings: DatabaseSettings, db: Database) -> None:
    server = _local(settings)
    info = server.status()
    assert info is not None
    secret = server.password().encode()
    lines = _command_lines()
    assert b"ArcadeDBServer" in lines[info.pid]  # the server is among what was read
    assert b"rootPasswordPath" in lines[info.pid]
    assert [pid for pid, line in lines.items() if secret in line] == []


def test_everything_in_the_data_directory_is_the_owners_only(
    settings: DatabaseSettings, db: Database
) -> None:
    server = _local(settings)
    assert server.status() is not None
    root = server.data_dir
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    seen, loose = [], []
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            seen.append(path.relative_to(root).as_posix())
            if path.lstat().st_mode & 0o077:
                loose.append(f"{path.relative_to(root)} {stat.filemode(path.lstat().st_mode)}")
    assert {"server.json", "root-password", "server.log"} <= set(seen)
    assert any(p.startswith("databases/") or p.startswith("partnermatch") for p in seen), seen
    assert loose == []


def test_a_data_directory_another_user_made_is_refused(tmp_path: Path) -> None:
    """Another user who made the data directory first (under a shared /tmp, say) could plant
    the root password, or a ``server.json`` naming its own process and port to receive it: such
    a directory is refused before anything is started or read from it."""
    if os.geteuid() != 0:
        pytest.skip("only root can hand a directory to another user")
    planted = tmp_path / "data"
    planted.mkdir(mode=0o777)
    (planted / "root-password").write_text("chosen-by-the-other-user")
    for path in (planted, planted / "root-password"):
        os.chown(path, 65534, 65534)  # nobody
    server = LocalServer(planted)
    try:
        with pytest.raises(LocalServerError, match="belongs to another user"):
            server.start()
    finally:
        server.stop()  # (a server started on the planted password, without the refusal)
    os.chown(planted, 0, 0)  # the directory alone is the user's now: its password file is not
    with pytest.raises(LocalServerError, match="root-password belongs to another user"):
        server.start()
