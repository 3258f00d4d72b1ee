"""Suggestions and feedback through the HTTP API, against the real database."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from graph.database import Database
from graph.store import import_network
from tests.conftest import World, small_document

pytestmark = pytest.mark.database


@pytest.fixture(scope="module")
def world(db: Database) -> World:
    world = World(db)
    for nid in (world.nid, world.other):
        import_network(db, small_document(nid, newcomer=True))
    return world


def answer(client: TestClient, world: World, mid: str, role: str, **params) -> dict:
    response = client.get(f"/networks/{world.nid}/members/{mid}/suggestions",
                          params=params, headers=world.headers(role))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["member"] == mid
    return body


def suggestions(client: TestClient, world: World, mid: str, role: str, **params) -> list[dict]:
    return answer(client, world, mid, role, **params)["suggestions"]


def test_the_clinic_is_pointed_to_the_lab_that_covers_its_urgent_need(
    client: TestClient, world: World
) -> None:
    body = answer(client, world, "clinic", "member")
    first = body["suggestions"][0]
    assert first["member"] == "newlab"  # a new partner, covering its urgent need
    assert set(first) == {"member", "name", "score", "benefit_to_member", "benefit_to_partner",
                          "competitor", "overlap", "reasons", "introduction_path"}
    assert any(r["kind"] == "covers_need" and "Preimplantation genetic testing" in r["text"]
               for r in first["reasons"])
    # Its suppliers and partners are never lifted into the new list by the tie: they are apart.
    assert {s["member"] for s in body["suggestions"]}.isdisjoint({"genlab", "cro"})
    [kept] = [s for s in body["strengthen"] if s["member"] == "genlab"]
    assert any("Preimplantation genetic testing" in r["text"] for r in kept["reasons"])


def test_a_member_never_reads_another_members_weaknesses_in_suggestions(
    client: TestClient, world: World
) -> None:
    clinic_weakness = f"{world.nid}-quality"  # the clinic's confidential weakness
    for role, mid in (("other-member", "genlab"), ("facilitator", "cro")):
        body = json.dumps(answer(client, world, mid, role, limit=100))
        assert "clinic" in body  # the clinic is suggested...
        assert "weak" not in body and "severity" not in body  # ...without its weakness
        assert clinic_weakness not in body


def test_limits_and_policies_are_validated(client: TestClient, world: World) -> None:
    h = world.headers("facilitator")
    base = f"/networks/{world.nid}/members/clinic/suggestions"
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "ten"}, {"competitors": "ignore"}):
        response = client.get(base, params=params, headers=h)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["path"] in ("query.limit", "query.competitors")
    assert len(suggestions(client, world, "clinic", "facilitator", limit=1)) == 1
    for policy in ("include", "penalise", "exclude"):
        suggestions(client, world, "clinic", "facilitator", competitors=policy)
    missing = client.get(f"/networks/{world.nid}/members/nobody/suggestions", headers=h)
    assert missing.status_code == 404


def test_a_member_sees_only_its_own_suggestions(client: TestClient, world: World) -> None:
    response = client.get(f"/networks/{world.nid}/members/genlab/suggestions",
                          headers=world.headers("member"))
    assert response.status_code == 403


def test_declining_a_suggestion_removes_it_and_writes_history(
    client: TestClient, world: World, db: Database
) -> None:
    assert suggestions(client, world, "clinic", "member")[0]["member"] == "newlab"
    response = client.post(f"/networks/{world.nid}/feedback", headers=world.headers("member"),
                           json={"member": "clinic", "candidate": "newlab", "decision": "declined"})
    assert response.status_code == 201 and response.json()["decision"] == "declined"
    assert "newlab" not in [s["member"] for s in suggestions(client, world, "clinic", "member")]
    rows = db.query("MATCH (:Member {network: $nid, id: 'clinic'})-[f:FEEDBACK_ON]->"
                    "(:Member {id: 'newlab'}) RETURN f.decision AS d", nid=world.nid)
    assert rows == [{"d": "declined"}]


def test_feedback_is_validated(client: TestClient, world: World) -> None:
    h = world.headers("member")
    url = f"/networks/{world.nid}/feedback"
    assert client.post(url, headers=h, json={"member": "genlab", "candidate": "clinic",
                                             "decision": "accepted"}).status_code == 403
    assert client.post(url, headers=h, json={"member": "clinic", "candidate": "clinic",
                                             "decision": "accepted"}).status_code == 422
    assert client.post(url, headers=h, json={"member": "clinic", "candidate": "ghost",
                                             "decision": "accepted"}).status_code == 404
    assert client.post(url, headers=h, json={"member": "clinic", "candidate": "cro",
                                             "decision": "maybe"}).status_code == 422


def test_network_pairs_for_facilitators(client: TestClient, world: World) -> None:
    response = client.get(f"/networks/{world.nid}/suggestions", params={"limit": 5},
                          headers=world.headers("facilitator"))
    pairs = response.json()["pairs"]
    assert pairs and all(len(p["members"]) == 2 and p["members"][0] != p["members"][1]
                         for p in pairs)
    assert [p["score"] for p in pairs] == sorted((p["score"] for p in pairs), reverse=True)


def test_suggestions_follow_writes_to_the_network(client: TestClient, world: World) -> None:
    h = world.headers("facilitator")
    profile = client.get(f"/networks/{world.nid}/members/cro", headers=h).json()
    profile["capabilities"].append({"id": f"{world.nid}-pgt", "level": 5})
    assert client.put(f"/networks/{world.nid}/members/cro", json=profile,
                      headers=h).status_code == 200
    found = answer(client, world, "clinic", "facilitator")["strengthen"]  # cro: a partner
    assert any(s["member"] == "cro" and any("Preimplantation" in r["text"] for r in s["reasons"])
               for s in found)


def test_network_pairs_follow_feedback(client: TestClient, world: World) -> None:
    def pairs(**params) -> tuple[list[list[str]], dict]:
        response = client.get(f"/networks/{world.other}/suggestions",
                              params={"limit": 10, **params}, headers=world.headers("admin"))
        body = response.json()
        return [p["members"] for p in body["pairs"]], body["as_of"]

    first, as_of = pairs()
    assert (first, as_of) == pairs()  # served again from the last result: same answer
    a, b = first[0]
    client.post(f"/networks/{world.other}/feedback", headers=world.headers("admin"),
                json={"member": a, "candidate": b, "decision": "declined"}).raise_for_status()
    # A facilitator who wants the current state waits for it; its version is the newer one.
    fresh, fresh_as_of = pairs(fresh="true")
    assert [a, b] not in fresh
    assert fresh_as_of["version"] > as_of["version"]
