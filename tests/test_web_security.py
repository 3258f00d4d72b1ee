"""Attacks on the web pages and the HTTP gate, tried as an attacker would.

A page on another port of the same host is same-site: SameSite=Strict cookies do not stop its
posts, so sessions, CSRF tokens and the Origin check must. Each test posts what such a page (or
a stolen cookie, or a Back button after sign-out) would.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from api.web.session_store import SessionStore
from graph.database import Database
from graph.members import get_member
from graph.store import import_network
from graph.tokens import issue_token
from tests.conftest import small_document
from tests.test_web import CSRF as CSRF_FIELD
from tests.test_web import csrf_of, sign_in

pytestmark = pytest.mark.database
ADMIN_SECRET = "pm_websec-admin-" + uuid.uuid4().hex
TEMPLATES = Path(__file__).resolve().parents[1] / "api" / "web" / "templates"


class World:
    def __init__(self, db: Database):
        self.nid = f"websec-{uuid.uuid4().hex[:10]}"
        import_network(db, small_document(self.nid))
        self.tokens = {"member": issue_token(db, "member", self.nid, "clinic")[0],
                       "attacker": issue_token(db, "member", self.nid, "genlab")[0],
                       "facilitator": issue_token(db, "facilitator", self.nid, None)[0],
                       "analyst": issue_token(db, "analyst", self.nid, None)[0],
                       "admin": ADMIN_SECRET}


@pytest.fixture(scope="module")
def world(db: Database) -> World:
    return World(db)


@pytest.fixture(scope="module")
def app(db: Database) -> FastAPI:
    return create_app(ApiSettings(admin_token=ADMIN_SECRET, max_body_bytes=4 * 1024 * 1024),
                      database=db)


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def signed_in(client: TestClient, world: World, who: str) -> TestClient:
    assert sign_in(client, world.tokens[who]).status_code == 303
    return client


SAME_HOST_OTHER_PORT = "http://testserver:8081"


# -- CSRF and origins -------------------------------------------------------------------------
@pytest.mark.parametrize("origin", ["null", SAME_HOST_OTHER_PORT, "http://elsewhere.example"])
def test_a_profile_post_from_another_origin_is_refused_even_with_the_csrf_token(
    browser: TestClient, world: World, db: Database, origin: str
) -> None:
    client = signed_in(browser, world, "member")
    before = get_member(db, world.nid, "clinic")
    response = client.post(f"/n/{world.nid}/home/clinic", headers={"Origin": origin}, data={
        "csrf": csrf_of(client), "name": "Owned", "contact": "attacker@example.com"})
    assert response.status_code == 403
    assert get_member(db, world.nid, "clinic") == before


def test_a_post_without_the_sessions_csrf_token_is_refused(
    app: FastAPI, browser: TestClient, world: World, db: Database
) -> None:
    client = signed_in(browser, world, "member")
    before = get_member(db, world.nid, "clinic")
    with TestClient(app, follow_redirects=False) as attacker:  # its own session, its own token
        foreign_token = csrf_of(signed_in(attacker, world, "attacker"))
    for fields in ({}, {"csrf": ""}, {"csrf": "forged"}, {"csrf": foreign_token},
                   {"csrf": "é" * 10}):
        response = client.post(f"/n/{world.nid}/home/clinic",
                               data={**fields, "name": "Owned"})
        assert response.status_code == 403, fields
    assert get_member(db, world.nid, "clinic") == before
    feedback = client.post(f"/n/{world.nid}/home/clinic/feedback",
                           data={"candidate": "cro", "decision": "accepted"})
    assert feedback.status_code == 403


@pytest.mark.parametrize("origin", ["null", SAME_HOST_OTHER_PORT])
def test_a_page_cannot_sign_a_victim_in_as_the_attackers_member(
    browser: TestClient, world: World, origin: str
) -> None:
    csrf = re.search(r'name="csrf" value="([^"]*)"', browser.get("/signin").text).group(1)
    response = browser.post("/signin", headers={"Origin": origin},
                            data={"token": world.tokens["attacker"], "csrf": csrf})
    assert response.status_code == 403
    assert "pm_session" not in browser.cookies
    # Nor without the token of the form the victim's browser was shown.
    response = browser.post("/signin", data={"token": world.tokens["attacker"]})
    assert response.status_code == 403 and "pm_session" not in browser.cookies


def test_fetch_metadata_from_another_site_is_refused(browser: TestClient, world: World) -> None:
    client = signed_in(browser, world, "member")
    response = client.post("/signout", headers={"Sec-Fetch-Site": "same-site"},
                           data={"csrf": csrf_of(client)})
    assert response.status_code == 403
    assert client.get(f"/n/{world.nid}/home/clinic").status_code == 200  # still signed in


def test_every_post_form_of_every_template_carries_the_csrf_token() -> None:
    forms = 0
    for template in sorted(TEMPLATES.glob("*.html")):
        for form in re.findall(r"<form\b[^>]*>.*?</form>", template.read_text(), re.S):
            if re.search(r'method="post"', form, re.I):
                forms += 1
                assert 'name="csrf" value="{{ csrf }}"' in form, (template.name, form[:120])
    assert forms >= 4  # sign-in, sign-out, profile, feedback


# -- sessions -------------------------------------------------------------------------------
@pytest.mark.database
def test_sessions_expire_when_idle_and_after_their_lifetime(db: Database) -> None:
    now = [1000.0]
    store = SessionStore(lambda: db, idle=120, lifetime=600, clock=lambda: now[0])
    sid, session = store.open("pm_token")
    assert store.get(sid) == session
    for _ in range(6):  # use keeps it alive ...
        now[0] += 100
        assert store.get(sid).csrf == session.csrf
    now[0] += 100  # ... until its lifetime is over
    assert store.get(sid) is None
    other, _ = store.open("pm_token")
    now[0] += 121
    assert store.get(other) is None
    assert store.get("made-up") is None and store.get(None) is None


@pytest.mark.database
def test_every_process_knows_every_session_and_expired_ones_are_purged(db: Database) -> None:
    """Two stores on one database stand for two workers of ``serve --workers 2``."""
    now = [5000.0]
    first = SessionStore(lambda: db, idle=60, lifetime=600, clock=lambda: now[0])
    second = SessionStore(lambda: db, idle=60, lifetime=600, clock=lambda: now[0])
    sid, session = first.open("pm_token")
    assert second.get(sid).csrf == session.csrf  # opened by one, found by the other
    assert first.signin_token("nonce") == second.signin_token("nonce")  # one shared key
    second.close(sid)  # signed out through the other
    assert first.get(sid) is None
    stale, _ = first.open("pm_other")
    before = len(first)
    now[0] += 61
    fresh, _ = second.open("pm_third")  # opening purges what has expired
    assert len(first) == before and first.get(stale) is None and first.get(fresh) is not None


def test_a_browser_signed_in_through_one_worker_is_signed_in_at_every_worker(
        app: FastAPI, world: World, db: Database) -> None:
    """``serve --workers 2``: each request may reach either process; the cookie works at both,
    from the sign-in form shown by one and posted to the other, to the sign-out."""
    other = create_app(ApiSettings(admin_token=ADMIN_SECRET), database=db)
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as one, \
            TestClient(other, raise_server_exceptions=False, follow_redirects=False) as two:
        form = CSRF_FIELD.search(one.get("/signin").text).group(1)
        two.cookies.update(one.cookies)  # one browser: its cookies go to whichever worker
        signed = two.post("/signin", data={"token": world.tokens["member"], "csrf": form})
        assert signed.status_code == 303
        one.cookies.update(two.cookies)
        home = f"/n/{world.nid}/home/clinic"
        assert one.get(home).status_code == 200 and two.get(home).status_code == 200
        assert one.post("/signout", data={"csrf": csrf_of(one)}).status_code == 303
        assert two.get(home).status_code == 303  # signed out everywhere


# -- caching and headers --------------------------------------------------------------------
def test_authenticated_pages_and_answers_are_not_stored(browser: TestClient,
                                                        world: World) -> None:
    client = signed_in(browser, world, "member")
    for path in (f"/n/{world.nid}/home/clinic", f"/n/{world.nid}/members",
                 f"/n/{world.nid}/members/clinic", "/signin"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store", path
    api = client.get(f"/networks/{world.nid}/members/clinic",
                     headers={"Authorization": f"Bearer {world.tokens['member']}"})
    assert api.status_code == 200 and api.headers["cache-control"] == "no-store"
    assert "public" in client.get("/static/style.css").headers["cache-control"]


def test_every_response_carries_the_security_headers(browser: TestClient,
                                                     world: World) -> None:
    client = signed_in(browser, world, "facilitator")
    answers = [client.get(path) for path in (
        "/signin", f"/n/{world.nid}/dashboard", f"/n/{world.nid}/exports", "/static/app.js",
        "/health", "/openapi.json", "/docs", "/no/such/page", f"/networks/{world.nid}")]
    answers.append(client.post(f"/networks/{world.nid}/import", content=b"{}"))  # 401
    for response in answers:
        where = (response.request.url.path, response.status_code)
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff", where
        assert headers["x-frame-options"] == "DENY", where
        assert headers["referrer-policy"] == "same-origin", where
        policy = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "base-uri 'none'" in policy, where
    page_policy = answers[1].headers["content-security-policy"]
    assert "script-src 'self';" in page_policy and "unsafe-inline" not in page_policy.split(
        "style-src")[0]


# -- acting on a member's behalf ------------------------------------------------------------
def test_a_facilitator_on_a_members_page_acts_on_its_behalf(browser: TestClient,
                                                           world: World, db: Database) -> None:
    import_network(db, small_document(world.nid, newcomer=True))  # a new partner to answer
    client = signed_in(browser, world, "facilitator")
    text = client.get(f"/n/{world.nid}/home/clinic").text
    name = "Clínica Sol"
    assert f"on behalf of {name}" in text
    for action in ("Accept", "Decline", "Save profile"):
        assert f"{action} on behalf of {name}" in text
    assert f"Edit the profile on behalf of {name}" in text
    with TestClient(browser.app, follow_redirects=False) as member:
        own = signed_in(member, world, "member").get(f"/n/{world.nid}/home/clinic").text
    assert "on behalf of" not in own


# -- the gate: token before body, body limits per route -------------------------------------
def test_a_request_without_a_valid_token_is_refused_before_its_body_is_read(
    browser: TestClient, world: World
) -> None:
    read: list[bytes] = []

    def body() -> Iterator[bytes]:
        read.append(b"started")
        yield b'{"network": {"id": "x", "name": "y"}'  # malformed on purpose

    for headers in ({}, {"Authorization": "Bearer pm_not-a-real-token"},
                    {"Authorization": "Basic abc"}):
        response = browser.post(f"/networks/{world.nid}/import", content=body(),
                                headers={**headers, "Content-Type": "application/json"})
        assert response.status_code == 401, headers
    assert read == []  # never parsed, never even read
    authorised = browser.post(f"/networks/{world.nid}/import", content=body(),
                              headers={"Authorization": f"Bearer {world.tokens['facilitator']}",
                                       "Content-Type": "application/json"})
    assert authorised.status_code == 422 and read == [b"started"]


def test_bodies_are_capped_per_route(browser: TestClient, world: World) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_SECRET}", "Content-Type": "application/json"}
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'  # just over 1 MB
    response = browser.put(f"/networks/{world.nid}/members/clinic", content=big, headers=admin)
    assert response.status_code == 413 and "1 MB" in response.json()["detail"]
    # The import takes a whole network: the same size is read and validated there.
    response = browser.post(f"/networks/{world.nid}/import", content=big, headers=admin)
    assert response.status_code == 422
    huge = b"[" + b"0," * (2 * 1024 * 1024) + b"0]"
    response = browser.post(f"/networks/{world.nid}/import", content=huge, headers=admin)
    assert response.status_code == 413 and "4 MB" in response.json()["detail"]
    # A web form too is cut at 1 MB, and its body is not read without a session.
    form = browser.post("/signin", content=b"token=" + b"x" * (1024 * 1024 + 10),
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 413


def test_a_form_cut_at_its_limit_is_no_error_in_the_log(
        browser: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    """The gate answers 413 and tells the route the client left: the form's reader then stops.
    That is no server error; logged as one, with its traceback, anyone could fill the log."""
    with caplog.at_level(logging.WARNING):
        form = browser.post("/signin", content=b"token=" + b"x" * (1024 * 1024 + 10),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.status_code == 413
    assert [r.getMessage() for r in caplog.records] == []
