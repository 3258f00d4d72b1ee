"""A facilitator confirms and rejects rivalries in a real Chromium, and the member's suggestions
follow. Same set-up as ``tests/test_browser.py`` (its fixtures: a served instance, Debian's
chromium)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from graph.database import Database
from graph.store import export_network, import_network
from graph.tokens import issue_token
from tests.test_api_rivalries import bakery_network
from tests.test_browser import browser, server, shot, sign_in, sync_api  # noqa: F401

pytestmark = pytest.mark.database
TIMEOUT_MS = 30_000  # generous: a loaded 2-core CI machine renders a page in seconds


@pytest.fixture
def bakers(seeded: Database) -> tuple[str, dict[str, str]]:
    nid = f"rv-{uuid.uuid4().hex[:10]}"
    import_network(seeded, bakery_network(nid))
    return nid, {"facilitator": issue_token(seeded, "facilitator", nid, None)[0],
                 "shop": issue_token(seeded, "member", nid, "shop")[0]}


@pytest.fixture
def desk(browser: Any, server: str) -> Iterator[Any]:  # noqa: F811
    """``desk(token)``: a browser context of its own, signed in with ``token``."""
    contexts = []

    def signed_in(token: str) -> Any:
        context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, token)
        return page

    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    yield signed_in
    for context in contexts:
        context.close()


def _suggestions(page: Any, nid: str) -> str:
    page.goto(f"/n/{nid}/home/shop")
    return page.locator("#suggestions").inner_text()


def test_a_facilitator_rejects_and_confirms_rivalries_and_suggestions_follow(
        desk: Any, bakers: tuple[str, dict[str, str]], seeded: Database) -> None:
    nid, tokens = bakers
    expect = sync_api.expect
    shop = desk(tokens["shop"])
    assert "Baker" not in _suggestions(shop, nid)  # an inferred rival in its core business
    shop.goto(f"/n/{nid}/rivalries")  # members never see the list
    expect(shop.get_by_role("heading", name="Not allowed")).to_be_visible()

    page = desk(tokens["facilitator"])
    page.goto(f"/n/{nid}/dashboard")
    page.get_by_role("link", name="Rivalries").click()
    row = page.locator(f"#pair-baker-shop")
    expect(row).to_contain_text("Same sector and region; both sell: Bread")
    expect(row).to_contain_text("none yet")
    row.get_by_label("Note (optional)").fill("The baker sells wholesale only")
    row.get_by_role("button", name="Reject: Baker and Shop are not rivals").click()
    expect(page.get_by_role("status")).to_contain_text("no longer count as rivals")
    expect(row).to_contain_text("rejected")
    expect(row).to_contain_text("The baker sells wholesale only")
    shot(page, "rivalries")
    assert "Baker" in _suggestions(shop, nid)

    # The mill, in another town, is no inferred rival: the facilitator confirms one anyway.
    form = page.locator("section", has=page.get_by_role("heading",
                                                          name="Two members the engine does "
                                                               "not see as rivals"))
    form.get_by_label("One member").select_option("mill")
    form.get_by_label("The other member").select_option("shop")
    form.get_by_role("button", name="Confirm they are rivals").click()
    expect(page.get_by_role("status")).to_contain_text("now count as rivals")
    expect(page.locator("#pair-mill-shop")).to_contain_text("Not inferred: only your verdict.")
    assert "Mill" not in _suggestions(shop, nid)

    # Withdrawn: the baker is an inferred rival again.
    page.locator("#pair-baker-shop").get_by_role(
        "button", name="Withdraw the verdict on Baker and Shop").click()
    expect(page.get_by_role("status")).to_contain_text("infers rivalry for the pair again")
    expect(page.locator("#pair-baker-shop")).to_contain_text("none yet")
    assert "Baker" not in _suggestions(shop, nid)
    assert [(r["a"], r["b"], r["verdict"]) for r in export_network(seeded, nid)["rivalries"]] \
        == [("mill", "shop", "rivals")]


    # One member's pairs, found among the others; a verdict keeps the list on them.
    page.goto(f"/n/{nid}/rivalries")
    page.get_by_label("Only the pairs of").select_option("baker")
    page.get_by_role("button", name="Show", exact=True).click()
    expect(page.locator("#pair-count")).to_have_text("1 pair with Baker.")
    expect(page.locator("#pair-mill-shop")).to_have_count(0)
    page.locator("#pair-baker-shop").get_by_role(
        "button", name="Reject: Baker and Shop are not rivals").click()
    expect(page.get_by_role("status")).to_contain_text("no longer count as rivals")
    assert "member=baker" in page.url
    expect(page.locator("#pair-mill-shop")).to_have_count(0)


def test_the_rivalries_page_fits_a_phone(browser: Any, server: str, seeded: Database  # noqa: F811
                                         ) -> None:
    """On the seed network's 25 pairs at 390 px, each row's buttons stay on the screen (side
    by side, the columns pushed them 185 px past it) and still say what they do."""
    context = browser.new_context(base_url=server, viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, issue_token(seeded, "facilitator", "herencia", None)[0])
        page.goto("/n/herencia/rivalries")
        sync_api.expect(page.get_by_role("heading", name="Rival pairs")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        button = page.get_by_role("button", name="Confirm:").first
        box = button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
        shot(page, "rivalries-phone")
    finally:
        context.close()
