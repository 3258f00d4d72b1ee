"""CSV tables, files, the command line and the local server's lifecycle."""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from pathlib import Path

import pytest

from api.cli import main
from graph.csv_format import write_csv_zip
from graph.database import Database, open_database
from graph.document import json_schema
from graph.files import load_path
from graph.local_server import LocalServer
from graph.settings import DatabaseSettings
from graph.store import export_network, import_network
from graph.validation import DocumentInvalid
from tests.conftest import normalised, small_document

pytestmark = pytest.mark.database
DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_csv_zip_round_trip(db: Database, nid: str, tmp_path: Path) -> None:
    document = small_document(nid)
    archive = tmp_path / "network.zip"
    archive.write_bytes(write_csv_zip(document))
    load_path(db, archive)
    assert normalised(export_network(db, nid)) == normalised(document)


def test_csv_carries_serves_core_flags_and_rivalry_verdicts(db: Database, nid: str,
                                                            tmp_path: Path) -> None:
    document = small_document(nid, newcomer=True)
    c = f"{nid}-"
    document["capabilities"].append({"id": c + "iso", "label": "ISO 9001", "kind":
                                     "certification", "serves": [c + "quality"]})
    lab = next(m for m in document["members"] if m["id"] == "genlab")
    lab["capabilities"] = [{"id": c + "pgt", "level": 5, "core": True},
                           {"id": c + "genetics", "level": 4, "core": False},
                           {"id": c + "iso", "level": 3}]
    document["rivalries"] = [{"a": "genlab", "b": "newlab", "verdict": "not_rivals",
                              "note": "PGT only; = no overlap", "at": "2026-11-30T10:00:00Z"}]
    import_network(db, document)
    exported = export_network(db, nid)
    archive = tmp_path / "network.zip"
    archive.write_bytes(write_csv_zip(exported))
    with zipfile.ZipFile(archive) as files:
        assert files.read("rivalries.csv").decode().splitlines()[0] == "a,b,verdict,note,at"
        assert "core" in files.read("member_capabilities.csv").decode().splitlines()[0]
    load_path(db, archive)  # the same network, replaced by its CSV form
    back = export_network(db, nid)
    assert normalised(back) == normalised(exported)
    assert next(e for e in back["capabilities"] if e["id"] == c + "iso")["serves"] == \
        [c + "quality"]
    assert {e["id"]: e.get("core") for e in next(m for m in back["members"]
                                                  if m["id"] == "genlab")["capabilities"]} == \
        {c + "pgt": True, c + "genetics": False, c + "iso": None}
    assert back["rivalries"] == document["rivalries"]


def test_customer_segments_survive_storage_export_and_csv(db: Database, nid: str,
                                                          tmp_path: Path) -> None:
    """Segments are stored, exported sorted and in lower case, written as one ``|``-joined
    members.csv column and read back; a member without any has none in either form."""
    document = small_document(nid)
    clinic, lab = document["members"][0], document["members"][1]
    clinic["customers"] = ["Private-Patients", "insurers", "private-patients"]
    lab["customers"] = []
    import_network(db, document)
    exported = export_network(db, nid)
    members = {m["id"]: m for m in exported["members"]}
    assert members["clinic"]["customers"] == ["insurers", "private-patients"]
    assert "customers" not in members[lab["id"]]
    archive = tmp_path / "network.zip"
    archive.write_bytes(write_csv_zip(exported))
    with zipfile.ZipFile(archive) as files:
        table = files.read("members.csv").decode().splitlines()
    assert table[0].endswith(",customers")
    assert next(r for r in table if r.startswith("clinic,")).endswith(",insurers|private-patients")
    load_path(db, archive)
    assert normalised(export_network(db, nid)) == normalised(exported)


