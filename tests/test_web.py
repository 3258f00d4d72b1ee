"""The web pages apply the API's role rules: fast checks with FastAPI's TestClient."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database
from graph.document import Outcomes
from graph.invitations import invite
from graph.members import get_member
from graph.projects import set_outcomes
from graph.store import import_network
from graph.tokens import issue_token
from tests.conftest import small_document

pytestmark = pytest.mark.database
ADMIN_SECRET = "pm_web-admin-" + uuid.uuid4().hex
SECRET_LABEL = "Zymurgy secret weakness"  # a weakness label nobody has as a capability or need


class World:
    def __init__(self, db: Database):
        self.nid = f"web-{uuid.uuid4().hex[:10]}"
        self.other = self.nid + "-other"
        for nid in (self.nid, self.other):
            document = small_document(nid)
            document["capabilities"].append(
                {"id": f"{nid}-secret", "label": SECRET_LABEL, "kind": "knowhow"})
            clinic = document["members"][0]
            clinic["weaknesses"].append({"id": f"{nid}-secret", "severity": 5})
            clinic["contact"] = "hello@clinica-sol.example"
            document["value_chains"] = [{"id": "ivf-chain", "name": "Testing, then travel", "stages": [
                {"id": "testing", "label": "Testing", "requires": [f"{nid}-pgt"]},
                {"id": "travel", "label": "Travel", "requires": [f"{nid}-fuel"]}]}]
            import_network(db, document)
        self.tokens = {
            "admin": ADMIN_SECRET,
            "facilitator": issue_token(db, "facilitator", self.nid, None)[0],
            "member": issue_token(db, "member", self.nid, "clinic")[0],
            "other-member": issue_token(db, "member", self.nid, "genlab")[0],
            "analyst": issue_token(db, "analyst", self.nid, None)[0],
            "other-analyst": issue_token(db, "analyst", self.other, None)[0],
        }


@pytest.fixture(scope="module")
def world(db: Database) -> World:
    return World(db)


@pytest.fixture(scope="module")
def app(db: Database) -> FastAPI:
    return create_app(ApiSettings(admin_token=ADMIN_SECRET, max_body_bytes=1024 * 1024),
                      database=db)


@pytest.fixture(scope="module")
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def sign_in(client: TestClient, token: str, **fields: str):
    """Post the sign-in form as a browser does: with the CSRF token of the form it was shown."""
    csrf = CSRF.search(client.get("/signin").text).group(1)
    return client.post("/signin", data={"token": token, "csrf": csrf, **fields})


def csrf_of(client: TestClient) -> str:
    """The CSRF token the signed-in session's forms carry."""
    return CSRF.search(client.get("/signin").text).group(1)


def as_(app: FastAPI, world: World, role: str) -> TestClient:
    """A browser signed in as ``role`` through the sign-in form."""
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert sign_in(client, world.tokens[role]).status_code == 303
    return client


def test_sign_in_with_a_bad_token_shows_an_error(anonymous: TestClient) -> None:
    response = sign_in(anonymous, "pm_not-a-real-token")
    assert response.status_code == 401
    assert "This token is not valid" in response.text
    assert "pm_session" not in response.headers.get("set-cookie", "")


def test_sign_in_keeps_a_session_id_in_a_strict_httponly_cookie_and_sign_out_revokes_it(
        app: FastAPI, world: World) -> None:
    with TestClient(app, follow_redirects=False) as client:
        response = sign_in(client, world.tokens["member"])
        assert response.status_code == 303
        assert response.headers["location"] == f"/n/{world.nid}/home/clinic"
        cookie = next(c for c in response.headers.get_list("set-cookie")
                      if c.startswith("pm_session="))
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
        assert "max-age" not in cookie.lower() and "expires" not in cookie.lower()
        sid = client.cookies["pm_session"]
        assert world.tokens["member"] not in sid and len(sid) >= 32  # an id, not the token
        who = client.get("/signin")
        assert "You are signed in" in who.text and "Clínica Sol" in who.text
        assert "member" in who.text and world.nid in who.text
        out = client.post("/signout", data={"csrf": csrf_of(client)})
        assert out.status_code == 303 and 'pm_session=""' in out.headers["set-cookie"]
        assert client.get(f"/n/{world.nid}/members").status_code == 303
    # The id copied before sign-out is dead on the server, not only forgotten by the browser.
    with TestClient(app, follow_redirects=False, cookies={"pm_session": sid}) as thief:
        response = thief.get(f"/n/{world.nid}/home/clinic")
        assert response.status_code == 303 and response.headers["location"].startswith("/signin")
    # The raw API token is not a session.
    with TestClient(app, follow_redirects=False,
                    cookies={"pm_session": world.tokens["member"]}) as old_style:
        assert old_style.get(f"/n/{world.nid}/home/clinic").status_code == 303


