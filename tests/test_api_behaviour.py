"""What users of the HTTP API rely on: confidentiality, clear errors, exports, health."""

from __future__ import annotations

import io
import json
import uuid

import networkx as nx
import pytest
from fastapi.testclient import TestClient
from neo4j import GraphDatabase

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from graph.store import export_network
from tests.conftest import ADMIN_SECRET, World, normalised, small_document

pytestmark = pytest.mark.database


def weakness_id(world: World) -> str:
    return f"{world.nid}-quality"  # the clinic's only weakness


# -- confidentiality -----------------------------------------------------------------------
@pytest.mark.parametrize("role", ["other-member", "analyst"])
def test_others_never_see_a_members_weaknesses(client: TestClient, world: World, role: str) -> None:
    h = world.headers(role)
    profile = client.get(f"/networks/{world.nid}/members/clinic", headers=h).json()
    assert "weaknesses" not in profile and profile["needs"]
    listing = client.get(f"/networks/{world.nid}/members", headers=h).json()["members"]
    clinic = next(m for m in listing if m["id"] == "clinic")
    assert "weaknesses" not in clinic


@pytest.mark.parametrize("role", ["member", "facilitator", "admin"])
def test_the_member_and_its_managers_see_its_weaknesses(
    client: TestClient, world: World, role: str
) -> None:
    profile = client.get(f"/networks/{world.nid}/members/clinic", headers=world.headers(role)).json()
    assert profile["weaknesses"] == [{"id": weakness_id(world), "severity": 4}]


def test_a_member_sees_only_its_own_weaknesses_in_the_listing(
    client: TestClient, world: World
) -> None:
    listing = client.get(f"/networks/{world.nid}/members",
                         headers=world.headers("other-member")).json()["members"]
    assert [m["id"] for m in listing if "weaknesses" in m] == ["genlab"]


@pytest.mark.parametrize("fmt", ["json", "gexf", "graphml", "cytoscape", "csv", "svg"])
def test_analyst_exports_carry_no_weaknesses(client: TestClient, world: World, fmt: str) -> None:
    response = client.get(f"/networks/{world.nid}/export",
                          params={"format": fmt, "include": "capabilities"} if fmt != "json"
                          else {"format": fmt}, headers=world.headers("analyst"))
    assert response.status_code == 200
    body = response.content
    if fmt == "csv":
        import zipfile
        body = b"".join(zipfile.ZipFile(io.BytesIO(body)).read(n)
                        for n in zipfile.ZipFile(io.BytesIO(body)).namelist())
    assert b"severity" not in body
    if fmt == "json":
        assert all(m["weaknesses"] == [] for m in response.json()["members"])


def test_facilitator_json_export_is_lossless(client: TestClient, world: World) -> None:
    response = client.get(f"/networks/{world.other}/export", params={"format": "json"},
                          headers=world.headers("other-facilitator"))
    assert normalised(response.json()) == normalised(small_document(world.other))


# -- exports -------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "reader"), [("gexf", nx.read_gexf), ("graphml", nx.read_graphml)])
def test_gexf_and_graphml_open_in_networkx(client: TestClient, world: World, fmt, reader) -> None:
    h = world.headers("facilitator")
    response = client.get(f"/networks/{world.nid}/export", params={"format": fmt}, headers=h)
    assert response.status_code == 200
    assert f'{world.nid}.{fmt}' in response.headers["content-disposition"]
    graph = reader(io.BytesIO(response.content))
    assert set(graph.nodes) == {"clinic", "genlab", "cro"}
    assert graph.number_of_edges() == 3
    with_caps = client.get(f"/networks/{world.nid}/export",
                           params={"format": fmt, "include": "capabilities"}, headers=h)
    assert len(reader(io.BytesIO(with_caps.content)).nodes) > 3


def test_png_export_is_a_real_picture(client: TestClient, world: World) -> None:
    response = client.get(f"/networks/{world.nid}/export", params={"format": "png"},
                          headers=world.headers("analyst"))
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n") and len(response.content) > 10_000
    width = int.from_bytes(response.content[16:20], "big")
    height = int.from_bytes(response.content[20:24], "big")
    assert width >= 800 and height >= 600