def test_csv_folder_problems_name_file_row_and_column(db: Database, nid: str, tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "x.zip", "w") as archive:
        archive.writestr("network.csv", f"id,name\n{nid},CSV network\n")
        archive.writestr("members.csv", "id,name\nbakery,Panadería\nforge,\n")
        archive.writestr("member_capabilities.csv",
                         "member,capability,level\nbakery,nothing-like-this,3\nghost,x,2\n")
        archive.writestr("rivalries.csv", "a,b,verdict\nbakery,bakery,rivals\n")
        archive.writestr("ties.csv", "source,target,type,weight\nbakery,forge,TRUSTS,heavy\n")
    folder = tmp_path / "tables"
    with zipfile.ZipFile(tmp_path / "x.zip") as archive:
        archive.extractall(folder)
    with pytest.raises(DocumentInvalid) as caught:
        load_path(db, folder)
    assert [p.path for p in caught.value.problems] == ["member_capabilities.csv row 3"]
    (folder / "member_capabilities.csv").write_text("member,capability,level\n"
                                                    "bakery,nothing-like-this,3\n")
    with pytest.raises(DocumentInvalid) as caught:
        load_path(db, folder)
    problems = {p.path: p.message for p in caught.value.problems}
    assert "members.csv row 3, name" in problems
    assert "ties.csv row 2, weight" in problems
    assert "unknown capability" in problems["member_capabilities.csv row 2, id"]
    assert "own rival" in problems["rivalries.csv row 2"]
    with pytest.raises(Exception):
        export_network(db, nid)