def test_a_member_signs_in_with_its_invitation_code_and_is_shown_its_token_once(
        app: FastAPI, db: Database, world: World) -> None:
    """The onboarding page hands out invitation codes: the sign-in form takes one, redeems it
    and shows the member the token it will need next time (no curl involved)."""
    code = invite(db, world.nid, "genlab", issued_by=None, issuer_role="facilitator")[0]
    with TestClient(app, follow_redirects=False) as client:
        welcome = sign_in(client, code)
        assert welcome.status_code == 200 and "pm_session" in client.cookies
        token = re.search(r'id="new-token"[^>]*>(pm_[^<]+)<', welcome.text).group(1)
        assert "shown only this once" in welcome.text
        assert client.get(f"/n/{world.nid}/home/genlab").status_code == 200  # signed in
        signout = client.post("/signout", data={"csrf": CSRF.search(welcome.text).group(1)})
        assert signout.status_code == 303  # the welcome page's forms belong to the new session
        assert sign_in(client, token).headers["location"] == f"/n/{world.nid}/home/genlab"
    with TestClient(app, follow_redirects=False) as again:
        used = sign_in(again, code)
        assert used.status_code == 410 and "can no longer be used" in used.text
        assert "pm_session" not in again.cookies
        unknown = sign_in(again, "pmi_" + "x" * 46)
        assert unknown.status_code == 401 and "invitation code is not valid" in unknown.text


@pytest.mark.parametrize("role, home", [
    ("facilitator", "/n/{nid}/dashboard"), ("analyst", "/n/{nid}/exports"), ("admin", "/n"),
])
def test_each_role_lands_on_its_own_page(app: FastAPI, world: World, role: str,
                                         home: str) -> None:
    with TestClient(app, follow_redirects=False) as client:
        response = sign_in(client, world.tokens[role])
        assert response.headers["location"] == home.format(nid=world.nid)


def test_pages_need_a_session_and_come_back_after_sign_in(anonymous: TestClient,
                                                          world: World) -> None:
    response = anonymous.get(f"/n/{world.nid}/dashboard")
    assert response.status_code == 303
    assert response.headers["location"] == f"/signin?next=/n/{world.nid}/dashboard"
    signed = sign_in(anonymous, world.tokens["facilitator"], next=f"/n/{world.nid}/dashboard")
    assert signed.headers["location"] == f"/n/{world.nid}/dashboard"
    anonymous.cookies.clear()
    away = sign_in(anonymous, world.tokens["facilitator"], next="//elsewhere.example/x")
    assert away.headers["location"] == f"/n/{world.nid}/dashboard"  # no open redirect
    anonymous.cookies.clear()


ALLOWED = {  # page -> roles that may open it (all others: 403)
    "/n/{nid}/home/clinic": {"admin", "facilitator", "member"},
    "/n/{nid}/home/genlab": {"admin", "facilitator", "other-member"},
    "/n/{nid}/dashboard": {"admin", "facilitator"},
    "/n/{nid}/exports": {"admin", "facilitator", "analyst"},
    "/n/{nid}/export/gexf": {"admin", "facilitator", "analyst"},
    "/n/{nid}/members": {"admin", "facilitator", "member", "other-member", "analyst"},
    "/n/{nid}/members/clinic": {"admin", "facilitator", "member", "other-member", "analyst"},
}


@pytest.mark.parametrize("path", list(ALLOWED))
def test_pages_apply_the_api_role_rules(app: FastAPI, world: World, path: str) -> None:
    for role in world.tokens:
        response = as_(app, world, role).get(path.format(nid=world.nid))
        expected = 200 if role in ALLOWED[path] else 403
        assert response.status_code == expected, (role, path, response.text[:300])
        if expected == 403:
            assert "Not allowed" in response.text


def test_analyst_downloads_a_gexf_without_weaknesses(app: FastAPI, world: World) -> None:
    response = as_(app, world, "analyst").get(f"/n/{world.nid}/export/gexf")
    assert response.headers["content-type"].startswith("application/gexf+xml")
    assert f'filename="{world.nid}.gexf"' in response.headers["content-disposition"]
    assert response.content.startswith(b"<?xml") and SECRET_LABEL.encode() not in response.content
    assert as_(app, world, "analyst").get(f"/n/{world.nid}/export/docx").status_code == 404


