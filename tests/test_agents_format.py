"""Capacities, hours, outside agents and declared orders in the format, storage, CSV and exports."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import networkx as nx
import pytest

from graph.csv_format import read_csv_document, write_csv_zip
from graph.database import Database
from graph.export_formats import FORMATS, render
from graph.projection import project_network
from graph.store import export_network, import_network
from graph.validation import DocumentInvalid
from tests.conftest import normalised, small_document


def playbook_document(nid: str) -> dict[str, Any]:
    """``small_document`` with a unit, capacities, hours, two agents and a declared order."""
    c = f"{nid}-"
    document = small_document(nid)
    document["capabilities"][1]["unit"] = "tests"
    document["capabilities"].append({"id": c + "finance", "label": "Financing", "kind": "service",
                                     "synonyms": []})
    genlab = document["members"][1]
    genlab["capabilities"][0]["capacity"] = 120.0  # floats, as the export writes them back
    genlab["hours_per_month"] = 10.0
    document["agents"] = [
        {"id": "savings-bank", "name": "Caja Local", "kind": "savings-bank", "region": "Madrid",
         "description": "The local savings bank", "contact": "branch@caja.example",
         "offers": [c + "finance"]},
        {"id": "uni", "name": "University", "kind": "university", "offers": [c + "genetics",
                                                                              c + "quality"]},
    ]
    document["orders"] = [{"id": "big-order", "title": "Tests for a hospital", "lead": "genlab",
                           "competitors": "exclude", "value": 50000.0,
                           "requirements": [{"capability": c + "pgt", "quantity": 200.0,
                                             "min_level": 3},
                                            {"capability": c + "finance", "quantity": 1.0,
                                             "min_level": 2}]}]
    return document


def test_round_trip_keeps_capacities_hours_agents_and_orders(db: Database, nid: str) -> None:
    document = playbook_document(nid)
    import_network(db, document)
    exported = export_network(db, nid)
    assert normalised(exported) == normalised(document)
    projection = project_network(db, nid)
    g, pgt = projection.member_index["genlab"], projection.capability_index[f"{nid}-pgt"]
    assert projection.capacities[g, pgt] == 120
    assert projection.hours[g] == 10 and projection.taxonomy.nodes[f"{nid}-pgt"]["unit"] == "tests"
    assert [a["id"] for a in projection.agents] == ["savings-bank", "uni"]
    # analysts' export (no confidential data) keeps agents: they are public organisations
    assert export_network(db, nid, include_confidential=False)["agents"] == document["agents"]
    # a re-import without agents removes them
    del document["agents"]
    import_network(db, document)
    assert export_network(db, nid)["agents"] == []


BAD = [  # mutation, path, words
    (lambda d: d["members"][1]["capabilities"][0].update(capacity=-5),
     "members[1].capabilities[0].capacity", "greater than 0"),
    (lambda d: d["members"][1].update(hours_per_month=800),
     "members[1].hours_per_month", "less than or equal to 744"),
    (lambda d: d["agents"][0]["offers"].append("no-such-thing"),
     "agents[0].offers[1]", "unknown capability 'no-such-thing'"),
    (lambda d: d["agents"][1].update(id="clinic"), "agents[1].id", "also a member id"),
    (lambda d: d["agents"][1].update(id="savings-bank"), "agents[1].id", "duplicate agent id"),
    (lambda d: d["agents"][0].update(kind="casino"), "agents[0].kind", "'casino'"),
    (lambda d: d["orders"][0].update(lead="stranger"), "orders[0].lead", "not in this network"),
    (lambda d: d["orders"][0]["requirements"][0].update(quantity=0),
     "orders[0].requirements[0].quantity", "greater than 0"),
    (lambda d: d["orders"][0]["requirements"][1].update(capability="nope"),
     "orders[0].requirements[1].capability", "unknown capability 'nope'"),
]


@pytest.mark.parametrize(("mutate", "path", "words"), BAD, ids=[b[1] for b in BAD])
def test_bad_values_are_reported_with_their_paths(db: Database, nid: str, mutate, path: str,
                                                  words: str) -> None:
    document = playbook_document(nid)
    mutate(document)
    with pytest.raises(DocumentInvalid) as err:
        import_network(db, document)
    found = {p.path: p.message for p in err.value.problems}
    assert path in found and words in found[path], found


def test_csv_carries_capacities_hours_units_and_agents(tmp_path, nid: str) -> None:
    document = playbook_document(nid)
    document.pop("orders")  # orders live in the JSON document only
    archive = tmp_path / "network.zip"
    archive.write_bytes(write_csv_zip(document))
    with zipfile.ZipFile(archive) as files:
        assert "agents.csv" in files.namelist()
        assert "hours_per_month" in files.read("members.csv").decode().splitlines()[0]
    back, _ = read_csv_document(archive)
    genlab = next(m for m in back["members"] if m["id"] == "genlab")
    assert genlab["hours_per_month"] == 10
    assert {c["id"]: c.get("capacity") for c in genlab["capabilities"]}[f"{nid}-pgt"] == 120
    assert [a["offers"] for a in back["agents"]] == [a["offers"] for a in document["agents"]]
    assert next(c for c in back["capabilities"] if c["id"] == f"{nid}-pgt")["unit"] == "tests"


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_agents_are_their_own_node_type_in_graph_files(fmt: str) -> None:
    document = playbook_document("x")
    reader = {"gexf": nx.read_gexf, "graphml": nx.read_graphml}[fmt]
    graph = reader(io.BytesIO(render(document, fmt)))
    agents = {n: d for n, d in graph.nodes(data=True) if d.get("kind") == "agent"}
    assert set(agents) == {"agent:savings-bank", "agent:uni"}
    assert agents["agent:savings-bank"]["agent_kind"] == "savings-bank"
    assert agents["agent:uni"]["offers"] == "x-genetics;x-quality"
    with_caps = reader(io.BytesIO(render(document, fmt, include_capabilities=True)))
    offers = {(u, v) for u, v, d in with_caps.edges(data=True)
              if (d.get("tie_type") or d.get("type")) == "OFFERS"}
    assert offers == {("agent:savings-bank", "cap:x-finance"), ("agent:uni", "cap:x-genetics"),
                      ("agent:uni", "cap:x-quality")}


def test_agents_in_cytoscape() -> None:
    content = json.loads(render(playbook_document("x"), "cytoscape"))
    kinds = {n["data"]["id"]: n["data"]["kind"] for n in content["elements"]["nodes"]}
    assert kinds["agent:uni"] == "agent" and kinds["genlab"] == "member"


@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"png", "svg"}))
def test_agents_in_every_data_export(fmt: str) -> None:
    # Each export a facilitator can load elsewhere names every agent, its kind and what it
    # offers (pictures draw members and ties only).
    content = render(playbook_document("x"), fmt, include_capabilities=True)
    if fmt == "csv":
        with zipfile.ZipFile(io.BytesIO(content)) as files:
            content = files.read("agents.csv")
    text = content.decode()
    for expected in ("savings-bank", "Caja Local", "University", "x-finance", "x-genetics"):
        assert expected in text, (fmt, expected)
