"""The local database process: it comes back by itself, and it never outlives its users.

Each test runs ``partnermatch serve`` as a real process on a data directory of its own and does
to it what operators and crashes do: ``kill -9`` of the database, SIGTERM/SIGINT/SIGHUP to the
service, a second service on the same directory, a service killed outright.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.serving import (Serve, arcadedb_processes, database_pid, process_state,
                                       stop_leftovers)

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    bool(os.environ.get("NEO4J_URI")), reason="only the local server is managed by partnermatch")]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    yield path
    stop_leftovers(path)


@pytest.fixture
def serves(data_dir: Path) -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        serve.close()


RECOVERY_BOUND = float(os.environ.get("PARTNERMATCH_RECOVERY_BOUND", "90"))
NETWORK = {"name": "Crash test", "sector": "logistics"}


def test_a_killed_database_is_restarted_and_requests_fail_fast_meanwhile(
    data_dir: Path, serves: list[Serve]
) -> None:
    serve = Serve(data_dir)
    serves.append(serve)
    serve.wait_ready()
    assert serve.client.put("/networks/before-crash", json=NETWORK).status_code == 200
    pid = database_pid(data_dir)
    assert pid is not None

    os.kill(pid, signal.SIGKILL)
    crashed = time.monotonic()
    time.sleep(0.5)  # the supervisor looks a few times a second
    slowest = 0.0
    answers = []
    for path in ("/health", "/networks", "/networks/before-crash"):
        start = time.monotonic()
        response = serve.client.get(path)
        slowest = max(slowest, time.monotonic() - start)
        answers.append(response)
    assert [r.status_code for r in answers] == [503, 503, 503], [r.text for r in answers]
    assert all(int(r.headers["Retry-After"]) >= 1 for r in answers)
    assert answers[1].json()["detail"].startswith("the graph database is unavailable")
    assert slowest < 1.0, f"a request waited {slowest:.2f} s on a dead database"

    # The promise is 10 s on a quiet machine (docs/reliability.md has the figures); a shared CI
    # machine starts a JVM several times slower, so the bound here only catches "never".
    while serve.client.get("/health").status_code != 200:
        assert time.monotonic() - crashed < RECOVERY_BOUND, f"no recovery:\n{serve.log()}"
        time.sleep(0.1)
    recovered = time.monotonic() - crashed
    print(f"\nrecovered {recovered:.1f} s after kill -9 of the database")
    assert process_state(pid) is None, "the dead database process was not reaped"
    assert database_pid(data_dir) != pid
    # What was acknowledged before the crash is there, and writes work again.
    assert serve.client.get("/networks/before-crash").json()["name"] == "Crash test"
    assert serve.client.put("/networks/after-crash", json=NETWORK).status_code == 200


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP],
                         ids=["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_to_serve_stops_its_database(
    data_dir: Path, serves: list[Serve], signum: int
) -> None:
    serve = Serve(data_dir)
    serves.append(serve)
    serve.wait_ready()
    pid = database_pid(data_dir)
    assert pid is not None and arcadedb_processes(data_dir) == [pid]
    serve.signal(signum)
    assert arcadedb_processes(data_dir) == [], f"an orphan database is left:\n{serve.log()}"
    assert not (data_dir / "server.json").exists()


def test_the_database_outlives_the_first_of_two_serves(
    data_dir: Path, serves: list[Serve]
) -> None:
    first, second = Serve(data_dir), None
    serves.append(first)
    first.wait_ready()
    second = Serve(data_dir, admin_token=first.token)
    serves.append(second)
    second.wait_ready()
    pid = database_pid(data_dir)
    assert arcadedb_processes(data_dir) == [pid]  # one database, shared

    first.signal(signal.SIGTERM)
    assert arcadedb_processes(data_dir) == [pid]
    assert second.client.get("/health").status_code == 200
    assert second.client.put("/networks/shared", json=NETWORK).status_code == 200

    second.signal(signal.SIGTERM)  # the last user stops it
    assert arcadedb_processes(data_dir) == []


def test_a_database_orphaned_by_a_killed_serve_is_adopted_then_stopped(
    data_dir: Path, serves: list[Serve]
) -> None:
    crashed = Serve(data_dir)
    serves.append(crashed)
    crashed.wait_ready()
    pid = database_pid(data_dir)
    assert crashed.client.put("/networks/orphaned", json=NETWORK).status_code == 200
    crashed.signal(signal.SIGKILL)
    assert arcadedb_processes(data_dir) == [pid]  # nobody could stop it

    heir = Serve(data_dir, admin_token=crashed.token)
    serves.append(heir)
    heir.wait_ready()
    assert database_pid(data_dir) == pid  # adopted, not a second server on the same files
    assert heir.client.get("/networks/orphaned").status_code == 200
    heir.signal(signal.SIGTERM)
    assert arcadedb_processes(data_dir) == []
