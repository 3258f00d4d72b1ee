"""Agents, consortia, gaps and the roadmap through the API, on the seed networks and fresh ones."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from tests.test_agents_format import playbook_document

pytestmark = pytest.mark.database
ADMIN = "pm_playbook-admin-secret"
FLEET = "regional-fleet-bodies"


@pytest.fixture(scope="module")
def client(seeded: Database) -> Iterator[TestClient]:
    app = create_app(ApiSettings(admin_token=ADMIN), database=seeded)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def fleet_order() -> dict:
    [order] = json.loads(open("seed_data/herencia.json", encoding="utf-8").read())["orders"]
    return {k: order[k] for k in ("lead", "requirements", "competitors")}


def test_agents_are_listed_to_everyone_in_the_network(client: TestClient, seeded: Database
                                                      ) -> None:
    member = issue_token(seeded, "member", "herencia", "panaderia-santa-ana")[0]
    body = client.get("/networks/herencia/agents", headers=auth(member)).json()
    kinds = {a["id"]: a["kind"] for a in body["agents"]}
    assert kinds["ayuntamiento-de-herencia"] == "town-hall"
    assert kinds["caja-rural-de-la-mancha"] == "savings-bank"
    assert kinds["diputacion-de-ciudad-real"] == "regional-government"
    other = issue_token(seeded, "member", "fishing", "sunnmore-verft")[0]
    assert client.get("/networks/herencia/agents", headers=auth(other)).status_code == 403


def test_facilitators_replace_agents_and_bad_ones_are_located(
        client: TestClient, seeded: Database, nid: str) -> None:
    import_network(seeded, playbook_document(nid))
    facilitator = issue_token(seeded, "facilitator", nid, None)[0]
    member = issue_token(seeded, "member", nid, "clinic")[0]
    new = [{"id": "chamber", "name": "Chamber of commerce", "kind": "chamber-of-commerce",
            "offers": [f"{nid}-quality"]}]
    assert client.put(f"/networks/{nid}/agents", json={"agents": new},
                      headers=auth(member)).status_code == 403
    body = client.put(f"/networks/{nid}/agents", json={"agents": new},
                      headers=auth(facilitator)).json()
    assert [a["id"] for a in body["agents"]] == ["chamber"]
    bad = client.put(f"/networks/{nid}/agents", headers=auth(facilitator),
                     json={"agents": [{**new[0], "offers": ["nowhere"]}]})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "agents[0].offers[0]"
    clash = client.put(f"/networks/{nid}/agents", headers=auth(facilitator),
                       json={"agents": [{**new[0], "id": "genlab"}]})
    assert clash.status_code == 422 and "member id" in clash.json()["errors"][0]["message"]


def test_the_towns_fleet_order_gets_a_consortium_and_the_savings_bank(client: TestClient
                                                                      ) -> None:
    body = client.post("/networks/herencia/consortia", json=fleet_order(),
                       headers=auth(ADMIN)).json()
    best = body["best"]
    members = {m["member"]: m for m in best["members"]}
    assert members["carrocerias-martin-romero"]["lead"]
    welding = next(r for r in best["requirements"] if r["capability"] == "welding")
    assert welding["covered"] == 800 and len(welding["supplies"]) >= 2
    [gap] = best["gaps"]  # nobody in the town lends money: the savings bank does
    assert gap["capability"] == "working-capital-credit"
    assert gap["agents"][0]["agent"] == "caja-rural-de-la-mancha"
    assert all(m["reason"] for m in best["members"]) and len(body["alternatives"]) == 2


def test_who_may_ask_for_consortia(client: TestClient, seeded: Database) -> None:
    lead = issue_token(seeded, "member", "herencia", "carrocerias-martin-romero")[0]
    other = issue_token(seeded, "member", "herencia", "panaderia-santa-ana")[0]
    analyst = issue_token(seeded, "analyst", "herencia", None)[0]
    order = fleet_order()
    assert client.post("/networks/herencia/consortia", json=order,
                       headers=auth(lead)).status_code == 200
    assert client.post("/networks/herencia/consortia", json=order,
                       headers=auth(other)).status_code == 403
    assert client.post("/networks/herencia/consortia", json=order,
                       headers=auth(analyst)).status_code == 403
    bad = client.post("/networks/herencia/consortia", headers=auth(ADMIN),
                      json={**order, "requirements": [{"capability": "welding",
                                                       "quantity": -1}]})
    assert bad.status_code == 422 and "quantity" in bad.json()["errors"][0]["path"]


def test_a_consortium_becomes_a_project_in_design(client: TestClient, seeded: Database,
                                                  nid: str) -> None:
    import_network(seeded, playbook_document(nid))
    facilitator = issue_token(seeded, "facilitator", nid, None)[0]
    order = {"requirements": [{"capability": f"{nid}-pgt", "quantity": 100}]}
    created = client.post(f"/networks/{nid}/consortia/projects", headers=auth(facilitator),
                          json={**order, "title": "Tests for the hospital"})
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["phase"] == "design" and project["kind"] == "consortium"
    assert project["members"] == [{"member": "genlab", "role": "lead (100% of the order)"}]
    assert project["source"]["shares"] == {"genlab": 1.0}
    none = client.post(f"/networks/{nid}/consortia/projects", headers=auth(facilitator),
                       json={**order, "choice": 2})
    assert none.status_code == 422 and none.json()["errors"][0]["path"] == "choice"


def test_herencia_roadmap_reads_as_a_facilitator_would_plan_it(client: TestClient) -> None:
    body = client.get("/networks/herencia/roadmap", headers=auth(ADMIN)).json()
    steps = body["steps"]
    kinds = [s["kind"] for s in steps]
    # purchases of the common items first, all of them before anything deeper
    first_deeper = next(k for k, s in enumerate(steps) if s["kind"] != "buying_group")
    assert set(kinds[:first_deeper]) == {"buying_group"} and first_deeper >= 5
    assert "buying_group" not in kinds[first_deeper:]
    by_id = {s["id"]: s for s in steps}
    assert by_id["purchase:fuel"]["status"] == "running"  # the town's fuel deal is under way
    cert = by_id["shared-certification:iso-9001"]
    assert cert["lead"] == "carrocerias-martin-romero" and cert["prepared_by"]
    training = [s for s in steps if s["kind"] == "cross_training"]
    assert training and all(s["start_month"] < cert["start_month"] for s in training)
    assert steps.index(cert) > max(steps.index(s) for s in training)
    consortium = by_id[f"consortium:{FLEET}"]
    assert consortium["depth"] >= cert["depth"] and consortium["prepared_by"]


def test_local_tv_shares_purchases_and_a_study_before_co_producing(client: TestClient) -> None:
    steps = client.get("/networks/local-tv/roadmap", headers=auth(ADMIN)).json()["steps"]
    order = [s["id"] for s in steps]
    study = "shared-service:audience-measurement"
    chain = next(s for s in steps if s["kind"] == "value_chain")
    assert order.index("purchase:external-productions") < order.index(chain["id"])
    assert order.index(study) < order.index(chain["id"])
    by_id = {s["id"]: s for s in steps}
    assert by_id["purchase:external-productions"]["start_month"] == 1
    assert chain["trust"]["rivals"] and "rivals" in chain["reason"]
    assert chain["start_month"] > by_id[study]["start_month"]
    assert "agencia-audiovisual-regional" in [a["agent"] for a in by_id[study]["agents"]]


def test_a_member_sees_its_own_first_step(client: TestClient, seeded: Database) -> None:
    member = issue_token(seeded, "member", "herencia", "panaderia-santa-ana")[0]
    body = client.get("/networks/herencia/roadmap", headers=auth(member)).json()
    assert body["member"] == "panaderia-santa-ana"
    assert body["first_step"]["text"].startswith(("join: buy", "keep going with: buy"))
    assert "EUR a year" in body["first_step"]["text"]
    assert all("panaderia-santa-ana" in s["members"] for s in body["steps"])
    analyst = issue_token(seeded, "analyst", "herencia", None)[0]
    assert client.get("/networks/herencia/roadmap", headers=auth(analyst)).status_code == 403


def test_the_dashboard_gaps_name_agents(client: TestClient, seeded: Database) -> None:
    gaps = client.get("/networks/local-tv/gaps", headers=auth(ADMIN)).json()["gaps"]
    by_capability = {g["capability"]: g for g in gaps}
    study = by_capability["audience-measurement"]
    assert study["members"] == 8
    assert study["agents"][0]["agent"] == "agencia-audiovisual-regional"
    assert "No member offers Audience measurement" in study["reason"]


def test_member_answers_never_depend_on_other_members_weaknesses(
        client: TestClient, seeded: Database, nid: str) -> None:
    document = playbook_document(nid)
    import_network(seeded, document)
    member = issue_token(seeded, "member", nid, "clinic")[0]
    order = {"requirements": [{"capability": f"{nid}-pgt", "quantity": 100}]}

    def views() -> list[str]:
        # Analyses are served from the last snapshot: bring it to the current version first.
        client.get(f"/networks/{nid}/gaps?fresh=true", headers=auth(ADMIN))
        return [client.get(f"/networks/{nid}/roadmap", headers=auth(member)).text,
                client.get(f"/networks/{nid}/gaps", headers=auth(member)).text,
                client.post(f"/networks/{nid}/consortia", json=order, headers=auth(member)).text]

    before = views()
    changed = copy.deepcopy(document)
    for other in changed["members"]:
        if other["id"] != "clinic":
            other["weaknesses"] = [{"id": f"{nid}-quality", "severity": 5},
                                   {"id": f"{nid}-finance", "severity": 2}]
    import_network(seeded, changed)
    assert views() == before
    # while the facilitator sees the gap the new weaknesses open, and who can close it
    [gap] = client.get(f"/networks/{nid}/gaps?fresh=true", headers=auth(ADMIN)).json()["gaps"]
    assert gap["capability"] == f"{nid}-finance" and gap["members"] == 2
    assert [a["agent"] for a in gap["agents"]] == ["savings-bank"]


def test_a_member_states_capacities_and_hours_through_the_api(client: TestClient,
                                                              seeded: Database, nid: str) -> None:
    import_network(seeded, playbook_document(nid))
    member = issue_token(seeded, "member", nid, "genlab")[0]
    profile = client.get(f"/networks/{nid}/members/genlab", headers=auth(member)).json()
    assert profile["hours_per_month"] == 10
    pgt = next(k for k, c in enumerate(profile["capabilities"]) if c["id"] == f"{nid}-pgt")
    assert profile["capabilities"][pgt]["capacity"] == 120
    changed = {k: v for k, v in profile.items() if k not in ("projects", "history")}
    changed["hours_per_month"] = 6
    changed["capabilities"][pgt]["capacity"] = 80
    assert client.put(f"/networks/{nid}/members/genlab", json=changed,
                      headers=auth(member)).status_code == 200
    again = client.get(f"/networks/{nid}/members/genlab", headers=auth(member)).json()
    assert again["hours_per_month"] == 6
    assert {c["id"]: c.get("capacity") for c in again["capabilities"]}[f"{nid}-pgt"] == 80
    changed["capabilities"][pgt]["capacity"] = -1
    bad = client.put(f"/networks/{nid}/members/genlab", json=changed, headers=auth(member))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == f"capabilities[{pgt}].capacity"
