"""Exactly one winner: N parallel requests on one object through the API.

Every guarded transition (introduction actions, a new introduction for one pair, project moves)
is hit by several requests at once, released together by a barrier. Exactly one may succeed; the
others get 409, never 500, and what is stored (status, history, feedback) is the winner's.
Plain writes to one record under contention (PUT of one member) all succeed or answer 503 with
Retry-After, never 500.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.changes import COMPACT_EVERY
from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from tests.conftest import ADMIN_SECRET, small_document

pytestmark = pytest.mark.database

PARALLEL = 8
Response = Any  # the test client's response


@pytest.fixture(scope="module")
def client(db: Database) -> Iterator[TestClient]:
    app = create_app(ApiSettings(admin_token=ADMIN_SECRET), database=db)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


ADMIN = {"Authorization": f"Bearer {ADMIN_SECRET}"}


def at_once(*calls: Callable[[], Response]) -> list[Response]:
    """Run each call in its own thread, all released at the same moment; their responses."""
    barrier = threading.Barrier(len(calls))
    responses: list[Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        responses[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r is not None for r in responses)
    return responses  # type: ignore[return-value]


def statuses(responses: list[Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def open_network(db: Database, nid: str) -> dict[str, dict[str, str]]:
    """A small network with tokens of its members clinic (requester) and genlab (recipient)."""
    import_network(db, small_document(nid))
    return {mid: {"Authorization": f"Bearer {issue_token(db, 'member', nid, mid)[0]}"}
            for mid in ("clinic", "genlab", "cro")}


def introduce(client: TestClient, nid: str, headers: dict[str, str]) -> dict:
    """clinic -> genlab, approved by the admin if the policy asks: waiting for genlab's answer."""
    created = client.post(f"/networks/{nid}/introductions", headers=headers,
                          json={"from": "clinic", "to": "genlab"})
    assert created.status_code == 201, created.text
    intro = created.json()
    if intro["status"] == "pending_approval":
        approved = client.post(f"/networks/{nid}/introductions/{intro['id']}/actions",
                               headers=ADMIN, json={"action": "approve"})
        assert approved.status_code == 200, approved.text
        intro = approved.json()
    assert intro["status"] == "pending_response"
    return intro


def feedback_count(db: Database, nid: str) -> int:
    return db.query("MATCH (:Member {network: $nid})-[f:FEEDBACK_ON]->(:Member) "
                    "RETURN count(f) AS n", nid=nid)[0]["n"]


