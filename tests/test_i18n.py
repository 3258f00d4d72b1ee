"""The interface's language: the remembered choice, then Accept-Language, then English; every
marked string has a Spanish translation in the catalogue."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from api.web import i18n
from graph.database import Database

pytestmark = pytest.mark.database
WEB = i18n.LOCALE_DIR.parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


@pytest.fixture(scope="module")
def app(db: Database) -> FastAPI:
    return create_app(ApiSettings(admin_token=None), database=db)


@pytest.fixture
def browser(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def test_english_by_default_and_spanish_from_accept_language(browser: TestClient) -> None:
    english = browser.get("/signin")
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    spanish = browser.get("/signin", headers={"Accept-Language": "es-ES,es;q=0.9,en;q=0.8"})
    assert '<html lang="es">' in spanish.text
    assert "Iniciar sesión" in spanish.text and "Sign out" not in spanish.text
    preferred = browser.get("/signin", headers={"Accept-Language": "fr, en;q=0.9, es;q=0.8"})
    assert '<html lang="en">' in preferred.text  # French is not there: the next best is English
    unknown = browser.get("/signin", headers={"Accept-Language": "de, fr;q=0.5"})
    assert '<html lang="en">' in unknown.text


def test_the_switch_is_remembered_over_accept_language(browser: TestClient) -> None:
    chosen = browser.post("/language", data={"lang": "es", "next": "/signin?next=/n"},
                          headers={"Accept-Language": "en"})
    assert chosen.status_code == 303 and chosen.headers["location"] == "/signin?next=/n"
    cookie = chosen.headers["set-cookie"].lower()
    assert cookie.startswith("pm_lang=es") and "max-age" in cookie  # outlives the session
    page = browser.get("/signin", headers={"Accept-Language": "en"})
    assert '<html lang="es">' in page.text and "Iniciar sesión" in page.text
    back = browser.post("/language", data={"lang": "en", "next": "https://evil.example/"})
    assert back.headers["location"] == "/"  # only a path of this site is followed
    assert '<html lang="en">' in browser.get("/signin", headers={"Accept-Language": "es"}).text


def test_the_switch_refuses_unknown_languages_and_other_sites(browser: TestClient) -> None:
    assert browser.post("/language", data={"lang": "xx"}).status_code == 422
    foreign = browser.post("/language", data={"lang": "es"},
                           headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "pm_lang" not in foreign.headers.get("set-cookie", "")


def test_accept_language_is_read_by_quality_then_order() -> None:
    assert i18n.from_accept_language("es;q=0.5, en;q=0.7") == "en"
    assert i18n.from_accept_language("es-MX, en") == "es"
    assert i18n.from_accept_language("en;q=0, es;q=0.1") == "es"
    assert i18n.from_accept_language("*, ;;, es;q=bad") is None
    assert i18n.choose("es", "en") == "es" and i18n.choose("zz", "es") == "es"
    assert i18n.choose(None, None) == "en"


def _marked() -> set[str]:
    found = set()
    for _, _, message, *_ in extract_from_dir(
            str(WEB), method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
            options_map={"templates/**.html": {"extensions": "jinja2.ext.i18n",
                                               "trim_blocks": "true", "lstrip_blocks": "true"}},
            keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_string_has_a_spanish_translation() -> None:
    with (i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale="es")
    translated = {(m.id if isinstance(m.id, str) else m.id[0]) for m in catalog
                  if m.id and not m.fuzzy and all(m.string if isinstance(m.string, tuple)
                                                  else [m.string])}
    marked = _marked()
    assert len(marked) > 20
    assert not sorted(marked - translated), "run pybabel update and translate (docs/i18n.md)"