@pytest.mark.parametrize("role", ["other-member", "analyst"])
def test_others_never_see_a_members_weaknesses_or_contact(app: FastAPI, world: World,
                                                          role: str) -> None:
    client = as_(app, world, role)
    for path in ("/n/{nid}/members/clinic", "/n/{nid}/members",
                 "/n/{nid}/members?capability={nid}-quality", "/n/{nid}/home/genlab",
                 "/n/{nid}/exports"):
        text = client.get(path.format(nid=world.nid)).text
        assert SECRET_LABEL not in text.split("<datalist")[0], (role, path)
        assert "hello@clinica-sol.example" not in text, (role, path)


def test_the_member_and_its_facilitator_see_its_weaknesses(app: FastAPI, world: World) -> None:
    home = as_(app, world, "member").get(f"/n/{world.nid}/home/clinic").text
    assert SECRET_LABEL in home and "Confidential" in home and "hello@clinica-sol" in home
    page = as_(app, world, "facilitator").get(f"/n/{world.nid}/members/clinic").text
    assert SECRET_LABEL in page


def test_browse_filters_and_reports_an_unknown_capability(app: FastAPI, world: World) -> None:
    client = as_(app, world, "other-member")
    found = client.get(f"/n/{world.nid}/members?sector=genetics-lab").text
    assert "1 member found" in found and "GenLab" in found and "CRO Iberia" not in found
    unknown = client.get(f"/n/{world.nid}/members?capability=no-such-thing").text
    assert "unknown capability" in unknown.lower()


def test_profile_errors_are_shown_next_to_their_fields(app: FastAPI, world: World) -> None:
    client = as_(app, world, "member")
    response = client.post(f"/n/{world.nid}/home/clinic", data={
        "csrf": csrf_of(client),
        "name": "", "capabilities.0.id": f"{world.nid}-quality", "capabilities.0.level": "9",
        "needs.0.id": "no-such-capability", "needs.0.urgency": "3"})
    assert response.status_code == 422
    text = response.text
    assert 'id="err-name"' in text
    assert 'id="err-capabilities-0-level"' in text
    assert 'aria-describedby="err-capabilities-0-level"' in text
    assert 'id="err-needs-0-id"' in text
    # Nothing was written.
    assert "Clínica Sol" in client.get(f"/n/{world.nid}/members/clinic").text


def test_a_valid_profile_is_saved(app: FastAPI, world: World) -> None:
    client = as_(app, world, "facilitator")
    response = client.post(f"/n/{world.nid}/home/cro", data={
        "csrf": csrf_of(client),
        "name": "CRO Iberia", "description": "Clinical research, Madrid", "size": "small",
        "capabilities.0.id": f"{world.nid}-quality", "capabilities.0.level": "5",
        "capabilities.1.id": "", "capabilities.1.level": ""})
    assert response.status_code == 303
    page = client.get(response.headers["location"])
    assert "The profile of CRO Iberia was saved" in page.text and "Clinical research, Madrid" in page.text
    member = as_(app, world, "member")
    refused = member.post(f"/n/{world.nid}/home/cro", data={"name": "x", "csrf": csrf_of(member)})
    assert refused.status_code == 403


def test_a_row_number_of_thousands_of_digits_is_only_a_row(app: FastAPI, world: World) -> None:
    """Rows are numbered by the form's field names, which a hand-made post may make as long as
    the form allows: Python turns no more than 4300 digits into an int, so they are never made
    one, and such a row is saved like any other, after the shorter numbers. (GenLab of the
    other network, which no other test reads, keeps its capabilities.)"""
    client = as_(app, world, "admin")
    nid, huge = world.other, "9" * 5000
    response = client.post(f"/n/{nid}/home/genlab", data={
        "csrf": csrf_of(client), "name": "GenLab", "sector": "genetics-lab", "region": "Madrid",
        "size": "micro", f"capabilities.{huge}.id": f"{nid}-genetics",
        f"capabilities.{huge}.level": "4", "capabilities.2.id": f"{nid}-pgt",
        "capabilities.2.level": "5", "needs.0.id": f"{nid}-fuel", "needs.0.kind": "purchase",
        "needs.0.urgency": "3"})
    assert response.status_code == 303, response.text[:300]
    profile = client.get(f"/networks/{nid}/members/genlab",
                         headers={"Authorization": f"Bearer {ADMIN_SECRET}"}).json()
    assert {c["id"]: c["level"] for c in profile["capabilities"]} == {
        f"{nid}-pgt": 5, f"{nid}-genetics": 4}


