"""Every role and scope rule of the HTTP API, against the real database."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from graph.database import Database
from tests.conftest import World, small_document

pytestmark = pytest.mark.database


ROLES = ["admin", "facilitator", "other-facilitator", "member", "other-member", "analyst",
         "other-analyst", "unknown", None]


def expected(allowed: set[str], ok: int) -> dict[str | None, int]:
    return {role: ok if role in allowed else 401 if role in ("unknown", None) else 403
            for role in ROLES}


IN_NETWORK = {"admin", "facilitator", "member", "other-member", "analyst"}
MANAGERS = {"admin", "facilitator"}
MATRIX = [  # method, path, body, who may, success status
    ("GET", "/networks/{nid}", None, IN_NETWORK, 200),
    ("PUT", "/networks/{nid}", {"name": "Test network", "sector": "health", "region": "Madrid"},
     {"admin"}, 200),
    ("POST", "/networks/{nid}/import", "document", MANAGERS, 200),
    ("GET", "/networks/{nid}/members", None, IN_NETWORK, 200),
    ("GET", "/networks/{nid}/members/clinic", None, IN_NETWORK, 200),
    ("PUT", "/networks/{nid}/members/clinic", "clinic", MANAGERS | {"member"}, 200),
    ("DELETE", "/networks/{nid}/members/{disposable}", None, MANAGERS, 204),
    ("GET", "/networks/{nid}/export?format=json", None, MANAGERS | {"analyst"}, 200),
    ("POST", "/tokens", {"role": "analyst", "network": "{nid}"}, MANAGERS, 201),
    ("GET", "/networks/{nid}/members/clinic/suggestions", None, MANAGERS | {"member"}, 200),
    ("GET", "/networks/{nid}/suggestions", None, MANAGERS, 200),
    ("POST", "/networks/{nid}/feedback", {"member": "clinic", "candidate": "cro",
                                          "decision": "accepted"}, MANAGERS | {"member"}, 201),
]
CASES = [(m, p, b, role, code) for m, p, b, allowed, ok in MATRIX
         for role, code in expected(allowed, ok).items()]


@pytest.mark.parametrize(("method", "path", "body", "role", "status"), CASES,
                         ids=[f"{c[0]} {c[1]} as {c[3]}" for c in CASES])
def test_role_and_scope_matrix(
    client: TestClient, world: World, db: Database, method: str, path: str, body, role, status: int
) -> None:
    disposable = f"temp-{uuid.uuid4().hex[:6]}"
    if "{disposable}" in path:
        client.put(f"/networks/{world.nid}/members/{disposable}", json={"name": "Temp"},
                   headers=world.headers("admin")).raise_for_status()
    document = small_document(world.nid)
    if body == "document":
        body = document
    elif body == "clinic":
        body = {k: v for k, v in document["members"][0].items() if k != "id"}
    elif isinstance(body, dict):
        body = {k: (v.format(nid=world.nid) if isinstance(v, str) else v) for k, v in body.items()}
    url = path.format(nid=world.nid, disposable=disposable)
    response = client.request(method, url, json=body, headers=world.headers(role))
    assert response.status_code == status, response.text
    if status >= 400:
        assert set(response.json()) <= {"detail", "errors"} and response.json()["detail"]


def test_networks_list_is_scoped(client: TestClient, world: World) -> None:
    ids = {n["id"] for n in client.get("/networks", headers=world.headers("analyst")).json()}
    assert ids == {world.nid}
    ids = {n["id"] for n in client.get("/networks", headers=world.headers("admin")).json()}
    assert {world.nid, world.other} <= ids


def test_facilitator_token_rules(client: TestClient, world: World) -> None:
    h = world.headers("facilitator")
    ok = client.post("/tokens", json={"role": "member", "network": world.nid, "member": "cro"},
                     headers=h)
    assert ok.status_code == 201 and ok.json()["token"].startswith("pm_")
    new = {"Authorization": f"Bearer {ok.json()['token']}"}
    assert client.get(f"/networks/{world.nid}/members/cro", headers=new).status_code == 200
    for body in ({"role": "facilitator", "network": world.nid}, {"role": "admin"},
                 {"role": "analyst", "network": world.other}):
        assert client.post("/tokens", json=body, headers=h).status_code == 403, body
    assert client.post("/tokens", json={"role": "member", "network": world.nid,
                                        "member": "nobody"}, headers=h).status_code == 404
    bad = client.post("/tokens", json={"role": "member", "network": world.nid}, headers=h)
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "member"
    # revoking: the facilitator may revoke its member's token, which then stops working
    assert client.delete(f"/tokens/{ok.json()['id']}", headers=h).status_code == 204
    assert client.get(f"/networks/{world.nid}/members/cro", headers=new).status_code == 401
    assert client.delete(f"/tokens/{ok.json()['id']}", headers=h).status_code == 404


def test_admin_issues_and_revokes_any_token(client: TestClient, world: World, db: Database) -> None:
    h = world.headers("admin")
    created = client.post("/tokens", json={"role": "facilitator", "network": world.other},
                          headers=h).json()
    assert created["role"] == "facilitator" and created["network"] == world.other
    stored = db.query("MATCH (t:Token {id: $id}) RETURN t.hash AS hash", id=created["id"])
    assert stored and created["token"] not in str(stored)  # only the hash is stored
    other_h = world.headers("other-facilitator")
    assert client.delete(f"/tokens/{created['id']}", headers=other_h).status_code == 403
    assert client.delete(f"/tokens/{created['id']}", headers=h).status_code == 204


def test_member_edits_only_itself(client: TestClient, world: World) -> None:
    h = world.headers("member")
    mine = client.get(f"/networks/{world.nid}/members/clinic", headers=h).json()
    mine["description"] = "Now with a night shift"
    assert client.put(f"/networks/{world.nid}/members/clinic", json=mine,
                      headers=h).status_code == 200
    assert client.get(f"/networks/{world.nid}/members/clinic",
                      headers=h).json()["description"] == "Now with a night shift"
    theirs = client.get(f"/networks/{world.nid}/members/genlab", headers=h).json()
    assert client.put(f"/networks/{world.nid}/members/genlab", json=theirs,
                      headers=h).status_code == 403
    assert client.delete(f"/networks/{world.nid}/members/clinic", headers=h).status_code == 403


def test_unknown_network_and_member_give_404(client: TestClient, world: World) -> None:
    h = world.headers("admin")
    assert client.get("/networks/nowhere", headers=h).status_code == 404
    assert client.get("/networks/nowhere/members", headers=h).status_code == 404
    response = client.get(f"/networks/{world.nid}/members/nobody", headers=h)
    assert response.status_code == 404 and "nobody" in response.json()["detail"]
    assert client.delete(f"/networks/{world.nid}/members/nobody", headers=h).status_code == 404
    # outside its scope a token learns nothing about what exists: 403 either way
    assert client.get("/networks/nowhere", headers=world.headers("analyst")).status_code == 403