def test_cytoscape_export(client: TestClient, world: World) -> None:
    response = client.get(f"/networks/{world.nid}/export", params={"format": "cytoscape"},
                          headers=world.headers("analyst"))
    elements = response.json()["elements"]
    assert {n["data"]["id"] for n in elements["nodes"]} == {"clinic", "genlab", "cro"}
    assert len(elements["edges"]) == 3


# -- bad input: 4xx with a clear message, never 500, nothing written -------------------------
def test_invalid_import_lists_every_error_and_writes_nothing(
    client: TestClient, world: World, db: Database
) -> None:
    before = normalised(export_network(db, world.nid))
    document = small_document(world.nid)
    document["members"][1]["capabilities"][0]["level"] = 9
    document["members"][0]["needs"][0]["id"] = "unheard-of"
    document["ties"][0]["type"] = "LOVES"
    response = client.post(f"/networks/{world.nid}/import", json=document,
                           headers=world.headers("facilitator"))
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert paths == {"members[1].capabilities[0].level", "members[0].needs[0].id", "ties[0].type"}
    assert normalised(export_network(db, world.nid)) == before


BAD_REQUESTS = [  # method, path, body or raw text, status, path or words expected in the answer
    ("POST", "/networks/{nid}/import", "{not json", 422, "malformed JSON"),
    ("POST", "/networks/{nid}/import", [1, 2], 422, "body"),
    ("POST", "/networks/{nid}/import", {"network": {"id": "elsewhere", "name": "X"}}, 422,
     "network.id"),
    ("PUT", "/networks/{nid}/members/clinic", {"name": "C", "capabilities": [{"id": "x",
                                                                             "level": "top"}]},
     422, "capabilities[0].level"),
    ("PUT", "/networks/{nid}/members/clinic", {"name": "C", "needs": [{"id": "nope"}]}, 422,
     "needs[0].id"),
    ("PUT", "/networks/{nid}/members/clinic", {"id": "genlab", "name": "C"}, 422, "id"),
    ("PUT", "/networks/{nid}/members/clinic", {"capabilities": []}, 422, "name"),
    ("GET", "/networks/{nid}/export?format=xls", None, 422, "format"),
    ("GET", "/networks/{nid}/export?include=everything", None, 422, "include"),
    ("GET", "/networks/{nid}/members?capability=no-such-thing", None, 422, "capability"),
    ("POST", "/tokens", {"role": "superuser"}, 422, "role"),
    ("PUT", "/networks/{nid}", {"name": 42}, 422, "name"),
    ("POST", "/networks/{nid}/import", {"network": {"id": "{nid}", "name": "N"},
                                        "members": [{"id": "x", "name": "y" * 300_000}]}, 413,
     "larger than"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "words"), BAD_REQUESTS,
                         ids=[f"{b[0]} {b[1]} -> {b[3]} {b[4]}" for b in BAD_REQUESTS])
def test_bad_requests_answer_4xx_and_write_nothing(
    client: TestClient, world: World, db: Database, method, path, body, status, words
) -> None:
    before = normalised(export_network(db, world.nid))
    url = path.format(nid=world.nid)
    kwargs: dict = {"headers": world.headers("admin")}
    if isinstance(body, str):
        kwargs["content"] = body.encode()
        kwargs["headers"] = {**kwargs["headers"], "Content-Type": "application/json"}
    elif body is not None:
        kwargs["json"] = json.loads(json.dumps(body).replace("{nid}", world.nid))
    response = client.request(method, url, **kwargs)
    assert response.status_code == status, response.text
    assert words in response.text
    assert normalised(export_network(db, world.nid)) == before