@pytest.mark.parametrize("text, says", [
    ("[" * 5000 + "]" * 5000, "nested too deeply"),
    ('{"title": "T", "source": {"n": ' + "9" * 5000 + "}}", "a number with too many digits"),
])
def test_json_a_form_carries_is_refused_when_python_cannot_hold_it(
        app: FastAPI, world: World, text: str, says: str) -> None:
    """A project's spec and a pasted network document are JSON in a form: nesting deeper than
    the interpreter recurses, or an integer longer than Python converts, is a 422 that says
    so, never a 500 (json.loads raises RecursionError or ValueError, not a JSONDecodeError)."""
    client = as_(app, world, "facilitator")
    csrf = csrf_of(client)
    project = client.post(f"/n/{world.nid}/projects", data={"csrf": csrf, "spec": text})
    assert project.status_code == 422, project.text[:300]
    pasted = client.post(f"/n/{world.nid}/onboarding/import", data={"csrf": csrf,
                                                                     "document": text})
    assert pasted.status_code == 422, pasted.text[:300]
    assert says in pasted.text


def test_a_facilitator_starts_a_project_from_an_accepted_introduction(
        app: FastAPI, db: Database, world: World) -> None:
    """Introduction, then project: on the member's page an accepted introduction carries a
    button (facilitators only) that starts the pair's project, with the introduction as its
    source. (The other network, which no other test's introductions read.)"""
    nid = world.other
    clinic = {"Authorization": f"Bearer {issue_token(db, 'member', nid, 'clinic')[0]}"}
    genlab_token = issue_token(db, "member", nid, "genlab")[0]
    api = TestClient(app, raise_server_exceptions=False)
    asked = api.post(f"/networks/{nid}/introductions", headers=clinic,
                     json={"from": "clinic", "to": "genlab"}).json()
    actions = f"/networks/{nid}/introductions/{asked['id']}/actions"
    admin = {"Authorization": f"Bearer {ADMIN_SECRET}"}
    if asked["status"] == "pending_approval":
        api.post(actions, headers=admin, json={"action": "approve"})
    assert api.post(actions, json={"action": "accept"},
                    headers={"Authorization": f"Bearer {genlab_token}"}).status_code == 200
    member = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    assert sign_in(member, genlab_token).status_code == 303
    assert "Start a project" not in member.get(f"/n/{nid}/home/genlab").text  # not a member's
    facilitator = as_(app, world, "admin")
    home = facilitator.get(f"/n/{nid}/home/clinic").text
    intro = home.split(f'data-introduction="{asked["id"]}"')[1].split("</li>")[0]
    form = re.search(r'<form method="post" action="/n/[^"]+/projects".*?</form>', intro, re.S)
    assert form and "Start a project: Clínica Sol and" in form.group(0)
    fields = {k: html.unescape(a or b) for k, a, b in re.findall(
        r'name="([^"]+)" value=(?:"([^"]*)"|\'([^\']*)\')', form.group(0))}
    made = facilitator.post(f"/n/{nid}/projects", data={**fields, "csrf": csrf_of(facilitator)})
    assert made.status_code == 303, made.text.split("<main")[1][:1500]
    pid = made.headers["location"].split("/projects/")[1].split("?")[0]
    project = api.get(f"/networks/{nid}/projects/{pid}", headers=admin).json()
    assert sorted(m["member"] for m in project["members"]) == ["clinic", "genlab"]
    assert project["kind"] == "pair" and project["source"] == {"introduction": asked["id"]}
    api.delete(f"/networks/{nid}/projects/{pid}", headers=admin)


def test_abandoning_a_project_without_a_reason_asks_for_one_on_the_form(
        app: FastAPI, world: World) -> None:
    """The API's 409 ("needs a reason", in English) was a bare error page in any language; the
    project page asks for the reason next to the note field instead, and nothing moves."""
    client = as_(app, world, "admin")
    nid, admin = world.other, {"Authorization": f"Bearer {ADMIN_SECRET}"}
    project = client.post(f"/networks/{nid}/projects", headers=admin, json={
        "title": "To drop", "members": [{"member": "clinic", "role": "lead"}]}).json()
    refused = client.post(f"/n/{nid}/projects/{project['id']}/transitions",
                          headers={"Accept-Language": "es"},
                          data={"csrf": csrf_of(client), "to": "abandoned", "reason": ""})
    assert refused.status_code == 422
    assert "Di por qué se abandona el proyecto" in refused.text and "needs a reason" not in refused.text
    assert 'id="move-reason" name="reason" rows="2" maxlength="5000" aria-invalid="true"' \
        in refused.text
    assert client.get(f"/networks/{nid}/projects/{project['id']}", headers=admin
                      ).json()["phase"] == "opportunity"
    client.delete(f"/networks/{nid}/projects/{project['id']}", headers=admin)


