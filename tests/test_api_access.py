"""Every role and scope rule of the HTTP API, against the real database."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from fastapi.testclient import TestClient

from graph.database import Database
from graph.tokens import issue_token
from tests.conftest import World, small_document
from tests.routes import api_routes

pytestmark = pytest.mark.database


ROLES = ["admin", "facilitator", "other-facilitator", "member", "other-member", "analyst",
         "other-analyst", "unknown", None]
WITH_TOKEN = {"admin", "facilitator", "other-facilitator", "member", "other-member", "analyst",
              "other-analyst"}
EVERYONE = set(ROLES)


def expected(allowed: set[str | None], ok: int, exceptions: dict | None = None
             ) -> dict[str | None, int]:
    codes = {role: ok if role in allowed else 401 if role in ("unknown", None) else 403
             for role in ROLES}
    return {**codes, **(exceptions or {})}


IN_NETWORK = {"admin", "facilitator", "member", "other-member", "analyst"}
MANAGERS = {"admin", "facilitator"}
# "member" is clinic, "other-member" genlab. Placeholders in paths and bodies are made fresh for
# each case: {scratch} a network, {disposable} a member, {decided} a member clinic declined,
# {iid} an introduction clinic -> {disposable}, {pid} a project led by clinic, {token} a member
# token of clinic, {invitation} and {code} an invitation for cro.
MATRIX = [  # method, path, body, who may, success status, other statuses by role
    ("GET", "/health", None, EVERYONE, 200),
    ("GET", "/networks", None, WITH_TOKEN, 200),
    ("GET", "/networks/{nid}", None, IN_NETWORK, 200),
    ("PUT", "/networks/{nid}", {"name": "Test network", "sector": "health", "region": "Madrid"},
     {"admin"}, 200),
    ("DELETE", "/networks/{scratch}", None, {"admin"}, 204),
    ("PUT", "/networks/{nid}/policy", {"expiry_days": 10}, MANAGERS, 200),
    ("POST", "/networks/{nid}/import", "document", MANAGERS, 200),
    ("GET", "/networks/{nid}/members", None, IN_NETWORK, 200),
    ("GET", "/networks/{nid}/members/clinic", None, IN_NETWORK, 200),
    ("PUT", "/networks/{nid}/members/clinic", "clinic", MANAGERS | {"member"}, 200),
    ("DELETE", "/networks/{nid}/members/{disposable}", None, MANAGERS, 204),
    ("GET", "/networks/{nid}/export?format=json", None, MANAGERS | {"analyst"}, 200),
    ("GET", "/networks/{nid}/overview", None, MANAGERS | {"analyst"}, 200),
    ("POST", "/networks/{nid}/export-jobs/png", None, MANAGERS | {"analyst"}, 202),
    ("GET", "/networks/{nid}/export-jobs/png", None, MANAGERS | {"analyst"}, 200),
    # Nobody starts the SVG picture here: where one may read it, it is not ready yet.
    ("GET", "/networks/{nid}/export-jobs/svg/file", None, MANAGERS | {"analyst"}, 409),
    ("POST", "/tokens", {"role": "analyst", "network": "{nid}"}, MANAGERS, 201),
    ("GET", "/tokens", None, WITH_TOKEN, 200),
    # Members and analysts learn nothing of others' tokens, not even that they exist: 404.
    ("DELETE", "/tokens/{token}", None, MANAGERS | {"member"}, 204,
     {"other-member": 404, "analyst": 404, "other-analyst": 404}),
    ("DELETE", "/networks/{nid}/projects/{pid}", None, MANAGERS, 204),
    ("POST", "/networks/{nid}/invitations", {"member": "cro"}, MANAGERS, 201),
    ("GET", "/networks/{nid}/invitations", None, MANAGERS, 200),
    ("DELETE", "/networks/{nid}/invitations/{invitation}", None, MANAGERS, 200),
    ("POST", "/invitations/redeem", {"code": "{code}"}, EVERYONE, 201),  # the code is the key
    ("GET", "/networks/{nid}/members/clinic/suggestions", None, MANAGERS | {"member"}, 200),
    ("GET", "/networks/{nid}/suggestions", None, MANAGERS, 200),
    ("POST", "/networks/{nid}/feedback", {"member": "clinic", "candidate": "cro",
                                          "decision": "accepted"}, MANAGERS | {"member"}, 201),
    ("GET", "/networks/{nid}/members/clinic/decisions", None, MANAGERS | {"member"}, 200),
    ("DELETE", "/networks/{nid}/members/clinic/decisions/{decided}", None,
     MANAGERS | {"member"}, 200),
    ("GET", "/networks/{nid}/value-chain-templates", None, MANAGERS, 200),
    ("POST", "/networks/{nid}/value-chains",
     {"stages": [{"id": "test", "requires": ["{nid}-pgt"]}]}, MANAGERS, 200),
    ("GET", "/networks/{nid}/opportunities/purchasing", None, MANAGERS, 200),
    ("GET", "/networks/{nid}/opportunities/shared-services", None, MANAGERS, 200),
    ("GET", "/networks/{nid}/opportunities/cross-training", None, MANAGERS, 200),
    ("GET", "/networks/{nid}/leaders", None, MANAGERS | {"analyst"}, 200),
    ("GET", "/networks/{nid}/metrics", None, MANAGERS | {"analyst"}, 200),
    ("POST", "/networks/{nid}/introductions", {"requester": "clinic", "recipient": "{disposable}"},
     MANAGERS | {"member"}, 201),
    ("GET", "/networks/{nid}/introductions", None, MANAGERS | {"member", "other-member"}, 200),
    ("POST", "/networks/{nid}/introductions/{iid}/actions", {"action": "cancel"},
     MANAGERS | {"member"}, 200),
    ("GET", "/networks/{nid}/projects", None, IN_NETWORK, 200),
    ("POST", "/networks/{nid}/projects", {"title": "T", "members": [{"member": "clinic"}]},
     MANAGERS, 201),
    # Outsiders read what graph.disclosure lets them see, as on the participants' profiles.
    ("GET", "/networks/{nid}/projects/{pid}", None, IN_NETWORK, 200),
    ("POST", "/networks/{nid}/projects/{pid}/transitions", {"to": "shared_goals"},
     MANAGERS | {"member"}, 200),
    ("PUT", "/networks/{nid}/projects/{pid}/outcomes", {"expected_saving": 10},
     MANAGERS | {"member"}, 200),
    ("GET", "/networks/{nid}/agents", None, IN_NETWORK, 200),
    ("PUT", "/networks/{nid}/agents", {"agents": []}, MANAGERS, 200),
    # A member asks for consortia it leads itself (the lead defaults to it).
    ("POST", "/networks/{nid}/consortia", {"requirements": [{"capability": "{nid}-pgt",
                                                             "quantity": 10}]},
     MANAGERS | {"member", "other-member"}, 200),
    # small_document declares no capacities: no consortium to turn into a project (422), but
    # only managers get that far.
    ("POST", "/networks/{nid}/consortia/projects",
     {"requirements": [{"capability": "{nid}-pgt", "quantity": 10}]}, MANAGERS, 201,
     {"admin": 422, "facilitator": 422}),
    ("GET", "/networks/{nid}/gaps", None, MANAGERS | {"member", "other-member"}, 200),
    ("GET", "/networks/{nid}/roadmap", None, MANAGERS | {"member", "other-member"}, 200),
    # Facilitators' verdicts on rivalry: members and analysts neither read nor give them.
    ("GET", "/networks/{nid}/rivalries", None, MANAGERS, 200),
    ("PUT", "/networks/{nid}/rivalries/clinic/{disposable}", {"verdict": "not_rivals"},
     MANAGERS, 200),
    ("DELETE", "/networks/{nid}/rivalries/{disposable}/clinic", None, MANAGERS, 204),
]
CASES = [(row[0], row[1], row[2], role, code) for row in MATRIX
         for role, code in expected(*row[3:]).items()]


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(path)) + "$")


def test_the_matrix_covers_every_route_of_the_openapi_document(client: TestClient) -> None:
    """A new route fails here until its access rule is in the matrix."""
    rows = {(method, path.split("?")[0]) for method, path, *_ in MATRIX}
    missing = [f"{r.method} {r.path}" for r in api_routes(client.app)
               if not any(method == r.method and _template(r.path).match(path)
                          for method, path in rows)]
    assert not missing, f"add these routes to MATRIX: {missing}"


def _filled(value, names: dict[str, str]):
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, list):
        return [_filled(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _filled(v, names) for k, v in value.items()}
    return value


def _fresh(client: TestClient, world: World, db: Database, text: str) -> dict[str, str]:
    """The placeholders ``text`` uses, made for this case only."""
    admin, nid = world.headers("admin"), world.nid
    names = {"nid": nid}
    if "{scratch}" in text:  # a network of its own, for a case that deletes one
        names["scratch"] = f"scratch-{uuid.uuid4().hex[:8]}"
        client.put(f"/networks/{names['scratch']}", json={"name": "Scratch"},
                   headers=admin).raise_for_status()
    if "{decided}" in text:
        text += "{disposable}"
    if "{disposable}" in text or "{iid}" in text:
        names["disposable"] = f"temp-{uuid.uuid4().hex[:6]}"
        client.put(f"/networks/{nid}/members/{names['disposable']}", json={"name": "Temp"},
                   headers=admin).raise_for_status()
    if "{iid}" in text:
        names["iid"] = client.post(f"/networks/{nid}/introductions", headers=admin, json={
            "requester": "clinic", "recipient": names["disposable"]}).json()["id"]
    if "{decided}" in text:
        names["decided"] = names["disposable"]
        client.post(f"/networks/{nid}/feedback", headers=admin, json={
            "member": "clinic", "candidate": names["decided"], "decision": "declined"}
                    ).raise_for_status()
    if "{pid}" in text:
        names["pid"] = client.post(f"/networks/{nid}/projects", headers=admin, json={
            "title": "Led by the clinic", "lead": "clinic",
            "members": [{"member": "clinic", "role": "lead"}]}).json()["id"]
    if "{token}" in text:
        names["token"] = issue_token(db, "member", nid, "clinic")[1].id
    if "{invitation}" in text or "{code}" in text:
        made = client.post(f"/networks/{nid}/invitations", json={"member": "cro"},
                           headers=admin).json()
        names["invitation"], names["code"] = made["id"], made["code"]
    return names


@pytest.mark.parametrize(("method", "path", "body", "role", "status"), CASES,
                         ids=[f"{c[0]} {c[1]} as {c[3]}" for c in CASES])
def test_role_and_scope_matrix(
    client: TestClient, world: World, db: Database, method: str, path: str, body, role, status: int
) -> None:
    names = _fresh(client, world, db, path + repr(body))
    document = small_document(world.nid)
    if body == "document":
        body = document
    elif body == "clinic":
        body = {k: v for k, v in document["members"][0].items() if k != "id"}
    else:
        body = _filled(body, names)
    url = path.format(**names)
    response = client.request(method, url, json=body, headers=world.headers(role))
    assert response.status_code == status, response.text
    if status >= 400:
        assert set(response.json()) <= {"detail", "errors"} and response.json()["detail"]


def _never_allowed(row: tuple) -> list[str]:
    """The token holders that may never send this route a body, whatever it says: analysts,
    the facilitator of another network (on a network's routes) and members where no member
    may (where one may, which member is said in the body, so the body is read first)."""
    method, path, body, allowed, *_ = row
    if body is None or method not in ("POST", "PUT"):
        return []
    never = {"analyst", "other-analyst"}
    if "{nid}" in path:
        never.add("other-facilitator")
    if not allowed & {"member", "other-member"}:
        never |= {"member", "other-member"}
    return sorted(never - allowed)


NEVER = [(row[0], row[1], role) for row in MATRIX for role in _never_allowed(row)]


@pytest.mark.parametrize(("method", "path", "role"), NEVER,
                         ids=[f"{m} {p} as {r}" for m, p, r in NEVER])
@pytest.mark.parametrize("body", [{"unknown-field": [1]}, [], "not json"])
def test_a_caller_who_may_not_write_gets_403_whatever_it_sends(
    client: TestClient, world: World, db: Database, method: str, path: str, role: str, body
) -> None:
    """The role is checked before the body: a 422 would tell a caller who may not write at all
    how to shape a body it can never send."""
    names = _fresh(client, world, db, path)
    headers = {**world.headers(role), "Content-Type": "application/json"}
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    response = client.request(method, path.format(**names), content=content, headers=headers)
    assert response.status_code == 403, response.text


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


def test_every_documented_error_has_the_one_error_shape(client: TestClient) -> None:
    """No operation documents FastAPI's default 422 body: the service answers every error as
    ``{"detail", "errors"?}`` (ErrorResponse)."""
    spec = client.get("/openapi.json").json()
    default = [f"{method.upper()} {path}" for path, item in spec["paths"].items()
               for method, operation in item.items()
               if "HTTPValidationError" in str(operation.get("responses", {}))]
    assert not default, f"declare 422 with ErrorResponse on: {default}"
