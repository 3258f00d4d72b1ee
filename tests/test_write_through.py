"""A write's own process learns what it changed without reading the change log back.

While an engine follows a database (``Engine.follow``, as ``serve`` does), every committed write
hands over its changes and the rows they name, read inside the write's own transaction
(``graph.changes.CommittedChanges``). These tests hold that hand-over to what a reader of the
log would get, and check that the writer's matcher applies it with no log read.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.engine import Engine
from graph import queries as q
from graph.agents import replace_agents
from graph.changes import Catchup, Written, committed_changes, read_changes, record_change
from graph.database import Database
from graph.feedback import record_feedback
from graph.introductions import request_introduction
from graph.members import delete_member, put_member, set_network_policy
from graph.projection import project_network
from graph.rivalries import set_verdict
from graph.store import import_network, versions
from matching.features import View
from matching.scoring import PartnerMatcher
from tests.catchups import assert_same_catchup
from tests.conftest import small_document


@pytest.fixture
def handed(db: Database) -> Iterator[list[Written]]:
    """Every hand-over of ``db``'s committed writes, in commit order."""
    seen: list[Written] = []

    def collect(written: list[Written]) -> None:
        seen.extend(written)

    feed = committed_changes(db)
    feed.subscribe(collect)
    yield seen
    feed.unsubscribe(collect)


def _same_as_the_log(db: Database, nid: str, catchup: Catchup) -> None:
    """The hand-over equals what a reader at ``catchup.since`` reads from the log now."""
    logged = read_changes(db, nid, catchup.since, versions(db, nid)[1])
    assert logged.complete
    assert_same_catchup(catchup, logged)


def test_every_kind_of_write_hands_over_what_the_log_gives_a_reader(
        db: Database, nid: str, handed: list[Written]) -> None:
    import_network(db, small_document(nid, newcomer=True))
    handed.clear()
    writes = [
        lambda: put_member(db, nid, "clinic", {
            "name": "Clinic", "sector": "fertility-clinic", "region": "Madrid",
            "capabilities": [{"id": f"{nid}-quality", "level": 2}],
            "needs": [{"id": f"{nid}-pgt", "kind": "service", "urgency": 5}]}),
        lambda: put_member(db, nid, "newcomer2", {
            "name": "Second lab", "capabilities": [{"id": f"{nid}-pgt", "level": 3}]}),
        lambda: record_feedback(db, nid, "clinic", "newlab", "declined"),
        lambda: set_verdict(db, nid, "genlab", "newlab", "rivals"),
        lambda: replace_agents(db, nid, [{"id": "bank", "name": "Town bank", "kind": "bank"}]),
        lambda: set_network_policy(db, nid, {"suppress_declined_days": 30}),
        lambda: request_introduction(db, nid, "cro", "newlab", competitors=False, tied=False),
        lambda: delete_member(db, nid, "newcomer2"),
    ]
    for write in writes:
        before = len(handed)
        write()
        assert len(handed) == before + 1, "one hand-over per committed write"
        written = handed[-1]
        assert written.network == nid and written.catchup is not None
        _same_as_the_log(db, nid, written.catchup)
    versions_handed = [w.catchup.version for w in handed if w.catchup is not None]
    assert versions_handed == sorted(versions_handed) and \
        versions_handed[-1] == versions(db, nid)[0]


def test_an_import_is_handed_over_as_a_refit_and_a_failed_write_not_at_all(
        db: Database, nid: str, handed: list[Written]) -> None:
    import_network(db, small_document(nid))
    assert handed[-1] == Written(nid, None)  # nothing to apply as a delta: read the log, refit

    def fails(tx) -> None:
        record_change(tx, nid, "members", ["clinic"])
        raise RuntimeError("the write fails after recording its change")

    count = len(handed)
    with pytest.raises(RuntimeError):
        db.write(fails)
    assert len(handed) == count


class _Statements:
    """The statements sent to the database while active, with their parameters (the conftest
    observer still runs). Background threads of earlier tests' apps may use the same database:
    look for statements about this test's network."""

    def __init__(self, db: Database):
        self.db, self.seen = db, []
        self._previous = db.observer

    def __enter__(self) -> list[tuple[str, Any]]:
        def observe(query: str, params: dict[str, Any]) -> None:
            self.seen.append((query, params.get("nid")))
            if self._previous is not None:
                self._previous(query, params)

        self.db.observer = observe
        return self.seen

    def __exit__(self, *exc: object) -> None:
        self.db.observer = self._previous


