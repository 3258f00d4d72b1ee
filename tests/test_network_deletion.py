"""An admin deletes a network: everything in it goes, in one transaction, and an id used again
starts from nothing (no member, token, matcher or analysis of the old network shows through)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient

from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from tests.conftest import ADMIN_SECRET, small_document

pytestmark = pytest.mark.database
ADMIN = {"Authorization": f"Bearer {ADMIN_SECRET}"}


def _left_behind(db: Database, nid: str) -> int:
    return db.query("MATCH (x) WHERE x.network = $nid RETURN count(x) AS n", nid=nid)[0]["n"]


def test_deleting_a_network_removes_everything_and_its_id_starts_afresh(
        client: TestClient, db: Database) -> None:
    nid = f"gone-{uuid.uuid4().hex[:8]}"
    import_network(db, small_document(nid, newcomer=True))  # a new partner to suggest
    member = {"Authorization": f"Bearer {issue_token(db, 'member', nid, 'clinic')[0]}"}
    facilitator = {"Authorization": f"Bearer {issue_token(db, 'facilitator', nid, None)[0]}"}
    before = client.get(f"/networks/{nid}/members/clinic/suggestions", headers=member).json()
    assert [s["member"] for s in before["suggestions"]]  # the engine holds a matcher of it
    client.post(f"/networks/{nid}/projects", headers=facilitator, json={
        "title": "Fuel together", "kind": "buying_group",
        "members": [{"member": "clinic", "role": "buyer"}, {"member": "genlab", "role": "buyer"}]})

    assert client.delete(f"/networks/{nid}", headers=facilitator).status_code == 403
    assert client.get(f"/networks/{nid}", headers=ADMIN).status_code == 200
    assert client.delete(f"/networks/{nid}", headers=ADMIN).status_code == 204
    assert client.get(f"/networks/{nid}", headers=ADMIN).status_code == 404
    assert client.delete(f"/networks/{nid}", headers=ADMIN).status_code == 404
    assert client.get(f"/networks/{nid}/members", headers=member).status_code == 401  # its tokens
    assert _left_behind(db, nid) == 0

    # The same id again, with other members: nothing of the old network answers.
    again = small_document(nid, newcomer=True)
    again["members"] = [dict(m, id=f"new-{m['id']}") for m in again["members"]]
    again["ties"] = [dict(t, source=f"new-{t['source']}", target=f"new-{t['target']}")
                     for t in again["ties"]]
    import_network(db, again)
    fresh = {"Authorization": f"Bearer {issue_token(db, 'member', nid, 'new-clinic')[0]}"}
    answer = client.get(f"/networks/{nid}/members/new-clinic/suggestions", headers=fresh).json()
    shown = {s["member"] for s in answer["suggestions"]}
    assert shown <= {"new-genlab", "new-cro", "new-newlab"}
    assert answer["suggestions"]
    assert client.get(f"/networks/{nid}/projects", headers=ADMIN).json()["projects"] == []


def test_a_facilitator_deletes_a_project_made_by_mistake(client: TestClient, db: Database
                                                         ) -> None:
    nid = f"proj-{uuid.uuid4().hex[:8]}"
    import_network(db, small_document(nid))
    facilitator = {"Authorization": f"Bearer {issue_token(db, 'facilitator', nid, None)[0]}"}
    made = client.post(f"/networks/{nid}/projects", headers=facilitator, json={
        "title": "Typo", "members": [{"member": "clinic", "role": "lead"}]}).json()
    kept = client.post(f"/networks/{nid}/projects", headers=facilitator, json={
        "title": "Real", "members": [{"member": "genlab", "role": "lead"}]}).json()
    assert client.delete(f"/networks/{nid}/projects/{made['id']}",
                         headers=facilitator).status_code == 204
    assert client.get(f"/networks/{nid}/projects/{made['id']}",
                      headers=facilitator).status_code == 404
    assert client.delete(f"/networks/{nid}/projects/{made['id']}",
                         headers=facilitator).status_code == 404
    listed = client.get(f"/networks/{nid}/projects", headers=facilitator).json()["projects"]
    assert [p["id"] for p in listed] == [kept["id"]]
    assert client.get(f"/networks/{nid}/export", headers=facilitator).status_code == 200
