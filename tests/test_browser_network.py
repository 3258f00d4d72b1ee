"""In real Chromium: the member list in pages, the interactive network picture (the vendored
Cytoscape.js), and a PNG picture drawn in the background up to its download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.test_browser import (  # noqa: F401 - fixtures, used by name
    MEMBER,
    Network,
    browser,
    network,
    page,
    server,
    shot,
    sign_in,
    sync_api,
)

DRAWN = "#network-view[data-state=drawn]"


def _nodes(page: Any) -> list[str]:
    return page.evaluate("window.partnermatchNetwork().nodes().map((n) => n.id())")


def test_the_member_list_comes_in_pages_that_keep_the_search(page: Any, network: Network
                                                             ) -> None:
    sign_in(page, network.tokens["member"])
    page.goto(f"/n/{network.nid}/members?per_page=5")
    page.get_by_label("Sector").select_option("automotive")
    page.get_by_role("button", name="Filter").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("7 members found")
    first = page.locator("li.card h2").all_inner_texts()
    assert len(first) == 5
    page.get_by_role("link", name="Next page").click()
    assert "sector=automotive" in page.url and "page=2" in page.url
    second = page.locator("li.card h2").all_inner_texts()
    assert len(second) == 2 and not set(first) & set(second)
    sync_api.expect(page.get_by_role("navigation", name="Pages of the member list")
                    ).to_contain_text("6–7 of 7")
    page.get_by_role("link", name="Previous page").click()
    assert page.locator("li.card h2").all_inner_texts() == first


def test_the_network_picture_draws_searches_and_opens_a_members_card(
        page: Any, network: Network, server: str) -> None:
    outside: list[str] = []
    page.context.route("**/*", lambda route: (
        route.continue_() if route.request.url.startswith(server)
        else (outside.append(route.request.url), route.abort())))
    scripts: dict[str, int] = {}
    page.on("response", lambda r: scripts.__setitem__(r.url, r.status)
            if r.url.endswith(".js") else None)
    sign_in(page, network.tokens["facilitator"])
    page.wait_for_selector(DRAWN)
    assert scripts.get(f"{server}/static/vendor/cytoscape/cytoscape.min.js") == 200
    assert not outside
    everyone = _nodes(page)
    assert len(everyone) == len(network.document["members"])
    shot(page, "network-picture")
    name = next(m["name"] for m in network.document["members"] if m["id"] == MEMBER)
    page.get_by_label("Name").fill(name.split()[0].lower())
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector(DRAWN)
    found = _nodes(page)
    assert MEMBER in found and 0 < len(found) < len(everyone)
    # Click the member in the picture: its card links to its suggestions.
    x, y = page.evaluate(f"""(() => {{
        const node = window.partnermatchNetwork().getElementById({MEMBER!r});
        const box = document.querySelector(".graph-canvas").getBoundingClientRect();
        const at = node.renderedPosition();
        return [box.left + at.x, box.top + at.y];
    }})()""")
    page.mouse.click(x, y)
    card = page.locator(".graph-card")
    sync_api.expect(card).to_be_visible()
    sync_api.expect(card).to_contain_text(name)
    card.get_by_role("link", name="Open").click()
    page.wait_for_url(f"**/n/{network.nid}/home/{MEMBER}#suggestions")
    page.goto(f"/n/{network.nid}/dashboard")
    page.wait_for_selector(DRAWN)
    sector = next(m["sector"] for m in network.document["members"] if m["id"] == MEMBER)
    page.locator("#graph-sector").select_option(sector)
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector(DRAWN)
    in_sector = {m["id"] for m in network.document["members"] if m["sector"] == sector}
    assert set(_nodes(page)) == in_sector


def test_an_analyst_draws_a_png_in_the_background_and_downloads_it(page: Any,
                                                                   network: Network) -> None:
    sign_in(page, network.tokens["analyst"])
    page.get_by_role("link", name="PNG picture").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("not been started")
    page.get_by_role("button", name="Draw the PNG picture").click()
    link = page.get_by_role("link", name="Download the PNG picture")
    link.wait_for(timeout=120_000)  # the page reloads itself until the picture is ready
    shot(page, "export-job-done")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"{network.nid}.png"
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
