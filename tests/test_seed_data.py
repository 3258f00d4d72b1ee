"""The seed networks load and their projection matches their documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.database import Database
from graph.document import NetworkDocument
from graph.projection import project_network
from graph.store import export_network, read_projects
from seed_data import SEED_DIR
from tests.conftest import normalised

pytestmark = pytest.mark.database
NETWORKS = sorted(p for p in SEED_DIR.glob("*.json") if p.name != "taxonomy.json")


def test_five_seed_networks_ship_with_the_package() -> None:
    assert [p.stem for p in NETWORKS] == ["fertility", "fishing", "health-local", "herencia",
                                          "local-tv"]


@pytest.mark.parametrize("path", NETWORKS, ids=[p.stem for p in NETWORKS])
def test_projection_matches_the_document(seeded: Database, path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    projection = project_network(seeded, document["network"]["id"])

    members = {m["id"]: m for m in document["members"]}
    assert sorted(projection.member_ids) == sorted(members)
    for mid, member in members.items():
        i = projection.member_index[mid]
        for key, matrix, value in (("capabilities", projection.levels, "level"),
                                   ("weaknesses", projection.severities, "severity")):
            expected = {e["id"]: e[value] for e in member.get(key, [])}
            row = matrix[[i], :].tocoo()
            got = {projection.capability_ids[j]: int(v) for j, v in zip(row.col, row.data)}
            assert got == expected, (mid, key)
        assert sorted(n["id"] for n in projection.needs[i]) == sorted(
            n["id"] for n in member.get("needs", []))
        assert projection.ties.nodes[mid]["name"] == member["name"]
    ties = sorted((t["source"], t["target"], t["type"]) for t in document["ties"])
    assert sorted(projection.ties.edges(keys=True)) == ties
    for cap in document.get("capabilities", []):
        assert projection.taxonomy.nodes[cap["id"]]["label"] == cap["label"]


@pytest.mark.parametrize("path", NETWORKS, ids=[p.stem for p in NETWORKS])
def test_seed_export_round_trip(seeded: Database, path: Path) -> None:
    document = json.loads(path.read_text(encoding="utf-8"))
    exported = normalised(export_network(seeded, document["network"]["id"]))
    # Through the models: defaults (min_members, urgency, ...) are filled in as stored.
    expected = normalised(NetworkDocument.model_validate({**document, "capabilities": []}).to_json())
    for part in ("network", "members", "ties", "value_chains", "projects", "agents", "orders"):
        assert json.loads(exported)[part] == json.loads(expected)[part], part


def test_the_towns_fuel_purchase_is_in_implementation_with_its_saving(seeded: Database) -> None:
    [fuel] = [p for p in read_projects(seeded, "herencia") if p["id"] == "fuel-purchase-2025"]
    assert fuel["phase"] == "implementation" and fuel["outcomes"]["realised_saving"] > 0
    assert len(fuel["members"]) >= 10
