"""The change log: every write records what changed, in its transaction, readable after a version."""

from __future__ import annotations

import pytest

from graph import changes
from graph.changes import ChangeKind, read_changes
from graph.database import Database
from graph.feedback import record_feedback
from graph.members import MemberNotFound, delete_member, put_member
from graph.rivalries import clear_verdict, set_verdict
from graph.store import import_network, load_taxonomy, versions
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