def test_a_refused_invitation_keeps_the_member_and_says_what_is_wrong_by_the_field(
        app: FastAPI, world: World) -> None:
    client = as_(app, world, "facilitator")
    refused = client.post(f"/n/{world.nid}/onboarding/invitations",
                          headers={"Accept-Language": "es"},
                          data={"csrf": csrf_of(client), "member": "genlab", "days": "mil"})
    assert refused.status_code == 422
    assert 'id="err-days"' in refused.text and "Has escrito" in refused.text
    assert '<option value="genlab" selected>' in refused.text and 'value="mil"' in refused.text
    assert "Invitaciones" in refused.text  # the onboarding page, not a bare error page


def test_projects_are_found_by_title_words_and_phase(app: FastAPI, world: World) -> None:
    """A network's projects run to dozens: the list finds them by words of the title (accents
    and case folded) and by phase, and its page links keep the search."""
    client = as_(app, world, "admin")
    nid, admin = world.other, {"Authorization": f"Bearer {ADMIN_SECRET}"}
    made = [client.post(f"/networks/{nid}/projects", headers=admin, json={
        "title": title, "members": [{"member": "clinic", "role": "lead"}]}).json()["id"]
        for title in ("Compra de gasóleo", "Formación en calidad", "Gasoleo para la flota")]
    found = client.get(f"/n/{nid}/projects", params={"q": "GASOLEO", "per_page": 1}).text
    assert "2 projects found." in found and "Formación en calidad" not in found
    assert "q=GASOLEO" in found.split('rel="next"')[0].rsplit("href=", 1)[1]  # page 2 keeps it
    none = client.get(f"/n/{nid}/projects", params={"phase": "done"}).text
    assert "0 projects found." in none and "Compra de gasóleo" not in none
    for pid in made:
        client.delete(f"/networks/{nid}/projects/{pid}", headers=admin)


def test_a_refused_pair_project_keeps_what_was_typed(app: FastAPI, world: World) -> None:
    """The pair form of the projects page, refused (one member, or the same one twice), comes
    back with the problem and the title, goal and members as typed; nothing is created."""
    client = as_(app, world, "facilitator")
    before = client.get(f"/networks/{world.nid}/projects",
                        headers={"Authorization": f"Bearer {world.tokens['facilitator']}"}
                        ).json()["projects"]
    typed = {"title": "Shared lab courier", "goal": "One van & one route <for both>"}
    for members, says in ((("clinic", ""), "choose its two members"),
                          (("clinic", "clinic"), "a member is named twice")):
        refused = client.post(f"/n/{world.nid}/projects", data={
            "csrf": csrf_of(client), **typed, "member_a": members[0], "member_b": members[1]})
        assert refused.status_code == 422 and says in refused.text
        assert 'value="Shared lab courier"' in refused.text
        assert "One van &amp; one route &lt;for both&gt;</textarea>" in refused.text
        assert '<option value="clinic" selected>' in refused.text
    after = client.get(f"/networks/{world.nid}/projects",
                       headers={"Authorization": f"Bearer {world.tokens['facilitator']}"}
                       ).json()["projects"]
    assert after == before


def test_amounts_are_read_as_the_readers_language_writes_them(app: FastAPI, world: World
                                                              ) -> None:
    """A Spanish page shows 14.250 EUR: "9.500" typed there is nine thousand five hundred
    euros, not 9.5, and "2,5" a decimal; the form shows them back the same way."""
    client = as_(app, world, "admin")
    nid, admin = world.other, {"Authorization": f"Bearer {ADMIN_SECRET}"}
    project = client.post(f"/networks/{nid}/projects", headers=admin, json={
        "title": "Amounts", "members": [{"member": "clinic", "role": "lead"}]}).json()
    where = f"/n/{nid}/projects/{project['id']}/outcomes"
    spanish = {"Accept-Language": "es-ES,es;q=0.9"}
    saved = client.post(where, headers=spanish, data={
        "csrf": csrf_of(client), "realised_saving": "9.500", "expected_saving": "12.000,5",
        "new_business": "2,5", "trainings": "1.000"})
    assert saved.status_code == 303, saved.text[:500]
    outcomes = client.get(f"/networks/{nid}/projects/{project['id']}", headers=admin
                          ).json()["outcomes"]
    assert (outcomes["realised_saving"], outcomes["expected_saving"], outcomes["new_business"],
            outcomes["trainings"]) == (9500, 12000.5, 2.5, 1000)
    shown = client.get(f"/n/{nid}/projects/{project['id']}", headers=spanish).text
    assert 'value="12000,5"' in shown and 'value="9500"' in shown
    english = client.post(where, data={"csrf": csrf_of(client), "realised_saving": "9,500",
                                       "expected_saving": "12000.5"})
    assert english.status_code == 303
    outcomes = client.get(f"/networks/{nid}/projects/{project['id']}", headers=admin
                          ).json()["outcomes"]
    assert (outcomes["realised_saving"], outcomes["expected_saving"]) == (9500, 12000.5)
    client.delete(f"/networks/{nid}/projects/{project['id']}", headers=admin)


