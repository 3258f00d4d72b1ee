"""Import, export and validation against the real database."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from neo4j.exceptions import ConstraintError

import graph.store
from graph.database import Database
from graph.store import NetworkNotFound, export_network, import_network
from graph.validation import DocumentInvalid
from tests.conftest import normalised, small_document

pytestmark = pytest.mark.database


def stored(db: Database, nid: str) -> str | None:
    try:
        return normalised(export_network(db, nid))
    except NetworkNotFound:
        return None


def test_round_trip_is_lossless(db: Database, nid: str) -> None:
    document = small_document(nid)
    summary = import_network(db, document)
    assert summary.members == 3 and summary.ties == {
        "COLLABORATES_WITH": 1, "SUPPLIES": 1, "TRUSTS": 1}
    assert stored(db, nid) == normalised(document)


def test_export_reimports_into_the_same_graph(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    exported = export_network(db, nid)
    import_network(db, exported)
    assert normalised(export_network(db, nid)) == normalised(exported)


def test_importing_twice_leaves_the_same_graph(db: Database, nid: str) -> None:
    count = "MATCH (m:Member {network: $nid})-[r]-() RETURN count(r) AS n"
    import_network(db, small_document(nid))
    first, first_edges = stored(db, nid), db.query(count, nid=nid)
    import_network(db, small_document(nid))
    assert stored(db, nid) == first
    assert db.query(count, nid=nid) == first_edges


def test_reimport_replaces_without_stale_leftovers(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    changed = small_document(nid)
    changed["members"] = changed["members"][:2]  # the CRO leaves the network
    changed["members"][0]["capabilities"] = []
    changed["members"][0]["weaknesses"] = []
    changed["members"][1]["capabilities"][0]["level"] = 3
    changed["ties"] = [{"source": "genlab", "target": "clinic", "type": "COMPETES_WITH"}]
    import_network(db, changed)
    assert stored(db, nid) == normalised(changed)
    assert db.query("MATCH (m:Member {network: $nid, id: 'cro'}) RETURN m", nid=nid) == []


def test_a_networks_own_capabilities_can_be_relabelled_by_reimport(db: Database, nid: str) -> None:
    document = small_document(nid)
    import_network(db, document)
    cap = document["capabilities"][1]
    cap["label"] = "PGT (renamed)"
    cap["synonyms"] = ["diagnóstico genético preimplantacional"]
    import_network(db, document)
    row = db.query("MATCH (c:Capability {id: $id}) RETURN c.label AS label, c.synonyms AS s",
                   id=cap["id"])[0]
    assert row["label"] == "PGT (renamed)"
    assert sorted(row["s"]) == ["DGP", "PGT", "diagnóstico genético preimplantacional"]


def _mutate(document: dict[str, Any], nid: str, case: str) -> None:
    m = document["members"]
    c = f"{nid}-"
    match case:
        case "level out of range":
            m[1]["capabilities"][0]["level"] = 7
        case "level not a number":
            m[1]["capabilities"][0]["level"] = "high"
        case "severity zero":
            m[0]["weaknesses"][0]["severity"] = 0
        case "unknown capability":
            m[0]["needs"][0]["id"] = "no-such-capability"
        case "tie to a stranger":
            document["ties"][0]["target"] = "stranger"
        case "duplicate member":
            m[2]["id"] = "clinic"
        case "missing name":
            del m[2]["name"]
        case "unknown tie type":
            document["ties"][1]["type"] = "LIKES"
        case "broader cycle":
            document["capabilities"][0]["broader"] = c + "pgt"
        case "self tie":
            document["ties"][2]["target"] = "clinic"
        case "negative volume":
            m[0]["needs"][1]["volume"] = -10
        case "volume beyond a trillion":
            m[0]["needs"][1]["volume"] = 1e300
        case "saving beyond a trillion":
            document["projects"] = [{"id": "p1", "title": "Typo", "members": [
                {"member": "clinic"}], "outcomes": {"realised_saving": 2e12}}]
        case "order value beyond a trillion":
            document["orders"] = [{"id": "o1", "title": "Big", "value": 1e13, "requirements": [
                {"capability": c + "pgt", "quantity": 1}]}]
        case "unknown need kind":
            m[0]["needs"][0]["kind"] = "gift"
        case "misspelt field":
            m[1]["capabilites"] = m[1].pop("capabilities")
        case "bad date":
            document["ties"][0]["since"] = "last spring"
        case "capability listed twice":
            m[1]["capabilities"].append({"id": c + "pgt", "level": 2})
        case "duplicate tie":
            document["ties"].append(dict(document["ties"][0]))
        case "unknown broader":
            document["capabilities"][1]["broader"] = "nowhere"
        case "bad customer segment":
            m[2]["customers"] = ["retail", "hospitals & clinics"]
        case "too many customer segments":
            m[2]["customers"] = [f"segment-{k}" for k in range(21)]


BAD_INPUTS = [  # case, path of the problem, words the message must contain
    ("level out of range", "members[1].capabilities[0].level", "less than or equal to 5"),
    ("level not a number", "members[1].capabilities[0].level", "valid integer"),
    ("severity zero", "members[0].weaknesses[0].severity", "greater than or equal to 1"),
    ("unknown capability", "members[0].needs[0].id", "unknown capability 'no-such-capability'"),
    ("tie to a stranger", "ties[0].target", "'stranger' is not in this network"),
    ("duplicate member", "members[2].id", "duplicate member id 'clinic'"),
    ("missing name", "members[2].name", "required"),
    ("unknown tie type", "ties[1].type", "'LIKES'"),
    ("broader cycle", "capabilities[0].broader", "cycle"),
    ("self tie", "ties[2]", "tied to itself"),
    ("negative volume", "members[0].needs[1].volume", "greater than or equal to 0"),
    ("volume beyond a trillion", "members[0].needs[1].volume",
     "less than or equal to 1000000000000"),
    ("saving beyond a trillion", "projects[0].outcomes.realised_saving",
     "less than or equal to 1000000000000"),
    ("order value beyond a trillion", "orders[0].value", "less than or equal to 1000000000000"),
    ("unknown need kind", "members[0].needs[0].kind", "'gift'"),
    ("misspelt field", "members[1].capabilites", "not a field"),
    ("bad date", "ties[0].since", "date"),
    ("capability listed twice", "members[1].capabilities[2].id", "listed twice"),
    ("duplicate tie", "ties[3]", "duplicate TRUSTS tie"),
    ("unknown broader", "capabilities[1].broader", "unknown capability 'nowhere'"),
    ("bad customer segment", "members[2].customers[1]", "pattern"),
    ("too many customer segments", "members[2].customers", "at most 20"),
]


@pytest.mark.parametrize(("case", "path", "words"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_reported_and_writes_nothing(
    db: Database, nid: str, case: str, path: str, words: str
) -> None:
    document = small_document(nid)
    _mutate(document, nid, case)
    with pytest.raises(DocumentInvalid) as caught:
        import_network(db, document)
    messages = {p.path: p.message for p in caught.value.problems}
    assert path in messages, caught.value
    assert words in messages[path]
    assert stored(db, nid) is None
    capability_ids = [c["id"] for c in document["capabilities"]]
    assert db.query("MATCH (c:Capability) WHERE c.id IN $ids RETURN c.id", ids=capability_ids) == []


def test_bad_reimport_keeps_the_previous_graph(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    before = stored(db, nid)
    document = small_document(nid)
    document["members"][0]["capabilities"][0]["level"] = 9
    document["ties"][0]["type"] = "HATES"
    with pytest.raises(DocumentInvalid) as caught:
        import_network(db, document)
    assert len(caught.value.problems) == 2  # every problem, not just the first
    assert stored(db, nid) == before


def test_failure_in_the_middle_of_an_import_leaves_the_graph_unchanged(
    db: Database, nid: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_network(db, small_document(nid))
    before = stored(db, nid)
    changed = small_document(nid)
    changed["members"] = changed["members"][:1]
    changed["ties"] = []
    real_write_ties = graph.store._write_ties

    def write_ties_then_fail(tx: Any, document: Any, *rest: Any) -> None:
        real_write_ties(tx, document, *rest)  # members and ties are already rewritten here
        raise RuntimeError("power cut")

    monkeypatch.setattr(graph.store, "_write_ties", write_ties_then_fail)
    with pytest.raises(RuntimeError, match="power cut"):
        import_network(db, changed)
    assert stored(db, nid) == before


def test_the_database_refuses_duplicate_member_ids(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    other = small_document(nid + "-b")  # the same member ids in another network are fine
    import_network(db, other)

    def create_duplicate(tx: Any) -> None:
        tx.run("CREATE (:Member {network: $nid, id: 'genlab', name: 'Impostor'})", nid=nid).consume()

    with pytest.raises(ConstraintError):
        db.write(create_duplicate, attempts=1)
    rows = db.query("MATCH (m:Member {network: $nid, id: 'genlab'}) RETURN m.name AS name", nid=nid)
    assert rows == [{"name": "GenLab"}]


def test_expected_network_id_must_match(db: Database, nid: str) -> None:
    with pytest.raises(DocumentInvalid, match="network.id"):
        import_network(db, small_document(nid), expected_id="another")
    assert stored(db, nid) is None


def test_export_can_leave_weaknesses_out(db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    exported = export_network(db, nid, include_confidential=False)
    assert all(m["weaknesses"] == [] for m in exported["members"])
    assert copy.deepcopy(exported["members"][0]["needs"])  # needs are still there
