"""The playbook in the web pages: agents, roadmap, gaps, consortia, hours and capacities."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from tests.test_agents_format import playbook_document
from tests.test_web import csrf_of, sign_in

pytestmark = pytest.mark.database
ADMIN_SECRET = "pm_web-playbook-admin-" + uuid.uuid4().hex


class World:
    def __init__(self, db: Database):
        self.nid = f"webpb-{uuid.uuid4().hex[:10]}"
        document = playbook_document(self.nid)
        for member in document["members"]:  # everyone buys fuel: a buying group to plan
            if not any(n["id"] == f"{self.nid}-fuel" for n in member["needs"]):
                member["needs"].append({"id": f"{self.nid}-fuel", "kind": "purchase",
                                        "volume": 8000})
        import_network(db, document)
        self.tokens = {
            "facilitator": issue_token(db, "facilitator", self.nid, None)[0],
            "member": issue_token(db, "member", self.nid, "clinic")[0],
            "analyst": issue_token(db, "analyst", self.nid, None)[0],
        }


@pytest.fixture(scope="module")
def world(db: Database) -> World:
    return World(db)


@pytest.fixture(scope="module")
def app(db: Database) -> FastAPI:
    return create_app(ApiSettings(admin_token=ADMIN_SECRET), database=db)


def as_(app: FastAPI, world: World, role: str) -> TestClient:
    """A browser signed in as ``role`` through the sign-in form (with its CSRF token)."""
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert sign_in(client, world.tokens[role]).status_code == 303
    return client


def test_dashboard_shows_the_roadmap_gaps_and_a_consortium(app: FastAPI, world: World) -> None:
    client = as_(app, world, "facilitator")
    text = client.get(f"/n/{world.nid}/dashboard").text
    roadmap = text.split('id="roadmap"')[1].split("</section>")[0]
    assert "Buy fuel together" in roadmap and "joint purchase" in roadmap
    assert 'id="gaps"' in text and "Tests for a hospital" in text  # the declared order
    chosen = client.get(f"/n/{world.nid}/dashboard?order=big-order").text
    part = chosen.split('id="consortium"')[1].split("</section>")[0]
    assert "GenLab" in part and "lead" in part
    assert "Caja Local" in part  # the financing gap names the savings bank
    assert "no declared order" in client.get(f"/n/{world.nid}/dashboard?order=nope").text


def test_agents_page_for_everyone_in_the_network(app: FastAPI, world: World) -> None:
    for role in ("member", "analyst", "facilitator"):
        text = as_(app, world, role).get(f"/n/{world.nid}/agents").text
        assert "Caja Local" in text and "savings bank" in text and "University" in text


def test_a_member_sees_its_first_step_at_home(app: FastAPI, world: World) -> None:
    text = as_(app, world, "member").get(f"/n/{world.nid}/home/clinic").text
    first = text.split('id="first-step"')[1].split("</section>")[0]
    assert "Join: buy fuel together" in first and "EUR a year" in first


def test_members_state_hours_and_capacities_in_their_profile(app: FastAPI, world: World
                                                             ) -> None:
    # (last: it rewrites the clinic's profile)
    client = as_(app, world, "member")
    response = client.post(f"/n/{world.nid}/home/clinic", data={
        "csrf": csrf_of(client), "name": "Clínica Sol", "hours_per_month": "5",
        "capabilities.0.id": f"{world.nid}-quality", "capabilities.0.level": "3",
        "capabilities.0.capacity": "40"})
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"]).text
    assert "Gives 5 hours a month to co-operation" in page
    assert "40 units a month" in page
    bad = client.post(f"/n/{world.nid}/home/clinic", data={
        "csrf": csrf_of(client), "name": "Clínica Sol", "hours_per_month": "1000",
        "capabilities.0.id": f"{world.nid}-quality", "capabilities.0.level": "3",
        "capabilities.0.capacity": "-2"})
    assert bad.status_code == 422
    assert 'id="err-hours_per_month"' in bad.text and 'id="err-capabilities-0-capacity"' in bad.text