def test_savings_and_volumes_beyond_a_trillion_are_refused_where_they_are_typed(
        app: FastAPI, world: World) -> None:
    """Savings and need volumes are capped like capacities (1e12 EUR a year): a typo of 1e30
    or 1e308 is a 422 naming the field, through the API and the web forms, and writes nothing.
    (The other network, which no other test's figures read.)"""
    client = as_(app, world, "admin")
    nid, admin = world.other, {"Authorization": f"Bearer {ADMIN_SECRET}"}
    project = client.post(f"/networks/{nid}/projects", headers=admin, json={
        "title": "Typo", "members": [{"member": "clinic", "role": "lead"}]}).json()
    where = f"/networks/{nid}/projects/{project['id']}/outcomes"
    refused = client.put(where, headers=admin, json={"realised_saving": 1e30,
                                                     "expected_saving": 1e308})
    assert refused.status_code == 422, refused.text
    assert {e["path"] for e in refused.json()["errors"]} == {"realised_saving", "expected_saving"}
    assert "1000000000000" in refused.text
    form = client.post(f"/n/{nid}/projects/{project['id']}/outcomes", data={
        "csrf": csrf_of(client), "expected_saving": "2e12", "new_business": "5000"})
    assert form.status_code == 422 and "At most 1000000000000" in form.text
    assert client.get(f"/networks/{nid}/projects/{project['id']}", headers=admin
                      ).json()["outcomes"].get("new_business") is None
    member = client.get(f"/networks/{nid}/members/cro", headers=admin).json()
    need = {"id": f"{nid}-pgt", "kind": "service", "urgency": 5, "volume": 1e13}
    api = client.put(f"/networks/{nid}/members/cro", headers=admin,
                     json={**member, "needs": [need]})
    assert api.status_code == 422 and "needs[0].volume" in api.text, api.text
    page = client.post(f"/n/{nid}/home/cro", data={
        "csrf": csrf_of(client), "name": member["name"], "needs.0.id": f"{nid}-pgt",
        "needs.0.kind": "service", "needs.0.urgency": "5", "needs.0.volume": "1e13"})
    assert page.status_code == 422 and 'id="err-needs-0-volume"' in page.text
    assert client.get(f"/networks/{nid}/members/cro", headers=admin).json() == member
    client.delete(f"/networks/{nid}/projects/{project['id']}", headers=admin)


def test_savings_stored_before_the_cap_still_show_on_the_dashboard(
        app: FastAPI, world: World, db: Database) -> None:
    """Before savings were capped, a saving of 1e30 (a typo) passed the 28 digits Babel rounds
    with, and the dashboard and exports pages answered 500 to everyone who opened them: what
    was stored then still shows. (The other network, which no other test's figures read.)"""
    client = as_(app, world, "admin")
    nid, admin = world.other, {"Authorization": f"Bearer {ADMIN_SECRET}"}
    project = client.post(f"/networks/{nid}/projects", headers=admin, json={
        "title": "Typo", "members": [{"member": "clinic", "role": "lead"}]}).json()
    stored_then = Outcomes.model_construct(realised_saving=1e30, expected_saving=1e308,
                                           new_business=None, certifications=[], trainings=0)
    set_outcomes(db, nid, project["id"], stored_then.model_dump(mode="json"))
    for path in (f"/n/{nid}/dashboard", f"/n/{nid}/exports", f"/n/{nid}/projects/{project['id']}"):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
    assert "1,000,000,000,000,000,019,884,624,838,656 EUR" in client.get(f"/n/{nid}/exports").text
    client.delete(f"/networks/{nid}/projects/{project['id']}", headers=admin)


