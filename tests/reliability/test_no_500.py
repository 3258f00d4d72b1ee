"""No 500 from any input: each case below answered 500 once (found by fuzzing, issue 11)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from graph.store import import_network
from tests.conftest import ADMIN_SECRET, small_document

pytestmark = pytest.mark.database

ADMIN = {"Authorization": f"Bearer {ADMIN_SECRET}"}


@pytest.fixture(scope="module")
def client(db: Database) -> Iterator[TestClient]:
    app = create_app(ApiSettings(admin_token=ADMIN_SECRET), database=db)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_a_project_whose_last_participant_left_still_exports(
        client: TestClient, db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    created = client.post(f"/networks/{nid}/projects", headers=ADMIN, json={
        "title": "Quality together", "lead": "cro", "members": [{"member": "cro"}]})
    assert created.status_code == 201, created.text
    assert client.delete(f"/networks/{nid}/members/cro", headers=ADMIN).status_code == 204
    # The rule: a project stays on record when its members leave, without them (and its lead).
    project = client.get(f"/networks/{nid}/projects/{created.json()['id']}", headers=ADMIN).json()
    assert project["members"] == [] and "lead" not in project
    for form in ("json", "csv", "gexf", "graphml"):
        assert client.get(f"/networks/{nid}/export?format={form}",
                          headers=ADMIN).status_code == 200, form
    exported = client.get(f"/networks/{nid}/export", headers=ADMIN).json()
    assert client.post(f"/networks/{nid}/import", headers=ADMIN,
                       json=exported).status_code == 200


def nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"next": value}
    return value


@pytest.mark.parametrize("depth", [9, 254, 255])
def test_deeply_nested_project_source_is_refused(
        client: TestClient, db: Database, nid: str, depth: int) -> None:
    import_network(db, small_document(nid))
    answer = client.post(f"/networks/{nid}/projects", headers=ADMIN, json={
        "title": "Deep", "members": [{"member": "cro"}], "source": nested(depth)})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["path"].startswith("source")
    assert client.get(f"/networks/{nid}/projects", headers=ADMIN).status_code == 200


def test_a_shallow_source_is_kept(client: TestClient, db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    answer = client.post(f"/networks/{nid}/projects", headers=ADMIN, json={
        "title": "Shallow", "members": [{"member": "cro"}], "source": nested(8)})
    assert answer.status_code == 201, answer.text
    assert answer.json()["source"] == nested(8)


def test_duplicate_participants_are_refused(client: TestClient, db: Database, nid: str) -> None:
    import_network(db, small_document(nid))
    answer = client.post(f"/networks/{nid}/projects", headers=ADMIN, json={
        "title": "Copies", "members": [{"member": "cro"}] * 10_000})
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["path"] == "members[1].member"
    assert client.get(f"/networks/{nid}/projects", headers=ADMIN).json()["projects"] == []


@pytest.mark.parametrize("bad", ["a%20b", "%C3%A9t%C3%A9", "-x", "%5E"])
def test_a_network_id_that_is_not_an_identifier_is_422(client: TestClient, bad: str) -> None:
    answer = client.put(f"/networks/{bad}", headers=ADMIN, json={"name": "Bad"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["path"] == "path.nid"


def test_analysis_on_an_empty_network_answers_empty(client: TestClient) -> None:
    nid = f"empty-{uuid.uuid4().hex[:8]}"
    assert client.put(f"/networks/{nid}", headers=ADMIN, json={"name": "Empty"}).status_code == 200
    leaders = client.get(f"/networks/{nid}/leaders", headers=ADMIN)
    assert leaders.status_code == 200, leaders.text
    assert leaders.json()["leaders"] == []
    for path in ("metrics", "suggestions"):
        answer = client.get(f"/networks/{nid}/{path}", headers=ADMIN)
        assert answer.status_code == 200, (path, answer.text)


def test_member_search_folds_case_and_accents(client: TestClient, db: Database, nid: str) -> None:
    document = small_document(nid)
    document["members"][2]["name"] = "Großhandel Müller"
    document["members"][0]["description"] = "Clínica de reproducción"
    import_network(db, document)
    for query, found in (("GROSSHANDEL", ["cro"]), ("muller", ["cro"]),
                         ("CLINICA DE REPRODUCCION", ["clinic"]), ("nothing", [])):
        answer = client.get(f"/networks/{nid}/members", params={"q": query}, headers=ADMIN)
        assert [m["id"] for m in answer.json()["members"]] == found, query


def test_ids_that_differ_only_in_case_are_refused(client: TestClient, db: Database,
                                                   nid: str) -> None:
    document = small_document(nid)
    document["members"].append({"id": "CRO", "name": "Another CRO"})
    answer = client.put(f"/networks/{nid}", headers=ADMIN, json={"name": "Case"})
    assert answer.status_code == 200
    answer = client.post(f"/networks/{nid}/import", headers=ADMIN, json=document)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["path"] == "members[3].id"
    answer = client.put(f"/networks/{nid.upper()}", headers=ADMIN, json={"name": "Case"})
    assert answer.status_code == 422 and answer.json()["errors"][0]["path"] == "path.nid"
