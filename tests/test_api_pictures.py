"""The network picture's data (``/overview``) and PNG/SVG pictures as background jobs, through
the API on the real database."""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from benchmarks.synthetic import generate
from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token

pytestmark = pytest.mark.database
MEMBERS = 400
NODE_KEYS = {"id", "name", "sector", "region", "degree", "community"}


def synthetic(members: int, seed: int, nid: str) -> dict[str, Any]:
    """benchmarks/synthetic.py's network with capability ids of its own (a network may not
    redefine another network's capabilities, and the database outlives each test)."""
    document = generate(members, seed=seed, nid=nid)
    own = {c["id"]: f"{nid}-{c['id']}" for c in document["capabilities"]}
    for capability in document["capabilities"]:
        capability["id"] = own[capability["id"]]
        if capability.get("broader"):
            capability["broader"] = own[capability["broader"]]
    for member in document["members"]:
        for kind in ("capabilities", "weaknesses", "needs"):
            for entry in member.get(kind, []):
                entry["id"] = own[entry["id"]]
    return document


class Big:
    """A synthetic network of MEMBERS members, with tokens."""

    def __init__(self, db: Database):
        self.nid = f"pic-{uuid.uuid4().hex[:10]}"
        self.document = synthetic(MEMBERS, seed=3, nid=self.nid)
        import_network(db, self.document)
        self.headers = {role: {"Authorization": "Bearer " + issue_token(
            db, role, self.nid, self.document["members"][0]["id"] if role == "member" else None
        )[0]} for role in ("facilitator", "analyst", "member")}


@pytest.fixture(scope="module")
def big(db: Database) -> Big:
    return Big(db)


def _overview(client: TestClient, big: Big, role: str = "analyst", **params: Any
              ) -> dict[str, Any]:
    response = client.get(f"/networks/{big.nid}/overview", params=params,
                          headers=big.headers[role])
    assert response.status_code == 200, response.text
    return response.json()


def test_a_big_network_is_drawn_as_communities_until_one_is_chosen(client: TestClient,
                                                                   big: Big) -> None:
    whole = _overview(client, big, limit=100)
    assert whole["level"] == "communities" and whole["total"] == MEMBERS
    sizes = [n["members"] for n in whole["nodes"]]
    assert sizes == sorted(sizes, reverse=True) and all(s >= 2 for s in sizes)
    assert sum(sizes) + whole["alone"] == MEMBERS
    assert {c["id"] for c in whole["filters"]["communities"]} >= {n["community"]
                                                                   for n in whole["nodes"]}
    chosen = whole["nodes"][0]["community"]
    part = _overview(client, big, community=chosen, limit=1000)
    assert part["level"] == "members" and part["total"] == whole["nodes"][0]["members"]
    assert {n["community"] for n in part["nodes"]} == {chosen}
    ids = {n["id"] for n in part["nodes"]}
    assert part["edges"] and all(e["source"] in ids and e["target"] in ids
                                 for e in part["edges"])


def test_filters_keep_the_best_tied_members_within_the_limit(client: TestClient,
                                                            big: Big) -> None:
    sector = big.document["members"][0]["sector"]
    found = _overview(client, big, sector=sector, limit=20)
    in_sector = [m for m in big.document["members"] if m["sector"] == sector]
    assert found["total"] == len(in_sector) > 20 and found["shown"] == 20
    assert all(n["sector"] == sector and set(n) == NODE_KEYS for n in found["nodes"])
    degrees = [n["degree"] for n in found["nodes"]]
    assert degrees == sorted(degrees, reverse=True)
    target = big.document["members"][7]
    named = _overview(client, big, q=target["name"].upper())  # case folded
    assert target["id"] in {n["id"] for n in named["nodes"]}
    nobody = _overview(client, big, q="no member is called this")
    assert nobody["nodes"] == [] and nobody["total"] == 0


def test_members_of_the_picture_link_by_role_and_members_may_not_read_it(
        client: TestClient, big: Big) -> None:
    assert _overview(client, big, "analyst")["link"] == f"/n/{big.nid}/members/{{id}}"
    assert _overview(client, big, "facilitator")["link"] == \
        f"/n/{big.nid}/home/{{id}}#suggestions"
    refused = client.get(f"/networks/{big.nid}/overview", headers=big.headers["member"])
    assert refused.status_code == 403
    too_many = client.get(f"/networks/{big.nid}/overview", params={"limit": 5000},
                          headers=big.headers["analyst"])
    assert too_many.status_code == 422


