"""In a real Chromium: the language switch is remembered, Accept-Language chooses the first
language, Spanish pages show Spanish capability labels, search folds accents, and /docs works
with no network beyond the server (Swagger UI comes from the package)."""

# ruff: noqa: F811 (the served instance and Chromium are test_browser's fixtures, imported)
from __future__ import annotations

from typing import Any

import pytest

from graph.database import Database
from graph.tokens import issue_token
from tests.test_browser import (  # noqa: F401 (fixtures)
    browser,
    page,
    server,
    sign_in,
    sync_api,
)

pytestmark = pytest.mark.database
NID, MEMBER = "herencia", "panaderia-santa-ana"


@pytest.fixture(scope="module")
def member_token(seeded: Database) -> str:
    return issue_token(seeded, "member", NID, MEMBER)[0]


def test_the_language_switch_is_remembered(page: Any, member_token: str) -> None:
    sign_in(page, member_token)
    expect = sync_api.expect
    expect(page.get_by_role("heading", name="Recommended collaborators")).to_be_visible()
    page.get_by_role("button", name="Español").click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Colaboradores recomendados")).to_be_visible()
    assert page.url.endswith(f"/n/{NID}/home/{MEMBER}")  # back on the same page
    page.get_by_role("link", name="Ver socios").click()
    expect(page.get_by_role("heading", name="Socios de")).to_be_visible()
    other = page.context.new_page()  # a new tab of the same browser: still Spanish
    other.goto(f"/n/{NID}/members/carrocerias-martin-romero")
    expect(other.get_by_text("Carrocerías de camiones")).to_be_visible()
    expect(other.get_by_role("heading", name="Capacidades")).to_be_visible()
    other.get_by_role("button", name="English").click()
    expect(other.get_by_text("Lorry body building")).to_be_visible()


def test_accept_language_chooses_the_first_language(browser: Any, server: str) -> None:
    context = browser.new_context(base_url=server, locale="es-ES")
    try:
        page = context.new_page()
        page.goto("/")
        sync_api.expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
        sync_api.expect(page.get_by_label("Clave de acceso")).to_be_visible()
    finally:
        context.close()


def test_search_in_spanish_folds_accents(page: Any, member_token: str) -> None:
    page.set_extra_http_headers({"Accept-Language": "es"})
    sign_in_es(page, member_token)
    page.goto(f"/n/{NID}/members")
    page.get_by_label("Buscar").fill("carrocerias")
    page.get_by_role("button", name="Filtrar").click()
    cards = page.locator("ul.members > li")
    sync_api.expect(cards).to_have_count(1)
    sync_api.expect(cards.first).to_contain_text("Carrocerías Martín-Romero")
    sync_api.expect(page.get_by_role("status")).to_have_text("1 socio encontrado.")


def sign_in_es(page: Any, token: str) -> None:
    page.goto("/")
    page.get_by_label("Clave de acceso").fill(token)
    page.get_by_role("button", name="Iniciar sesión").click()
    page.wait_for_load_state()


def test_docs_work_offline(page: Any, server: str) -> None:
    elsewhere: list[str] = []

    def only_the_server(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto("/docs")
    operations = page.locator(".swagger-ui .opblock")
    # Swagger UI parses a 1.7 MB bundle and the whole OpenAPI document: slow on a busy machine.
    sync_api.expect(operations.first).to_be_visible(timeout=30_000)
    assert operations.count() > 20
    sync_api.expect(page.locator(".swagger-ui .info .title")).to_contain_text("partnermatch")
    assert elsewhere == []


def test_spanish_pages_fit_a_phone_screen(browser: Any, server: str, member_token: str) -> None:
    """Spanish words are longer: the header with its language switch and the member's pages
    must still fit 390 px without scrolling sideways."""
    context = browser.new_context(base_url=server, locale="es-ES",
                                  viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        sign_in_es(phone, member_token)
        for url in (f"/n/{NID}/home/{MEMBER}", f"/n/{NID}/members",
                    f"/n/{NID}/members/carrocerias-martin-romero", f"/n/{NID}/agents"):
            phone.goto(url)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, (url, width)
    finally:
        context.close()