def test_parallel_answers_to_one_introduction_have_one_winner(
        client: TestClient, db: Database, nid: str) -> None:
    tokens = open_network(db, nid)
    intro = introduce(client, nid, tokens["clinic"])
    url = f"/networks/{nid}/introductions/{intro['id']}/actions"
    actions = ["accept", "decline"] * (PARALLEL // 2)
    responses = at_once(*(lambda a=a: client.post(url, headers=tokens["genlab"],
                                                  json={"action": a}) for a in actions))
    assert statuses(responses) == {200: 1, 409: PARALLEL - 1}, [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    stored = client.get(f"/networks/{nid}/introductions", headers=ADMIN).json()["introductions"]
    (final,) = [i for i in stored if i["id"] == intro["id"]]
    assert final["status"] == winner["status"]
    answers = [h for h in final["history"] if h["status"] in ("accepted", "declined")]
    assert [h["status"] for h in answers] == [winner["status"]]
    assert feedback_count(db, nid) == 1


def test_accept_against_cancel_never_tells_the_loser_it_won(
        client: TestClient, db: Database, nid: str) -> None:
    tokens = open_network(db, nid)
    for _ in range(3):
        intro = introduce(client, nid, tokens["clinic"])
        url = f"/networks/{nid}/introductions/{intro['id']}/actions"
        accept, cancel = at_once(
            lambda: client.post(url, headers=tokens["genlab"], json={"action": "accept"}),
            lambda: client.post(url, headers=tokens["clinic"], json={"action": "cancel"}))
        assert sorted([accept.status_code, cancel.status_code]) == [200, 409]
        winner = accept if accept.status_code == 200 else cancel
        final = client.get(f"/networks/{nid}/introductions", headers=ADMIN).json()
        (stored,) = [i for i in final["introductions"] if i["id"] == intro["id"]]
        assert stored["status"] == winner.json()["status"]
        if stored["status"] == "accepted":  # the pair is no longer open: end it for the next round
            break


def test_parallel_requests_for_one_pair_open_one_introduction(
        client: TestClient, db: Database, nid: str) -> None:
    tokens = open_network(db, nid)
    # Half from each side: a request from genlab to clinic is the same pair.
    calls = [lambda: client.post(f"/networks/{nid}/introductions", headers=tokens["clinic"],
                                 json={"from": "clinic", "to": "genlab"}),
             lambda: client.post(f"/networks/{nid}/introductions", headers=tokens["genlab"],
                                 json={"from": "genlab", "to": "clinic"})] * (PARALLEL // 2)
    responses = at_once(*calls)
    assert statuses(responses) == {201: 1, 409: PARALLEL - 1}, [r.text for r in responses]
    created = next(r.json()["id"] for r in responses if r.status_code == 201)
    assert all(created in r.json()["detail"] for r in responses if r.status_code == 409)
    stored = client.get(f"/networks/{nid}/introductions", headers=ADMIN).json()["introductions"]
    assert [i["id"] for i in stored] == [created]


def test_parallel_project_moves_have_one_winner(
        client: TestClient, db: Database, nid: str) -> None:
    open_network(db, nid)
    project = client.post(f"/networks/{nid}/projects", headers=ADMIN, json={
        "title": "Fuel together", "lead": "clinic",
        "members": [{"member": "clinic", "role": "lead"}, {"member": "genlab"}]}).json()
    url = f"/networks/{nid}/projects/{project['id']}/transitions"
    # Every request wants the same step; then every request abandons (a step from any phase).
    for move, phases in (({"to": "shared_goals"}, ["opportunity", "shared_goals"]),
                         ({"to": "abandoned", "reason": "no time"},
                          ["opportunity", "shared_goals", "abandoned"])):
        responses = at_once(*(lambda: client.post(url, headers=ADMIN, json=move)
                              for _ in range(PARALLEL)))
        assert statuses(responses) == {200: 1, 409: PARALLEL - 1}, [r.text for r in responses]
        stored = client.get(f"/networks/{nid}/projects/{project['id']}", headers=ADMIN).json()
        assert [h["phase"] for h in stored["history"]] == phases


def test_parallel_writes_to_one_member_never_answer_500(
        client: TestClient, db: Database, nid: str) -> None:
    open_network(db, nid)
    url = f"/networks/{nid}/members/cro"
    bodies = [{"name": f"CRO Iberia {i}", "capabilities": [{"id": f"{nid}-quality", "level": 5}]}
              for i in range(PARALLEL)]
    responses = at_once(*(lambda b=b: client.put(url, headers=ADMIN, json=b) for b in bodies))
    assert set(statuses(responses)) <= {200, 503}, [r.text for r in responses]
    assert all(r.headers.get("retry-after") for r in responses if r.status_code == 503)
    assert statuses(responses)[200] >= 1
    names = {b["name"] for b, r in zip(bodies, responses) if r.status_code == 200}
    stored = client.get(url, headers=ADMIN).json()
    assert stored["name"] in names
    assert stored["capabilities"] == [{"id": f"{nid}-quality", "level": 5}]


def test_parallel_moves_at_a_compaction_of_the_change_log_have_one_winner(
        client: TestClient, db: Database, nid: str) -> None:
    """The next write compacts the change log: concurrent commits that all compact the same
    records are conflicts, retried, never a 500. (CI met it once with 4 of 8 answers 500; the
    race depends on timing, so this run does not always reach it.)"""
    open_network(db, nid)
    project = client.post(f"/networks/{nid}/projects", headers=ADMIN, json={
        "title": "Fuel together", "lead": "clinic",
        "members": [{"member": "clinic", "role": "lead"}, {"member": "genlab"}]}).json()
    version = db.query("MATCH (n:Network {id: $nid}) RETURN n.version AS v", nid=nid)[0]["v"]
    at_boundary = (version // COMPACT_EVERY + 1) * COMPACT_EVERY - 1
    db.write(lambda tx: tx.run("MATCH (n:Network {id: $nid}) SET n.version = $v",
                               nid=nid, v=at_boundary).consume())
    url = f"/networks/{nid}/projects/{project['id']}/transitions"
    responses = at_once(*(lambda: client.post(url, headers=ADMIN, json={"to": "shared_goals"})
                          for _ in range(PARALLEL)))
    assert statuses(responses) == {200: 1, 409: PARALLEL - 1}, [r.text for r in responses]