def test_a_watched_write_bumps_the_version_last_after_reading_its_state(
        db: Database, nid: str, handed: list[Written]) -> None:
    """The network's version is the record every write to the network changes; a write holds it
    from its bump to its commit, and another process's write that bumps it meanwhile fails at
    commit and runs again. So the state read a watched write makes for its hand-over comes
    before the bump, which is its last statement; a member edit and a decision know the state
    they left from their own statement and read nothing back."""
    import_network(db, small_document(nid))
    with _Statements(db) as seen:
        put_member(db, nid, "clinic", {"name": "Clinic", "capabilities": [
            {"id": f"{nid}-quality", "level": 3}]})
        record_feedback(db, nid, "clinic", "genlab", "declined")
        set_verdict(db, nid, "clinic", "genlab", "rivals")
    mine = [query for query, about in seen if about == nid]
    bumps = [k for k, query in enumerate(mine) if query == q.RECORD_CHANGES]
    names = {v: k for k, v in vars(q).items() if isinstance(v, str)}
    assert len(bumps) == 3, [names.get(query, query[:60]) for query in mine]
    first, second, third = mine[:bumps[0] + 1], mine[bumps[0] + 1:bumps[1] + 1], \
        mine[bumps[1] + 1:]
    assert first == [q.PUT_MEMBER, q.RECORD_CHANGES]
    assert second == [q.LOCK_AND_CREATE_FEEDBACK, q.RECORD_CHANGES]
    assert third[-1] == q.RECORD_CHANGES and q.RIVALRIES in third  # read, then bumped
    assert [w.catchup.version for w in handed[-3:]] == [versions(db, nid)[0] - k
                                                          for k in (2, 1, 0)]


def test_an_edit_and_a_decision_hand_over_exactly_the_rows_the_database_reads(
        db: Database, nid: str, handed: list[Written]) -> None:
    """A member edit hands over (and keeps on its record) the row it stored, a decision every
    decision touching its members: each equal to what reading them back would give, order,
    nulls and number types included (the same JSON), for members with every field given, none
    given, and values in between."""
    import json

    from graph.changes import member_row

    import_network(db, small_document(nid, newcomer=True))
    c = f"{nid}-"
    full = {"name": "Clínica Sol", "sector": "fertility-clinic", "region": "Madrid",
            "size": "small", "description": "IVF clinic", "contact": "a@b.es",
            "hours_per_month": 12, "customers": ["Retail", "export-latam", "retail"],
            "capabilities": [{"id": c + "quality", "level": 2, "capacity": 30, "core": True},
                             {"id": c + "genetics", "level": 5, "capacity": 2.5, "core": False},
                             {"id": c + "fuel", "level": 1}],
            "weaknesses": [{"id": c + "pgt", "severity": 4}, {"id": c + "fuel", "severity": 1}],
            "needs": [{"id": c + "pgt", "kind": "service", "urgency": 5, "volume": 1000},
                      {"id": c + "genetics", "urgency": 2, "volume": 12.5},
                      {"id": c + "fuel", "kind": "purchase"}]}
    bodies = [("clinic", full),
              ("clinic", {"name": "Clinic", "hours_per_month": 7.5, "customers": [],
                          "needs": [{"id": c + "fuel", "kind": "purchase", "urgency": 1}]}),
              ("clinic", {**full, "capabilities": full["capabilities"][::-1]}),
              ("newcomer", {"name": "New", "weaknesses": [{"id": c + "quality",
                                                            "severity": 3}]}),
              ("newcomer", {"name": "Bare"})]
    for mid, body in bodies:
        put_member(db, nid, mid, body)
        catchup = handed[-1].catchup
        assert catchup is not None
        read = [member_row(row) for row in db.query(
            q.MEMBERS_BY_IDS, nid=nid, ids=[mid], sector=None, region=None, capability=None)]
        assert catchup.members == read
        assert json.dumps(catchup.members) == json.dumps(read)
        kept = db.query("MATCH (c:Change {network: $nid, version: $v}) RETURN c.state AS state",
                        nid=nid, v=catchup.version)[0]["state"]
        assert json.dumps(json.loads(kept)["members"]) == json.dumps(read)

    decisions = [("clinic", "newlab", "declined"), ("newlab", "clinic", "accepted"),
                 ("clinic", "genlab", "accepted"), ("cro", "newlab", "declined"),
                 ("clinic", "newlab", "accepted"), ("newcomer", "cro", "declined")]
    for member, candidate, decision in decisions:
        record_feedback(db, nid, member, candidate, decision)
        catchup = handed[-1].catchup
        assert catchup is not None
        read = db.query(q.FEEDBACK_TOUCHING, nid=nid, ids=sorted([member, candidate]))
        assert len(read) > 1 or (member, candidate) == ("clinic", "newlab")
        assert catchup.feedback == read
        assert json.dumps(catchup.feedback) == json.dumps(read)


