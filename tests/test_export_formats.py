"""Export formats: pure conversions of a hand-built document, no database."""

from __future__ import annotations

import io
import json
import struct
import xml.etree.ElementTree as ET
import zipfile
from typing import Any

import networkx as nx
import pytest

from graph.export_formats import FORMATS, render, to_networkx

SECRET = "secret-weakness-xyz"
MEMBER_IDS = {"acme", "bolt-works", "casa-rural", "delta-logistics"}


def _document() -> dict[str, Any]:
    return {
        "network": {"id": "testnet", "name": "Test Network", "region": "Somewhere"},
        "capabilities": [
            {"id": "welding", "label": "Welding", "kind": "service", "synonyms": ["soldadura"]},
            {"id": "tig-welding", "label": "TIG welding", "kind": "service",
             "broader": "welding", "synonyms": []},
            {"id": "fuel", "label": "Fuel", "kind": "purchase", "synonyms": []},
            # In the taxonomy but used only as a weakness: must not appear in any graph output.
            {"id": SECRET, "label": "Secret weakness label", "synonyms": []},
        ],
        "members": [
            {"id": "acme", "name": "Acme Metal S.L.", "sector": "metalwork", "size": "small",
             "customers": ["export-latam", "shipyards"],
             "capabilities": [{"id": "welding", "level": 5}, {"id": "tig-welding", "level": 4}],
             "weaknesses": [{"id": SECRET, "severity": 4}],
             "needs": [{"id": "fuel", "urgency": 4, "volume": 12000.0}]},
            {"id": "bolt-works", "name": "Bolt Works", "sector": "metalwork",
             "capabilities": [{"id": "welding", "level": 3}], "weaknesses": [], "needs": []},
            {"id": "casa-rural", "name": "Casa Rural El Olivo", "sector": "hospitality",
             "description": "A small rural hotel.",
             "capabilities": [], "weaknesses": [], "needs": [{"id": "undefined-cap", "urgency": 2}]},
            {"id": "delta-logistics", "name": "Delta Logistics",  # no sector
             "capabilities": [], "weaknesses": [], "needs": [{"id": "fuel", "urgency": 5}]},
        ],
        "ties": [
            {"source": "acme", "target": "bolt-works", "type": "COLLABORATES_WITH", "weight": 0.8,
             "since": "2015-03-01"},
            {"source": "acme", "target": "bolt-works", "type": "TRUSTS", "weight": 0.9},
            {"source": "bolt-works", "target": "acme", "type": "COMPETES_WITH"},
            {"source": "delta-logistics", "target": "acme", "type": "SUPPLIES"},
            {"source": "delta-logistics", "target": "casa-rural", "type": "SUPPLIES",
             "since": "2020-06-15"},
        ],
    }


TIES = {(t["source"], t["target"], t["type"]) for t in _document()["ties"]}


def _read(fmt: str, **kwargs: Any) -> nx.MultiDiGraph:
    reader = {"gexf": nx.read_gexf, "graphml": nx.read_graphml}[fmt]
    return reader(io.BytesIO(render(_document(), fmt, **kwargs)))


def _type(fmt: str, data: dict[str, Any]) -> str:
    return data["tie_type"] if fmt == "gexf" else data["type"]


def test_formats_cover_all_names() -> None:
    assert set(FORMATS) == {"json", "gexf", "graphml", "cytoscape", "csv", "png", "svg"}


def test_to_networkx_member_attributes() -> None:
    graph = to_networkx(_document())
    acme = graph.nodes["acme"]
    assert acme["capabilities"] == "welding:5;tig-welding:4"
    assert acme["needs"] == "fuel" and acme["n_capabilities"] == 2 and acme["n_needs"] == 1
    assert acme["degree"] == 4 and acme["sector"] == "metalwork"
    assert "sector" not in graph.nodes["delta-logistics"]
    assert acme["customers"] == "export-latam;shipyards"  # public, like the sector
    assert graph.nodes["bolt-works"]["customers"] == ""
    assert graph.edges["acme", "bolt-works", "TRUSTS"]["weight"] == 0.9
    assert graph.edges["acme", "bolt-works", "COLLABORATES_WITH"]["since"] == "2015-03-01"
    for _, data in graph.nodes(data=True):
        assert None not in data.values() and not any(isinstance(v, list) for v in data.values())


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_graph_files_open_with_members_and_ties(fmt: str) -> None:
    graph = _read(fmt)
    assert set(graph.nodes) == MEMBER_IDS
    assert graph.is_multigraph() and graph.is_directed()
    assert {(u, v, _type(fmt, d)) for u, v, d in graph.edges(data=True)} == TIES
    assert graph.nodes["acme"]["capabilities"] == "welding:5;tig-welding:4"


