"""End to end: a real headless Chromium drives the web interface of a served instance.

Needs Debian's chromium (``apt-get install -y chromium``) and the playwright package (the
``test`` extra); it never downloads a browser. Screenshots of each page go to
``tests/screenshots/`` (ignored by git).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.app import create_app
from api.settings import ApiSettings
from graph import queries
from graph.database import Database
from graph.members import get_member
from graph.store import import_network, read_taxonomy
from graph.tokens import issue_token
from seed_data import SEED_DIR

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = os.environ.get("PARTNERMATCH_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)",
                allow_module_level=True)

pytestmark = pytest.mark.database
SHOTS = Path(__file__).parent / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SECRET_LABEL = "Quorum secret weakness"
MEMBER = "panaderia-santa-ana"


class Network:
    """A copy of the herencia seed network under a fresh id, with one more weakness that no
    member has as a capability or need, held by every member but MEMBER."""

    def __init__(self, db: Database):
        document: dict[str, Any] = json.loads((SEED_DIR / "herencia.json").read_text("utf-8"))
        self.nid = f"ui-{uuid.uuid4().hex[:10]}"
        document["network"]["id"] = self.nid
        secret = f"{self.nid}-secret"
        document.setdefault("capabilities", []).append(
            {"id": secret, "label": SECRET_LABEL, "kind": "knowhow"})
        for member in document["members"]:
            if member["id"] != MEMBER:
                member.setdefault("weaknesses", []).append({"id": secret, "severity": 1})
        import_network(db, document)
        self.document = document
        self.tokens = {role: issue_token(db, role, self.nid, MEMBER if role == "member" else None)[0]
                       for role in ("member", "facilitator", "analyst")}

    def hidden_labels(self, db: Database) -> set[str]:
        """Labels of other members' weaknesses that MEMBER may never see anywhere."""
        label = {c["id"]: c["label"] for c in read_taxonomy(db, self.nid)}
        members = self.document["members"]
        me = next(m for m in members if m["id"] == MEMBER)
        public = {label[e["id"]] for m in members for k in ("capabilities", "needs")
                  for e in m.get(k, [])}
        mine = {label[w["id"]] for w in me.get("weaknesses", [])}
        others = {label[w["id"]] for m in members if m["id"] != MEMBER for w in m["weaknesses"]}
        return others - public - mine


@pytest.fixture(scope="module")
def network(seeded: Database) -> Network:
    return Network(seeded)


@pytest.fixture(scope="module")
def server(seeded: Database) -> Iterator[str]:
    """The app served by uvicorn in a background thread on a free loopback port."""
    app = create_app(ApiSettings(admin_token=None, max_body_bytes=1024 * 1024), database=seeded)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def shot(page: Any, name: str, full_page: bool = False) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Any, token: str) -> None:
    page.goto("/")
    sync_api.expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_a_bad_token_is_refused(page: Any) -> None:
    sign_in(page, "pm_not-a-real-token")
    sync_api.expect(page.get_by_role("alert")).to_contain_text("not valid")
    shot(page, "signin-error")


def test_member_sees_suggestions_and_accepts_one(page: Any, network: Network,
                                                 seeded: Database) -> None:
    sign_in(page, network.tokens["member"])
    assert page.url.endswith(f"/n/{network.nid}/home/{MEMBER}")
    sync_api.expect(page.locator(".who")).to_contain_text("member")
    cards = page.locator("li.suggestion")
    sync_api.expect(cards.first).to_be_visible()
    assert cards.count() >= 3
    first = cards.first
    candidate = first.get_attribute("data-candidate")
    assert re.search(r"(strong|good|possible) fit", first.inner_text())  # words, not decimals
    shot(page, "member-home")
    first.get_by_role("button", name="Accept").click()
    sync_api.expect(first.locator(".decided")).to_have_text("Accepted")
    decisions = seeded.query(queries.FEEDBACK, nid=network.nid)
    assert {"member": MEMBER, "candidate": candidate, "decision": "accepted"} in [
        {k: d[k] for k in ("member", "candidate", "decision")} for d in decisions]
    profile = page.locator("#profile").inner_text()
    assert "Weaknesses" in profile and "Confidential" in profile  # its own, marked


def test_member_edits_its_profile_and_sees_errors_next_to_fields(page: Any,
                                                                network: Network) -> None:
    sign_in(page, network.tokens["member"])
    page.get_by_text("Edit my profile").click()
    level = page.locator("#capabilities-0-level")
    level.fill("9")
    page.get_by_role("button", name="Save profile").click()
    sync_api.expect(page.locator("#err-capabilities-0-level")).to_be_visible()
    sync_api.expect(level).to_have_attribute("aria-invalid", "true")
    level.scroll_into_view_if_needed()
    shot(page, "member-profile-errors")
    level.fill("4")
    page.get_by_label("Description").fill("Bakery on the main square, open since 1952.")
    page.get_by_role("button", name="Save profile").click()
    sync_api.expect(page.get_by_role("status").first).to_contain_text("Your profile was saved")
    assert "open since 1952" in page.inner_text("#profile")


