"""Value chains, buying groups and shared services: known answers, then the API on the seeds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from graph.tokens import issue_token
from matching.features import NetworkFeatures
from matching.pooling import DiscountModel, buying_groups, shared_services
from matching.projection import build_projection
from matching.value_chain import Stage, UnknownCapability, assign_stages
from tests.conftest import member
from tests.test_matching import TAXONOMY

ADMIN = "pm_opportunities-admin-secret"


def features(members, ties=()) -> NetworkFeatures:
    return NetworkFeatures(build_projection({"id": "t", "name": "T"}, TAXONOMY, members, ties))


# -- value chains ---------------------------------------------------------------------------
def test_value_chain_optimum_where_greedy_fails() -> None:
    # Greedy takes A for catch (fit 1.0) and is left with B for processing (0.2): total 1.2.
    # The optimum puts A on processing (0.8) and B on catch (0.8): total 1.6.
    f = features([member("a", caps=[("ivf", 5), ("pgt", 4)]),
                  member("b", caps=[("ivf", 4), ("pgt", 1)])])
    stages = [Stage("catch", ["ivf"]), Stage("processing", ["pgt"])]
    result = assign_stages(f, stages)
    assert [s["members"][0]["member"] for s in result.stages] == ["b", "a"]
    assert result.total_fit == pytest.approx(1.6)
    assert result.gaps == []


def test_value_chain_reports_gaps_and_respects_limits() -> None:
    f = features([member("a", caps=[("ivf", 5)]), member("b", caps=[("ivf", 4)]),
                  member("c", caps=[("ivf", 3), ("english", 5)])])
    stages = [Stage("treatment", ["ivf"], max_members=2), Stage("genetics", ["pgt"]),
              Stage("translation", ["english"], min_members=2, max_members=2)]
    result = assign_stages(f, stages)
    by_id = {s["id"]: s for s in result.stages}
    assert [m["member"] for m in by_id["treatment"]["members"]] == ["a", "b"]
    assert result.gaps == ["genetics", "translation"]
    assert "recruit from outside" in by_id["genetics"]["reason"]
    # a member may work two stages only when allowed
    two = assign_stages(f, [Stage("x", ["ivf"]), Stage("y", ["ivf"]), Stage("z", ["ivf"]),
                            Stage("w", ["ivf"])], max_stages_per_member=2)
    assert two.gaps == [] and sum(len(s["members"]) for s in two.stages) == 4


def test_value_chain_taxonomy_aware_fit() -> None:
    f = features([member("broad", caps=[("genetics", 5)]), member("none", caps=[("ivf", 5)])])
    [stage] = assign_stages(f, [Stage("genetics", ["pgt"])]).stages
    assert stage["members"] == [{"member": "broad", "fit": pytest.approx(0.5)}]


def test_value_chain_unknown_capability() -> None:
    with pytest.raises(UnknownCapability) as caught:
        assign_stages(features([member("a")]), [Stage("s", ["ivf"]), Stage("t", ["warp-drive"])])
    assert caught.value.path == "stages[1].requires[0]"


# -- buying groups and shared services ------------------------------------------------------
def needs_member(mid: str, *needs, caps=(), **attrs):
    m = member(mid, caps=caps, **attrs)
    m["needs"] = [{"id": c, "kind": k, "urgency": 3, **({"volume": v} if v else {})}
                  for c, k, v in needs]
    return m


def test_buying_groups_roll_needs_up_the_taxonomy() -> None:
    members = [needs_member("garage", ("diesel", "purchase", 40_000)),
               needs_member("hotel", ("fuel", "purchase", 10_000)),
               needs_member("bakery", ("diesel", "purchase", None)),
               needs_member("alone", ("secret", "service", 500))]
    ties = [{"source": "hotel", "target": "garage", "type": "TRUSTS"}]
    p = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, ties)
    [group] = buying_groups(p, DiscountModel(max_discount={"fuel": 0.1}, full_at_members=3))["groups"]
    assert group["category"] == "fuel" and group["members"] == ["bakery", "garage", "hotel"]
    assert group["total_volume"] == 50_000 and group["lead"] == "garage"
    assert group["estimated_saving"] == pytest.approx(5_000)  # 3 members: the full 10%
    assert "1 member(s) gave no volume" in group["reason"]
    smaller = buying_groups(p, DiscountModel(max_discount={"fuel": 0.1}, full_at_members=5))
    assert smaller["groups"][0]["estimated_saving"] == pytest.approx(2_500)


def test_a_saving_never_exceeds_the_volume() -> None:
    members = [needs_member(f"m{i}", ("diesel", "purchase", 100)) for i in range(4)]
    p = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, [])
    [group] = buying_groups(p, DiscountModel(max_discount={"fuel": 7.0}, full_at_members=2))["groups"]
    assert group["estimated_saving"] <= group["total_volume"]


def test_shared_services_find_an_inside_provider_or_mark_external() -> None:
    members = [needs_member("a", ("quality", "knowhow", None), ("english", "knowhow", None)),
               needs_member("b", ("quality", "knowhow", None), ("english", "knowhow", None)),
               needs_member("yard", caps=[("quality", 5)]),
               needs_member("weak-yard", caps=[("quality", 3)])]
    p = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, [])
    services = {s["capability"]: s for s in shared_services(p)["services"]}
    assert services["quality"]["provider"] == "yard" and not services["quality"]["external"]
    assert services["english"]["provider"] is None and services["english"]["external"]


# -- through the API on the seed networks ---------------------------------------------------
@pytest.fixture(scope="module")
def client(seeded: Database) -> Iterator[TestClient]:
    app = create_app(ApiSettings(admin_token=ADMIN), database=seeded)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.database
def test_herencia_buys_fuel_together(client: TestClient) -> None:
    body = client.get("/networks/herencia/opportunities/purchasing", headers=auth(ADMIN)).json()
    fuel = next(g for g in body["groups"] if g["category"] == "fuel")
    assert len(fuel["members"]) >= 10 and 0 < fuel["estimated_saving"] <= fuel["total_volume"]
    cheaper = client.get("/networks/herencia/opportunities/purchasing",
                         params={"discount": "fuel:0.01"}, headers=auth(ADMIN)).json()
    assert next(g for g in cheaper["groups"]
                if g["category"] == "fuel")["estimated_saving"] < fuel["estimated_saving"]
    bad = client.get("/networks/herencia/opportunities/purchasing",
                     params={"discount": "fuel:lots"}, headers=auth(ADMIN))
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "query.discount[0]"


@pytest.mark.database
def test_fishing_value_chain_from_its_template(client: TestClient) -> None:
    templates = client.get("/networks/fishing/value-chain-templates", headers=auth(ADMIN)).json()
    assert [t["id"] for t in templates["templates"]] == ["catch-to-export"]
    result = client.post("/networks/fishing/value-chains", json={"template": "catch-to-export"},
                         headers=auth(ADMIN)).json()
    assert [s["id"] for s in result["stages"]] == ["catch", "processing", "distribution", "export"]
    assigned = [m["member"] for s in result["stages"] for m in s["members"]]
    assert len(assigned) == len(set(assigned))  # one stage per member
    custom = client.post("/networks/fishing/value-chains", headers=auth(ADMIN), json={
        "stages": [{"id": "catch", "requires": ["fishing"]},
                   {"id": "space", "requires": ["warp-drive"]}]})
    assert custom.status_code == 422
    assert custom.json()["errors"][0]["path"] == "stages[1].requires[0]"
    missing = client.post("/networks/fishing/value-chains", json={"template": "nope"},
                          headers=auth(ADMIN))
    assert missing.status_code == 422


@pytest.mark.database
def test_opportunities_are_for_facilitators(client: TestClient, seeded: Database) -> None:
    analyst = issue_token(seeded, "analyst", "herencia", None)[0]
    facilitator = issue_token(seeded, "facilitator", "herencia", None)[0]
    for path in ("/networks/herencia/opportunities/purchasing",
                 "/networks/herencia/opportunities/shared-services",
                 "/networks/herencia/value-chain-templates"):
        assert client.get(path, headers=auth(analyst)).status_code == 403
        assert client.get(path, headers=auth(facilitator)).status_code == 200
    services = client.get("/networks/herencia/opportunities/shared-services",
                          headers=auth(facilitator)).json()["services"]
    payroll = next(s for s in services if s["capability"] == "payroll-management")
    assert payroll["provider"] and not payroll["external"]
    other = issue_token(seeded, "facilitator", "fishing", None)[0]
    assert client.get("/networks/herencia/opportunities/purchasing",
                      headers=auth(other)).status_code == 403


@pytest.mark.database
def test_leaders_metrics_and_cross_training_through_the_api(
    client: TestClient, seeded: Database
) -> None:
    analyst = issue_token(seeded, "analyst", "herencia", None)[0]
    member_token = issue_token(seeded, "member", "herencia", "panaderia-santa-ana")[0]
    top = client.get("/networks/herencia/leaders", params={"limit": 3},
                     headers=auth(analyst)).json()["leaders"]
    assert top[0]["member"] == "carrocerias-martin-romero"
    assert any("Trusted by" in r for r in top[0]["reasons"])
    figures = client.get("/networks/herencia/metrics", headers=auth(analyst)).json()
    assert figures["members"] == 37 and figures["components"] >= 1
    assert 0 <= figures["suggestion_share"] <= 1
    dated = client.get("/networks/herencia/metrics", params={"since": "2015-01-01",
                                                             "until": "2020-12-31"},
                       headers=auth(analyst)).json()
    assert dated["range"]["ties"] <= figures["ties"]
    backwards = client.get("/networks/herencia/metrics", params={"since": "2021-01-01",
                                                                 "until": "2020-01-01"},
                           headers=auth(analyst))
    assert backwards.status_code == 422
    # cross-training names weaknesses: facilitators and admins only
    assert client.get("/networks/herencia/opportunities/cross-training",
                      headers=auth(analyst)).status_code == 403
    for path in ("/networks/herencia/leaders", "/networks/herencia/metrics"):
        assert client.get(path, headers=auth(member_token)).status_code == 403
    training = client.get("/networks/herencia/opportunities/cross-training",
                          params={"capacity": 5}, headers=auth(ADMIN)).json()
    assert training["pairs"] and all(p["mentor"] != p["mentee"] for p in training["pairs"])
    assert max(sum(p["mentor"] == m for p in training["pairs"])
               for m in {p["mentor"] for p in training["pairs"]}) <= 5
