"""The change log: every write records what changed, in its transaction, readable after a version."""

from __future__ import annotations

import contextlib

import pytest

from graph import changes
from graph.changes import ChangeKind, read_changes
from graph.database import Database
from graph.feedback import record_feedback
from graph.members import MemberNotFound, delete_member, put_member
from graph.rivalries import clear_verdict, set_verdict
from graph.store import import_network, load_taxonomy, versions
from tests.catchups import assert_same_catchup
from tests.conftest import small_document


def _member(nid: str, name: str = "New lab") -> dict:
    return {"name": name, "capabilities": [{"id": f"{nid}-pgt", "level": 4}],
            "needs": [{"id": f"{nid}-fuel", "kind": "purchase", "urgency": 2}]}


def test_writes_are_numbered_and_name_their_members(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    start, taxonomy = versions(db, nid)
    put_member(db, nid, "newlab", _member(nid))
    record_feedback(db, nid, "clinic", "genlab", "declined")
    delete_member(db, nid, "cro")

    catchup = read_changes(db, nid, start, taxonomy)
    assert catchup.complete
    assert [(c.version, c.kind, c.members) for c in catchup.changes] == [
        (start + 1, ChangeKind.MEMBERS, ("newlab",)),
        (start + 2, ChangeKind.FEEDBACK, ("clinic", "genlab")),
        (start + 3, ChangeKind.REMOVED, ("cro",)),
    ]
    assert catchup.version == start + 3 == versions(db, nid)[0]
    # The current state of what the changes name: cro is gone, newlab is there with its edges.
    assert [m["id"] for m in catchup.members] == ["newlab"]
    assert catchup.profile_members == {"newlab", "cro"}
    assert catchup.members[0]["capabilities"] == [{"id": f"{nid}-pgt", "level": 4, "capacity": None,
                                                   "core": None}]
    # A profile write keeps ties and decisions (newlab's, none, are not read again); the
    # deleted cro's went with it; and the network's own properties did not change.
    assert catchup.tie_members == {"cro"} and catchup.ties == []
    assert catchup.feedback_members == {"clinic", "genlab", "cro"}
    assert catchup.network is None
    assert [(f["member"], f["candidate"], f["decision"]) for f in catchup.feedback] == [
        ("clinic", "genlab", "declined")]


def test_a_verdict_on_rivalry_is_a_change_that_carries_every_verdict(db: Database,
                                                                     nid: str) -> None:
    import_network(db, small_document(nid, newcomer=True))
    start, taxonomy = versions(db, nid)
    set_verdict(db, nid, "newlab", "genlab", "not_rivals", "PGT only")
    set_verdict(db, nid, "cro", "clinic", "rivals")
    clear_verdict(db, nid, "clinic", "cro")
    with pytest.raises(MemberNotFound):  # refused inside the transaction: nothing recorded
        set_verdict(db, nid, "clinic", "ghost", "rivals")
    catchup = read_changes(db, nid, start, taxonomy)
    assert [(c.kind, c.members) for c in catchup.changes] == [
        (ChangeKind.RIVALRY, ("genlab", "newlab")), (ChangeKind.RIVALRY, ("clinic", "cro")),
        (ChangeKind.RIVALRY, ("clinic", "cro"))]
    assert [(v["a"], v["b"], v["verdict"], v["note"]) for v in catchup.verdicts] == [
        ("genlab", "newlab", "not_rivals", "PGT only")]
    assert catchup.members == [] and catchup.ties == []  # nothing else is read again
    # A catch-up with no verdict change reads none.
    assert read_changes(db, nid, catchup.version, taxonomy).verdicts is None


def test_nothing_after_the_current_version(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    version, taxonomy = versions(db, nid)
    catchup = read_changes(db, nid, version, taxonomy)
    assert catchup.complete and catchup.changes == [] and catchup.version == version


def test_a_failed_write_leaves_no_record(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    version, taxonomy = versions(db, nid)
    with pytest.raises(Exception):
        put_member(db, nid, "bad", {"name": "Bad", "capabilities": [{"id": "nope", "level": 9}]})
    assert read_changes(db, nid, version, taxonomy).changes == []


def test_imports_and_taxonomy_changes_ask_for_a_refit(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    version, taxonomy = versions(db, nid)
    import_network(db, small_document(nid))
    assert not read_changes(db, nid, version, taxonomy).complete

    # A new shared capability is in no one's profile: nobody refits. Changing one does.
    version, taxonomy = versions(db, nid)
    extra = {"id": f"{nid}-extra", "label": "Extra", "kind": "service"}
    load_taxonomy(db, {"capabilities": [extra]})
    assert versions(db, nid) == (version, taxonomy)
    load_taxonomy(db, {"capabilities": [{**extra, "label": "Extra work"}]})
    assert versions(db, nid) == (version, taxonomy + 1)
    assert not read_changes(db, nid, version, taxonomy).complete


def test_old_records_are_compacted(db: Database, nid: str, monkeypatch) -> None:
    monkeypatch.setattr(changes, "KEEP", 4)
    monkeypatch.setattr(changes, "COMPACT_EVERY", 2)
    import_network(db, small_document(nid))
    start, taxonomy = versions(db, nid)
    for k in range(8):
        put_member(db, nid, "newlab", _member(nid, f"Lab {k}"))
    end = versions(db, nid)[0]
    # A reader far behind sees the gap and refits; a recent one catches up.
    assert not read_changes(db, nid, start, taxonomy).complete
    recent = read_changes(db, nid, end - 2, taxonomy)
    assert recent.complete and [c.version for c in recent.changes] == [end - 1, end]
    assert recent.members[0]["name"] == "Lab 7"
    # Nothing older than the kept records is left behind (each step deletes one step's worth).
    for k in range(12):
        put_member(db, nid, "newlab", _member(nid, f"Lab {k}"))
    left = db.read(lambda tx: tx.run("MATCH (c:Change {network: $nid}) RETURN c.version AS v",
                                     nid=nid).value())
    end = versions(db, nid)[0]
    assert min(left) > end - 4 - 2 and len(left) <= 4 + 2


# No write of the API changes ties alone today (an import replaces them): these stand for one.
_NEW_TIE = """
MATCH (a:Member {network: $nid, id: 'clinic'})
MATCH (b:Member {network: $nid, id: 'cro'})
MERGE (a)-[:TRUSTS]->(b)
"""
_NO_TIE = """
MATCH (:Member {network: $nid, id: 'clinic'})-[t:TRUSTS]->(:Member {network: $nid, id: 'cro'})
DELETE t
"""


def _tie_write(tx, nid: str, statement: str, named: list[str]) -> None:
    tx.run(statement, nid=nid).consume()
    changes.record_change(tx, nid, ChangeKind.TIES, named)


def _undecide(tx, nid: str) -> None:
    """A decision between clinic and cro removed, recorded as naming cro alone."""
    tx.run("MATCH (:Member {network: $nid, id: 'clinic'})-[f:FEEDBACK_ON]->"
           "(:Member {network: $nid, id: 'cro'})\nDELETE f", nid=nid).consume()
    changes.record_change(tx, nid, ChangeKind.FEEDBACK, ["cro"])


@pytest.mark.parametrize("seed", [1, 2])
def test_the_state_kept_on_the_records_equals_the_state_read_for_every_window(
        db: Database, nid: str, seed: int, monkeypatch) -> None:
    """A service's writes keep the state they left on their records; a reader replaying them
    from any version gets what reading the current state would give, without reading it. A write
    that kept nothing (a process that does not follow its writes) sends the reader to the state."""
    import random

    from graph.agents import replace_agents
    from graph.introductions import Conflict, request_introduction
    from graph.members import set_network_policy

    import_network(db, small_document(nid, newcomer=True))
    start, taxonomy = versions(db, nid)
    rng = random.Random(seed)
    ids = ["clinic", "genlab", "cro", "newlab", "extra"]
    present = {"clinic", "genlab", "cro", "newlab"}

    def write() -> None:
        # (Deletions, rare, forget the kept states naming the member: one is made above.)
        kind = rng.choice(["edit", "edit", "decision", "decision", "verdict", "agents",
                           "policy", "introduction"])
        a, b = rng.sample(sorted(present), 2) if len(present) > 1 else (None, None)
        if kind == "edit" or a is None:
            mid = rng.choice(ids)
            put_member(db, nid, mid, _member(nid, f"Lab {rng.randrange(100)}"))
            present.add(mid)
        elif kind == "decision":
            record_feedback(db, nid, a, b, rng.choice(["declined", "accepted"]))
        elif kind == "verdict":
            set_verdict(db, nid, a, b, rng.choice(["rivals", "not_rivals"]))
        elif kind == "agents":
            replace_agents(db, nid, [{"id": "bank", "name": f"Bank {rng.randrange(9)}",
                                      "kind": "bank"}])
        elif kind == "policy":
            set_network_policy(db, nid, {"suppress_declined_days": rng.choice([30, 90])})
        else:
            with contextlib.suppress(Conflict):  # one is open already: nothing written
                request_introduction(db, nid, a, b, competitors=False, tied=False)

    # The first write, by a process that does not follow its writes, keeps no state.
    put_member(db, nid, "extra", _member(nid, "Unkept lab"))
    present.add("extra")
    feed = changes.committed_changes(db)
    listener = lambda written: None  # noqa: E731 - a follower, as ``serve`` has
    feed.subscribe(listener)
    try:
        # A decision and a tie described by both ends, then by one end alone.
        record_feedback(db, nid, "clinic", "genlab", "declined")
        delete_member(db, nid, "genlab")
        present.discard("genlab")
        db.write(_tie_write, nid, _NEW_TIE, ["clinic", "cro"])
        db.write(_tie_write, nid, _NO_TIE, ["cro"])
        record_feedback(db, nid, "clinic", "cro", "declined")
        db.write(_undecide, nid)
        for _ in range(20):
            write()
    finally:
        feed.unsubscribe(listener)

    # A deletion forgets the kept states of the records naming the member: windows holding one
    # read the state.
    forgotten = db.read(lambda tx: tx.run(
        "MATCH (c:Change {network: $nid}) WHERE c.version > $start AND c.state IS NULL\n"
        "RETURN c.version AS version, c.kind AS kind", nid=nid, start=start).data())
    forgotten = {r["version"] for r in forgotten if ChangeKind(r["kind"]).needs_state}
    states = []
    real_state = changes._state
    monkeypatch.setattr(changes, "_state", lambda *a: states.append(a[2]) or real_state(*a))
    end = versions(db, nid)[0]
    for since in range(start, end + 1):
        kept = read_changes(db, nid, since, taxonomy)
        read = db.read(lambda tx: real_state(tx, nid, since, kept.version, taxonomy,
                                             kept.changes))
        assert_same_catchup(kept, read)
        if any(version > since for version in forgotten):
            assert states[-1:] == [since], "a record without state: the state was read"
        else:
            assert since not in states, "every record kept its state: none was read"
    assert end - start - len(states) >= 8, "most windows were replayed from kept states"


def test_a_deleted_members_rows_are_not_kept_on_the_change_records(db: Database,
                                                                  nid: str) -> None:
    import_network(db, small_document(nid))
    feed = changes.committed_changes(db)
    listener = lambda written: None  # noqa: E731 - a follower, as ``serve`` has
    feed.subscribe(listener)
    try:
        secret = {**_member(nid, "Secret lab"),
                  "weaknesses": [{"id": f"{nid}-quality", "severity": 5}]}
        put_member(db, nid, "newlab", secret)
        record_feedback(db, nid, "clinic", "newlab", "declined")
        put_member(db, nid, "cro", _member(nid, "CRO"))

        def kept(tx) -> list[str]:
            return tx.run("MATCH (c:Change {network: $nid}) WHERE c.state IS NOT NULL\n"
                          "RETURN c.state AS state", nid=nid).value()

        assert any("Secret lab" in state for state in db.read(kept))
        delete_member(db, nid, "newlab")
        assert not any("Secret lab" in state or f"{nid}-quality" in state
                       for state in db.read(kept) if "newlab" in state)
        assert db.read(kept), "the other members' states are kept"
    finally:
        feed.unsubscribe(listener)
