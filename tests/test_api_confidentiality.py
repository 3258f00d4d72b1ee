"""What members and analysts may not learn through the API: others' weaknesses in scores, the
details of projects born from a weakness, a facilitator's reasons for an introduction, weakness
totals (issue 10). The property test over every route is ``test_noninterference.py``."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from tests.conftest import small_document

pytestmark = pytest.mark.database


@pytest.fixture(scope="module")
def net(db: Database) -> dict:
    """clinic is weak in quality; cro is strong in it. A cross-training project trains clinic
    with cro as mentor; a buying group joins clinic and genlab."""
    nid = "conf-" + __import__("uuid").uuid4().hex[:8]
    document = small_document(nid)
    document["projects"] = [
        {"id": "iso", "title": "Quality management for the clinic", "kind": "cross_training",
         "lead": "cro", "goal": "clinic reaches ISO 9001 with cro's quality manager",
         "source": {"opportunity": "cross-training", "capability": f"{nid}-quality"},
         "members": [{"member": "cro", "role": "mentor"}, {"member": "clinic", "role": "trainee"}],
         "outcomes": {"certifications": ["ISO 9001"], "trainings": 2}},
        {"id": "fuel", "title": "Fuel together", "kind": "buying_group",
         "members": [{"member": "clinic", "role": "buyer"}, {"member": "genlab", "role": "buyer"}]},
    ]
    import_network(db, document)
    token = {who: issue_token(db, "member", nid, who)[0] for who in ("clinic", "genlab", "cro")}
    token["facilitator"] = issue_token(db, "facilitator", nid, None)[0]
    token["analyst"] = issue_token(db, "analyst", nid, None)[0]
    return {"nid": nid, "h": {k: {"Authorization": f"Bearer {v}"} for k, v in token.items()}}


def test_a_members_suggestions_do_not_weigh_the_candidates_weaknesses(
        client: TestClient, net: dict) -> None:
    url = f"/networks/{net['nid']}/members/cro/suggestions"
    # cro already works with the clinic: the clinic is a partner to strengthen, not a new one.
    facilitator = {s["member"]: s for s in client.get(url, headers=net["h"]["facilitator"])
                   .json()["strengthen"]}
    own = {s["member"]: s for s in client.get(url, headers=net["h"]["cro"]).json()["strengthen"]}
    # The facilitator sees that cro could help the clinic's weakness; cro itself does not.
    assert facilitator["clinic"]["benefit_to_partner"] > 0
    assert own.get("clinic", {"benefit_to_partner": 0})["benefit_to_partner"] == 0
    assert "quality" not in json.dumps(own).lower()


def test_projects_born_from_a_weakness_hide_capability_and_roles_from_outsiders(
        client: TestClient, net: dict) -> None:
    nid, h = net["nid"], net["h"]
    # genlab is outside the training: on the clinic's profile it sees a project, no more.
    [shown] = [p for p in client.get(f"/networks/{nid}/members/clinic", headers=h["genlab"])
               .json()["projects"] if p["id"] == "iso"]
    assert shown["role"] == "participant" and "Quality" not in shown["title"]
    assert shown["outcomes"]["certifications"] == []
    # Analysts see it without title, goal, source, lead or roles, in listings and exports.
    for project in (client.get(f"/networks/{nid}/projects/iso", headers=h["analyst"]).json(),
                    next(p for p in client.get(f"/networks/{nid}/projects", headers=h["analyst"])
                         .json()["projects"] if p["id"] == "iso"),
                    next(p for p in client.get(f"/networks/{nid}/export", headers=h["analyst"])
                         .json()["projects"] if p["id"] == "iso")):
        text = json.dumps(project)
        for secret in ("quality", "Quality", "ISO", "trainee", "mentor", "source", "goal"):
            assert secret not in text, (secret, project)
        assert {m["member"] for m in project["members"]} == {"clinic", "cro"}
    # A buying group is not born from a weakness: shown as it is.
    fuel = client.get(f"/networks/{nid}/projects/fuel", headers=h["analyst"]).json()
    assert fuel["title"] == "Fuel together" and fuel["members"][0]["role"] == "buyer"
    # Participants and facilitators see everything.
    for who in ("clinic", "cro", "facilitator"):
        full = client.get(f"/networks/{nid}/projects/iso", headers=h[who]).json()
        assert full["title"] == "Quality management for the clinic", who
        assert {m["role"] for m in full["members"]} == {"mentor", "trainee"}


def test_members_see_proposed_by_your_facilitator_never_the_reason(
        client: TestClient, net: dict) -> None:
    nid, h = net["nid"], net["h"]
    made = client.post(f"/networks/{nid}/introductions", headers=h["facilitator"], json={
        "requester": "cro", "recipient": "clinic",
        "suggestion_reasons": ["cro could train the clinic's weak quality management"]})
    assert made.status_code == 201, made.text
    iid = made.json()["id"]
    for who in ("cro", "clinic"):
        [mine] = [i for i in client.get(f"/networks/{nid}/introductions", headers=h[who])
                  .json()["introductions"] if i["id"] == iid]
        assert mine["suggestion_reasons"] == ["proposed by your facilitator"]
        assert "weak" not in json.dumps(mine)
    [theirs] = [i for i in client.get(f"/networks/{nid}/introductions", headers=h["facilitator"])
                .json()["introductions"] if i["id"] == iid]
    assert "weak quality" in theirs["suggestion_reasons"][0]
    # A member's own request keeps the reasons it wrote itself.
    own = client.post(f"/networks/{nid}/introductions", headers=h["genlab"], json={
        "requester": "genlab", "recipient": "cro", "suggestion_reasons": ["we need quality"]})
    assert own.json()["suggestion_reasons"] == ["we need quality"]


def test_analysts_get_no_weakness_total(client: TestClient, net: dict) -> None:
    url = f"/networks/{net['nid']}/metrics"
    assert "weaknesses_total" not in client.get(url, headers=net["h"]["analyst"]).json()
    assert client.get(url, headers=net["h"]["facilitator"]).json()["weaknesses_total"] == 1
