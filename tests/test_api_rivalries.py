"""Facilitators' verdicts on rivalry through the API, on the real database: who may read and
write them, what they change in members' suggestions, and that they last (export, import, a
second process)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from graph.store import export_network, import_network, network_version
from graph.tokens import issue_token
from tests.conftest import ADMIN_SECRET, another_process

pytestmark = pytest.mark.database
ADMIN = {"Authorization": f"Bearer {ADMIN_SECRET}"}


def bakery_network(nid: str) -> dict[str, Any]:
    """A shop and a baker sell bread in the same town (inferred rivals); a mill sells bread in
    another town (no rivalry inferred). The shop needs bread in bulk."""
    c = f"{nid}-"

    def firm(mid, level, region, needs=()):
        return {"id": mid, "name": mid.title(), "sector": "food", "region": region,
                "capabilities": [{"id": c + "bread", "level": level}],
                "weaknesses": [], "needs": [{"id": c + "bread", "kind": "purchase",
                                             "urgency": u} for u in needs]}

    return {"network": {"id": nid, "name": "Bakers"},
            "capabilities": [{"id": c + "bread", "label": "Bread", "kind": "product"}],
            "members": [firm("shop", 4, "Huesca", needs=[5]), firm("baker", 5, "Huesca"),
                        firm("mill", 4, "Teruel")],
            "ties": []}


def _headers(db: Database, role: str, nid: str, member: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(db, role, nid, member)[0]}"}


def _suggested(client: TestClient, nid: str, mid: str, headers=ADMIN) -> list[str]:
    response = client.get(f"/networks/{nid}/members/{mid}/suggestions", headers=headers)
    assert response.status_code == 200, response.text
    return [s["member"] for s in response.json()["suggestions"]]


def _listed(client: TestClient, nid: str, **query: Any) -> dict[str, Any]:
    response = client.get(f"/networks/{nid}/rivalries", headers=ADMIN, params=query)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_verdict_decides_whether_two_members_are_suggested_for_their_core_offer(
        client: TestClient, db: Database, nid: str) -> None:
    import_network(db, bakery_network(nid))
    shop = _headers(db, "member", nid, "shop")
    # The baker, a rival in the shop's core business, is kept out of the shop's own list.
    assert _suggested(client, nid, "shop", shop) == ["mill"]
    [inferred] = _listed(client, nid)["rivalries"]
    assert inferred == {"a": "baker", "b": "shop", "a_name": "Baker", "b_name": "Shop",
                        "inferred": True, "shared_core": [f"{nid}-bread"],
                        "shared_customers": [], "tie": False,
                        "verdict": None, "note": None, "rivals": True}

    # Rejected (pair given either way round): the baker becomes the shop's best bread supplier.
    response = client.put(f"/networks/{nid}/rivalries/shop/baker", headers=ADMIN,
                          json={"verdict": "not_rivals", "note": "wholesale vs retail"})
    assert response.status_code == 200, response.text
    assert response.json()["verdict"] == "rejected" and response.json()["rivals"] is False
    assert _suggested(client, nid, "shop", shop) == ["baker", "mill"]

    # Confirmed between the shop and the mill (never inferred: another town): the mill goes.
    response = client.put(f"/networks/{nid}/rivalries/mill/shop", headers=ADMIN,
                          json={"verdict": "rivals"})
    assert response.status_code == 200, response.text
    assert _suggested(client, nid, "shop", shop) == ["baker"]
    listed = _listed(client, nid)
    assert [(r["a"], r["b"], r["verdict"], r["rivals"], r["note"]) for r in listed["rivalries"]] \
        == [("baker", "shop", "rejected", False, "wholesale vs retail"),
            ("mill", "shop", "confirmed", True, None)]

    # Deleting the rejection returns the pair to inference: rivals again, still listed.
    assert client.delete(f"/networks/{nid}/rivalries/baker/shop",
                         headers=ADMIN).status_code == 204
    assert _suggested(client, nid, "shop", shop) == []
    first = _listed(client, nid)["rivalries"][0]
    assert (first["a"], first["verdict"], first["rivals"]) == ("baker", None, True)


def test_writes_are_idempotent_and_pages_are_stable(client: TestClient, db: Database,
                                                    nid: str) -> None:
    import_network(db, bakery_network(nid))
    for a, b in (("shop", "mill"), ("mill", "shop"), ("shop", "mill")):
        response = client.put(f"/networks/{nid}/rivalries/{a}/{b}", headers=ADMIN,
                              json={"verdict": "rivals"})
        assert response.status_code == 200, response.text
    everything = _listed(client, nid)
    assert everything["count"] == 2  # baker-shop (inferred), mill-shop (confirmed once)
    pages = [_listed(client, nid, offset=k, limit=1) for k in range(3)]
    assert [p["count"] for p in pages] == [2, 2, 2]
    assert [r for p in pages for r in p["rivalries"]] == everything["rivalries"]
    for _ in range(2):  # deleting twice, or a verdict never given, is not an error
        assert client.delete(f"/networks/{nid}/rivalries/mill/shop",
                             headers=ADMIN).status_code == 204
    assert client.delete(f"/networks/{nid}/rivalries/baker/mill", headers=ADMIN).status_code \
        == 204
    assert _listed(client, nid)["count"] == 1


def test_repeating_a_verdict_changes_nothing(client: TestClient, db: Database,
                                            nid: str) -> None:
    """The same verdict and note again (either order of the pair) records no change, keeps the
    network's version and answers the same; another note or verdict is a change; forgetting a
    verdict never given is not one."""
    import_network(db, bakery_network(nid))
    changes = "MATCH (c:Change {network: $nid}) RETURN count(c) AS n"

    def state() -> tuple[int, int, dict[str, Any]]:
        stored = export_network(db, nid).get("rivalries", [])
        return network_version(db, nid), db.query(changes, nid=nid)[0]["n"], stored

    def put(a: str, b: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.put(f"/networks/{nid}/rivalries/{a}/{b}", headers=ADMIN, json=body)
        assert response.status_code == 200, response.text
        return response.json()

    body = {"verdict": "not_rivals", "note": "wholesale vs retail"}
    first = put("shop", "baker", body)
    after_first = state()
    for a, b in (("shop", "baker"), ("baker", "shop")):
        assert put(a, b, body) == first
        assert state() == after_first  # the stored verdict keeps its time too
    put("shop", "baker", {"verdict": "not_rivals", "note": "another reason"})
    version, records, stored = state()
    assert (version, records) == (after_first[0] + 1, after_first[1] + 1)
    assert stored[0]["note"] == "another reason"
    assert client.delete(f"/networks/{nid}/rivalries/mill/shop", headers=ADMIN).status_code \
        == 204
    assert state() == (version, records, stored)
    assert client.delete(f"/networks/{nid}/rivalries/baker/shop", headers=ADMIN).status_code \
        == 204
    assert state()[:2] == (version + 1, records + 1) and state()[2] == []


def test_customer_segments_in_common_make_rivals_live(client: TestClient, db: Database,
                                                      nid: str) -> None:
    """The mill (another town) declares the shop's customer segment through a profile edit: it
    becomes the shop's rival at once (no refit), a facilitator's rejection wins over that, and
    dropping the segment ends the inference."""
    document = bakery_network(nid)
    shop = next(m for m in document["members"] if m["id"] == "shop")
    shop["customers"] = ["cafes", "schools"]
    import_network(db, document)
    member = _headers(db, "member", nid, "shop")
    assert _suggested(client, nid, "shop", member) == ["mill"]
    mill = client.get(f"/networks/{nid}/members/mill", headers=ADMIN).json()
    mill["customers"] = ["Schools"]
    response = client.put(f"/networks/{nid}/members/mill", headers=ADMIN, json=mill)
    assert response.status_code == 200 and response.json()["customers"] == ["schools"]
    assert _suggested(client, nid, "shop", member) == []
    pair = next(r for r in _listed(client, nid)["rivalries"] if r["a"] == "mill")
    assert (pair["b"], pair["inferred"], pair["shared_customers"], pair["rivals"]) == \
        ("shop", True, ["schools"], True)
    client.put(f"/networks/{nid}/rivalries/mill/shop", headers=ADMIN,
               json={"verdict": "not_rivals"}).raise_for_status()
    assert _suggested(client, nid, "shop", member) == ["mill"]
    client.delete(f"/networks/{nid}/rivalries/mill/shop", headers=ADMIN).raise_for_status()
    del mill["customers"]
    client.put(f"/networks/{nid}/members/mill", headers=ADMIN, json=mill).raise_for_status()
    assert _suggested(client, nid, "shop", member) == ["mill"]
    assert [r["a"] for r in _listed(client, nid)["rivalries"]] == ["baker"]


def test_bad_pairs_and_verdicts_get_a_clear_4xx(client: TestClient, db: Database,
                                                nid: str) -> None:
    import_network(db, bakery_network(nid))
    url = f"/networks/{nid}/rivalries"
    same = client.put(f"{url}/shop/shop", headers=ADMIN, json={"verdict": "rivals"})
    assert same.status_code == 422 and same.json()["errors"][0]["path"] == "path.b"
    assert client.delete(f"{url}/shop/shop", headers=ADMIN).status_code == 422
    unknown = client.put(f"{url}/shop/nobody", headers=ADMIN, json={"verdict": "rivals"})
    assert unknown.status_code == 404 and "nobody" in unknown.text
    for path in ("shop/%C3%97%03%10", "%20x/shop"):  # no member can have such an id (fuzzing)
        assert client.put(f"{url}/{path}", headers=ADMIN,
                          json={"verdict": "not_rivals"}).status_code == 404
        assert client.delete(f"{url}/{path}", headers=ADMIN).status_code == 404
    bad = client.put(f"{url}/shop/mill", headers=ADMIN, json={"verdict": "maybe"})
    assert bad.status_code == 422 and "verdict" in bad.text
    extra = client.put(f"{url}/shop/mill", headers=ADMIN, json={"verdict": "rivals", "x": 1})
    assert extra.status_code == 422
    assert client.get(f"{url}?limit=0", headers=ADMIN).status_code == 422
    assert client.get(f"/networks/{nid}-none/rivalries", headers=ADMIN).status_code == 404
    assert _listed(client, nid)["count"] == 1  # nothing half-written


def test_only_facilitators_and_admins_read_or_write_verdicts(client: TestClient, db: Database,
                                                             nid: str) -> None:
    import_network(db, bakery_network(nid))
    url = f"/networks/{nid}/rivalries"
    allowed = {"facilitator": _headers(db, "facilitator", nid), "admin": ADMIN}
    refused = {"member": _headers(db, "member", nid, "shop"),
               "analyst": _headers(db, "analyst", nid),
               "other network's facilitator": _headers(db, "facilitator", nid + "-other")}
    for who, headers in refused.items():
        assert client.get(url, headers=headers).status_code == 403, who
        assert client.put(f"{url}/shop/mill", headers=headers,
                          json={"verdict": "rivals"}).status_code == 403, who
        assert client.delete(f"{url}/shop/baker", headers=headers).status_code == 403, who
    assert client.get(url).status_code == 401
    assert _listed(client, nid)["rivalries"][0]["verdict"] is None  # nothing written
    for who, headers in allowed.items():
        assert client.get(url, headers=headers).status_code == 200, who
        assert client.put(f"{url}/shop/mill", headers=headers,
                          json={"verdict": "rivals"}).status_code == 200, who


def test_verdicts_survive_export_and_import_and_analysts_do_not_get_them(
        client: TestClient, db: Database, nid: str) -> None:
    import_network(db, bakery_network(nid))
    client.put(f"/networks/{nid}/rivalries/shop/baker", headers=ADMIN,
               json={"verdict": "not_rivals", "note": "different customers"}).raise_for_status()
    client.put(f"/networks/{nid}/rivalries/shop/mill", headers=ADMIN,
               json={"verdict": "rivals"}).raise_for_status()
    document = export_network(db, nid)
    assert [(r["a"], r["b"], r["verdict"], r.get("note")) for r in document["rivalries"]] == [
        ("baker", "shop", "not_rivals", "different customers"), ("mill", "shop", "rivals", None)]
    analyst = client.get(f"/networks/{nid}/export", headers=_headers(db, "analyst", nid))
    assert analyst.status_code == 200 and "rivalries" not in analyst.json()

    # The network deleted and loaded again from its export: the verdicts are back.
    assert client.delete(f"/networks/{nid}", headers=ADMIN).status_code == 204
    import_network(db, document)
    assert export_network(db, nid)["rivalries"] == document["rivalries"]
    assert _suggested(client, nid, "shop") == ["baker"]
    # Importing again without them replaces them: the network is what the document says.
    document["rivalries"] = []
    import_network(db, document)
    assert _listed(client, nid)["rivalries"][0]["verdict"] is None
    assert _suggested(client, nid, "shop") == ["mill"]


def test_bad_verdicts_in_a_document_are_reported_with_their_paths(
        client: TestClient, nid: str) -> None:
    document = bakery_network(nid)
    document["rivalries"] = [{"a": "shop", "b": "shop", "verdict": "rivals"},
                             {"a": "shop", "b": "ghost", "verdict": "rivals"},
                             {"a": "mill", "b": "shop", "verdict": "perhaps"},
                             {"a": "baker", "b": "shop", "verdict": "rivals"},
                             {"a": "shop", "b": "baker", "verdict": "not_rivals"}]
    client.put(f"/networks/{nid}", headers=ADMIN, json={"name": "Bakers"}).raise_for_status()
    response = client.post(f"/networks/{nid}/import", headers=ADMIN, json=document)
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"rivalries[0]", "rivalries[1].b", "rivalries[2].verdict", "rivalries[4]"} <= paths


def test_a_second_process_applies_a_verdict_from_the_change_log(db: Database, nid: str) -> None:
    settings = ApiSettings(admin_token=ADMIN_SECRET, warm_start=False, first_fit_wait=120)
    import_network(db, bakery_network(nid))
    with TestClient(create_app(settings, database=db)) as first, \
            TestClient(create_app(settings, database=another_process(db))) as second:
        assert _suggested(second, nid, "shop") == ["mill"]  # fitted before the verdict
        with second.app.state.matchers.reading(db, nid) as fitted:
            pass
        first.put(f"/networks/{nid}/rivalries/baker/shop", headers=ADMIN,
                  json={"verdict": "not_rivals"}).raise_for_status()
        assert _suggested(second, nid, "shop") == ["baker", "mill"]
        # applied in place, not refitted: the same matcher object answered
        with second.app.state.matchers.reading(db, nid) as now:
            assert now is fitted
