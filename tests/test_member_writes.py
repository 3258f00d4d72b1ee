"""Writes of one member and of one decision, on the real database: a profile edit changes exactly
what it says (only the differing edges are rewritten), a decision checks its members inside its
own transaction, and concurrent writes to one network all land once, numbered without gaps."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter
from typing import Any

import pytest

from graph import queries as q
from graph import turns
from graph.changes import ChangeKind, read_changes
from graph.database import Database, DatabaseBusy
from graph.feedback import DecisionNotFound, member_decisions, record_feedback, undo_decision
from graph.members import MemberNotFound, get_member, put_member
from graph.store import NetworkNotFound, import_network, versions
from graph.validation import DocumentInvalid
from tests.conftest import small_document

pytestmark = pytest.mark.database


def _ties(db: Database, nid: str) -> list[tuple[str, str, str]]:
    rows = db.query("MATCH (a:Member {network: $nid})-[t]->(b:Member {network: $nid}) "
                    "WHERE type(t) <> 'FEEDBACK_ON' "
                    "RETURN a.id AS a, type(t) AS t, b.id AS b ORDER BY a, t, b", nid=nid)
    return [(r["a"], r["t"], r["b"]) for r in rows]


def _expected(mid: str, body: dict[str, Any]) -> dict[str, Any]:
    """What a member reads back after ``body`` was written: its entries by id, no nulls."""
    out = {"id": mid, **{k: v for k, v in body.items()
                         if k not in ("capabilities", "weaknesses", "needs") and v is not None}}
    for key in ("capabilities", "weaknesses", "needs"):
        out[key] = sorted(({k: v for k, v in e.items() if v is not None}
                           for e in body.get(key, [])), key=lambda e: e["id"])
    return out


def _random_body(rng: random.Random, caps: list[str], k: int) -> dict[str, Any]:
    """A profile with random subsets of ``caps`` as capabilities, weaknesses and needs (empty
    lists too), random levels and optional properties set or left out."""
    def some() -> list[str]:
        return rng.sample(caps, rng.randint(0, len(caps)))

    body: dict[str, Any] = {"name": f"Member edit {k}", "region": rng.choice(["Madrid", None])}
    body["capabilities"] = [{"id": c, "level": rng.randint(1, 5),
                             **({"capacity": float(rng.randint(1, 9))} if rng.random() < .5
                                else {}),
                             **({"core": rng.random() < .5} if rng.random() < .5 else {})}
                            for c in some()]
    body["weaknesses"] = [{"id": c, "severity": rng.randint(1, 5)} for c in some()]
    body["needs"] = [{"id": c, "urgency": rng.randint(1, 5),
                      "kind": rng.choice(["service", "purchase"]),
                      **({"volume": float(rng.randint(1, 9) * 1000)} if rng.random() < .5
                         else {})}
                     for c in some()]
    return body


def test_a_profile_edit_stores_exactly_the_new_profile_and_keeps_the_ties(
        db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    caps = [f"{nid}-{c}" for c in ("genetics", "pgt", "fuel", "quality")]
    ties = _ties(db, nid)
    rng = random.Random(12)
    for k in range(12):  # add, drop and change edges of every kind, to none and back
        body = _random_body(rng, caps, k) if k != 5 else {"name": "Bare"}
        answer = put_member(db, nid, "clinic", body)
        assert answer == get_member(db, nid, "clinic") == _expected("clinic", body), k
    assert _ties(db, nid) == ties  # a profile write leaves the member's ties alone


def test_a_new_member_is_created_and_answered_as_stored(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    body = {"name": "NewLab", "sector": "genetics-lab", "customers": ["Retail", "export"],
            "hours_per_month": 12, "capabilities": [{"id": f"{nid}-pgt", "level": 4}],
            "needs": [{"id": f"{nid}-fuel", "kind": "purchase", "urgency": 2, "volume": 10}]}
    answer = put_member(db, nid, "newlab", body)
    assert answer == get_member(db, nid, "newlab")
    assert answer["customers"] == ["export", "retail"] and answer["hours_per_month"] == 12
    # Every stored member, written again unchanged, answers what get_member reads.
    for mid in ("clinic", "genlab", "cro"):
        stored = get_member(db, nid, mid)
        assert put_member(db, nid, mid, stored) == stored


def test_a_member_names_only_capabilities_its_network_sees(db: Database, nid: str) -> None:
    other = nid + "-other"
    import_network(db, small_document(nid))
    import_network(db, small_document(other))
    before = versions(db, nid)
    with pytest.raises(DocumentInvalid) as refused:
        put_member(db, nid, "clinic", {"name": "Clinic", "capabilities": [
            {"id": f"{nid}-pgt", "level": 3}, {"id": f"{other}-pgt", "level": 3},
            {"id": "no-such-capability", "level": 3}]})
    assert [(p.path, p.message.split(" (")[0]) for p in refused.value.problems] == [
        ("capabilities[1].id", f"unknown capability '{other}-pgt'"),
        ("capabilities[2].id", "unknown capability 'no-such-capability'")]
    assert versions(db, nid) == before  # nothing written
    with pytest.raises(NetworkNotFound):
        put_member(db, nid + "-none", "clinic", {"name": "Clinic"})


def test_a_decision_on_a_missing_member_writes_nothing(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    before = versions(db, nid)
    with pytest.raises(MemberNotFound) as missing:
        record_feedback(db, nid, "ghost", "genlab", "declined")
    assert missing.value.args == ("ghost",)
    with pytest.raises(MemberNotFound) as missing:
        record_feedback(db, nid, "clinic", "ghost", "declined")
    assert missing.value.args == ("ghost",)
    with pytest.raises(NetworkNotFound):
        record_feedback(db, nid + "-none", "clinic", "genlab", "declined")
    assert versions(db, nid) == before
    assert member_decisions(db, nid, "clinic") == []


def test_an_undo_takes_back_the_latest_decision_or_names_what_is_missing(
        db: Database, nid: str) -> None:
    """Nothing is read before an undo's write: what is missing (the network, then the
    candidate, then the member, then a decision) is still told apart, and nothing is written."""
    import_network(db, small_document(nid))
    for decision in ("accepted", "declined"):
        record_feedback(db, nid, "clinic", "genlab", decision)
    before = versions(db, nid)
    with pytest.raises(NetworkNotFound):
        undo_decision(db, nid + "-none", "clinic", "genlab")
    for member, candidate, missing in (("clinic", "ghost", "ghost"), ("ghost", "genlab", "ghost"),
                                       ("ghost", "phantom", "phantom")):
        with pytest.raises(MemberNotFound) as found:
            undo_decision(db, nid, member, candidate)
        assert found.value.args == (missing,)
    with pytest.raises(DecisionNotFound):
        undo_decision(db, nid, "genlab", "clinic")  # the decisions are clinic's, not genlab's
    assert versions(db, nid) == before
    assert undo_decision(db, nid, "clinic", "genlab")["undone"] == "declined"
    assert [d["decision"] for d in member_decisions(db, nid, "clinic")] == ["accepted"]
    assert undo_decision(db, nid, "clinic", "genlab")["undone"] == "accepted"
    assert member_decisions(db, nid, "clinic") == []


def _until_written(write: Any) -> int:
    """Run ``write`` as a client would: again after a 503 (``DatabaseBusy``); how many 503s."""
    busy = 0
    while True:
        try:
            write()
            return busy
        except DatabaseBusy:
            busy += 1


def test_concurrent_writes_to_one_network_all_land_once_numbered_without_gaps(
        db: Database, nid: str) -> None:
    """Profile edits and decisions from several threads at once: each lands exactly once (a
    write answered 503 landed not at all, and is sent again), the change log numbers them
    start+1 .. start+N in commit order, and each member ends as its last edit left it."""
    document = small_document(nid)
    caps = [c["id"] for c in document["capabilities"]]
    document["members"] += [{"id": f"m{k}", "name": f"M{k}", "capabilities": [
        {"id": caps[k % 4], "level": 3}]} for k in range(6)]
    import_network(db, document)
    start, taxonomy = versions(db, nid)
    threads, rounds = 6, 4
    last: dict[str, dict[str, Any]] = {}
    decisions: list[tuple[str, str]] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def client(k: int) -> None:
        rng = random.Random(k)
        barrier.wait()
        for r in range(rounds):
            if (k + r) % 2:
                body = _random_body(rng, caps, r)
                _until_written(lambda: put_member(db, nid, f"m{k}", body))
                with lock:
                    last[f"m{k}"] = body
            else:
                pair = (f"m{k}", f"m{(k + 1 + r) % threads}")
                _until_written(lambda: record_feedback(db, nid, *pair, "declined"))
                with lock:
                    decisions.append(pair)

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    catchup = read_changes(db, nid, start, taxonomy)
    assert catchup.complete
    assert [c.version for c in catchup.changes] == list(range(start + 1,
                                                              start + threads * rounds + 1))
    assert Counter(c.kind for c in catchup.changes) == {
        ChangeKind.MEMBERS: len(last) * rounds // 2, ChangeKind.FEEDBACK: len(decisions)}
    for mid, body in last.items():
        assert get_member(db, nid, mid) == _expected(mid, body)
    stored = Counter((f["member"], f["candidate"]) for f in catchup.feedback)
    assert stored == Counter(decisions)


def test_simultaneous_decisions_on_one_pair_are_numbered_one_after_the_other(
        db: Database, nid: str) -> None:
    """Both members answer at once with the same time stamp: each decision gets its own
    number after the pair's latest (the members are locked before it is read), so the latest
    decision of the pair is well defined, and it is the one both members see."""
    import_network(db, small_document(nid))
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    barrier = threading.Barrier(6)

    def decide(k: int) -> None:
        member, candidate = ("clinic", "genlab") if k % 2 else ("genlab", "clinic")
        barrier.wait()
        _until_written(lambda: record_feedback(
            db, nid, member, candidate, ("accepted", "declined")[k % 3 == 0], at=at))

    workers = [threading.Thread(target=decide, args=(k,)) for k in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    rows = db.query("MATCH (a:Member {network: $nid})-[f:FEEDBACK_ON]->(b:Member {network: $nid}) "
                    "RETURN a.id AS member, f.seq AS seq, f.decision AS decision "
                    "ORDER BY seq", nid=nid)
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5, 6]
    latest = rows[-1]
    mine = {"clinic": member_decisions(db, nid, "clinic"),
            "genlab": member_decisions(db, nid, "genlab")}
    assert mine[latest["member"]][0]["decision"] == latest["decision"]


def test_profile_edits_in_one_process_wait_their_turn_instead_of_conflicting(
        db: Database, nid: str, monkeypatch) -> None:
    """Edits of different members, at once from one process, each run once: they queue for the
    network's version (``wait_turn``) instead of conflicting over it and running again."""
    document = small_document(nid)
    caps = [c["id"] for c in document["capabilities"]]
    document["members"] += [{"id": f"m{k}", "name": f"M{k}", "capabilities": [
        {"id": c, "level": 1} for c in caps]} for k in range(6)]
    import_network(db, document)
    sent: Counter[str] = Counter()
    observe = db.observer

    def count(query: str, parameters: dict[str, Any]) -> None:
        sent[query] += 1
        if observe is not None:
            observe(query, parameters)

    monkeypatch.setattr(db, "observer", count)
    barrier = threading.Barrier(6)

    def edit(k: int) -> None:  # the levels change, the capabilities stay: no hub is written
        barrier.wait()
        for level in (2, 3, 4):
            put_member(db, nid, f"m{k}", {"name": f"M{k}", "capabilities": [
                {"id": c, "level": level} for c in caps]})

    workers = [threading.Thread(target=edit, args=(k,)) for k in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sent[q.PUT_MEMBER] == sent[q.RECORD_CHANGES] == 18  # no attempt ran twice
    assert all(get_member(db, nid, f"m{k}")["capabilities"][0]["level"] == 4 for k in range(6))


def test_a_write_that_fails_passes_its_turn_on(db: Database, monkeypatch) -> None:
    """A write that fails after taking its turn releases it with the rollback: the next write
    to the same network does not wait for it."""
    monkeypatch.setattr(turns, "TURN_WAIT", 600.0)  # a turn kept would block the next write

    def failing(tx: Any) -> None:
        turns.wait_turn("network:turn-test")
        raise ValueError("the work fails after taking its turn")

    with pytest.raises(ValueError):
        db.write(failing)
    done = threading.Event()

    def next_write() -> None:
        db.write(lambda tx: turns.wait_turn("network:turn-test"))
        done.set()

    worker = threading.Thread(target=next_write, daemon=True)
    worker.start()
    assert done.wait(60)


def _hold_turn(turns_dir: str, key: str, taken: Any, release: Any) -> None:
    """Another process: take the turn ``key`` as a write would, and hold it until told."""
    from pathlib import Path

    with turns.write_attempt(turns.Board(Path(turns_dir), 0)):
        turns.wait_turn(key)
        taken.set()
        release.wait(60)


def test_processes_using_one_local_server_take_turns_too(tmp_path, monkeypatch) -> None:
    """Service processes sharing the local server (``serve --workers N``) queue for a network's
    version as one process's threads do: a write waits while another process holds the turn,
    and takes it once that one's transaction ends."""
    import multiprocessing

    monkeypatch.setattr(turns, "TURN_WAIT", 60.0)
    ctx = multiprocessing.get_context("spawn")
    taken, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold_turn, args=(str(tmp_path), "network:x", taken, release))
    other.start()
    try:
        assert taken.wait(60)
        got = threading.Event()

        def write() -> None:
            with turns.write_attempt(turns.Board(tmp_path, 0)):
                turns.wait_turn("network:x")
                got.set()

        worker = threading.Thread(target=write, daemon=True)
        worker.start()
        assert not got.wait(0.5)  # the other process holds the turn
        release.set()
        assert got.wait(30)
    finally:
        release.set()
        other.join(30)
