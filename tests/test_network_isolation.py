"""One network cannot touch another: the shared taxonomy is the admin's, a network's own
capabilities are its own, and a facilitator's import does not rename or re-police its network.

Everything here goes through the HTTP API with real tokens, against the real database.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from graph.database import Database
from graph.store import export_network, import_network, load_taxonomy
from graph.tokens import issue_token
from graph.validation import DocumentForbidden
from seed_data import SEED_DIR
from tests.conftest import ADMIN_SECRET, normalised, small_document

pytestmark = pytest.mark.database


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Pair:
    """Two networks that share one capability of the shared taxonomy, each with a facilitator."""

    def __init__(self, db: Database):
        tag = uuid.uuid4().hex[:8]
        self.shared = f"shared-{tag}"
        load_taxonomy(db, {"capabilities": [
            {"id": f"{self.shared}-root", "label": "Shared root", "kind": "service"},
            {"id": self.shared, "label": "Shared skill", "kind": "service",
             "broader": f"{self.shared}-root", "synonyms": ["destreza"]}]})
        self.a, self.b = f"iso-{tag}-a", f"iso-{tag}-b"
        for nid in (self.a, self.b):
            import_network(db, self.document(nid))
        self.tokens = {nid: issue_token(db, "facilitator", nid, None)[0]
                       for nid in (self.a, self.b)}
        self.tokens["admin"] = ADMIN_SECRET

    def document(self, nid: str) -> dict[str, Any]:
        document = small_document(nid)
        document["members"][1]["capabilities"].append({"id": self.shared, "level": 4})
        document["members"][0]["needs"].append({"id": self.shared, "urgency": 4})
        return document

    def export(self, db: Database, nid: str) -> dict[str, Any]:
        return export_network(db, nid)


@pytest.fixture(scope="module")
def pair(db: Database) -> Pair:
    return Pair(db)


def _post(client: TestClient, pair: Pair, nid: str, document: dict[str, Any], who: str):
    return client.post(f"/networks/{nid}/import", json=document,
                       headers=_bearer(pair.tokens[who]))


def _shared_row(db: Database, cid: str) -> dict[str, Any]:
    return db.query("MATCH (c:Capability {id: $id}) OPTIONAL MATCH (c)-[:BROADER]->(p) "
                    "RETURN c.label AS label, p.id AS broader, c.synonyms AS synonyms", id=cid)[0]


@pytest.mark.parametrize(("field", "value", "words"), [
    ("label", "Hijacked skill", "label 'Shared skill' -> 'Hijacked skill'"),
    ("broader", None, "broader"),  # re-parented onto the network's own capability, below
    ("synonyms", ["destreza", "nuevo"], "new synonym 'nuevo'"),
])
def test_a_facilitator_cannot_change_a_shared_capability(
    client: TestClient, db: Database, pair: Pair, field: str, value: Any, words: str
) -> None:
    before_shared = _shared_row(db, pair.shared)
    before_b = normalised(pair.export(db, pair.b))
    document = pair.export(db, pair.a)  # carries the shared entries it uses, unchanged
    index = next(i for i, c in enumerate(document["capabilities"]) if c["id"] == pair.shared)
    document["capabilities"][index][field] = value if field != "broader" else f"{pair.a}-genetics"
    for who in (pair.a, "admin"):  # a network document never changes shared entries
        response = _post(client, pair, pair.a, document, who)
        assert response.status_code == 403, response.text
        errors = response.json()["errors"]
        assert [e["path"] for e in errors] == [f"capabilities[{index}]"]
        assert pair.shared in errors[0]["message"] and words in errors[0]["message"]
    assert _shared_row(db, pair.shared) == before_shared
    assert normalised(pair.export(db, pair.b)) == before_b


def test_an_export_repeating_shared_entries_reimports(
    client: TestClient, db: Database, pair: Pair
) -> None:
    document = pair.export(db, pair.a)
    assert pair.shared in {c["id"] for c in document["capabilities"]}
    response = _post(client, pair, pair.a, document, pair.a)
    assert response.status_code == 200, response.text
    assert normalised(pair.export(db, pair.a)) == normalised(document)


def test_a_networks_own_capabilities_are_invisible_elsewhere(
    client: TestClient, db: Database, pair: Pair
) -> None:
    own = f"{pair.a}-pgt"  # defined by network a's document
    # b cannot use it, in a whole document or in one member's profile ...
    document = pair.document(pair.b)
    document["members"][2]["capabilities"].append({"id": own, "level": 3})
    response = _post(client, pair, pair.b, document, pair.b)
    assert response.status_code == 422
    assert response.json()["errors"] == [{
        "path": "members[2].capabilities[1].id",
        "message": f"unknown capability {own!r} (not in the taxonomy or this document)"}]
    profile = {"name": "CRO Iberia", "capabilities": [{"id": own, "level": 3}]}
    response = client.put(f"/networks/{pair.b}/members/cro", json=profile,
                          headers=_bearer(pair.tokens[pair.b]))
    assert response.status_code == 422 and "unknown capability" in response.text
    # ... nor filter by it, nor redefine it under its own name
    response = client.get(f"/networks/{pair.b}/members", params={"capability": own},
                          headers=_bearer(pair.tokens[pair.b]))
    assert response.status_code == 422
    document = pair.document(pair.b)
    document["capabilities"].append({"id": own, "label": "Taken over", "kind": "service"})
    response = _post(client, pair, pair.b, document, pair.b)
    assert response.status_code == 403
    last = len(document["capabilities"]) - 1
    assert response.json()["errors"][0]["path"] == f"capabilities[{last}].id"
    assert "another network's own capability" in response.json()["errors"][0]["message"]
    # a's own capability keeps a's label, and a may still relabel it
    assert db.query("MATCH (c:Capability {id: $id}) RETURN c.label AS l", id=own)[0]["l"] \
        == "Preimplantation genetic testing"
    document = pair.export(db, pair.a)
    next(c for c in document["capabilities"] if c["id"] == own)["label"] = "PGT"
    assert _post(client, pair, pair.a, document, pair.a).status_code == 200
    assert db.query("MATCH (c:Capability {id: $id}) RETURN c.label AS l", id=own)[0]["l"] == "PGT"
    # a taxonomy document (the admin's) cannot take it over either
    with pytest.raises(DocumentForbidden) as caught:
        load_taxonomy(db, {"capabilities": [{"id": own, "label": "Mine now"}]})
    assert caught.value.problems[0].path == "capabilities[0].id"


def test_a_facilitators_import_does_not_rename_or_repolice_its_network(
    client: TestClient, db: Database, pair: Pair
) -> None:
    document = pair.export(db, pair.a)
    before = copy.deepcopy(document["network"])
    document["network"]["name"] = "Renamed by the facilitator"
    document["network"]["policy"] = {"approval": "never"}
    response = _post(client, pair, pair.a, document, pair.a)
    assert response.status_code == 403
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"network.name", "network.policy_approval"} <= paths
    assert pair.export(db, pair.a)["network"] == before
    # the admin may, and the facilitator may then re-import what it exported
    assert _post(client, pair, pair.a, document, "admin").status_code == 200
    assert pair.export(db, pair.a)["network"]["name"] == "Renamed by the facilitator"
    assert _post(client, pair, pair.a, pair.export(db, pair.a), pair.a).status_code == 200


def test_a_facilitator_cannot_create_a_network_by_importing(
    client: TestClient, db: Database
) -> None:
    nid = f"iso-new-{uuid.uuid4().hex[:8]}"
    token = issue_token(db, "facilitator", nid, None)[0]
    response = client.post(f"/networks/{nid}/import", json=small_document(nid),
                           headers=_bearer(token))
    assert response.status_code == 403
    assert response.json()["errors"][0]["path"] == "network.id"
    assert client.get(f"/networks/{nid}", headers=_bearer(token)).status_code == 404


def test_herencia_cannot_relabel_what_fertility_uses(
    client: TestClient, seeded: Database
) -> None:
    """The attack of the issue: herencia's facilitator relabels a capability fertility uses."""
    fertility = export_network(seeded, "fertility")
    herencia = json.loads((SEED_DIR / "herencia.json").read_text("utf-8"))
    used = {e["id"] for m in fertility["members"] for e in m["capabilities"]}
    target = next(c for c in fertility["capabilities"] if c["id"] in used)
    herencia["capabilities"] = [{**target, "label": "Relabelled by herencia"}]
    token = issue_token(seeded, "facilitator", "herencia", None)[0]
    response = client.post("/networks/herencia/import", json=herencia, headers=_bearer(token))
    assert response.status_code == 403
    assert target["id"] in response.json()["errors"][0]["message"]
    assert normalised(export_network(seeded, "fertility")) == normalised(fertility)
