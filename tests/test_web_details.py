"""Details of the web interface (issue 13): HEAD, error pages for people, /docs offline, the
favicon, links per role, export file names, accessible names and heading order; and, in a real
Chromium, the language switch, Accept-Language and search in Spanish."""

from __future__ import annotations

import itertools
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from graph.tokens import issue_token

pytestmark = pytest.mark.database
ADMIN = "pm_details-admin-" + uuid.uuid4().hex
NID = "herencia"
MEMBER = "panaderia-santa-ana"
HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture(scope="module")
def app(seeded: Database) -> FastAPI:
    return create_app(ApiSettings(admin_token=ADMIN, max_body_bytes=2 * 1024 * 1024),
                      database=seeded)


def _browser(app: FastAPI, token: str | None) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    if token:
        form = client.get("/signin").text
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
        assert client.post("/signin", data={**hidden, "token": token}).status_code == 303
    return client


@pytest.fixture(scope="module")
def tokens(seeded: Database) -> dict[str, str]:
    return {"admin": ADMIN, "member": issue_token(seeded, "member", NID, MEMBER)[0],
            "facilitator": issue_token(seeded, "facilitator", NID, None)[0],
            "analyst": issue_token(seeded, "analyst", NID, None)[0]}


@pytest.fixture(scope="module")
def browsers(app: FastAPI, tokens: dict[str, str]) -> dict[str, TestClient]:
    return {role: _browser(app, token) for role, token in tokens.items()}


def _csrf(client: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]*)"', client.get("/signin").text).group(1)


# -- HEAD ------------------------------------------------------------------------------------
def test_head_answers_like_get_without_a_body(browsers: dict[str, TestClient]) -> None:
    member = browsers["member"]
    for url in ("/health", "/signin", f"/n/{NID}/members", f"/n/{NID}/home/{MEMBER}",
                "/static/style.css", "/favicon.ico", "/docs", "/openapi.json"):
        got, head = member.get(url), member.head(url)
        assert head.status_code == got.status_code == 200, url
        assert head.content == b"", url
        assert head.headers["content-type"] == got.headers["content-type"], url
    assert member.head(f"/n/{NID}/dashboard").status_code == 403  # the same refusal as GET


# -- error pages ------------------------------------------------------------------------------
def test_browsers_get_error_pages_and_programs_get_json(app: FastAPI,
                                                        browsers: dict[str, TestClient]) -> None:
    anonymous = _browser(app, None)
    page = anonymous.get("/no/such/page", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address" in page.text and "<!doctype html>" in page.text
    assert anonymous.get("/no/such/page").json() == {"detail": "Not Found"}  # Accept: */*
    api = anonymous.get(f"/networks/{NID}", headers=HTML)  # the API stays JSON
    assert api.status_code == 401 and api.headers["content-type"] == "application/json"
    spanish = anonymous.get("/no/such/page", headers={**HTML, "Accept-Language": "es"})
    assert "No hay ninguna página en esta dirección" in spanish.text
    wrong = browsers["member"].get(f"/n/{NID}/home/{MEMBER}/feedback", headers=HTML)
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]
    assert "send the form again" in wrong.text and wrong.text.startswith("<!doctype html>")


def test_a_form_too_large_gets_a_page_that_says_what_to_do(browsers: dict[str, TestClient]
                                                           ) -> None:
    member = browsers["member"]
    for size in (300 * 1024, 1100 * 1024):  # over the form cap; over the gate's cap too
        refused = member.post(f"/n/{NID}/home/{MEMBER}", headers=HTML, data={
            "csrf": _csrf(member), "name": "Panadería", "description": "x" * size})
        assert refused.status_code == 413, size
        assert refused.headers["content-type"].startswith("text/html")
        assert "shorten the longest text" in refused.text
    home = member.get(f"/n/{NID}/home/{MEMBER}").text
    assert 'maxlength="5000"' in home  # the browser keeps the text short in the first place


def test_a_form_sent_after_the_session_expired_returns_to_its_page(app: FastAPI) -> None:
    stale = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    stale.cookies.set("pm_session", "expired-session-id")
    sent = stale.post(f"/n/{NID}/home/{MEMBER}/feedback", data={"decision": "accepted"},
                      headers={"Referer": f"http://testserver/n/{NID}/home/{MEMBER}?x=1"})
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/signin?next=/n/{NID}/home/{MEMBER}%3Fx%3D1"
    foreign = stale.post(f"/n/{NID}/home/{MEMBER}/feedback", data={},
                         headers={"Referer": "http://elsewhere.example/n/x"})
    assert foreign.headers["location"] == "/signin"


