"""Re-import leaves nothing behind: after each import the graph holds exactly the document.

Every seed network, and a generated 3,000-member network, is imported five times, alternating
two versions (A, A, B, A, B: the same document again, then one with other members' edges and
ties), and after each import the stored members, capability, weakness and need edges, ties per
type and project participants are counted and compared with the document. On ArcadeDB,
deleting ties after member edges in one transaction used to leave some behind (docs/arcadedb.md).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from benchmarks.synthetic import generate
from graph import queries as q
from graph.database import Database
from graph.store import export_network, import_network
from seed_data import SEED_DIR

pytestmark = pytest.mark.database

SEEDS = sorted(p.stem for p in SEED_DIR.glob("*.json") if p.stem != "taxonomy")
ROUNDS = ("A", "A", "B", "A", "B")


def stored_counts(db: Database, nid: str) -> dict[str, Any]:
    """What the database holds for ``nid``, read after the import committed."""
    edges = db.query(q.COUNT_MEMBER_EDGES, nid=nid)[0]
    ties = {row["type"]: row["ties"] for row in db.query(q.COUNT_TIES, nid=nid) if row["ties"]}
    participants = db.query(q.COUNT_PROJECTS, nid=nid)[0]["participants"] or 0
    return {"members": edges["members"], "capabilities": edges["capabilities"] or 0,
            "weaknesses": edges["weaknesses"] or 0, "needs": edges["needs"] or 0,
            "ties": ties, "participants": participants}


def document_counts(document: dict[str, Any]) -> dict[str, Any]:
    ties: dict[str, int] = {}
    for tie in document["ties"]:
        ties[tie["type"]] = ties.get(tie["type"], 0) + 1
    members = document["members"]
    return {"members": len(members),
            **{key: sum(len(m.get(key, [])) for m in members)
               for key in ("capabilities", "weaknesses", "needs")},
            "ties": dict(sorted(ties.items())),
            "participants": sum(len(p["members"]) for p in document.get("projects", []))}


def other_version(document: dict[str, Any]) -> dict[str, Any]:
    """Version B: a third of the ties gone, some reversed, every other member's last
    capability and need dropped (members, projects and the taxonomy stay valid)."""
    changed = copy.deepcopy(document)
    kept = [t for i, t in enumerate(changed["ties"]) if i % 3]
    present = {(t["source"], t["target"], t["type"]) for t in kept}
    reversed_ties = [{**t, "source": t["target"], "target": t["source"]}
                     for i, t in enumerate(changed["ties"]) if i % 3 == 0 and i % 2 == 0
                     and (t["target"], t["source"], t["type"]) not in present]
    changed["ties"] = kept + reversed_ties
    for member in changed["members"][::2]:
        for key in ("capabilities", "needs"):
            if member.get(key):
                member[key] = member[key][:-1]
    return changed


def reimport_five_times(db: Database, version_a: dict[str, Any]) -> None:
    versions = {"A": version_a, "B": other_version(version_a)}
    assert document_counts(versions["A"]) != document_counts(versions["B"])
    nid = version_a["network"]["id"]
    for i, name in enumerate(ROUNDS):
        import_network(db, copy.deepcopy(versions[name]))
        assert stored_counts(db, nid) == document_counts(versions[name]), f"round {i} ({name})"


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_networks_reimport_exactly(seeded: Database, seed: str) -> None:
    # The seed's own export (its own capabilities belong to it, so it keeps its id); imported
    # again at the end, so the other tests find the seed network as it was.
    document = export_network(seeded, seed)
    try:
        reimport_five_times(seeded, document)
        # What is stored exports to a valid document again: nothing extra was left behind.
        exported = export_network(seeded, seed)
        assert document_counts(exported) == document_counts(other_version(document))
    finally:
        import_network(seeded, document)
    assert stored_counts(seeded, seed) == document_counts(document)


def own_taxonomy(document: dict[str, Any], prefix: str) -> dict[str, Any]:
    """The document with its capability ids prefixed: a network's own capabilities are its
    alone, and other tests generate the same synthetic taxonomy."""
    def cid(value: str) -> str:
        return prefix + value

    for cap in document["capabilities"]:
        cap["id"] = cid(cap["id"])
        if cap.get("broader"):
            cap["broader"] = cid(cap["broader"])
    for member in document["members"]:
        for key in ("capabilities", "weaknesses", "needs"):
            for entry in member.get(key, []):
                entry["id"] = cid(entry["id"])
    for template in document.get("value_chains", []):
        for stage in template["stages"]:
            stage["requires"] = [cid(c) for c in stage["requires"]]
    return document


def test_a_3000_member_network_reimports_exactly(db: Database) -> None:
    nid = f"re-synthetic-{uuid.uuid4().hex[:8]}"
    reimport_five_times(db, own_taxonomy(generate(3000, seed=0, nid=nid), nid + "-"))