def test_a_form_from_someone_who_may_not_send_it_is_refused_whatever_it_says(
        app: FastAPI, world: World) -> None:
    """The role comes before the form: an analyst (or a member on a facilitator's form, or on
    another member's suggestions) gets 403, not the form back with its fields marked."""
    admin = {"Authorization": f"Bearer {ADMIN_SECRET}"}
    pid = TestClient(app).post(f"/networks/{world.nid}/projects", headers=admin, json={
        "title": "Led by the clinic", "lead": "clinic",
        "members": [{"member": "clinic", "role": "lead"}]}).json()["id"]
    invalid = {"action": "zz", "spec": "[", "to": "nowhere", "expected_saving": "lots",
               "decision": "maybe", "candidate": "", "member": "", "days": "x"}
    forms = {  # the form, who may never send it
        "/introductions/no-such/actions": ("analyst",),
        "/projects": ("analyst", "other-member"),
        f"/projects/{pid}/transitions": ("analyst",),
        f"/projects/{pid}/outcomes": ("analyst",),
        "/home/clinic/feedback": ("analyst", "other-member"),
        "/onboarding/invitations": ("analyst", "other-member"),
    }
    for role in ("analyst", "other-member"):
        client = as_(app, world, role)
        for form, refused in forms.items():
            if role in refused:
                answer = client.post(f"/n/{world.nid}{form}",
                                     data={"csrf": csrf_of(client), **invalid})
                assert answer.status_code == 403, (role, form, answer.status_code)
    TestClient(app).delete(f"/networks/{world.nid}/projects/{pid}", headers=admin)


def test_existing_partners_are_shown_apart_from_new_ones(app: FastAPI, world: World) -> None:
    """The clinic works with everyone in the small network: its home page lists them under
    "Strengthen what you have", never among the new partners (issue 14)."""
    client = as_(app, world, "member")
    api = client.get(f"/networks/{world.nid}/members/clinic/suggestions",
                     headers={"Authorization": f"Bearer {world.tokens['member']}"}).json()
    partners = [s["member"] for s in api["strengthen"]]
    assert partners and not {s["member"] for s in api["suggestions"]} & set(partners)
    page = client.get(f"/n/{world.nid}/home/clinic").text
    kept = page.split('id="strengthen"')[1].split("</section>")[0]
    assert "Strengthen what you have" in kept
    assert all(f'data-partner="{mid}"' in kept for mid in partners)
    new = page.split('id="suggestions"')[1].split("</section>")[0]
    assert not any(f'data-candidate="{mid}"' in new for mid in partners)


def test_customer_segments_are_edited_in_one_box_and_shown_publicly(app: FastAPI,
                                                                   world: World) -> None:
    client = as_(app, world, "facilitator")
    url = f"/n/{world.nid}/home/cro"
    bad = client.post(url, data={"csrf": csrf_of(client), "name": "CRO Iberia",
                                 "customers": "pharma, hospitals/clinics"})
    assert bad.status_code == 422 and 'id="err-customers"' in bad.text
    assert 'value="pharma, hospitals/clinics"' in bad.text  # what was typed stays
    response = client.post(url, data={"csrf": csrf_of(client), "name": "CRO Iberia",
                                      "customers": "Pharma, public-hospitals  pharma"})
    assert response.status_code == 303
    assert 'value="pharma, public-hospitals"' in client.get(response.headers["location"]).text
    other = as_(app, world, "member").get(f"/n/{world.nid}/members/cro").text
    assert "Sells to: pharma, public-hospitals." in other


def test_the_core_business_box_is_kept_when_a_profile_is_saved(app: FastAPI, world: World,
                                                               db: Database) -> None:
    """Core flags decide rivalry: saving the form must not drop them."""
    client = as_(app, world, "facilitator")
    url = f"/n/{world.nid}/home/cro"
    quality, row = f"{world.nid}-quality", {"capabilities.0.level": "4"}
    for ticked in (True, False):
        data = {"csrf": csrf_of(client), "name": "CRO Iberia", "capabilities.0.id": quality,
                **row, **({"capabilities.0.core": "true"} if ticked else {})}
        assert client.post(url, data=data).status_code == 303
        [cap] = get_member(db, world.nid, "cro")["capabilities"]
        assert cap.get("core") is (True if ticked else None)
        box = client.get(url).text.split('id="capabilities-0-core"')[1].split(">")[0]
        assert ("checked" in box) is ticked