# -- links, names, files ---------------------------------------------------------------------
def _links(html: str) -> set[str]:
    main = html.split('<main id="main"', 1)[1]
    return set(re.findall(r'<a href="(/n/[^"#]*)', main))


def test_the_network_list_shows_each_role_only_links_it_may_open(
        browsers: dict[str, TestClient]) -> None:
    manager = {"dashboard", "members", "projects", "agents", "exports"}
    expected = {"member": {f"home/{MEMBER}", "members", "agents"}, "facilitator": manager,
                "analyst": {"exports", "members", "projects", "agents"}, "admin": manager}
    for role, client in browsers.items():
        listed = {link.removeprefix(f"/n/{NID}/") for link in _links(client.get("/n").text)
                  if link.startswith(f"/n/{NID}/")}
        assert listed == expected[role], role
    for link in expected["member"]:  # and each opens (the others are opened elsewhere)
        assert browsers["member"].get(f"/n/{NID}/{link}").status_code == 200, link
    assert browsers["member"].get(f"/n/{NID}/dashboard").status_code == 403


def test_exports_with_capabilities_have_their_own_file_names(
        browsers: dict[str, TestClient]) -> None:
    analyst = browsers["analyst"]

    def name(url: str) -> str:
        response = analyst.get(url)
        assert response.status_code == 200, url
        return re.search(r'filename="([^"]+)"', response.headers["content-disposition"])[1]

    assert name(f"/n/{NID}/export/gexf") == f"{NID}.gexf"
    assert name(f"/n/{NID}/export/gexf?include=capabilities") == f"{NID}-capabilities.gexf"
    assert name(f"/n/{NID}/export/cytoscape?include=capabilities") == f"{NID}-capabilities.cyjs"
    assert name(f"/n/{NID}/export/json?include=capabilities") == f"{NID}.json"  # no such nodes


def test_the_favicon_is_served(browsers: dict[str, TestClient]) -> None:
    icon = browsers["member"].get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    page = browsers["member"].get("/signin").text
    linked = re.search(r'<link rel="icon" href="([^"]+)"', page)[1]
    assert browsers["member"].get(linked).status_code == 200


class _Outline(HTMLParser):
    """Headings (level, text) and the accessible names of buttons, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.buttons: list[str] = []
        self._button: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "button":
            self._button = {"label": dict(attrs).get("aria-label"), "text": ""}

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.buttons.append(self._button["label"] or self._button["text"].strip())
            self._button = None


def _outline(html: str) -> _Outline:
    outline = _Outline()
    outline.feed(html)
    return outline


def test_headings_never_skip_a_level_and_accept_buttons_have_distinct_names(
        browsers: dict[str, TestClient]) -> None:
    pages = {"member": [f"/n/{NID}/home/{MEMBER}", f"/n/{NID}/members",
                        f"/n/{NID}/members/carrocerias-martin-romero", f"/n/{NID}/agents", "/n"],
             "facilitator": [f"/n/{NID}/dashboard", f"/n/{NID}/home/{MEMBER}",
                             f"/n/{NID}/members/{MEMBER}"],
             "analyst": [f"/n/{NID}/exports"]}
    for role, urls in pages.items():
        for url in urls:
            outline = _outline(browsers[role].get(url).text)
            levels = outline.headings
            assert levels and levels[0] == 1 and levels.count(1) == 1, (role, url, levels)
            jumps = [(a, b) for a, b in itertools.pairwise(levels) if b > a + 1]
            assert not jumps, (role, url, levels)
    buttons = _outline(browsers["member"].get(f"/n/{NID}/home/{MEMBER}").text).buttons
    accepts = [b for b in buttons if b.startswith("Accept")]
    assert len(accepts) >= 3 and len(set(accepts)) == len(accepts), accepts


def test_each_weakness_without_a_mentor_says_why(browsers: dict[str, TestClient]) -> None:
    # One page of the list holds them all (it comes in pages: api/web/paging.py)
    page = browsers["facilitator"].get(f"/n/{NID}/dashboard?per_page=100").text
    unmet = re.search(r"<summary>(\d+) weakness(?:es)? without a mentor inside the network, "
                      r"and why</summary>\s*<ul>(.*?)</ul>", page, re.S)
    assert unmet, "the seed network has weaknesses no member can take on"
    items = re.findall(r"<li>(.*?)</li>", unmet[2], re.S)
    assert len(items) == int(unmet[1])
    assert all("no place left" in i or "no member is at level" in i for i in items)
