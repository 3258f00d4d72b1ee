"""Text from members never breaks a file or a picture, and never runs in a spreadsheet.

Names are chosen as an attacker (or an unlucky member) would: TeX for matplotlib's mathtext,
formulas for spreadsheets, control characters for XML.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import xml.etree.ElementTree as ET
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from graph.csv_format import read_csv_document, write_csv_zip
from graph.database import Database
from graph.export_formats import render
from graph.store import import_network
from graph.tokens import issue_token
from graph.validation import DocumentInvalid
from tests.conftest import ADMIN_SECRET, small_document

pytestmark = pytest.mark.database
TEX_NAME = r"$\foo{x}$ Panaderia"
FORMULAS = {"name": "=HYPERLINK(\"http://evil.example\",\"click\")", "sector": "+cmd|' /C calc'!A0",
            "region": "-2+3", "description": "@SUM(A1:A9)"}
QUOTED = "'=already quoted"  # a value that itself starts like a neutralised one


def hostile_document(nid: str) -> dict[str, Any]:
    document = small_document(nid)
    document["members"][0].update(FORMULAS)
    document["members"][1]["name"] = TEX_NAME
    document["members"][2]["name"] = "CRO $x^2$ & <Iberia> \\textbf{bold}"
    document["members"][2]["description"] = QUOTED
    document["network"]["name"] = "$\\alpha$ network"
    return document


def _cells(archive: bytes, table: str) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        return list(csv.DictReader(io.StringIO(files.read(table).decode("utf-8"))))


# -- spreadsheets ---------------------------------------------------------------------------
def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised_and_read_back(tmp_path) -> None:
    document = hostile_document("csv-hostile")
    archive = write_csv_zip(document)
    clinic = next(r for r in _cells(archive, "members.csv") if r["id"] == "clinic")
    for field, value in FORMULAS.items():
        assert clinic[field] == "'" + value, field  # shown as text, never run
    for table in ("network.csv", "capabilities.csv", "members.csv", "ties.csv"):
        for row in _cells(archive, table):
            for value in row.values():
                assert not value.startswith(("=", "+", "-", "@")), (table, value)
    (tmp_path / "n.zip").write_bytes(archive)
    raw, _ = read_csv_document(tmp_path / "n.zip")
    back = {m["id"]: m for m in raw["members"]}
    assert {f: back["clinic"][f] for f in FORMULAS} == FORMULAS  # the round trip stays lossless
    assert back["cro"]["description"] == QUOTED


def test_analyst_csv_export_is_neutralised(client: TestClient, db: Database) -> None:
    nid = f"hostile-{uuid.uuid4().hex[:8]}"
    import_network(db, hostile_document(nid))
    analyst = issue_token(db, "analyst", nid, None)[0]
    response = client.get(f"/networks/{nid}/export", params={"format": "csv"},
                          headers={"Authorization": f"Bearer {analyst}"})
    assert response.status_code == 200
    clinic = next(r for r in _cells(response.content, "members.csv") if r["id"] == "clinic")
    assert clinic["name"] == "'" + FORMULAS["name"]
    assert clinic["description"] == "'" + FORMULAS["description"]


# -- pictures and XML -----------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["png", "svg", "gexf", "graphml"])
def test_tex_and_markup_in_names_are_drawn_literally(fmt: str) -> None:
    content = render(hostile_document("tex"), fmt)
    if fmt == "png":
        assert content.startswith(b"\x89PNG")
        return
    root = ET.fromstring(content)  # valid XML
    text = "".join(root.itertext()) + " ".join(
        v for element in root.iter() for v in element.attrib.values())
    assert TEX_NAME.split(" ")[0] in text or "$\\foo{x}$" in text


def test_control_characters_stored_earlier_still_give_valid_xml() -> None:
    """Validation refuses them now; a document read from older data may still hold them."""
    document = hostile_document("ctl")
    document["members"][0]["name"] = "Bell\x07 and \x1b[31mred"
    document["members"][1]["description"] = "form\x0cfeed"
    for fmt in ("svg", "gexf", "graphml"):
        ET.fromstring(render(document, fmt))
    assert render(document, "png").startswith(b"\x89PNG")


@pytest.mark.parametrize(("where", "value", "path"), [
    ("name", "Pan\x07aderia", "members[0].name"),
    ("name", "Two\nlines", "members[0].name"),
    ("description", "vertical\x0btab", "members[0].description"),
    ("description", "delete\x7f", "members[0].description"),
    ("sector", "c1\x85control", "members[0].sector"),
])
def test_control_characters_are_refused_at_validation(
    db: Database, nid: str, where: str, value: str, path: str
) -> None:
    document = small_document(nid)
    document["members"][0][where] = value
    with pytest.raises(DocumentInvalid) as caught:
        import_network(db, document)
    problems = {p.path: p.message for p in caught.value.problems}
    assert "control character" in problems[path]
    document["members"][0][where] = "fine"
    document["members"][0]["description"] = "Line one\nline two\twith a tab"
    import_network(db, document)  # line breaks and tabs are fine in long texts


RLO, LRM, LRI = "\u202e", "\u200e", "\u2066"  # right-to-left override, mark, isolate


@pytest.mark.parametrize(("where", "path"), [
    (lambda d: d["members"][0].update(name="Clinica " + RLO + "los"), "members[0].name"),
    (lambda d: d["members"][1].update(name="GenLab" + LRM), "members[1].name"),
    (lambda d: d["network"].update(name=LRI + "Test network"), "network.name"),
    (lambda d: d.update(projects=[{"id": "p", "title": "Pilot\u2069", "members": [
        {"member": "clinic"}]}]), "projects[0].title"),
    (lambda d: d.update(agents=[{"id": "bank", "name": "Banco\u202d Sur"}]),
     "agents[0].name"),
    (lambda d: d["members"][2].update(id="cro" + RLO), "members[2].id"),
])
def test_bidirectional_controls_are_refused_in_names_and_ids(
    db: Database, nid: str, where: Any, path: str
) -> None:
    """An invisible override or mark makes one name look like another in a list: refused with
    the field named; a description keeps them (prose may mix directions)."""
    document = small_document(nid)
    where(document)
    with pytest.raises(DocumentInvalid) as caught:
        import_network(db, document)
    problems = {p.path: p.message for p in caught.value.problems}
    assert path in problems, problems
    assert "U+20" in problems[path] or "pattern" in problems[path], problems[path]
    document = small_document(nid)
    document["members"][0]["description"] = "Hebrew " + RLO + "\u05e9\u05dc\u05d5\u05dd" + LRM
    document["members"][1]["name"] = "\u05e9\u05dc\u05d5\u05dd 2000"  # right to left, unmarked
    import_network(db, document)


def test_bidirectional_controls_in_names_are_a_422_through_the_api_and_forms(
    client: TestClient, db: Database
) -> None:
    nid = f"hostile-{uuid.uuid4().hex[:8]}"
    import_network(db, small_document(nid))
    headers = {"Authorization": f"Bearer {ADMIN_SECRET}"}
    cases = [  # method, address, body, the field the 422 names
        ("PUT", f"/networks/{nid}/members/clinic", {"name": "Cl" + RLO + "inic"}, "name"),
        ("PUT", f"/networks/{nid}", {"name": "Test" + LRM}, "name"),
        ("POST", f"/networks/{nid}/projects", {"title": LRI + "Pilot", "members": [
            {"member": "clinic"}]}, "title"),
        ("PUT", f"/networks/{nid}/agents", {"agents": [{"id": "bank", "name": "B" + RLO}]},
         "agents[0].name"),
    ]
    for method, address, body, field in cases:
        response = client.request(method, address, json=body, headers=headers)
        assert response.status_code == 422, (address, response.text)
        assert field in [e["path"] for e in response.json()["errors"]], response.text
        assert "invisible formatting character" in response.text
    facilitator = issue_token(db, "facilitator", nid, None)[0]
    page = client.get("/signin")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    assert client.post("/signin", data={"token": facilitator, "csrf": csrf},
                       follow_redirects=False).status_code == 303
    csrf = client.get("/signin").text.split('name="csrf" value="')[1].split('"')[0]
    form = client.post(f"/n/{nid}/home/clinic", data={"csrf": csrf, "name": "Cl" + RLO + "inic"})
    client.cookies.clear()
    assert form.status_code == 422 and 'id="err-name"' in form.text
    names = {m["id"]: m["name"] for m in client.get(f"/networks/{nid}/members",
                                                     headers=headers).json()["members"]}
    assert RLO not in names["clinic"]


def test_pictures_and_the_dashboard_survive_hostile_names(
    client: TestClient, db: Database
) -> None:
    nid = f"hostile-{uuid.uuid4().hex[:8]}"
    import_network(db, hostile_document(nid))
    analyst = issue_token(db, "analyst", nid, None)[0]
    for fmt in ("png", "svg"):
        response = client.get(f"/networks/{nid}/export", params={"format": fmt},
                              headers={"Authorization": f"Bearer {analyst}"})
        assert response.status_code == 200, (fmt, response.text[:200])
    assert "$\\foo{x}$" in response.text  # the svg holds the name as written
    ET.fromstring(response.content)
    facilitator = issue_token(db, "facilitator", nid, None)[0]
    page = client.get("/signin")
    csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
    signed = client.post("/signin", data={"token": facilitator, "csrf": csrf},
                         follow_redirects=False)
    assert signed.status_code == 303
    dashboard = client.get(f"/n/{nid}/dashboard")
    client.cookies.clear()
    assert dashboard.status_code == 200
    assert "$\\foo{x}$ Panaderia" in dashboard.text


# -- error answers --------------------------------------------------------------------------
def test_a_422_names_the_value_briefly_and_does_not_echo_the_input(
    client: TestClient, db: Database
) -> None:
    nid = f"hostile-{uuid.uuid4().hex[:8]}"
    import_network(db, small_document(nid))
    headers = {"Authorization": f"Bearer {ADMIN_SECRET}"}
    secretish = "S" * 50_000
    cases = [
        ("PUT", f"/networks/{nid}/members/clinic", {"name": "C", "size": secretish}),
        ("PUT", f"/networks/{nid}/members/clinic", {"name": "C", "capabilities": [
            {"id": secretish, "level": 3}]}),
        ("PUT", f"/networks/{nid}", {"name": 42, "description": secretish}),
        ("POST", f"/networks/{nid}/import", {"network": {"id": nid, "name": "N"},
                                             "members": [{"id": "a", "name": "A"}],
                                             "ties": [{"source": "a", "target": secretish,
                                                       "type": "TRUSTS"}]}),
    ]
    for method, path, body in cases:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 422, (path, response.text[:300])
        assert len(response.content) < 2_000, path
        assert secretish[:200] not in response.text


def test_a_lone_surrogate_is_refused_and_breaks_no_later_answer(
    client: TestClient, db: Database
) -> None:
    """JSON may escape a lone surrogate (``"\\udfff"``), which no UTF-8 answer or Bolt message
    can carry: it is refused with a 422 where it is, and the network's answers stay whole."""
    nid = f"hostile-{uuid.uuid4().hex[:8]}"
    document = small_document(nid)
    import_network(db, document)
    clinic = next(m for m in document["members"] if m["id"] == "clinic")
    headers = {"Authorization": f"Bearer {ADMIN_SECRET}", "Content-Type": "application/json"}
    project = {"title": "T", "members": [{"member": "clinic", "role": "lead"}]}
    cases = [  # (what, where, the body, the path a 422 names)
        ("a project's source", "POST", f"/networks/{nid}/projects",
         {**project, "source": {"note": "x\udfff"}}, "source"),
        ("a key of a project's source", "POST", f"/networks/{nid}/projects",
         {**project, "source": {"\udfff": 1}}, "source"),
        ("a capability a member lists", "PUT", f"/networks/{nid}/members/clinic",
         {**clinic, "capabilities": [{"id": "iso-9001\udfff", "level": 3}]}, "capabilities[0].id"),
    ]
    for what, method, path, body, where in cases:
        response = client.request(method, path, content=json.dumps(body), headers=headers)
        assert response.status_code == 422, (what, response.text[:300])
        assert where in [e["path"] for e in response.json()["errors"]], (what, response.text)
    for path in (f"/networks/{nid}/projects", f"/networks/{nid}/export?format=json"):
        assert client.get(path, headers=headers).status_code == 200, path