# -- health --------------------------------------------------------------------------------
def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_health_reports_an_unreachable_database() -> None:
    driver = GraphDatabase.driver("bolt://127.0.0.1:9", auth=("x", "y"), connection_timeout=1,
                                  max_transaction_retry_time=1)
    app = create_app(ApiSettings(admin_token=ADMIN_SECRET), database=Database(driver, None))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        response = test_client.get("/health")
        assert response.status_code == 503 and response.json()["status"] == "unavailable"
        response = test_client.get("/networks", headers={"Authorization": f"Bearer {uuid.uuid4()}"})
        assert response.status_code == 503
    driver.close()


def test_a_chunked_body_over_the_limit_is_refused_too(
    client: TestClient, world: World, db: Database
) -> None:
    before = normalised(export_network(db, world.nid))

    def chunks():  # no Content-Length: the limit is enforced on the bytes as they arrive
        yield json.dumps({"network": {"id": world.nid, "name": "N"}})[:-1].encode()
        yield b', "members": ['
        for i in range(300):
            yield json.dumps({"id": f"m{i}", "name": "y" * 1000}).encode() + b","
        yield b'{"id": "last", "name": "z"}]}'

    response = client.post(f"/networks/{world.nid}/import", content=chunks(),
                           headers={**world.headers("admin"), "Content-Type": "application/json"})
    assert response.status_code == 413 and "larger than 256 kB" in response.json()["detail"]
    assert normalised(export_network(db, world.nid)) == before


def test_a_request_waiting_for_a_fit_answers_at_once_when_the_database_goes_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading
    from concurrent.futures import Future

    import api.engine
    from graph.database import DatabaseUnavailable

    class DownDatabase:
        board = None  # no board of versions (as for a remote server): the lookup is patched

        def check_available(self) -> None:
            raise DatabaseUnavailable("the graph database is restarting", retry_after=3)

    monkeypatch.setattr(api.engine, "looked_up_versions", lambda db, nid: (1, 0))
    engine = api.engine.Engine(first_fit_wait=60)
    never: Future = Future()  # another request's first fit of this network, still running
    monkeypatch.setattr(engine, "_refit", lambda db, nid, slot: never)
    outcome: list[BaseException] = []

    def request() -> None:
        try:
            with engine.reading(DownDatabase(), "busy"):  # type: ignore[arg-type]
                pass
        except DatabaseUnavailable as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=request, daemon=True)
    waiter.start()
    waiter.join(timeout=5)
    assert not waiter.is_alive(), "the request kept waiting on the fit"
    assert len(outcome) == 1


READS = [  # a request that writes nothing, and a problem path its 422 names
    ("GET", "/networks/{nid}/members?capability=no-such-thing", None, "query.capability"),
    ("GET", "/networks/{nid}/metrics?since=2024-02-01&until=2024-01-01", None, "query.since"),
    ("GET", "/networks/{nid}/opportunities/purchasing?discount=fuel:lots", None,
     "query.discount[0]"),
    ("POST", "/networks/{nid}/value-chains", {"template": "no-such-chain"}, "template"),
]


@pytest.mark.parametrize(("method", "path", "body", "where"), READS,
                         ids=[f"{r[0]} {r[1]}" for r in READS])
def test_a_422_to_a_read_does_not_say_a_write_was_refused(
    client: TestClient, world: World, method: str, path: str, body: dict | None, where: str
) -> None:
    """A GET (or a POST that only asks a question) writes nothing: its 422 says what is wrong
    and where, never that "nothing was written", which would tell the reader it tried to."""
    response = client.request(method, path.format(nid=world.nid), json=body,
                              headers=world.headers("admin"))
    assert response.status_code == 422, response.text
    assert where in [e["path"] for e in response.json()["errors"]]
    assert "written" not in response.json()["detail"], response.text
    assert "problem(s) found in the request" in response.json()["detail"]


def test_a_422_to_a_write_says_nothing_was_written(client: TestClient, world: World) -> None:
    response = client.put(f"/networks/{world.nid}/members/clinic", headers=world.headers("admin"),
                          json={"id": "genlab", "name": "C"})
    assert response.status_code == 422 and "nothing was written" in response.json()["detail"]
