"""The work facilitators and members come for, end to end in a real Chromium: introductions
(double opt-in with the facilitator's approval), "my partners" with undo, projects through their
phases with outcomes, and a facilitator acting on a member's behalf.

Same set-up as ``tests/test_browser.py`` (its fixtures: a served instance, Debian's chromium).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from graph.database import Database
from graph.introductions import list_introductions
from graph.projects import get_project
from graph.members import get_member
from graph.store import export_network, import_network, network_policy
from graph.tokens import issue_token
from seed_data import SEED_DIR
from tests.test_browser import browser, server, shot, sign_in, sync_api  # noqa: F401

pytestmark = pytest.mark.database
TIMEOUT_MS = 30_000  # generous: a loaded 2-core CI machine renders a dashboard in seconds
ASKER = "panaderia-santa-ana"


class Herencia:
    """A fresh copy of the herencia seed network whose policy asks a facilitator to approve
    every introduction; a token per role, and one per member when asked."""

    def __init__(self, db: Database):
        document: dict[str, Any] = json.loads((SEED_DIR / "herencia.json").read_text("utf-8"))
        self.nid = f"wf-{uuid.uuid4().hex[:10]}"
        document["network"]["id"] = self.nid
        document["network"]["policy"] = {"approval": "always"}
        import_network(db, document)
        self.db = db
        self.members = {m["id"]: m for m in document["members"]}
        self.tokens = {role: issue_token(db, role, self.nid, None)[0]
                       for role in ("facilitator", "analyst")}

    def member_token(self, mid: str) -> str:
        return issue_token(self.db, "member", self.nid, mid)[0]

    def name(self, mid: str) -> str:
        return self.members[mid]["name"]


@pytest.fixture(scope="module")
def herencia(seeded: Database) -> Herencia:
    return Herencia(seeded)


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:  # noqa: F811
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    sync_api.expect.set_options(timeout=TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def person(browser: Any, server: str) -> Iterator[Any]:  # noqa: F811
    """``person(token)``: another person at another desk (a browser context of its own), signed
    in with ``token``."""
    contexts = []

    def signed_in(token: str) -> Any:
        context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        other = context.new_page()
        sign_in(other, token)
        return other

    yield signed_in
    for context in contexts:
        context.close()


def test_an_introduction_asked_approved_and_accepted_reveals_both_contacts(
        page: Any, person: Any, herencia: Herencia) -> None:  # noqa: F811
    nid = herencia.nid
    sign_in(page, herencia.member_token(ASKER))
    card = page.locator("li.suggestion").first
    recipient = card.get_attribute("data-candidate")
    to_name = herencia.name(recipient)
    card.get_by_text(f"Ask for an introduction to {to_name}").click()
    card.get_by_label(f"A short message to {to_name}").fill("Bread for your guests?")
    card.get_by_role("button", name=f"Send the request to {to_name}").click()
    sync_api.expect(page.get_by_role("status").first).to_contain_text("request for an "
                                                                      "introduction was sent")
    sent = page.locator("#introductions li.intro").filter(has_text=to_name)
    sync_api.expect(sent).to_contain_text("waiting for the facilitator's approval")
    shot(page, "introduction-sent")

    # The facilitator approves it from the dashboard's queue, with a note.
    other_page = person(herencia.tokens["facilitator"])
    queued = other_page.locator("#approvals li.intro").filter(has_text=to_name)
    sync_api.expect(queued).to_contain_text("Bread for your guests?")
    queued.get_by_label("Note (optional)").first.fill("Good fit: go ahead.")
    queued.get_by_role("button", name="Approve").click()
    sync_api.expect(other_page.get_by_role("status").first).to_contain_text("approved")
    sync_api.expect(other_page.locator("#approvals")).to_contain_text("Nothing waits")

    # Before the answer, no contact on either side.
    page.goto(f"/n/{nid}/members/{recipient}")
    sync_api.expect(page.locator("article")).to_contain_text("shared after both sides accept")

    # The recipient sees the request, the message and the note, and accepts.
    other_page = person(herencia.member_token(recipient))
    sync_api.expect(other_page.locator(".waiting")).to_contain_text("waits for your answer")
    received = other_page.locator("#introductions li.intro").filter(
        has_text=herencia.name(ASKER))
    sync_api.expect(received).to_contain_text("waiting for your answer")
    sync_api.expect(received).to_contain_text("Good fit: go ahead.")
    shot(other_page, "introduction-received")
    received.get_by_role("button", name="Accept the introduction").click()
    sync_api.expect(other_page.get_by_role("status").first).to_contain_text("You accepted")
    sync_api.expect(received).to_contain_text("accepted: contact details are shared")
    received.get_by_role("link", name="contact details").click()
    sync_api.expect(other_page.locator("article")).to_contain_text(
        herencia.members[ASKER]["contact"])

    # ... and the requester now sees the recipient's contact on its page.
    page.goto(f"/n/{nid}/home/{ASKER}#introductions")
    sync_api.expect(sent).to_contain_text("accepted")
    page.goto(f"/n/{nid}/members/{recipient}")
    sync_api.expect(page.locator("article")).to_contain_text(
        herencia.members[recipient]["contact"])
    [stored] = [i for i in list_introductions(herencia.db, nid) if i["to"] == recipient
                and i["from"] == ASKER]
    assert [h["status"] for h in stored["history"]] == [
        "pending_approval", "pending_response", "accepted"]


def test_a_rejected_introduction_says_why_and_a_second_request_is_refused_in_words(
        page: Any, person: Any, herencia: Herencia) -> None:  # noqa: F811
    asker, target = "meson-los-arcos", "restaurante-el-horno"
    sign_in(page, herencia.member_token(asker))
    page.goto(f"/n/{herencia.nid}/members/{target}")
    page.get_by_text(f"Ask for an introduction to {herencia.name(target)}").click()
    page.get_by_role("button", name="Send the request").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("was sent")
    page.get_by_text(f"Ask for an introduction to {herencia.name(target)}").click()
    page.get_by_role("button", name="Send the request").click()
    sync_api.expect(page.get_by_role("heading", name="Conflict")).to_be_visible()
    sync_api.expect(page.get_by_role("alert")).to_contain_text("already open")

    other_page = person(herencia.tokens["facilitator"])
    queued = other_page.locator("#approvals li.intro").filter(has_text=herencia.name(asker))
    queued.locator("form").filter(has_text="Reject").get_by_label("Note (optional)").fill(
        "Talk to me first about the catering contract.")
    queued.get_by_role("button", name="Reject").click()
    sync_api.expect(other_page.get_by_role("status").first).to_contain_text("not approved")

    page.goto(f"/n/{herencia.nid}/home/{asker}#introductions")
    sent = page.locator("#introductions li.intro").filter(has_text=herencia.name(target))
    sync_api.expect(sent).to_contain_text("not approved by the facilitator")
    sync_api.expect(sent).to_contain_text("Talk to me first about the catering contract.")


def test_accepted_and_declined_suggestions_stay_in_my_partners_with_undo(
        page: Any, herencia: Herencia) -> None:  # noqa: F811
    member = "ferreteria-el-yunque"
    sign_in(page, herencia.member_token(member))
    first, second = page.locator("li.suggestion").nth(0), page.locator("li.suggestion").nth(1)
    kept, dropped = first.get_attribute("data-candidate"), second.get_attribute("data-candidate")
    first.get_by_role("button", name="Accept").click()
    sync_api.expect(first.locator(".decided")).to_have_text("Accepted")
    second.get_by_role("button", name="Decline").click()
    sync_api.expect(second.locator(".decided")).to_have_text("Declined")
    page.reload()
    partners = page.locator("#partners")
    sync_api.expect(partners.locator(f".partners-accepted [data-candidate='{kept}']")).to_be_visible()
    sync_api.expect(partners.locator(f".partners-declined [data-candidate='{dropped}']")
                    ).to_be_visible()
    assert page.locator(f"li.suggestion[data-candidate='{dropped}']").count() == 0
    shot(page, "my-partners")
    partners.get_by_role("button", name=f"Undo the refusal of {herencia.name(dropped)}").click()
    sync_api.expect(page.get_by_role("status").first).to_contain_text("taken back")
    sync_api.expect(partners.locator(f"[data-candidate='{dropped}']")).to_have_count(0)
    sync_api.expect(partners.locator(f"[data-candidate='{kept}']")).to_have_count(1)


def test_a_project_from_a_buying_group_moves_through_phases_with_outcomes(
        page: Any, person: Any, herencia: Herencia) -> None:  # noqa: F811
    nid = herencia.nid
    sign_in(page, herencia.tokens["facilitator"])
    group = page.locator("details.group").first
    group.locator("summary").click()
    start = group.get_by_role("button", name="Start a project")
    title = start.inner_text().removeprefix("Start a project: ")
    start.click()
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(title)
    sync_api.expect(page.get_by_role("status")).to_contain_text("project was created")
    pid = page.url.split("/projects/")[1].split("?")[0]
    project = get_project(herencia.db, nid, pid)
    assert project["kind"] == "buying_group" and len(project["members"]) >= 2

    for phase in ("shared goals", "design"):
        page.get_by_label("Note", exact=True).fill(f"Agreed at the meeting: {phase}")
        page.get_by_role("button", name="Move the project").click()
        sync_api.expect(page.locator(".phase")).to_have_text(phase)
    sync_api.expect(page.locator(".history")).to_contain_text("Agreed at the meeting: design")

    page.get_by_label("Realised saving").fill("a lot")
    page.get_by_role("button", name="Save the outcomes").click()
    sync_api.expect(page.locator("#err-realised_saving")).to_be_visible()
    page.get_by_label("Realised saving").fill("1200")
    page.get_by_label("New business").fill("5000")
    page.get_by_label("Certifications obtained").fill("ISO 14001")
    page.get_by_role("button", name="Save the outcomes").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("outcomes were saved")
    sync_api.expect(page.locator("dl.facts")).to_contain_text("1,200 EUR")
    shot(page, "project", full_page=True)
    assert get_project(herencia.db, nid, pid)["outcomes"]["certifications"] == ["ISO 14001"]

    # A participant finds it on its home page, and opens it read-only.
    member = project["members"][0]["member"]
    other_page = person(herencia.member_token(member))
    mine = other_page.locator("#projects").get_by_role("link", name=title)
    sync_api.expect(mine).to_be_visible()
    sync_api.expect(other_page.locator("#projects")).to_contain_text("design")
    mine.click()
    sync_api.expect(other_page.get_by_role("heading", level=1)).to_have_text(title)
    assert other_page.get_by_role("button", name="Move the project").count() == 0

    # Abandoning needs a reason (the API's rule, said in words).
    page.get_by_label("Next phase").select_option("abandoned")
    page.get_by_label("Note", exact=True).fill("")
    page.get_by_role("button", name="Move the project").click()
    sync_api.expect(page.get_by_role("alert")).to_contain_text(
        "Say why the project is abandoned")
    sync_api.expect(page.get_by_label("Note", exact=True)).to_be_focused()  # the form, again


def test_a_cross_training_project_shows_outsiders_what_the_api_shows_them(
        page: Any, person: Any, herencia: Herencia, server: str) -> None:  # noqa: F811
    nid = herencia.nid
    sign_in(page, herencia.tokens["facilitator"])
    page.locator("#training").scroll_into_view_if_needed()
    page.locator("#training ~ .scroll").get_by_role("button", name="Start a project").first.click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("project was created")
    pid = page.url.split("/projects/")[1].split("?")[0]
    project = get_project(herencia.db, nid, pid)
    inside = {m["member"] for m in project["members"]}
    outsider = next(m for m in herencia.members if m not in inside)
    participant = next(iter(inside))

    # A participant's profile lists it to an outsider; the project page opens with the same
    # generic view the API gives that outsider (no title naming the weakness).
    token = herencia.member_token(outsider)
    other_page = person(token)
    other_page.goto(f"/n/{nid}/members/{participant}")
    listed = other_page.locator(f"a[href='/n/{nid}/projects/{pid}']")
    sync_api.expect(listed).to_have_text("A cross-training project")
    listed.click()
    sync_api.expect(other_page.get_by_role("heading", level=1)).to_have_text(
        "A cross-training project")
    assert project["title"] not in other_page.inner_text("body")
    api = other_page.request.get(f"{server}/networks/{nid}/projects/{pid}",
                                 headers={"Authorization": f"Bearer {token}"})
    assert api.status == 200 and api.json()["title"] == "A cross-training project"


def test_a_facilitator_on_a_members_page_acts_on_its_behalf(
        page: Any, herencia: Herencia) -> None:  # noqa: F811
    member = "hotel-villa-de-herencia"
    name = herencia.name(member)
    sign_in(page, herencia.tokens["facilitator"])
    page.goto(f"/n/{herencia.nid}/home/{member}")
    sync_api.expect(page.get_by_role("note")).to_contain_text(f"on behalf of {name}")
    sync_api.expect(page.get_by_role("heading", name=f"Recommended collaborators for {name}")
                    ).to_be_visible()
    sync_api.expect(page.get_by_role("heading", name=f"Profile of {name}")).to_be_visible()
    sync_api.expect(page.get_by_role("heading", name=f"Projects of {name}")).to_be_visible()
    main = page.locator("main")
    assert "My profile" not in main.inner_text() and "My partners" not in main.inner_text()
    buttons = [" ".join(b.text_content().split()) for b in main.locator("form button").all()]
    actions = [b for b in buttons if not b.startswith(("Approve", "Reject"))]
    assert actions and all(f"on behalf of {name}" in b for b in actions), actions
    card = page.locator("li.suggestion").first
    recipient = card.get_attribute("data-candidate")
    card.get_by_text("Ask for an introduction").click()
    card.get_by_role("button", name="Send the request").click()
    sync_api.expect(page.get_by_role("status").first).to_contain_text("was sent")
    [made] = [i for i in list_introductions(herencia.db, herencia.nid, member=member)
              if i["to"] == recipient]
    assert made["history"][0]["on_behalf_of"] == member


def test_a_facilitator_onboards_a_member_invites_it_and_removes_it(
        page: Any, person: Any, seeded: Database, server: str) -> None:  # noqa: F811
    network = Herencia(seeded)
    nid = network.nid
    sign_in(page, network.tokens["facilitator"])
    page.goto(f"/n/{nid}/onboarding")
    add = page.locator("#add")
    add.get_by_label("Id").fill("taller nuevo!")
    add.get_by_label("Name").fill("Taller Nuevo")
    add.get_by_role("button", name="Add the member").click()
    sync_api.expect(page.locator("#err-id")).to_be_visible()
    sync_api.expect(add.get_by_label("Name")).to_have_value("Taller Nuevo")
    add.get_by_label("Id").fill("taller-nuevo")
    add.get_by_label("Sector").fill("automotive")
    add.get_by_role("button", name="Add the member").click()
    page.wait_for_url(f"**/n/{nid}/home/taller-nuevo**")
    sync_api.expect(page.get_by_role("status").first).to_contain_text(
        "The profile of Taller Nuevo was saved")

    # An invitation code, shown once, opens the member's own token exactly once.
    page.goto(f"/n/{nid}/onboarding#invitations")
    page.get_by_label("Member", exact=True).select_option("taller-nuevo")
    page.get_by_role("button", name="Issue an invitation code").click()
    code = page.locator("#invitation-code").inner_text()
    redeemed = page.request.post(f"{server}/invitations/redeem", data={"code": code})
    assert redeemed.status == 201
    token = redeemed.json()["token"]
    page.goto(f"/n/{nid}/onboarding#invitations")
    row = page.locator("#invitations tr", has_text="Taller Nuevo")
    sync_api.expect(row).to_contain_text("redeemed")
    page.get_by_label("Member", exact=True).select_option("taller-nuevo")
    page.get_by_role("button", name="Issue an invitation code").click()
    second = page.locator("#invitation-code").inner_text()
    page.get_by_role("button", name="Revoke the invitation of Taller Nuevo").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("revoked")
    assert page.request.post(f"{server}/invitations/redeem", data={"code": second}).status == 410
    shot(page, "onboarding", full_page=True)

    newcomer = person(token)
    assert newcomer.url.endswith(f"/n/{nid}/home/taller-nuevo")

    # Removal asks for a tick, then the member and its token are gone. The members are listed a
    # page at a time: the facilitator finds the newcomer by its name.
    page.goto(f"/n/{nid}/onboarding?q=Taller+Nuevo#members")
    row = page.locator("#members tr[data-member='taller-nuevo']")
    row.get_by_label("I am sure").check()
    row.get_by_role("button", name="Remove Taller Nuevo").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("was removed")
    assert page.locator("#members tr[data-member='taller-nuevo']").count() == 0
    newcomer.goto(f"/n/{nid}/home/taller-nuevo")
    sync_api.expect(newcomer.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_import_lists_each_problem_at_its_json_path(page: Any, seeded: Database) -> None:  # noqa: F811
    network = Herencia(seeded)
    sign_in(page, network.tokens["facilitator"])
    page.goto(f"/n/{network.nid}/onboarding#import")
    document = export_network(seeded, network.nid, include_confidential=True)
    document["members"][0]["capabilities"][0]["level"] = 9
    document["members"][2]["needs"].append({"id": "no-such-capability", "urgency": 3})
    page.get_by_label("Or paste the document").fill(json.dumps(document))
    page.get_by_role("button", name="Import the document").click()
    problems = page.locator("#import-problems")
    sync_api.expect(problems).to_contain_text("Nothing was imported")
    paths = problems.locator("code.path").all_inner_texts()
    assert "members[0].capabilities[0].level" in paths
    assert any(p.startswith("members[2].needs[") for p in paths), paths
    assert get_member(seeded, network.nid, document["members"][0]["id"])[
        "capabilities"][0]["level"] != 9
    page.get_by_label("Or paste the document").fill('{"network": ')
    page.get_by_role("button", name="Import the document").click()
    sync_api.expect(problems).to_contain_text("not JSON")

    document["members"][0]["capabilities"][0]["level"] = 5
    document["members"][2]["needs"].pop()
    document["members"][1]["description"] = "Imported from the browser."
    page.get_by_label("Or paste the document").fill(json.dumps(document))
    page.get_by_role("button", name="Import the document").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("was imported")
    assert get_member(seeded, network.nid, document["members"][1]["id"])[
        "description"] == "Imported from the browser."


def test_a_facilitator_sets_the_policy_and_errors_sit_next_to_the_fields(
        page: Any, seeded: Database) -> None:  # noqa: F811
    network = Herencia(seeded)
    sign_in(page, network.tokens["facilitator"])
    page.goto(f"/n/{network.nid}/onboarding#policy")
    page.get_by_label("A request expires after").fill("0")
    page.get_by_role("button", name="Save the policy").click()
    sync_api.expect(page.locator("#err-expiry_days")).to_be_visible()
    page.get_by_label("A request expires after").fill("7")
    page.get_by_label("When a facilitator approves").select_option("never")
    page.get_by_role("button", name="Save the policy").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("policy was saved")
    policy = network_policy(seeded, network.nid)
    assert (policy.approval, policy.expiry_days) == ("never", 7)
    assert policy.facilitator_token_days == 90  # an administrator's, untouched


def test_a_facilitator_stores_the_opportunity_settings_and_the_analyses_use_them(
        page: Any, seeded: Database) -> None:  # noqa: F811
    network = Herencia(seeded)
    sign_in(page, network.tokens["facilitator"])
    page.goto(f"/n/{network.nid}/dashboard#opportunity-settings")
    page.get_by_label("Mentees per mentor").fill("0")
    page.get_by_label("Largest discount per category").fill("fuel:2")
    page.get_by_role("button", name="Save the settings").click()
    sync_api.expect(page.locator("#err-capacity")).to_be_visible(timeout=TIMEOUT_MS)
    sync_api.expect(page.locator("#err-discount")).to_be_visible()
    assert network_policy(seeded, network.nid).training_capacity == 3  # nothing saved
    page.get_by_label("Mentees per mentor").fill("1")
    page.get_by_label("Members for the full group discount").fill("2")
    page.get_by_label("Largest discount per category").fill("office-material:0.37")
    page.get_by_role("button", name="Save the settings").click()
    sync_api.expect(page.get_by_role("status").first).to_contain_text(
        "settings were saved", timeout=TIMEOUT_MS)
    policy = network_policy(seeded, network.nid)
    assert (policy.training_capacity, policy.full_at_members, policy.discounts) == (
        1, 2, {"office-material": 0.37})
    sync_api.expect(page.get_by_label("Largest discount per category")).to_have_value(
        "office-material:0.37")
    # Twenty members need office material: from two members on, the whole 37 % applies.
    sync_api.expect(page.locator("details.group dd", has_text="37%")).to_have_count(1)
    exported = export_network(seeded, network.nid, include_confidential=True)
    assert exported["network"]["policy"]["discounts"] == {"office-material": 0.37}


def test_a_member_asks_for_an_introduction_in_spanish(page: Any, herencia: Herencia) -> None:
    member = "bodegas-alcolea-martin"
    sign_in(page, herencia.member_token(member))
    page.get_by_role("button", name="Español").click()
    sync_api.expect(page.locator("html")).to_have_attribute("lang", "es")
    card = page.locator("li.suggestion").first
    to_name = herencia.name(card.get_attribute("data-candidate"))
    card.get_by_text(f"Pedir que te presenten a {to_name}").click()
    card.get_by_label(f"Un mensaje breve para {to_name}").fill("¿Vino para vuestros clientes?")
    card.get_by_role("button", name=f"Enviar la solicitud a {to_name}").click()
    sync_api.expect(page.get_by_role("status").first).to_have_text(
        "Se ha enviado la solicitud de presentación.")
    sent = page.locator("#introductions li.intro").filter(has_text=to_name)
    sync_api.expect(sent).to_contain_text("esperando la aprobación del dinamizador")
    sync_api.expect(page.get_by_role("heading", name="Mis socios colaboradores")).to_be_visible()
    shot(page, "introduction-sent-es")
