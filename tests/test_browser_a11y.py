"""Every page each role can reach, in a real Chromium: no WCAG 2.0/2.1 A or AA violation that
axe-core finds, and nothing wider than the window on a 390 px phone or a 1440 px desktop.

axe-core is vendored from npm under ``tests/vendor/axe-core`` (with its MPL-2.0 licence; see the
README there). A screenshot of each page at each width goes to ``tests/screenshots/`` (ignored
by git).
"""

# ruff: noqa: F811 (the served instance and Chromium are test_browser's fixtures, imported)
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from graph.database import Database
from graph.store import import_network
from graph.tokens import issue_token
from seed_data import SEED_DIR
from tests.test_browser import SHOTS, browser, server, sign_in, sync_api  # noqa: F401

pytestmark = pytest.mark.database
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
WIDTHS = (390, 1440)
MEMBER = "panaderia-santa-ana"


class Site:
    """A fresh copy of herencia, a token per role, and the pages each role can reach."""

    def __init__(self, db: Database):
        document: dict[str, Any] = json.loads((SEED_DIR / "herencia.json").read_text("utf-8"))
        self.nid = nid = f"ax-{uuid.uuid4().hex[:10]}"
        document["network"]["id"] = nid
        import_network(db, document)
        other = next(m["id"] for m in document["members"] if m["id"] != MEMBER)
        project = document["projects"][0]["id"]
        self.tokens = {"admin": issue_token(db, "admin", None, None)[0],
                       **{role: issue_token(db, role, nid, MEMBER if role == "member" else None)[0]
                          for role in ("facilitator", "member", "analyst")}}
        everyone = ["/n", f"/n/{nid}/members", f"/n/{nid}/members?q=pan",
                    f"/n/{nid}/members/{other}", f"/n/{nid}/projects",
                    f"/n/{nid}/projects/{project}", f"/n/{nid}/agents",
                    f"/n/{nid}/no-such-page"]
        managers = [f"/n/{nid}/dashboard", f"/n/{nid}/dashboard?order={document['orders'][0]['id']}",
                    f"/n/{nid}/exports", f"/n/{nid}/onboarding", f"/n/{nid}/rivalries",
                    f"/n/{nid}/home/{MEMBER}",
                    f"/n/{nid}/home/{other}"]
        self.pages = {
            # what an administrator sees beyond a facilitator: the policy form, enabled
            "admin": ["/n", f"/n/{nid}/onboarding", f"/n/{nid}/dashboard"],
            "facilitator": everyone + managers,
            "member": everyone + [f"/n/{nid}/home/{MEMBER}", f"/n/{nid}/dashboard"],
            "analyst": everyone + [f"/n/{nid}/exports", f"/n/{nid}/dashboard"],
        }


@pytest.fixture(scope="module")
def site(seeded: Database) -> Site:
    return Site(seeded)


def audit(page: Any) -> list[str]:
    """axe-core's WCAG A/AA violations on the page, one readable line per element."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           TAGS)
    return [f"{v['id']} ({v['impact']}): {n['target']} {n['failureSummary'][:200]!r}"
            for v in result["violations"] for n in v["nodes"]]


def overflow(page: Any) -> int:
    """How many pixels the page is wider than the window (0 when nothing sticks out)."""
    return int(page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth"))


def visit(browser: Any, server: str, token: str | None, paths: list[str], name: str
          ) -> list[str]:
    """Each path at each width: axe's violations (at the widest) and any overflow, as lines."""
    found: list[str] = []
    context = browser.new_context(base_url=server, viewport={"width": max(WIDTHS), "height": 900},
                                  bypass_csp=True)  # for axe, injected
    context.set_default_timeout(30_000)
    page = context.new_page()
    SHOTS.mkdir(exist_ok=True)
    try:
        if token:
            sign_in(page, token)
        for path in paths:
            page.set_viewport_size({"width": max(WIDTHS), "height": 900})
            page.goto(path)
            page.wait_for_load_state()
            found += [f"{name} {path}: {line}" for line in audit(page)]
            slug = path.strip("/").replace("/", "_").replace("?", "_").split("ax-")[-1]
            for width in sorted(WIDTHS, reverse=True):  # the same page, the window narrowed
                page.set_viewport_size({"width": width, "height": 900})
                wider = overflow(page)
                if wider > 0:
                    found.append(f"{name} {width}px {path}: {wider}px wider than the window: "
                                 f"{widest(page)}")
                page.screenshot(path=str(SHOTS / f"a11y-{name}-{width}-{slug or 'root'}.png"))
    finally:
        context.close()
    return found


