"""Introductions and projects through the API, against the real database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.routers import collaboration as collaboration_router
from api.settings import ApiSettings
from graph.database import Database
from graph.introductions import list_introductions, request_introduction
from graph.members import delete_member
from graph.tokens import issue_token
from tests.conftest import ADMIN_SECRET, World

pytestmark = pytest.mark.database


@pytest.fixture
def world(db: Database) -> World:
    world = World(db)
    return world


@pytest.fixture(scope="module")
def client(db: Database) -> Iterator[TestClient]:
    app = create_app(ApiSettings(admin_token=ADMIN_SECRET), database=db)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def setup_contacts_and_newlab(client: TestClient, world: World, db: Database) -> dict[str, str]:
    admin = world.headers("admin")
    for mid in ("clinic", "genlab", "cro"):
        profile = client.get(f"/networks/{world.nid}/members/{mid}", headers=admin).json()
        profile.pop("projects")
        profile["contact"] = f"{mid}@example.org"
        client.put(f"/networks/{world.nid}/members/{mid}", json=profile,
                   headers=admin).raise_for_status()
    client.put(f"/networks/{world.nid}/members/newlab", headers=admin, json={
        "name": "NewLab", "sector": "genetics-lab", "contact": "newlab@example.org",
        "capabilities": [{"id": f"{world.nid}-pgt", "level": 5}]}).raise_for_status()
    return {"Authorization": f"Bearer {issue_token(db, 'member', world.nid, 'newlab')[0]}"}


def contact_seen(client: TestClient, world: World, viewer: dict, mid: str) -> str | None:
    return client.get(f"/networks/{world.nid}/members/{mid}", headers=viewer).json().get("contact")


def test_double_opt_in_reveals_contacts_only_after_both_say_yes(
    client: TestClient, world: World, db: Database
) -> None:
    setup_contacts_and_newlab(client, world, db)
    clinic, genlab = world.headers("member"), world.headers("other-member")
    analyst = world.headers("analyst")
    assert contact_seen(client, world, clinic, "genlab") is None
    created = client.post(f"/networks/{world.nid}/introductions", headers=clinic,
                          json={"from": "clinic", "to": "genlab", "message": "PGT together?"})
    assert created.status_code == 201
    intro = created.json()
    assert intro["status"] == "pending_response"  # tied and not rivals: no approval needed
    assert contact_seen(client, world, clinic, "genlab") is None
    assert contact_seen(client, world, genlab, "clinic") is None
    url = f"/networks/{world.nid}/introductions/{intro['id']}/actions"
    assert client.post(url, json={"action": "accept"}, headers=clinic).status_code == 403
    assert client.post(url, json={"action": "approve"}, headers=genlab).status_code == 403
    accepted = client.post(url, json={"action": "accept"}, headers=genlab)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert contact_seen(client, world, clinic, "genlab") == "genlab@example.org"
    assert contact_seen(client, world, genlab, "clinic") == "clinic@example.org"
    assert contact_seen(client, world, clinic, "cro") is None  # no introduction with the CRO
    assert contact_seen(client, world, analyst, "clinic") is None
    assert client.post(url, json={"action": "decline"}, headers=genlab).status_code == 409
    # accepted pairs are no longer suggested as new
    found = client.get(f"/networks/{world.nid}/members/clinic/suggestions", headers=clinic).json()
    assert "genlab" not in [s["member"] for s in found["suggestions"]]


def test_untied_pairs_wait_for_approval_and_a_decline_suppresses_the_suggestion(
    client: TestClient, world: World, db: Database
) -> None:
    newlab = setup_contacts_and_newlab(client, world, db)
    clinic, facilitator = world.headers("member"), world.headers("facilitator")
    suggested = client.get(f"/networks/{world.nid}/members/clinic/suggestions",
                           headers=clinic).json()["suggestions"]
    assert "newlab" in [s["member"] for s in suggested]
    intro = client.post(f"/networks/{world.nid}/introductions", headers=clinic,
                        json={"from": "clinic", "to": "newlab"}).json()
    assert intro["status"] == "pending_approval"
    duplicate = client.post(f"/networks/{world.nid}/introductions", headers=clinic,
                            json={"from": "clinic", "to": "newlab"})
    assert duplicate.status_code == 409
    queue = client.get(f"/networks/{world.nid}/introductions",
                       params={"status": "pending_approval"}, headers=facilitator).json()
    assert [i["id"] for i in queue["introductions"]] == [intro["id"]]
    url = f"/networks/{world.nid}/introductions/{intro['id']}/actions"
    assert client.post(url, json={"action": "accept"}, headers=newlab).status_code == 409
    assert client.post(url, json={"action": "approve"}, headers=facilitator).json()["status"] \
        == "pending_response"
    assert client.post(url, json={"action": "decline"}, headers=newlab).json()["status"] \
        == "declined"
    assert contact_seen(client, world, clinic, "newlab") is None
    suggested = client.get(f"/networks/{world.nid}/members/clinic/suggestions",
                           headers=clinic).json()["suggestions"]
    assert "newlab" not in [s["member"] for s in suggested]
    mine = client.get(f"/networks/{world.nid}/introductions", headers=newlab).json()
    assert [i["status"] for i in mine["introductions"]] == ["declined"]
    assert client.get(f"/networks/{world.nid}/introductions",
                      headers=world.headers("analyst")).status_code == 403


def test_requests_expire_and_cannot_be_answered_after(
    client: TestClient, world: World, db: Database
) -> None:
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
    intro = request_introduction(db, world.nid, "cro", "genlab", competitors=False, tied=True,
                                 now=past)
    assert intro["status"] == "pending_response"
    [stored] = [i for i in list_introductions(db, world.nid) if i["id"] == intro["id"]]
    assert stored["status"] == "expired"
    response = client.post(f"/networks/{world.nid}/introductions/{intro['id']}/actions",
                           json={"action": "accept"}, headers=world.headers("other-member"))
    assert response.status_code == 409 and "expired" in response.json()["detail"]
    # an expired request does not block a new one
    again = client.post(f"/networks/{world.nid}/introductions", headers=world.headers("admin"),
                        json={"from": "cro", "to": "genlab"})
    assert again.status_code == 201


def test_members_request_only_for_themselves(client: TestClient, world: World) -> None:
    response = client.post(f"/networks/{world.nid}/introductions",
                           headers=world.headers("member"), json={"from": "genlab", "to": "cro"})
    assert response.status_code == 403
    self_intro = client.post(f"/networks/{world.nid}/introductions",
                             headers=world.headers("member"), json={"from": "clinic",
                                                                    "to": "clinic"})
    assert self_intro.status_code == 422


def test_project_phases_outcomes_and_profile(client: TestClient, world: World) -> None:
    facilitator, lead = world.headers("facilitator"), world.headers("member")
    partner = world.headers("other-member")
    body = {"title": "Shared PGT service", "kind": "pair", "lead": "clinic",
            "members": [{"member": "clinic", "role": "lead"}, {"member": "genlab",
                                                               "role": "provider"}],
            "source": {"suggestion": ["clinic", "genlab"]}}
    assert client.post(f"/networks/{world.nid}/projects", json=body,
                       headers=lead).status_code == 403
    created = client.post(f"/networks/{world.nid}/projects", json=body, headers=facilitator)
    assert created.status_code == 201 and created.json()["phase"] == "opportunity"
    pid = created.json()["id"]
    url = f"/networks/{world.nid}/projects/{pid}/transitions"
    assert client.post(url, json={"to": "shared_goals"}, headers=partner).status_code == 403
    assert client.post(url, json={"to": "implementation"}, headers=lead).status_code == 409
    for phase in ("shared_goals", "design", "implementation"):
        moved = client.post(url, json={"to": phase}, headers=lead)
        assert moved.status_code == 200 and moved.json()["phase"] == phase
    history = moved.json()["history"]
    assert [h["phase"] for h in history] == ["opportunity", "shared_goals", "design",
                                             "implementation"]
    assert all(h["at"] for h in history)
    outcome = client.put(f"/networks/{world.nid}/projects/{pid}/outcomes", headers=lead,
                         json={"expected_saving": 12000, "realised_saving": 9500,
                               "certifications": ["ISO 9001"], "trainings": 2})
    assert outcome.status_code == 200
    assert client.put(f"/networks/{world.nid}/projects/{pid}/outcomes", headers=partner,
                      json={"realised_saving": 1}).status_code == 403
    profile = client.get(f"/networks/{world.nid}/members/genlab", headers=lead).json()
    assert profile["projects"][0]["role"] == "provider"
    assert profile["projects"][0]["outcomes"]["realised_saving"] == 9500
    figures = client.get(f"/networks/{world.nid}/metrics", headers=world.headers("analyst")).json()
    assert figures["projects"]["per_phase"]["implementation"] >= 1
    assert figures["projects"]["realised_saving"] >= 9500
    abandon = client.post(url, json={"to": "abandoned"}, headers=facilitator)
    assert abandon.status_code == 409
    assert client.post(url, json={"to": "abandoned", "reason": "supplier closed"},
                       headers=facilitator).json()["phase"] == "abandoned"
    assert client.post(url, json={"to": "done"}, headers=facilitator).status_code == 409


def test_project_members_must_belong_to_the_network(client: TestClient, world: World) -> None:
    response = client.post(f"/networks/{world.nid}/projects", headers=world.headers("admin"),
                           json={"title": "Ghosts", "members": [{"member": "ghost"}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "members[0].member"
    bad_lead = client.post(f"/networks/{world.nid}/projects", headers=world.headers("admin"),
                           json={"title": "X", "lead": "cro", "members": [{"member": "clinic"}]})
    assert bad_lead.status_code == 422 and bad_lead.json()["errors"][0]["path"] == "lead"


def test_a_facilitators_note_on_a_rejection_reaches_both_members(
        client: TestClient, world: World) -> None:
    clinic, genlab = world.headers("member"), world.headers("other-member")
    admin = world.headers("admin")
    network = client.get(f"/networks/{world.nid}", headers=admin).json()
    client.put(f"/networks/{world.nid}", headers=admin, json={
        **network, "policy": {**(network.get("policy") or {}), "approval": "always"}}
               ).raise_for_status()
    made = client.post(f"/networks/{world.nid}/introductions", headers=admin,
                       json={"from": "clinic", "to": "genlab"}).json()
    assert made.get("status") == "pending_approval", made
    url = f"/networks/{world.nid}/introductions/{made['id']}/actions"
    assert client.post(url, headers=clinic, json={"action": "cancel", "note": "x" * 5001}
                       ).status_code == 422
    done = client.post(url, headers=world.headers("facilitator"),
                       json={"action": "reject", "note": "  Talk to me first.  "}).json()
    assert done["status"] == "rejected" and done["history"][-1]["note"] == "Talk to me first."
    for member in (clinic, genlab):
        seen = client.get(f"/networks/{world.nid}/introductions", headers=member).json()
        [mine] = [i for i in seen["introductions"] if i["id"] == made["id"]]
        assert mine["history"][-1]["note"] == "Talk to me first."


def test_undo_takes_back_the_latest_decision_only(client: TestClient, world: World) -> None:
    clinic = world.headers("member")
    base = f"/networks/{world.nid}"
    for decision in ("accepted", "declined"):
        client.post(f"{base}/feedback", headers=clinic, json={
            "member": "clinic", "candidate": "cro", "decision": decision}).raise_for_status()

    def current() -> dict[str, str]:
        listed = client.get(f"{base}/members/clinic/decisions", headers=clinic).json()
        return {d["candidate"]: d["decision"] for d in listed["decisions"]}

    assert current()["cro"] == "declined"
    assert client.get(f"{base}/members/clinic/decisions",
                      headers=world.headers("other-member")).status_code == 403
    undone = client.delete(f"{base}/members/clinic/decisions/cro", headers=clinic)
    assert undone.json()["undone"] == "declined" and current()["cro"] == "accepted"
    client.delete(f"{base}/members/clinic/decisions/cro", headers=clinic).raise_for_status()
    assert "cro" not in current()
    gone = client.delete(f"{base}/members/clinic/decisions/cro", headers=clinic)
    assert gone.status_code == 404 and "no decision" in gone.json()["detail"]


def test_a_member_removed_while_an_introduction_to_it_is_asked_is_a_404(
    client: TestClient, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request reads both members, then asks the live matcher whether they are rivals; a
    removal committing in between reaches the matcher first (it catches up before answering):
    the member it no longer holds is a 404 naming it, not a KeyError and a 500."""
    original = collaboration_router.get_member

    def removed_after_its_read(db_: Database, nid: str, mid: str):
        found = original(db_, nid, mid)
        if mid == "cro":
            delete_member(db_, nid, mid)
        return found

    monkeypatch.setattr(collaboration_router, "get_member", removed_after_its_read)
    answer = client.post(f"/networks/{world.nid}/introductions", headers=world.headers("member"),
                         json={"from": "clinic", "to": "cro"})
    assert answer.status_code == 404, answer.text
    assert "cro" in answer.json()["detail"]
    monkeypatch.undo()
    assert list_introductions(db, world.nid, member="clinic") == []