def _wait_current(engine: Engine, db: Database, nid: str) -> None:
    deadline = time.monotonic() + 10
    while engine._slot(nid).version != versions(db, nid)[0]:
        assert time.monotonic() < deadline, "the write was not applied in the background"
        time.sleep(0.02)


def _suggestions(matcher: PartnerMatcher, mid: str) -> list[tuple[str, float]]:
    return [(s.member, round(s.score, 9)) for s in matcher.suggest(mid, view=View.MEMBER)]


def test_the_writers_engine_applies_its_own_writes_without_reading_the_log(
        db: Database, nid: str) -> None:
    import_network(db, small_document(nid, newcomer=True))
    engine = Engine()
    engine.follow(db)
    try:
        with engine.reading(db, nid):
            pass  # fitted
        with _Statements(db) as sent:
            put_member(db, nid, "cro", {
                "name": "CRO", "capabilities": [{"id": f"{nid}-genetics", "level": 5}],
                "needs": [{"id": f"{nid}-quality", "kind": "knowhow", "urgency": 4}]})
            record_feedback(db, nid, "clinic", "newlab", "declined")
            _wait_current(engine, db, nid)
        assert (q.CHANGES_SINCE, nid) not in sent  # applied from the hand-over, not read back
        fresh = PartnerMatcher().fit(project_network(db, nid))
        with engine.reading(db, nid) as live:
            for mid in ("clinic", "cro", "genlab", "newlab"):
                assert _suggestions(live, mid) == _suggestions(fresh, mid)
            assert "newlab" not in [s.member for s in live.suggest("clinic", view=View.MEMBER)]
    finally:
        engine.close()
    # Once closed, the engine no longer follows: a write is no longer handed to it.
    put_member(db, nid, "cro", {"name": "CRO again"})
    assert not engine._slot(nid).written


def test_an_engine_that_does_not_follow_reads_the_log(db: Database, nid: str) -> None:
    import_network(db, small_document(nid, newcomer=True))
    engine = Engine()  # another process: it sees nothing of this one's writes but the database
    try:
        with engine.reading(db, nid):
            pass
        record_feedback(db, nid, "clinic", "newlab", "declined")
        with _Statements(db) as sent, engine.reading(db, nid) as live:
            assert "newlab" not in [s.member for s in live.suggest("clinic", view=View.MEMBER)]
        assert (q.CHANGES_SINCE, nid) in sent
    finally:
        engine.close()


@pytest.mark.parametrize("board", [True, False], ids=["board", "no-board"])
def test_a_request_between_a_commit_and_its_hand_over_reads_no_log(
        db: Database, nid: str, board: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write is visible in the database a moment before its hand-over reaches the engine.
    A request in that moment is concurrent with the write, which has not answered yet. With a
    board (a local server), the board says the write is committing: the request is answered at
    the version before, at once, without the log. Without one (a remote server) it asks the
    database, finds the new version and waits for the hand-over (milliseconds) instead of
    reading the log (one read transaction, and all other requests queue behind it). Either way
    the first request after the write answered sees it, and nobody reads the log."""
    import threading

    if not board:
        monkeypatch.setattr(db, "board", None)
    import_network(db, small_document(nid, newcomer=True))
    committed, release = threading.Event(), threading.Event()

    def slow(written: list[Written]) -> None:  # handed the write before the engine is
        if any(w.network == nid for w in written):
            committed.set()
            release.wait(10)

    feed = committed_changes(db)
    feed.subscribe(slow)
    engine = Engine()
    engine.follow(db)
    try:
        with engine.reading(db, nid):
            pass
        writer = threading.Thread(
            target=record_feedback, args=(db, nid, "clinic", "newlab", "declined"))
        with _Statements(db) as sent:
            writer.start()
            assert committed.wait(10)
            if not board:
                threading.Timer(0.3, release.set).start()
            with engine.reading(db, nid) as live:
                during = [s.member for s in live.suggest("clinic", view=View.MEMBER)]
            if board:  # answered while the hand-over was still held up: the version before
                assert not release.is_set() and "newlab" in during
                release.set()
            else:  # waited for the hand-over
                assert "newlab" not in during
            writer.join(10)
            assert not writer.is_alive()
            with engine.reading(db, nid) as live:
                after = [s.member for s in live.suggest("clinic", view=View.MEMBER)]
        assert "newlab" not in after
        assert (q.CHANGES_SINCE, nid) not in sent
    finally:
        release.set()
        feed.unsubscribe(slow)
        engine.close()