def widest(page: Any) -> str:
    """The innermost elements that reach past the window's right edge (what to fix)."""
    return page.evaluate("""() => {
      const out = [], edge = window.innerWidth + 1;
      const clipped = el => { for (let a = el.parentElement; a; a = a.parentElement)
        if (getComputedStyle(a).overflowX !== 'visible') return true; return false; };
      for (const el of document.querySelectorAll('body *')) {
        const r = el.getBoundingClientRect();
        if (r.right > edge && !clipped(el) &&
            ![...el.children].some(c => c.getBoundingClientRect().right > edge))
          out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                   (typeof el.className === 'string' && el.className ? '.' + el.className : '')
                   + ' ' + Math.round(r.right));
      }
      return out.slice(0, 8).join(', ');
    }""")


@pytest.mark.parametrize("role", ["admin", "facilitator", "member", "analyst"])
def test_every_page_of_a_role_passes_axe_and_fits_phone_and_desktop(
        role: str, site: Site, browser: Any, server: str) -> None:
    found = visit(browser, server, site.tokens[role], site.pages[role], role)
    assert not found, "\n".join(found)


def test_the_pages_before_signing_in_pass_axe_and_fit(browser: Any, server: str) -> None:
    found = visit(browser, server, None, ["/", "/signin", "/signin?next=/n", "/n/x/dashboard",
                                          "/no-such-page"], "anonymous")
    assert not found, "\n".join(found)


def test_a_form_with_errors_passes_axe(browser: Any, server: str, site: Site) -> None:
    """Errors marked next to their fields (aria-invalid, descriptions) are accessible too."""
    context = browser.new_context(base_url=server, viewport={"width": 1440, "height": 900},
                                  bypass_csp=True)
    try:
        page = context.new_page()
        sign_in(page, site.tokens["facilitator"])
        page.goto(f"/n/{site.nid}/onboarding")
        page.get_by_role("button", name="Add the member").click()
        sync_api.expect(page.get_by_role("alert").first).to_be_visible()
        page.get_by_label("Or paste the document").fill("{not json")
        page.get_by_role("button", name="Import the document").click()
        sync_api.expect(page.locator("#import-problems")).to_be_visible()
        found = audit(page)
        page.goto(f"/n/{site.nid}/home/{MEMBER}")
        page.locator("#edit summary").click()
        page.locator("#capabilities-0-level").fill("9")
        page.get_by_role("button", name="Save profile").click()
        sync_api.expect(page.locator("#err-capabilities-0-level")).to_be_visible()
        found += audit(page)
        context.clear_cookies()  # signed out: the sign-in page's error
        sign_in(page, "pm_not-a-real-token")
        found += audit(page)
    finally:
        context.close()
    assert not found, "\n".join(found)


def test_a_form_over_the_size_limit_is_stopped_before_sending_and_keeps_the_text(
        browser: Any, server: str, site: Site) -> None:
    """A network document too large for a form, pasted into the import box: the page says so
    in the reader's language, stays where it is and keeps the text; nothing is sent."""
    context = browser.new_context(base_url=server, locale="es-ES")
    try:
        page = context.new_page()
        page.goto("/")
        page.get_by_label("Clave de acceso").fill(site.tokens["facilitator"])
        page.get_by_role("button", name="Iniciar sesión").click()
        page.wait_for_load_state()
        page.goto(f"/n/{site.nid}/onboarding#import")
        huge = '{"members": [' + ", ".join(['{"id": "m"}'] * 30_000) + "]}"  # ~400 kB sent
        box = page.locator("#import-document")
        box.evaluate("(box, text) => { box.value = text; }", huge)
        posts: list[str] = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        address = page.url
        page.locator("#import button[type=submit]").click()
        alert = page.locator("#import .too-large")
        sync_api.expect(alert).to_be_visible()
        sync_api.expect(alert).to_contain_text("demasiado grande")
        assert page.url == address and not posts
        assert box.input_value() == huge
    finally:
        context.close()
