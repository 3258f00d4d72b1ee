"""The network policy through ``PUT /networks/{nid}/policy``: a facilitator changes its own
network's introduction policy and opportunity settings (not token lives, not another network),
the opportunities analyses use the stored settings, and the settings travel with the document."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from graph.database import Database
from graph.store import export_network, import_network, network_policy
from graph.validation import DocumentInvalid
from tests.conftest import World, small_document

pytestmark = pytest.mark.database


def put(client: TestClient, world: World, role: str, body: dict, nid: str | None = None):
    return client.put(f"/networks/{nid or world.nid}/policy", json=body,
                      headers=world.headers(role))


def test_a_facilitator_changes_only_the_settings_it_gives(
        client: TestClient, world: World, db: Database) -> None:
    before = network_policy(db, world.nid)
    answer = put(client, world, "facilitator", {"approval": "always", "training_capacity": 2})
    assert answer.status_code == 200, answer.text
    policy = network_policy(db, world.nid)
    assert (policy.approval, policy.training_capacity) == ("always", 2)
    assert policy.expiry_days == before.expiry_days
    assert answer.json()["policy"]["training_capacity"] == 2


@pytest.mark.parametrize("role", ["member", "analyst", "other-facilitator"])
def test_only_the_networks_managers_change_its_policy(
        client: TestClient, world: World, db: Database, role: str) -> None:
    before = network_policy(db, world.nid)
    assert put(client, world, role, {"expiry_days": 3}).status_code == 403
    assert network_policy(db, world.nid) == before


def test_token_lives_stay_an_administrators(client: TestClient, world: World,
                                            db: Database) -> None:
    answer = put(client, world, "facilitator", {"facilitator_token_days": 3650})
    assert answer.status_code == 403
    assert "facilitator_token_days" in answer.text
    assert network_policy(db, world.nid).facilitator_token_days == 90
    assert put(client, world, "admin", {"facilitator_token_days": 30}).status_code == 200
    assert network_policy(db, world.nid).facilitator_token_days == 30


def test_bad_settings_are_refused_with_their_place(client: TestClient, world: World) -> None:
    answer = put(client, world, "facilitator", {"discounts": {"fuel": 1.5}, "full_at_members": 1})
    assert answer.status_code == 422
    paths = {e["path"] for e in answer.json()["errors"]}
    assert any("discounts" in p and "fuel" in p for p in paths), paths
    assert any("full_at_members" in p for p in paths), paths


def test_the_analyses_use_the_stored_discount_model(client: TestClient, world: World) -> None:
    url = f"/networks/{world.nid}/opportunities/purchasing"
    headers = world.headers("facilitator")
    assert put(client, world, "facilitator",
               {"discounts": {"fuel": 0.33}, "full_at_members": 4}).status_code == 200
    model = client.get(url, headers=headers).json()["model"]
    assert model["max_discount"]["fuel"] == 0.33 and model["full_at_members"] == 4
    # The query still overrides, for a one-off look.
    model = client.get(url, params={"discount": "fuel:0.1", "full_at_members": 6},
                       headers=headers).json()["model"]
    assert model["max_discount"]["fuel"] == 0.1 and model["full_at_members"] == 6


def test_the_settings_travel_with_the_document(db: Database, nid: str) -> None:
    document = small_document(nid)
    document["network"]["policy"] = {"training_capacity": 5, "full_at_members": 3,
                                     "discounts": {"fuel": 0.2, "energy": 0.1}}
    import_network(db, document)
    policy = export_network(db, nid, include_confidential=True)["network"]["policy"]
    assert (policy["training_capacity"], policy["full_at_members"], policy["discounts"]) == (
        5, 3, {"energy": 0.1, "fuel": 0.2})
    bad = json.loads(json.dumps(document))
    bad["network"]["policy"]["discounts"] = {"fuel": -1}
    with pytest.raises(DocumentInvalid) as caught:
        import_network(db, bad)
    assert [p.path for p in caught.value.problems] == ["network.policy.discounts.fuel"]
