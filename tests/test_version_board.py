"""The board of versions (graph/turns.py): processes using the local server read a network's
committed version from it instead of asking the database on every request, and it never shows
a version other than the committed one."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from graph import queries as q
from graph import database, turns
from graph.changes import ChangeKind, record_change
from graph.database import Database, open_database
from graph.members import put_member
from graph.settings import DatabaseSettings
from graph.store import NetworkNotFound, _stored_versions, delete_network, import_network, versions
from tests.conftest import small_document


@pytest.fixture
def asked(db: Database) -> Iterator[list[str]]:
    """The version lookups sent to the database while the test runs."""
    if db.board is None:
        pytest.skip("the board is kept only for the local server")
    seen: list[str] = []
    previous = db.observer

    def observe(query: str, params: dict[str, Any]) -> None:
        if query == q.VERSIONS:
            seen.append(params.get("nid"))
        if previous is not None:
            previous(query, params)

    db.observer = observe
    yield seen
    db.observer = previous


def _edit(db: Database, nid: str, name: str) -> None:
    put_member(db, nid, "clinic", {"name": name, "capabilities": [
        {"id": f"{nid}-quality", "level": 2}]})


def test_a_write_leaves_its_version_on_the_board_and_requests_read_it_there(
        db: Database, nid: str, asked: list[str]) -> None:
    import_network(db, small_document(nid))
    versions(db, nid)  # (the shared taxonomy's version may not be on the board yet)
    for k in range(3):
        count = asked.count(nid)
        _edit(db, nid, f"Clinic {k}")
        now = versions(db, nid)
        assert asked.count(nid) == count  # the request asked nothing
        assert now == _stored_versions(db, nid)


def test_a_version_nobody_wrote_is_asked_once_then_read_from_the_board(
        db: Database, nid: str, asked: list[str]) -> None:
    import_network(db, small_document(nid))
    versions(db, nid)
    for (_, key, _), fd in list(turns._files.items()):
        if key == f"network:{nid}":  # as a process that died holding the turn leaves it
            os.pwrite(fd, turns._UNKNOWN, 0)
    count = asked.count(nid)
    first = versions(db, nid)
    assert asked.count(nid) == count + 2  # the lookup, and again under the turn for the board
    assert versions(db, nid) == first == _stored_versions(db, nid)
    assert asked.count(nid) == count + 3  # the check above only


def test_while_a_write_commits_requests_read_the_version_before_it_from_the_board(
        db: Database, nid: str, asked: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Until a write holding the turn sends its commit, the board's version is the committed
    one and requests read it there; from then until the write's version is on the board, its
    commit may land at any moment, but the write has answered no one: requests still read the
    version before it there, for as long as the committing mark holds, and then ask the
    database."""
    import_network(db, small_document(nid))
    versions(db, nid)
    bumped, committing = threading.Event(), threading.Event()
    # Two releases: one that lets the write send its commit, one that lets the commit end (a
    # single one let the commit end before the request below, which then read the board).
    send, finish = threading.Event(), threading.Event()

    def slow_write(tx: Any) -> None:
        record_change(tx, nid, ChangeKind.NETWORK)
        bumped.set()
        assert send.wait(60)

    sending = turns.committing

    def slow_commit() -> None:  # the commit is on its way, and slow
        sending()
        if threading.current_thread() is not writer:
            return  # a background write of an earlier test's engine: not the one held here
        committing.set()
        assert finish.wait(60)

    monkeypatch.setattr(database, "committing", slow_commit)
    writer = threading.Thread(target=lambda: db.write(slow_write), daemon=True)
    writer.start()
    try:
        assert bumped.wait(60)
        count = asked.count(nid)
        before = versions(db, nid)  # the bump is not committed: the board's version stands
        assert asked.count(nid) == count and before == _stored_versions(db, nid)
        send.set()
        assert committing.wait(60)
        count = asked.count(nid)
        during = versions(db, nid)
        assert asked.count(nid) == count and during == before  # committing: the version before
        now = turns._now()
        monkeypatch.setattr(turns, "_now", lambda: now + int(turns.COMMIT_HOLD * 1000) + 1)
        late = versions(db, nid)  # a commit slower than the mark holds
        assert asked.count(nid) >= count + 1  # asked the database
        assert late[0] in (before[0], before[0] + 1)
        monkeypatch.setattr(turns, "_now", lambda: now)
    finally:
        send.set()
        finish.set()
        writer.join(60)
    after = versions(db, nid)
    assert after[0] == before[0] + 1 and after == _stored_versions(db, nid)