def test_member_never_sees_another_members_weaknesses(page: Any, network: Network,
                                                      seeded: Database) -> None:
    hidden = network.hidden_labels(seeded)
    assert SECRET_LABEL in hidden
    sign_in(page, network.tokens["member"])
    other = next(m for m in network.document["members"] if m["id"] != MEMBER)
    paths = [f"/n/{network.nid}/home/{MEMBER}", f"/n/{network.nid}/members",
             f"/n/{network.nid}/members?sector={other['sector']}",
             f"/n/{network.nid}/members/{other['id']}"]
    for path in paths:
        page.goto(path)
        text = page.inner_text("body")
        assert not [label for label in hidden if label in text], path
    page.goto(f"/n/{network.nid}/members")
    page.get_by_label("Sector").select_option(other["sector"])
    page.get_by_role("button", name="Filter").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("found")
    shot(page, "browse-members")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing sticks out
    for path in (f"/n/{network.nid}/members", f"/n/{network.nid}/home/{MEMBER}"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    shot(page, "member-home-phone")
    page.goto(f"/n/{network.nid}/dashboard")
    sync_api.expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_facilitator_opens_the_dashboard_and_a_buying_group(page: Any, network: Network) -> None:
    sign_in(page, network.tokens["facilitator"])
    assert page.url.endswith(f"/n/{network.nid}/dashboard")
    sync_api.expect(page.get_by_role("heading", name="Network health")).to_be_visible()
    shot(page, "dashboard")
    page.locator("#pic-h").evaluate("heading => heading.scrollIntoView()")
    shot(page, "dashboard-picture")
    group = page.locator("details.group").first
    group.locator("summary").click()
    table = group.get_by_role("table")
    sync_api.expect(table).to_be_visible()
    assert table.locator("tbody tr").count() >= 2
    assert "EUR" in group.inner_text()
    group.scroll_into_view_if_needed()
    shot(page, "dashboard-buying-group")
    # A member of the list (the picture's own test: tests/test_browser_network.py) opens its
    # suggestions.
    page.locator("#members-h + ul").get_by_role("link").first.click()
    page.wait_for_url(f"**/n/{network.nid}/home/*#suggestions")
    sync_api.expect(page.get_by_role("heading", name="Recommended collaborators")).to_be_visible()


def test_analyst_downloads_a_gexf(page: Any, network: Network) -> None:
    sign_in(page, network.tokens["analyst"])
    assert page.url.endswith(f"/n/{network.nid}/exports")
    shot(page, "exports")
    with page.expect_download() as download:
        page.get_by_role("link", name="GEXF (Gephi)").click()
    assert download.value.suggested_filename == f"{network.nid}.gexf"
    content = Path(download.value.path()).read_bytes()
    root = ET.fromstring(content)
    assert root.tag.endswith("gexf")
    assert SECRET_LABEL.encode() not in content
    page.wait_for_selector("#network-view[data-state=drawn]")


@pytest.fixture
def attacker_site() -> Iterator[tuple[str, dict[str, bytes]]]:
    """Another port of the same host (same-site for cookies): serves whatever page is put in."""
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            body = pages.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{site.server_address[1]}", pages
    site.shutdown()


def test_a_page_on_another_port_cannot_post_a_signed_in_members_profile(
        page: Any, network: Network, seeded: Database, server: str,
        attacker_site: tuple[str, dict[str, bytes]]) -> None:
    """The attack of issue 10: a same-site page (no-referrer, so ``Origin: null``) auto-posts
    a form to the member's profile while the member is signed in."""
    sign_in(page, network.tokens["member"])
    before = get_member(seeded, network.nid, MEMBER)
    base, pages = attacker_site
    pages["/"] = f"""<!doctype html><meta name="referrer" content="no-referrer">
<form id="f" method="post" action="{server}/n/{network.nid}/home/{MEMBER}">
<input name="name" value="Owned"><input name="contact" value="attacker@example.com">
<input name="csrf" value="guess"></form>
<script>document.getElementById("f").submit()</script>""".encode()
    page.goto(base + "/")
    page.wait_for_url(f"{server}/**")
    sync_api.expect(page.locator("body")).to_contain_text("another site")
    assert get_member(seeded, network.nid, MEMBER) == before
    page.goto(f"/n/{network.nid}/home/{MEMBER}")  # still signed in, nothing changed
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(before["name"])
