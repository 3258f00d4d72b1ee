"""The member list one page at a time (``GET /networks/{nid}/members?limit=&offset=``), found on
the live matcher's projection: the same members, in the same order, with the same count as the
whole list read from the database, for every filter and search; a write shows in the next page
read; and the web pages' member field suggestions (``/n/{nid}/members.json``)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from seed_data import SEED_DIR

pytestmark = pytest.mark.database
MEMBER = "panaderia-santa-ana"


@pytest.fixture(scope="module")
def herencia(client: TestClient, seeded: Database) -> dict[str, Any]:
    """A copy of the herencia seed network (Spanish names and labels) and two readers."""
    document = json.loads((SEED_DIR / "herencia.json").read_text("utf-8"))
    nid = f"paged-{uuid.uuid4().hex[:10]}"
    document["network"]["id"] = nid
    import_network(seeded, document)
    tokens = {"facilitator": issue_token(seeded, "facilitator", nid, None)[0],
              "member": issue_token(seeded, "member", nid, MEMBER)[0]}
    return {"nid": nid, "document": document,
            "headers": {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()},
            "tokens": tokens}


def _list(client: TestClient, net: dict[str, Any], role: str, **query: Any) -> dict[str, Any]:
    answer = client.get(f"/networks/{net['nid']}/members", params=query,
                        headers=net["headers"][role])
    assert answer.status_code == 200, answer.text
    return answer.json()


FILTERS = [{}, {"q": "taller"}, {"q": "CARROCERIAS"}, {"q": "panaderia"}, {"sector": "food"},
           {"region": "Herencia, Ciudad Real (Castilla-La Mancha)"}, {"q": "xyz-nothing"}]


@pytest.mark.parametrize("role", ["member", "facilitator"])
@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: ",".join(f"{k}={v}" for k, v in
                                                                   f.items()) or "none")
def test_pages_put_together_are_the_whole_list(client: TestClient, herencia: dict[str, Any],
                                               role: str, filters: dict[str, str]) -> None:
    whole = _list(client, herencia, role, **filters)
    pages, offset = [], 0
    while True:
        page = _list(client, herencia, role, **filters, limit=4, offset=offset)
        assert page["count"] == whole["count"]
        if not page["members"]:
            break
        assert len(page["members"]) <= 4
        pages += page["members"]
        offset += 4
    assert pages == whole["members"]
    assert [m["id"] for m in pages] == sorted(m["id"] for m in pages)


def test_a_capability_filter_includes_narrower_ones_in_pages_too(
        client: TestClient, herencia: dict[str, Any]) -> None:
    held = {c["id"] for m in herencia["document"]["members"] for c in m.get("capabilities", [])}
    for capability in sorted(held)[:5]:
        whole = _list(client, herencia, "member", capability=capability)
        paged = _list(client, herencia, "member", capability=capability, limit=1000)
        assert paged == whole and whole["count"] >= 1


def test_a_spanish_label_finds_the_members_offering_or_needing_it(
        client: TestClient, herencia: dict[str, Any]) -> None:
    whole = _list(client, herencia, "member", q="papel")  # Paper's Spanish label
    paged = _list(client, herencia, "member", q="PAPEL", limit=2)
    assert paged["count"] == whole["count"] and paged["members"] == whole["members"][:2]
    needing = {m["id"] for m in herencia["document"]["members"] if any(
        e["id"] == "paper" for k in ("capabilities", "needs") for e in m.get(k, []))}
    assert len(needing) > 2 and needing <= {m["id"] for m in whole["members"]}


def test_an_edit_shows_in_the_next_page_read(client: TestClient, herencia: dict[str, Any]
                                             ) -> None:
    nid = herencia["nid"]
    member = next(m for m in herencia["document"]["members"] if m["id"] == MEMBER)
    assert _list(client, herencia, "member", q="Horno Ñandú", limit=5)["count"] == 0
    changed = {**member, "name": "Horno Ñandú Santa Ana"}
    answer = client.put(f"/networks/{nid}/members/{MEMBER}", json=changed,
                        headers=herencia["headers"]["facilitator"])
    assert answer.status_code == 200, answer.text
    found = _list(client, herencia, "member", q="horno nandu", limit=5)
    assert [m["id"] for m in found["members"]] == [MEMBER] and found["count"] == 1
    assert _list(client, herencia, "member", q=member["name"], limit=5)["count"] == 0
    client.put(f"/networks/{nid}/members/{MEMBER}", json=member,
               headers=herencia["headers"]["facilitator"])
    gone = "queseria-vega-de-herencia"  # a member holding no token: its removal revokes them
    answer = client.delete(f"/networks/{nid}/members/{gone}",
                           headers=herencia["headers"]["facilitator"])
    assert answer.status_code == 204
    after = _list(client, herencia, "facilitator", limit=1000)
    assert gone not in [m["id"] for m in after["members"]]
    assert after["count"] == len(herencia["document"]["members"]) - 1
    assert _list(client, herencia, "member", q="queseria", limit=5)["count"] == 0
    back = next(m for m in herencia["document"]["members"] if m["id"] == gone)
    client.put(f"/networks/{nid}/members/{gone}", json=back,
               headers=herencia["headers"]["facilitator"])


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 1001}, {"limit": "x"},
                                   {"limit": 5, "offset": -1}])
def test_a_bad_page_is_refused_with_what_is_wrong(client: TestClient, herencia: dict[str, Any],
                                                  query: dict[str, Any]) -> None:
    answer = client.get(f"/networks/{herencia['nid']}/members", params=query,
                        headers=herencia["headers"]["member"])
    assert answer.status_code == 422
    assert any(p in answer.text for p in ("limit", "offset"))


def test_the_member_field_suggestions_are_ids_and_names(client: TestClient,
                                                        herencia: dict[str, Any]) -> None:
    browser = TestClient(client.app, raise_server_exceptions=False, follow_redirects=False)
    form = browser.get("/signin").text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    signed = browser.post("/signin", data={**hidden, "token": herencia["tokens"]["member"]})
    assert signed.status_code == 303
    answer = browser.get(f"/n/{herencia['nid']}/members.json", params={"q": "taller",
                                                                      "limit": 3})
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    found = answer.json()
    whole = _list(client, herencia, "member", q="taller")
    assert found["count"] == whole["count"]
    assert found["members"] == [{"id": m["id"], "name": m["name"]}
                                for m in whole["members"][:3]]
    assert browser.get(f"/n/{herencia['nid']}/members.json",
                       params={"limit": 500}).status_code == 422