def _wait_for(client: TestClient, url: str, headers: dict[str, str], states: set[str],
              seconds: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job = client.get(url, headers=headers).json()
        if job["state"] in states or time.monotonic() > deadline:
            return job
        time.sleep(0.3)


def test_a_png_job_goes_to_done_and_serves_the_picture(client: TestClient, db: Database) -> None:
    nid = f"pic-{uuid.uuid4().hex[:10]}"
    document = synthetic(60, seed=5, nid=nid)
    import_network(db, document)
    analyst = {"Authorization": "Bearer " + issue_token(db, "analyst", nid, None)[0]}
    url = f"/networks/{nid}/export-jobs/png"
    assert client.get(url, headers=analyst).json()["state"] == "none"
    assert client.get(url + "/file", headers=analyst).status_code == 409
    started = client.post(url, headers=analyst)
    assert started.status_code == 202
    assert started.json()["state"] in ("queued", "running", "done")
    again = client.post(url, headers=analyst).json()  # the same job, not a second one
    assert again["state"] in ("queued", "running", "done")
    job = _wait_for(client, url, analyst, {"done", "failed"})
    assert job["state"] == "done" and job["percent"] == 100, job
    picture = client.get(job["download"], headers=analyst)
    assert picture.status_code == 200 and picture.content.startswith(b"\x89PNG")
    assert picture.headers["content-disposition"].endswith(f'filename="{nid}.png"')

    # A private change (a member's weaknesses) leaves the job as it was, for everyone...
    facilitator = {"Authorization": "Bearer " + issue_token(db, "facilitator", nid, None)[0]}
    first = copy.deepcopy(document["members"][0])
    first["weaknesses"] = [] if first.get("weaknesses") else [
        {"id": document["capabilities"][-1]["id"], "severity": 2}]
    assert client.put(f"/networks/{nid}/members/{first['id']}", json=first,
                      headers=facilitator).status_code == 200
    time.sleep(3)  # past the analyses' debounce: their snapshot is of the new version
    client.get(f"/networks/{nid}/metrics", params={"fresh": "true"}, headers=facilitator)
    assert client.get(url, headers=analyst).json()["state"] == "done"
    # ...while a public one (a member's name, which the picture shows) needs a new picture.
    first["name"] = "Renamed for the picture"
    assert client.put(f"/networks/{nid}/members/{first['id']}", json=first,
                      headers=facilitator).status_code == 200
    client.get(f"/networks/{nid}/metrics", params={"fresh": "true"}, headers=facilitator)
    assert _wait_for(client, url, analyst, {"none"}, seconds=30)["state"] == "none"


def test_a_failed_job_is_shown_and_can_be_started_again(client: TestClient, db: Database,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    nid = f"pic-{uuid.uuid4().hex[:10]}"
    import_network(db, synthetic(12, seed=6, nid=nid))
    analyst = {"Authorization": "Bearer " + issue_token(db, "analyst", nid, None)[0]}

    def broken(document: dict[str, Any], fmt: str, **_: Any) -> bytes:
        raise MemoryError("the drawing ran out of memory")

    monkeypatch.setattr("api.export_jobs.render", broken)
    url = f"/networks/{nid}/export-jobs/svg"
    assert client.post(url, headers=analyst).status_code == 202
    job = _wait_for(client, url, analyst, {"done", "failed"})
    assert job["state"] == "failed" and "could not be drawn" in job["error"]
    assert client.get(url + "/file", headers=analyst).status_code == 409
    monkeypatch.undo()
    assert client.post(url, headers=analyst).json()["state"] in ("queued", "running", "done")
    job = _wait_for(client, url, analyst, {"done", "failed"})
    assert job["state"] == "done"
    svg = client.get(job["download"], headers=analyst)
    assert svg.status_code == 200 and b"<svg" in svg.content


def test_the_export_of_a_big_networks_picture_answers_202_then_the_file(
        client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    nid = f"pic-{uuid.uuid4().hex[:10]}"
    import_network(db, synthetic(30, seed=7, nid=nid))
    analyst = {"Authorization": "Bearer " + issue_token(db, "analyst", nid, None)[0]}
    monkeypatch.setattr("api.routers.pictures.SYNC_PICTURE_MEMBERS", 20)  # 30 is "big" here
    url = f"/networks/{nid}/export"
    started = client.get(url, params={"format": "svg"}, headers=analyst)
    assert started.status_code == 202
    assert started.headers["location"] == f"/networks/{nid}/export-jobs/svg"
    assert _wait_for(client, started.headers["location"], analyst, {"done", "failed"}
                     )["state"] == "done"
    drawn = client.get(url, params={"format": "svg"}, headers=analyst)
    assert drawn.status_code == 200 and drawn.headers["content-type"].startswith("image/svg")
    monkeypatch.setattr("api.routers.pictures.SYNC_PICTURE_MEMBERS", 300)
    small = client.get(url, params={"format": "png"}, headers=analyst)  # drawn at once
    assert small.status_code == 200 and small.content.startswith(b"\x89PNG")


def test_picture_jobs_draw_the_networks_outside_agents(client: TestClient, db: Database) -> None:
    nid = f"pic-{uuid.uuid4().hex[:10]}"
    document = synthetic(40, seed=7, nid=nid)
    document["agents"] = [{"id": "caja", "name": "Caja Rural Test", "kind": "savings-bank",
                           "offers": [document["capabilities"][0]["id"]]},
                          {"id": "uni", "name": "Universidad Test", "kind": "university"}]
    import_network(db, document)
    analyst = {"Authorization": "Bearer " + issue_token(db, "analyst", nid, None)[0]}
    for fmt in ("svg", "png"):
        url = f"/networks/{nid}/export-jobs/{fmt}"
        assert client.post(url, headers=analyst).status_code == 202
        job = _wait_for(client, url, analyst, {"done", "failed"})
        assert job["state"] == "done", job
        picture = client.get(job["download"], headers=analyst)
        assert picture.status_code == 200
        if fmt == "svg":
            assert "Caja Rural Test" in picture.text and "Universidad Test" in picture.text
            assert "outside agent (not a member)" in picture.text
        else:
            assert picture.content.startswith(b"\x89PNG")