def test_a_write_that_fails_before_its_commit_leaves_the_committed_version(
        db: Database, nid: str, asked: list[str]) -> None:
    import_network(db, small_document(nid))
    known = versions(db, nid)

    def failing(tx: Any) -> None:
        record_change(tx, nid, ChangeKind.NETWORK)
        raise RuntimeError("fails after its bump")

    with pytest.raises(RuntimeError):
        db.write(failing)
    count = asked.count(nid)
    assert versions(db, nid) == known == _stored_versions(db, nid)
    assert asked.count(nid) == count + 1  # the check above only: from the board


def test_a_write_that_fails_at_its_commit_leaves_the_version_unknown(
        db: Database, nid: str, asked: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Its commit may have landed. Its first attempt leaves a committing mark on the version
    before (read while the mark holds: ``test_entries_written_under_another_server_run...``);
    the attempts that retry it find a mark and no known version, and leave the entry unknown."""
    import_network(db, small_document(nid))
    known = versions(db, nid)
    sending = turns.committing

    this = threading.current_thread()

    def lost_commit() -> None:  # the commit went out and its answer was lost
        sending()
        if threading.current_thread() is this:  # (not an earlier test's background write)
            raise OSError("connection lost")

    monkeypatch.setattr(database, "committing", lost_commit)
    with pytest.raises(Exception):
        db.write(lambda tx: record_change(tx, nid, ChangeKind.NETWORK))
    monkeypatch.undo()
    count = asked.count(nid)
    assert versions(db, nid) == known
    assert asked.count(nid) == count + 2  # the lookup, and again under the turn for the board


def test_a_deleted_network_is_not_answered_from_the_board(
        db: Database, nid: str, asked: list[str]) -> None:
    import_network(db, small_document(nid))
    _edit(db, nid, "Clinic 1")
    versions(db, nid)
    delete_network(db, nid)
    with pytest.raises(NetworkNotFound):
        versions(db, nid)


def _write_elsewhere(settings: DatabaseSettings, nid: str) -> None:
    with open_database(settings) as db:
        _edit(db, nid, "Written by another process")


def test_another_process_s_write_is_on_the_board_when_it_returns(
        db: Database, nid: str, settings: DatabaseSettings, asked: list[str]) -> None:
    import_network(db, small_document(nid))
    before = versions(db, nid)
    other = multiprocessing.get_context("spawn").Process(target=_write_elsewhere,
                                                         args=(settings, nid))
    other.start()
    other.join(120)
    assert other.exitcode == 0
    count = asked.count(nid)
    now = versions(db, nid)
    assert asked.count(nid) == count  # from the board
    assert now[0] == before[0] + 1 and now == _stored_versions(db, nid)


def test_entries_written_under_another_server_run_are_unknown(tmp_path) -> None:
    """A restarted server may have lost what the board says (or a data directory may be put
    back): entries count only for the server run they were written under."""
    board = turns.Board(tmp_path, 7)
    with turns.write_attempt(board) as committed:
        turns.wait_turn("network:x")
        turns.note_version("network:x", 42)
        committed()
    assert turns.board_versions(board, ["network:x"]) == [42]
    assert turns.board_versions(turns.Board(tmp_path, 8), ["network:x"]) is None
    with turns.write_attempt(board):  # no commit sent: the entry stands
        turns.wait_turn("network:x")
        turns.note_version("network:x", 43)
    assert turns.board_versions(board, ["network:x"]) == [42]
    with turns.write_attempt(board):  # its commit sent, and not known to have landed
        turns.wait_turn("network:x")
        turns.note_version("network:x", 43)
        turns.committing()
    assert turns.board_versions(board, ["network:x"]) == [42]  # while the mark holds
    with turns.write_attempt(board):  # a commit over that mark: no version known before it
        turns.wait_turn("network:x")
        turns.note_version("network:x", 44)
        turns.committing()
    assert turns.board_versions(board, ["network:x"]) is None
    with turns.write_attempt(board) as committed:
        turns.wait_turn("network:x")
        turns.note_version("network:x", 45)
        turns.committing()
        committed()
    assert turns.board_versions(board, ["network:x"]) == [45]
    with turns.write_attempt(board):
        turns.wait_turn("network:x")
        turns.committing()
    later = turns._now() + int(turns.COMMIT_HOLD * 1000)
    assert turns.board_versions(board, ["network:x"]) == [45]
    turns_now, turns._now = turns._now, lambda: later  # the mark has run out
    try:
        assert turns.board_versions(board, ["network:x"]) is None
    finally:
        turns._now = turns_now


def test_an_entry_that_cannot_be_made_unknown_stops_its_write_and_stays_readable(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a full disk the entry of a committing write may not be writable: the write must not
    commit (the entry left is still the committed version), and the file is never emptied
    instead, since readers map it (a read past the end of a mapped file kills the process)."""
    board = turns.Board(tmp_path, 7)
    with turns.write_attempt(board) as committed:
        turns.wait_turn("network:x")
        turns.note_version("network:x", 42)
        committed()
    assert turns.board_versions(board, ["network:x"]) == [42]  # (mapped from now on)

    def full_disk(fd: int, data: bytes, offset: int) -> int:
        raise OSError(28, "No space left on device")

    with turns.write_attempt(board):
        turns.wait_turn("network:x")
        turns.note_version("network:x", 43)
        monkeypatch.setattr(turns.os, "pwrite", full_disk)
        with pytest.raises(OSError):
            turns.committing()
        monkeypatch.undo()
    (entry,) = tmp_path.glob("*.lock")
    assert entry.stat().st_size == turns._RECORD
    assert turns.board_versions(board, ["network:x"]) == [42]


def test_a_request_reads_the_board_without_waiting_for_another_request_s_lookup(
        db: Database, nid: str, asked: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """One request's version lookup in the database is slow (the board did not know the
    version); meanwhile the board learns it, and the next request answers from it at once
    instead of waiting for that lookup and the one after it."""
    from api.engine import Engine
    from graph import store

    import_network(db, small_document(nid))
    engine = Engine()
    try:
        with engine.reading(db, nid):  # fitted, at the committed version
            pass
        committed = _stored_versions(db, nid)
        for (_, key, _), fd in list(turns._files.items()):
            if key == f"network:{nid}":
                os.pwrite(fd, turns._UNKNOWN, 0)
        looking, release = threading.Event(), threading.Event()
        stored = store._stored_versions

        def slow_lookup(db_: Database, nid_: str) -> tuple[int, int]:
            looking.set()
            assert release.wait(60)
            return stored(db_, nid_)

        monkeypatch.setattr(store, "_stored_versions", slow_lookup)
        first = threading.Thread(target=lambda: engine.reading(db, nid).__enter__(),
                                 daemon=True)
        first.start()
        assert looking.wait(60)
        with turns.write_attempt(db.board) as done:  # the board learns the version
            turns.wait_turn(f"network:{nid}")
            turns.note_version(f"network:{nid}", committed[0])
            done()
        answered = threading.Event()

        def second_request() -> None:
            with engine.reading(db, nid) as matcher:
                assert matcher is not None
            answered.set()

        threading.Thread(target=second_request, daemon=True).start()
        try:
            assert answered.wait(20), "the request waited for another request's lookup"
        finally:
            release.set()
            first.join(60)
    finally:
        engine.close()


def test_work_after_a_write_runs_once_its_turn_and_the_board_are_done(
        db: Database, nid: str) -> None:
    """What follows a commit in the writer's thread (``turns.after_turns``: the engine applies
    the write to its matcher there) holds no later write to the network back, and the board
    already shows the write."""
    from graph.changes import committed_changes
    from graph.store import board_versions_of

    import_network(db, small_document(nid))
    seen: dict[str, Any] = {}

    def after() -> None:
        seen["board"] = board_versions_of(db, nid)
        other = threading.Thread(target=_edit, args=(db, nid, "Clinic, later"))
        other.start()
        other.join(turns.TURN_WAIT / 2)  # (a turn still held: the other write waits 5 s)
        seen["other_wrote"] = not other.is_alive()
        other.join()

    def handed(written: list[Any]) -> None:
        if any(w.network == nid for w in written) and not seen:
            turns.after_turns(after)

    feed = committed_changes(db)
    feed.subscribe(handed)
    try:
        before = versions(db, nid)[0]
        _edit(db, nid, "Clinic, first")
    finally:
        feed.unsubscribe(handed)
    assert seen["board"] is not None and seen["board"][0] == before + 1
    assert seen["other_wrote"]
    assert versions(db, nid)[0] == before + 2
