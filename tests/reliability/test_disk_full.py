"""A full disk under the database: writes answer 507 with a clear message, reads keep working,
/health says degraded, and everything recovers without a restart once space is back.

Needs a small filesystem of its own: a tmpfs mounted for the test (root, and a kernel that lets
this process mount); skipped where that is not possible.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import open_database
from graph.settings import DatabaseSettings
from tests.conftest import ADMIN_SECRET

pytestmark = pytest.mark.slow


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.environ.get("NEO4J_URI"):
        pytest.skip("only the local server's disk can be filled by the test")
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", str(mount)],
                       check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"cannot mount a small filesystem here: {exc}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False, timeout=30)


def fill(path: Path) -> None:
    with open(path, "wb") as handle:
        with contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * (1 << 20))
                handle.flush()


def test_a_full_disk_answers_507_and_recovers_without_a_restart(small_disk: Path) -> None:
    settings = dataclasses.replace(DatabaseSettings.from_env(), data_dir=small_disk / "data",
                                   java_heap="512m")
    admin = {"Authorization": f"Bearer {ADMIN_SECRET}"}
    network = {"name": "Disk test"}
    with open_database(settings) as db:
        app = create_app(ApiSettings(admin_token=ADMIN_SECRET), database=db)
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.put("/networks/written-before", json=network, headers=admin
                              ).status_code == 200
            filler = small_disk / "filler"
            fill(filler)

            # Pages and the write-ahead log have some room left: write until the disk says no.
            acknowledged, refused = [], None
            for i in range(300):
                answer = client.put(f"/networks/while-full-{i}", headers=admin,
                                    json={**network, "description": "x" * 2000})
                assert answer.status_code in (200, 507), answer.text
                if answer.status_code == 507:
                    refused = answer
                    break
                acknowledged.append(f"while-full-{i}")
            assert refused is not None, "300 writes on a full disk all succeeded"
            assert "disk is full" in refused.json()["detail"]
            assert "Retry-After" in refused.headers
            health = client.get("/health")
            assert health.status_code == 200
            assert {k: v for k, v in health.json().items() if k != "matchers"} == {
                "status": "degraded", "database": "ok", "writes": "the database's disk is full"}
            listed = client.get("/networks", headers=admin)
            assert listed.status_code == 200  # reads keep working
            assert f"while-full-{len(acknowledged)}" not in {n["id"] for n in listed.json()}

            filler.unlink()  # an operator frees space; nobody restarts anything
            assert client.get("/health").json()["status"] == "ok"
            assert client.put("/networks/written-after", json=network, headers=admin
                              ).status_code == 200
            ids = {n["id"] for n in client.get("/networks", headers=admin).json()}
            assert {"written-before", "written-after", *acknowledged} <= ids