@pytest.mark.parametrize("fmt", ["gexf", "graphml", "cytoscape"])
def test_a_network_with_a_policy_exports(fmt: str) -> None:
    """A facilitator's policy (a map, with a map of discounts in it) becomes flat attributes of
    the graph: the writers hold no maps (the fuzzer found a 500 once a policy was set)."""
    document = _document()
    document["network"]["policy"] = {"require_approval": True, "training_capacity": 4,
                                     "discounts": {"fuel": 0.05, "paper": 0.1}}
    if fmt == "cytoscape":
        assert json.loads(render(document, fmt))
        return
    graph = _read_document(fmt, document)
    assert set(graph.nodes) == MEMBER_IDS
    if fmt == "graphml":  # GEXF files keep no attributes of the graph itself
        assert graph.graph["policy_training_capacity"] == 4
        assert graph.graph["policy_discounts_fuel"] == 0.05


def _read_document(fmt: str, document: dict[str, Any]) -> nx.MultiDiGraph:
    reader = {"gexf": nx.read_gexf, "graphml": nx.read_graphml}[fmt]
    return reader(io.BytesIO(render(document, fmt)))


@pytest.mark.parametrize("fmt", ["gexf", "graphml"])
def test_graph_files_with_capabilities(fmt: str) -> None:
    graph = _read(fmt, include_capabilities=True)
    caps = {"cap:welding", "cap:tig-welding", "cap:fuel", "cap:undefined-cap"}
    assert set(graph.nodes) == MEMBER_IDS | caps
    assert graph.nodes["cap:tig-welding"]["label"] == "TIG welding"
    assert graph.nodes["cap:undefined-cap"]["label"] == "undefined-cap"  # not in the taxonomy
    edges = {(u, v, _type(fmt, d)): d for u, v, d in graph.edges(data=True)}
    assert int(edges["acme", "cap:tig-welding", "HAS_CAPABILITY"]["level"]) == 4
    assert int(edges["delta-logistics", "cap:fuel", "NEEDS"]["urgency"]) == 5
    assert TIES <= set(edges)


def test_cytoscape_elements() -> None:
    content = json.loads(render(_document(), "cytoscape"))
    nodes, edges = content["elements"]["nodes"], content["elements"]["edges"]
    assert {n["data"]["id"] for n in nodes} == MEMBER_IDS and len(nodes) == len(MEMBER_IDS)
    assert {n["data"]["label"] for n in nodes} >= {"Bolt Works", "Delta Logistics"}
    assert {(e["data"]["source"], e["data"]["target"], e["data"]["type"]) for e in edges} == TIES
    ids = [e["data"]["id"] for e in edges] + [n["data"]["id"] for n in nodes]
    assert len(edges) == len(TIES) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("fmt", ["gexf", "graphml", "cytoscape", "svg"])
@pytest.mark.parametrize("include_capabilities", [False, True])
def test_no_weaknesses_in_output(fmt: str, include_capabilities: bool) -> None:
    text = render(_document(), fmt, include_capabilities=include_capabilities).decode()
    assert SECRET not in text and "weakness" not in text.lower()


def test_png_picture() -> None:
    png = render(_document(), "png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 800 and height >= 600


def test_svg_picture() -> None:
    svg = render(_document(), "svg", include_capabilities=True)
    ET.fromstring(svg)
    text = svg.decode()
    for name in ("Bolt Works", "Casa Rural El Olivo", "Delta Logistics", "Acme Metal", "Test Network"):
        assert name in text
    assert "TIG welding" not in text  # pictures show members only


def test_json_is_the_document() -> None:
    assert json.loads(render(_document(), "json")) == _document()


def test_csv_zip_tables() -> None:
    with zipfile.ZipFile(io.BytesIO(render(_document(), "csv"))) as archive:
        names = set(archive.namelist())
        assert {"members.csv", "ties.csv"} <= names
        assert archive.read("ties.csv").decode().count("\n") == len(TIES) + 1


def test_empty_network_renders() -> None:
    document = {"network": {"id": "empty", "name": "Empty"}, "members": [], "ties": []}
    for fmt in FORMATS:
        assert render(document, fmt)


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown export format 'pdf'"):
        render(_document(), "pdf")


AGENTS = [{"id": "caja-sur", "name": "Caja Rural del Sur", "kind": "savings-bank",
           "offers": ["fuel"]},
          {"id": "uja", "name": "Universidad de Jaén", "kind": "university", "offers": []}]


def test_pictures_draw_outside_agents_as_their_own_kind() -> None:
    with_agents = {**_document(), "agents": AGENTS}
    svg = render(with_agents, "svg").decode()
    ET.fromstring(svg)
    assert "Caja Rural del Sur" in svg and "Universidad de Jaén" in svg
    assert "outside agent (not a member)" in svg  # the legend names the node kind
    assert "outside agent" not in render(_document(), "svg").decode()
    png = render(with_agents, "png")
    assert png.startswith(b"\x89PNG") and png != render(_document(), "png")


def test_a_picture_of_agents_alone_renders() -> None:
    document = {"network": {"id": "x", "name": "X"}, "members": [], "ties": [],
                "agents": AGENTS}
    assert "Caja Rural del Sur" in render(document, "svg").decode()
    assert render(document, "png").startswith(b"\x89PNG")
