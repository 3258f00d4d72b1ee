"""In real Chromium: the facilitator's long lists in pages (projects, onboarding's members and
invitations, rivalries) whose links keep the search and the page size, the dashboard's "start a
project" buttons that name an opportunity instead of carrying its members, and the member field
of a large network's forms, which offers members as the facilitator types."""

from __future__ import annotations

from typing import Any

import pytest

from api.web import collaboration_pages
from tests.test_browser import (  # noqa: F401 - fixtures, used by name
    Network,
    browser,
    network,
    page,
    server,
    sign_in,
    sync_api,
)

expect = sync_api.expect


def _bearer(network: Network) -> dict[str, str]:
    return {"Authorization": f"Bearer {network.tokens['facilitator']}"}


def _ids(network: Network) -> list[str]:
    return sorted(m["id"] for m in network.document["members"])


def _names(page: Any, selector: str) -> list[str]:
    return page.locator(selector).all_inner_texts()


def test_projects_come_in_pages_that_keep_the_page_size(page: Any, network: Network) -> None:
    ids = _ids(network)
    for i in range(3):
        made = page.request.post(f"/networks/{network.nid}/projects", headers=_bearer(network),
                                 data={"title": f"Paged project {i}", "kind": "pair",
                                       "members": [{"member": ids[i], "role": "partner"},
                                                   {"member": ids[i + 1], "role": "partner"}]})
        assert made.status == 201, made.text()
    total = len(page.request.get(f"/networks/{network.nid}/projects",
                                 headers=_bearer(network)).json()["projects"])
    sign_in(page, network.tokens["facilitator"])
    page.goto(f"/n/{network.nid}/projects?per_page=2")
    first = _names(page, "table.projects tbody td:first-child")
    assert len(first) == 2
    pager = page.get_by_role("navigation", name="Pages of the projects")
    expect(pager).to_contain_text(f"1–2 of {total}")
    pager.get_by_role("link", name="Next page").click()
    assert "per_page=2" in page.url and "page=2" in page.url
    second = _names(page, "table.projects tbody td:first-child")
    assert second and not set(first) & set(second)
    page.get_by_role("navigation", name="Pages of the projects").get_by_role(
        "link", name="Previous page").click()
    assert _names(page, "table.projects tbody td:first-child") == first


def test_onboarding_lists_members_in_pages_that_keep_the_search(page: Any, network: Network
                                                                ) -> None:
    found = page.request.get(f"/networks/{network.nid}/members", params={"q": "taller"},
                             headers=_bearer(network)).json()
    assert found["count"] >= 3
    sign_in(page, network.tokens["facilitator"])
    page.goto(f"/n/{network.nid}/onboarding?per_page=2")
    page.get_by_label("Search").fill("TALLER")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#members").get_by_role("status")).to_contain_text(
        f"{found['count']} members found")
    rows = "#members tbody td:first-child a"
    first = _names(page, rows)
    assert len(first) == 2
    page.get_by_role("navigation", name="Pages of the members").get_by_role(
        "link", name="Next page").click()
    assert "q=TALLER" in page.url and "per_page=2" in page.url and "page=2" in page.url
    second = _names(page, rows)
    assert second and not set(first) & set(second)
    assert set(first + second) <= {m["name"] for m in found["members"]}
    # The invitation form still names any member of the network (a list: a small network).
    expect(page.locator("#inv-member option")).to_have_count(len(network.document["members"]))


def test_rivalries_come_in_pages_and_a_verdict_returns_to_its_page(page: Any,
                                                                   network: Network) -> None:
    ids = _ids(network)
    for a, b in ((ids[0], ids[5]), (ids[1], ids[6]), (ids[2], ids[7])):
        answer = page.request.put(f"/networks/{network.nid}/rivalries/{a}/{b}",
                                  headers=_bearer(network), data={"verdict": "rivals"})
        assert answer.status == 200, answer.text()
    total = page.request.get(f"/networks/{network.nid}/rivalries",
                             headers=_bearer(network)).json()["count"]
    sign_in(page, network.tokens["facilitator"])
    page.goto(f"/n/{network.nid}/rivalries?per_page=1")
    pager = page.get_by_role("navigation", name="Pages of the rival pairs")
    expect(pager).to_contain_text(f"1–1 of {total}")
    first = page.locator("tbody tr").first.get_attribute("id")
    pager.get_by_role("link", name="Next page").click()
    assert "per_page=1" in page.url and "page=2" in page.url
    row = page.locator("tbody tr").first
    second = row.get_attribute("id")
    assert second != first
    row.get_by_role("button", name="Reject").click()
    expect(page.get_by_role("status")).to_contain_text("no longer count as rivals")
    assert "page=2" in page.url
    expect(page.locator(f"#{second}")).to_contain_text("rejected")


def test_a_buying_group_starts_from_its_category_alone(page: Any, network: Network) -> None:
    sign_in(page, network.tokens["facilitator"])
    page.goto(f"/n/{network.nid}/dashboard")
    group = page.locator("details.group").first
    group.locator("summary").click()
    form = group.locator("form.start-project")
    assert form.locator("input[name=spec]").count() == 0  # no member list in the page
    expect(form.locator("input[name=opportunity]")).to_have_value("purchasing")
    category = form.locator("input[name=category]").get_attribute("value")
    form.get_by_role("button").click()
    expect(page.get_by_role("status")).to_contain_text("The project was created")
    pid = page.url.split("/projects/")[1].split("?")[0]
    made = page.request.get(f"/networks/{network.nid}/projects/{pid}",
                            headers=_bearer(network)).json()
    groups = page.request.get(f"/networks/{network.nid}/opportunities/purchasing",
                              headers=_bearer(network)).json()["groups"]
    group_members = next(g["members"] for g in groups if g["category"] == category)
    assert sorted(p["member"] for p in made["members"]) == sorted(group_members)
    assert made["kind"] == "buying_group" and made["source"]["category"] == category


def test_a_large_networks_member_field_offers_members_as_one_types(
        page: Any, network: Network, monkeypatch: pytest.MonkeyPatch) -> None:
    # A network over PICK_FROM_LIST members: the form carries no list of them.
    monkeypatch.setattr(collaboration_pages, "PICK_FROM_LIST", 3)
    members = sorted(network.document["members"], key=lambda m: m["id"])
    sign_in(page, network.tokens["facilitator"])
    page.goto(f"/n/{network.nid}/projects")
    assert page.locator("select#p-member_a").count() == 0
    first = page.get_by_label("First member")
    first.fill("quesería")  # folded: finds "Quesería Vega de Herencia"
    offered = page.request.get(f"/networks/{network.nid}/members", headers=_bearer(network),
                               params={"q": "quesería", "limit": "20"}).json()["members"]
    cheese = next(m for m in members if m["name"].startswith("Quesería"))
    assert cheese["id"] in [m["id"] for m in offered]
    options = page.locator("#p-member_a-list option")
    expect(options).to_have_count(len(offered))
    assert [options.nth(i).get_attribute("value") for i in range(len(offered))] == [
        m["id"] for m in offered]
    first.fill(cheese["id"])
    page.get_by_label("Second member").fill(members[0]["id"])
    page.get_by_label("Title").fill("Cheese and a neighbour")
    page.get_by_role("button", name="Create the project").click()
    expect(page.get_by_role("status")).to_contain_text("The project was created")
    expect(page.locator("main")).to_contain_text(cheese["name"])