def test_cli_load_reports_every_problem_and_exits_non_zero(
    db: Database, settings: DatabaseSettings, nid: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PARTNERMATCH_DATA", str(settings.data_dir))  # reuses the running server
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(small_document(nid)))
    broken = small_document(nid + "-bad")
    broken["members"][0]["capabilities"][0]["level"] = 0
    broken["ties"][0]["target"] = "nobody"
    bad.write_text(json.dumps(broken))
    assert main(["load", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert f"network {nid}: 3 members" in out
    assert "members[0].capabilities[0].level" in err and "ties[0].target" in err
    malformed = tmp_path / "malformed.json"
    malformed.write_text('{"network": {"id": "x",}')
    assert main(["load", str(malformed)]) == 1
    assert "not valid JSON" in capsys.readouterr().err

    exported = tmp_path / "out.json"
    exported.write_text("an older export")
    exported.chmod(0o644)
    assert main(["export", nid, "-o", str(exported)]) == 0
    assert normalised(json.loads(exported.read_text())) == normalised(small_document(nid))
    # Weaknesses and contacts: the owner's only, like the data directory (not the umask's 0644).
    assert exported.stat().st_mode & 0o777 == 0o600
    assert main(["export", "no-such-network"]) == 1
    assert "no network 'no-such-network'" in capsys.readouterr().err


def test_a_second_command_reuses_the_running_server(settings: DatabaseSettings, db: Database) -> None:
    if not settings.is_local:
        pytest.skip("only the local server is managed by partnermatch")
    running = LocalServer(settings.data_dir).status()
    info, started = LocalServer(settings.data_dir).start()
    assert running is not None and not started and info.pid == running.pid


def test_the_local_server_runs_with_the_quick_compiler_unless_the_operator_says_otherwise(
    settings: DatabaseSettings, db: Database, tmp_path: Path
) -> None:
    if not settings.is_local:
        pytest.skip("only the local server is managed by partnermatch")
    running = LocalServer(settings.data_dir).status()
    assert running is not None
    assert b"-XX:TieredStopAtLevel=1\0" in Path(f"/proc/{running.pid}/cmdline").read_bytes()
    configured = DatabaseSettings.from_env(
        {"PARTNERMATCH_JAVA_OPTIONS": " -XX:TieredStopAtLevel=4\t-Dpartnermatch.probe=1 "})
    assert configured.java_options == ("-XX:TieredStopAtLevel=4", "-Dpartnermatch.probe=1")
    command = LocalServer(tmp_path, java_options=configured.java_options)._command(7687, 2480)
    # The JVM reads its options before the class path, and the last of one flag wins.
    assert command.index("-XX:TieredStopAtLevel=1") < command.index("-XX:TieredStopAtLevel=4") \
        < command.index("-Dpartnermatch.probe=1") < command.index("-cp")


@pytest.mark.slow
def test_data_survives_a_server_restart(tmp_path: Path, nid: str) -> None:
    if os.environ.get("NEO4J_URI"):
        pytest.skip("only the local server is managed by partnermatch")
    settings = dataclasses.replace(DatabaseSettings.from_env(), data_dir=tmp_path / "data")
    settings.data_dir.mkdir(mode=0o755)  # made by hand, readable by all: tightened at start
    with open_database(settings) as db:
        import_network(db, small_document(nid))
    server = LocalServer(settings.data_dir)
    assert server.status() is None  # the command that started it stopped it
    assert settings.data_dir.stat().st_mode & 0o777 == 0o700
    assert (settings.data_dir / "root-password").stat().st_mode & 0o777 == 0o600
    with open_database(settings) as db:
        assert normalised(export_network(db, nid)) == normalised(small_document(nid))


def test_a_server_of_a_longer_directory_name_is_not_taken_for_ones_own(tmp_path: Path) -> None:
    """``data`` is a prefix of ``data-2``: starting the server of ``data`` (no server.json yet)
    leaves the one of ``data-2`` running, neither taking it for its own nor stopping it."""
    if os.environ.get("NEO4J_URI"):
        pytest.skip("only the local server is managed by partnermatch")
    other, mine = (LocalServer(tmp_path / name, java_heap="256m") for name in ("data-2", "data"))
    try:
        running, _ = other.start()
        assert mine.status() is None
        started, _ = mine.start()
        assert started.pid != running.pid
        assert other.status() == running
    finally:
        mine.stop()
        other.stop()


def test_committed_json_schema_matches_the_models() -> None:
    committed = json.loads((DOCS / "network-document.schema.json").read_text())
    assert committed == json_schema()


def test_service_processes_starting_together_each_find_the_data_directory_writable(
        tmp_path: Path) -> None:
    """``serve --workers`` starts its processes at once, and each checks the data directory by
    writing a probe file: with one name for all, one process removed the probe another was
    checking, and that one failed to start ("cannot write to the data directory"; a two-process
    benchmark then waited for it for good)."""
    import threading

    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def prepare() -> None:
        start.wait()
        for _ in range(100):
            try:
                LocalServer(tmp_path / "data")._prepare_data_dir()
            except BaseException as failure:  # noqa: BLE001 (collected for the assertion)
                failures.append(failure)
                return

    threads = [threading.Thread(target=prepare) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [p.name for p in (tmp_path / "data").iterdir()] == []  # (no probe left behind)


def test_serve_stopped_by_sigint_during_its_warm_start_exits_without_a_traceback(
        settings: DatabaseSettings, db: Database, nid: str, tmp_path: Path) -> None:
    """Ctrl-C while the warm start fits the networks: uvicorn shuts the app down, then ``serve``
    closes the database. The fit running went on after the driver was closed ("warm start
    stopped", a traceback ending in "Driver closed"); the app's shutdown now waits for it."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.conftest import ADMIN_SECRET

    for k in range(20):  # (fits enough to be warming when the service first answers)
        import_network(db, small_document(f"{nid}-{k}"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PARTNERMATCH_ADMIN_TOKEN": ADMIN_SECRET}
    if settings.is_local:
        env["PARTNERMATCH_DATA"] = str(settings.data_dir)  # reuses the running server
    err = tmp_path / "serve.err"
    with err.open("wb") as errors:
        # Ctrl-C handled as in a terminal: a test run as a background job (`&`, as CI may be)
        # inherits SIGINT ignored, and serve would then end 0 without a word
        serve = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)],
                                 env=env, stdout=subprocess.DEVNULL, stderr=errors,
                                 cwd=Path(__file__).resolve().parents[1],
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while True:
            assert serve.poll() is None, err.read_text()
            assert time.monotonic() < deadline, "serve did not answer"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                    break
            except OSError:
                time.sleep(0.1)
        serve.send_signal(signal.SIGINT)
        assert serve.wait(120) == 1  # (interrupted: what Ctrl-C in a terminal ends with)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
    text = err.read_text()
    assert "Application shutdown complete" in text
    assert "Traceback" not in text and "Error" not in text, text