def test_feedback_from_the_page(app: FastAPI, world: World) -> None:
    client = as_(app, world, "member")
    url = f"/n/{world.nid}/home/clinic/feedback"
    csrf = csrf_of(client)
    response = client.post(url, data={"candidate": "cro", "decision": "declined", "csrf": csrf})
    assert response.status_code == 303 and "decided=declined" in response.headers["location"]
    assert "You declined CRO Iberia" in client.get(response.headers["location"]).text
    scripted = client.post(url, data={"candidate": "genlab", "decision": "accepted",
                                      "csrf": csrf}, headers={"Accept": "application/json"})
    assert scripted.status_code == 201 and scripted.json()["decision"] == "accepted"
    other_client = as_(app, world, "other-member")
    other = other_client.post(url, data={"candidate": "cro", "decision": "accepted",
                                         "csrf": csrf_of(other_client)})
    assert other.status_code == 403


def test_forms_posted_from_another_site_are_refused(app: FastAPI, world: World) -> None:
    response = as_(app, world, "member").post(
        f"/n/{world.nid}/home/clinic/feedback", data={"candidate": "cro", "decision": "accepted"},
        headers={"Origin": "http://elsewhere.example"})
    assert response.status_code == 403


def test_dashboard_shows_opportunities_and_a_clickable_picture(app: FastAPI,
                                                               world: World) -> None:
    facilitator = as_(app, world, "facilitator")
    text = facilitator.get(f"/n/{world.nid}/dashboard").text
    for heading in ("Network health", "Buying groups", "Shared services", "Cross-training",
                    "Value-chain builder", "Natural leaders"):
        assert heading in text
    assert f'data-src="/n/{world.nid}/overview.json"' in text
    assert f'href="/n/{world.nid}/home/genlab#suggestions"' in text  # the member list
    drawn = facilitator.get(f"/n/{world.nid}/overview.json").json()
    assert drawn["link"] == f"/n/{world.nid}/home/{{id}}#suggestions"
    assert "genlab" in {n["id"] for n in drawn["nodes"]}
    analyst = as_(app, world, "analyst")
    assert analyst.get(f"/n/{world.nid}/overview.json").json()["link"] == \
        f"/n/{world.nid}/members/{{id}}"
    assert as_(app, world, "member").get(f"/n/{world.nid}/overview.json").status_code == 403


def test_the_member_list_comes_in_pages_that_keep_the_filters(app: FastAPI,
                                                              world: World) -> None:
    member = as_(app, world, "member")
    first = member.get(f"/n/{world.nid}/members", params={"per_page": 2, "q": ""}).text
    assert first.count('<li class="card">') == 2 and "3 members found" in first
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "per_page=2" in following and "page=2" in following and "q=" in following
    second = member.get(following).text
    assert second.count('<li class="card">') == 1 and 'rel="prev"' in second
    assert 'rel="next"' not in second
    beyond = member.get(f"/n/{world.nid}/members", params={"per_page": 2, "page": 99}).text
    assert beyond.count('<li class="card">') == 1  # past the end: the last page
    assert member.get(f"/n/{world.nid}/members", params={"per_page": 1000}).status_code == 422


def test_every_dashboard_table_comes_in_pages(app: FastAPI, world: World) -> None:
    facilitator = as_(app, world, "facilitator")
    text = facilitator.get(f"/n/{world.nid}/dashboard", params={"per_page": 1}).text
    members = text.split('id="members-h"')[1].split("</ul>")[0]
    assert members.count("<li>") == 1
    following = re.search(r'href="([^"]+members_page=2[^"]*)"', text).group(1)
    assert "per_page=1" in following and following.endswith("#members-h")
    second = facilitator.get(following.replace("&amp;", "&")).text
    assert second.split('id="members-h"')[1].split("</ul>")[0] != members


def test_value_chain_builder_shows_stages_and_gaps(app: FastAPI, world: World) -> None:
    client = as_(app, world, "facilitator")
    text = client.get(f"/n/{world.nid}/dashboard?template=ivf-chain").text
    assert "GenLab" in text.split('id="value-chain"')[1]
    assert "Gaps: travel" in text
    unknown = client.get(f"/n/{world.nid}/dashboard?template=nope").text
    assert "no value chain template" in unknown


def test_a_members_header_names_it_rather_than_showing_its_id(app: FastAPI, world: World
                                                              ) -> None:
    page = as_(app, world, "member").get(f"/n/{world.nid}/members").text
    header = page.split('<div class="who">')[1].split("</div>")[0]
    assert "<strong>Clínica Sol</strong>" in header and ">clinic<" not in header
