"""The interface's language: the remembered choice, then Accept-Language, then English; every
marked string has a Spanish translation in the catalogue."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from api.web import i18n
from graph.csv_format import read_csv_document, write_csv_zip
from graph.database import Database
from graph.store import export_network, import_network, read_taxonomy
from graph.tokens import issue_token

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


# -- pages in Spanish, on the seed network --------------------------------------------------
HERENCIA = "herencia"
CARROCERIAS = "carrocerias-martin-romero"
SPANISH = {"Accept-Language": "es-ES,es;q=0.9"}


def _signed_in(app: FastAPI, db: Database, role: str, member: str | None = None) -> TestClient:
    """A browser-like client signed in to herencia's pages with a fresh token of ``role``."""
    client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)
    form = client.get("/signin").text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form))
    token = issue_token(db, role, HERENCIA, member)[0]
    assert client.post("/signin", data={**hidden, "token": token}).status_code == 303
    return client


def _member_browser(app: FastAPI, db: Database, mid: str) -> TestClient:
    return _signed_in(app, db, "member", mid)


@pytest.fixture(scope="module")
def reader(app: FastAPI, seeded: Database) -> TestClient:
    """A member of the seed network ``herencia`` other than Carrocerías, signed in."""
    return _member_browser(app, seeded, "panaderia-santa-ana")


def test_a_spanish_page_shows_the_taxonomys_spanish_labels(reader: TestClient) -> None:
    url = f"/n/{HERENCIA}/members/{CARROCERIAS}"
    spanish = reader.get(url, headers=SPANISH).text
    assert "Carrocerías de camiones" in spanish and "Lorry body building" not in spanish
    assert "Estructuras metálicas" in spanish and "Capacidades" in spanish
    english = reader.get(url, headers={"Accept-Language": "en"}).text
    assert "Lorry body building" in english and "Carrocerías de camiones" not in english


def test_search_folds_case_and_accents_and_matches_labels_in_both_languages(
        reader: TestClient) -> None:
    def found(text: str) -> bool:
        page = reader.get(f"/n/{HERENCIA}/members", params={"q": text}, headers=SPANISH).text
        return f'href="/n/{HERENCIA}/members/{CARROCERIAS}"' in page

    assert found("carrocerias") and found("CARROCERÍAS MARTIN")  # the name, folded
    assert found("carrocerias de camiones")  # its capability's Spanish label, accents folded
    assert found("lorry body")  # the same capability's English label
    assert not found("panaderia santa")  # another member's name finds only that one


def test_spanish_labels_survive_export_and_import(seeded: Database, tmp_path: Path) -> None:
    document = export_network(seeded, HERENCIA)
    entry = next(c for c in document["capabilities"] if c["id"] == "lorry-body-building")
    assert entry["label_es"] == "Carrocerías de camiones"
    (tmp_path / "network.zip").write_bytes(write_csv_zip(document))
    back = read_csv_document(tmp_path / "network.zip")[0]
    again = next(c for c in back["capabilities"] if c["id"] == "lorry-body-building")
    assert again["label_es"] == entry["label_es"]
    copy = {**document, "network": {**document["network"], "id": f"i18n-{uuid.uuid4().hex[:8]}"}}
    import_network(seeded, copy)  # the shared entries come back unchanged: not a change
    labels = {c["id"]: c.get("label_es") for c in read_taxonomy(seeded, copy["network"]["id"])}
    assert labels["physiotherapy"] == "Fisioterapia y rehabilitación"
    assert labels["paper"] == "Papel"


def test_form_problems_are_said_in_the_readers_language(app: FastAPI, seeded: Database
                                                        ) -> None:
    member = _member_browser(app, seeded, "panaderia-santa-ana")
    csrf = re.search(r'name="csrf" value="([^"]*)"', member.get("/signin").text).group(1)
    bad = member.post(f"/n/{HERENCIA}/home/panaderia-santa-ana", headers=SPANISH, data={
        "csrf": csrf, "name": "Panadería Santa Ana", "hours_per_month": "1000",
        "capabilities.0.id": "bakery", "capabilities.0.level": "siete"})
    assert bad.status_code == 422
    assert "Como máximo 744. Has escrito 1000.0." in bad.text
    assert "Escribe un número entero. Has escrito &#39;siete&#39;." in bad.text
    assert "No se ha guardado tu perfil: 2 problemas" in bad.text


def test_the_notice_never_echoes_the_query_string(reader: TestClient, seeded: Database,
                                                  app: FastAPI) -> None:
    home = f"/n/{HERENCIA}/home/panaderia-santa-ana"
    member = _member_browser(app, seeded, "panaderia-santa-ana")
    forged = member.get(home, params={"decided": "accepted",
                                      "candidate": "Call 555-0100 to claim your prize"}).text
    assert "claim your prize" not in forged and 'class="notice"' not in forged
    real = member.get(home, params={"decided": "declined", "candidate": CARROCERIAS},
                      headers=SPANISH).text
    assert "Has rechazado a Carrocerías Martín-Romero S.L." in real


def test_suggestion_reasons_are_said_in_the_readers_language(reader: TestClient,
                                                             seeded: Database) -> None:
    """matching/ gives each reason a kind and params; the page says it in Spanish from the
    catalogue, while the API keeps the English sentence."""
    home = f"/n/{HERENCIA}/home/panaderia-santa-ana"
    spanish = reader.get(home, headers=SPANISH).text
    english = reader.get(home, headers={"Accept-Language": "en"}).text
    said_es = re.findall(r"<li>([^<]*(?:ofrece|Ofreces|necesita|Ya trabajas|en común|"
                         r"presentar)[^<]*)</li>", spanish)
    assert said_es, "no Spanish reason on the Spanish page"
    assert not re.search(r"which you need|, which [^<]* needs \(|You already work with", spanish)
    assert re.search(r"which you need|which [^<]* needs \(|You already work with|in common",
                     english)
    token = issue_token(seeded, "member", HERENCIA, "panaderia-santa-ana")[0]
    api = reader.get(f"/networks/{HERENCIA}/members/panaderia-santa-ana/suggestions",
                     headers={"Authorization": f"Bearer {token}"}).json()
    reasons = [r for s in api["suggestions"] for r in s["reasons"]]
    assert reasons and all(r["params"] for r in reasons)
    # ...and the API's sentences stay English, whatever the reader's language.
    assert not [r["text"] for r in reasons if re.search(r"ofrece|necesita|Ya trabajas|"
                                                        r"en común|os conoce", r["text"])]
    assert any(re.search(r" offers | needs | strong in | knows | work with | in common|"
                         r" rival | asked by ", r["text"]) for r in reasons)


def test_a_members_cards_say_the_fit_in_words_not_decimals(reader: TestClient) -> None:
    """A small-firm owner reads "strong fit" and "covers part of what you want", in its own
    language; the figures stay in a tooltip for whoever wants them."""
    home = f"/n/{HERENCIA}/home/panaderia-santa-ana"
    for headers, fits, covers in (
            ({"Accept-Language": "en"}, r"strong fit|good fit|possible fit", r"Covers "),
            (SPANISH, r"muy buen encaje|buen encaje|encaje posible", r"Cubre ")):
        page = reader.get(home, headers=headers).text
        cards = re.search(r'<ol class="cards suggestions">(.*?)</ol>', page, re.S).group(1)
        shown = re.sub(r"<[^>]+>", " ", cards)  # what the reader sees, attributes left out
        assert re.search(fits, shown) and re.search(covers, shown), headers
        assert not re.search(r"\b\d\.\d\d\b", shown), "a bare decimal on a member's card"
        assert re.search(r'title="[^"]*\d\.\d\d', cards)  # the figures, on demand


def test_the_roadmap_and_a_members_first_step_are_said_in_spanish(app: FastAPI,
                                                                   seeded: Database) -> None:
    """The roadmap's titles, integration, summary and "prepared by" come from the step's kind
    and figures, not from the API's English sentences and step ids ("purchase:fuel")."""
    facilitator = _signed_in(app, seeded, "facilitator")
    page = facilitator.get(f"/n/{HERENCIA}/dashboard", headers=SPANISH).text
    roadmap = page.split('id="roadmap"')[1].split("</section>")[0]
    assert "Comprar combustible en común" in roadmap and "compra conjunta" in roadmap
    assert "pasos planificados en" in roadmap and "Compartir Gestión de la calidad" in roadmap
    assert not re.search(r"Buy |Share |joint purchase|step\(s\) planned|purchase:|"
                         r"shared-service:|>running<", roadmap), roadmap
    english = facilitator.get(f"/n/{HERENCIA}/dashboard").text
    roadmap = english.split('id="roadmap"')[1].split("</section>")[0]
    assert "Buy fuel together" in roadmap and "purchase:" not in roadmap
    assert re.search(r"#\d+ Buy office material together", roadmap)
    home = _member_browser(app, seeded, CARROCERIAS).get(f"/n/{HERENCIA}/home/{CARROCERIAS}",
                                                          headers=SPANISH).text
    step = home.split('id="first-step"')[1].split("</section>")[0]
    assert "Sigue con: comprar combustible en común" in step and "empresas" in step
    assert not re.search(r"keep going|Keep going|firm\(s\)|Buy |joint purchase", step), step
    assert "conocimiento" in home.split('id="profile"')[1]  # a need's kind: knowhow


def test_a_member_whose_needs_its_partners_cover_is_pointed_to_them(app: FastAPI,
                                                                    seeded: Database) -> None:
    """Carrocerías has a full profile, and its partners already cover what it needs: the page
    says so and points to "strengthen what you have", not "complete your needs"."""
    home = _member_browser(app, seeded, CARROCERIAS).get(f"/n/{HERENCIA}/home/{CARROCERIAS}")
    suggestions = home.text.split('id="suggestions"')[1].split("</section>")[0]
    assert "complete your needs" not in suggestions
    assert "already work with you" in suggestions and 'href="#strengthen"' in suggestions
    assert 'id="strengthen"' in home.text


def test_the_dashboards_figures_and_opportunities_are_said_in_spanish(app: FastAPI,
                                                                      seeded: Database) -> None:
    """The health notes, buying groups and shared services are said from their figures in the
    reader's language, not as the API's English reasons (which the API keeps)."""
    facilitator = _signed_in(app, seeded, "facilitator")
    page = facilitator.get(f"/n/{HERENCIA}/dashboard", headers=SPANISH).text
    assert "socios unidos por" in page and "componente conexo)" in page
    assert "grupos de vínculos de trabajo" in page and "parejas de socios compiten" in page
    assert "llevaría la negociación" in page and "podría atenderlos a todos" in page
    assert "Cuenta con la confianza de" in page and "Trusted by" not in page  # natural leaders
    assert not re.search(r"members joined by|groups of working ties|pairs of members compete|"
                         r"would lead the negotiation|could serve them all|partner suggestion "
                         r"scoring", page)
    english = facilitator.get(f"/n/{HERENCIA}/dashboard").text
    assert re.search(r"\d+ members joined by \d+ ties \(density 0\.\d\d, 1 connected "
                     r"component\)", english)
    assert "Gestoría Asesoría Sánchez-Mateos offers it and could serve them all" in english


def test_natural_leaders_reasons_are_said_in_spanish() -> None:
    """Said from the engine's own facts on every seed network: the Spanish page shows none of
    the API's English sentences (a fact the engine starts to give that the pages cannot say
    would show in English here and fail)."""
    import json

    from api.web.findings import leader_reasons
    from matching.leaders import natural_leaders
    from matching.projection import build_projection

    seed = Path(__file__).resolve().parents[1] / "seed_data"
    taxonomy = json.loads((seed / "taxonomy.json").read_text())["capabilities"]
    kinds = set()
    for path in sorted(p for p in seed.glob("*.json") if p.stem != "taxonomy"):
        doc = json.loads(path.read_text())
        leaders = natural_leaders(build_projection(
            doc["network"], taxonomy + doc.get("capabilities", []), doc["members"],
            doc["ties"]), limit=10)["leaders"]
        for leader in leaders:
            kinds |= {f["kind"] for f in leader["facts"]}
            token = i18n._current.set("es")
            try:
                said = leader_reasons(leader)
            finally:
                i18n._current.reset(token)
            assert len(said) == len(leader["reasons"])
            assert not set(said) & set(leader["reasons"]), (path.stem, said)
    assert kinds == {"trusted", "bridge", "contacts", "broker", "certified", "strong"}
    token = i18n._current.set("es")
    try:
        said = leader_reasons({"reasons": ["Trusted by 23 members (the most in the network)",
                                           "Bridges otherwise separate groups (betweenness "
                                           "0.21, 2nd highest in the network)",
                                           "Holds EN 1090 and ISO 9001 certifications",
                                           "Something new"],
                               "facts": [{"kind": "trusted", "members": 23, "most": True},
                                         {"kind": "bridge", "betweenness": 0.2104, "rank": 2},
                                         {"kind": "certified",
                                          "certifications": ["EN 1090", "ISO 9001"]},
                                         {"kind": "new", "figure": 1}]})
    finally:
        i18n._current.reset(token)
    assert said == ["Cuenta con la confianza de 23 socios (el que más de la red)",
                    "Une grupos que de otro modo estarían separados (intermediación 0,21, "
                    "la n.º 2 de la red)", "Certificaciones: EN 1090, ISO 9001", "Something new"]


def test_weaknesses_without_a_mentor_say_why_in_spanish(app: FastAPI, seeded: Database) -> None:
    facilitator = _signed_in(app, seeded, "facilitator")
    page = facilitator.get(f"/n/{HERENCIA}/dashboard", headers=SPANISH).text
    unmet = page.split('id="unmet"')[1].split("</details>")[0]
    assert "busca formación fuera" in unmet and "look for outside training" not in unmet


def test_a_consortium_step_is_named_by_its_order_for_the_member_that_leads_it(
        app: FastAPI, seeded: Database) -> None:
    """The lead's roadmap names its order's consortium by the order's title, not its id; the
    title is shown to no member who does not lead the order."""
    lead = _member_browser(app, seeded, CARROCERIAS).get(f"/n/{HERENCIA}/home/{CARROCERIAS}")
    steps = lead.text.split('id="first-step"')[1].split("</section>")[0]
    assert "Consortium: Lorry and van bodies for a regional utility fleet" in steps
    assert "regional-fleet-bodies" not in steps
    other = _member_browser(app, seeded, "panaderia-santa-ana").get(
        f"/n/{HERENCIA}/home/panaderia-santa-ana").text
    assert "Lorry and van bodies" not in other


def test_a_facilitator_reads_a_members_reasons_about_the_member(app: FastAPI,
                                                                 seeded: Database) -> None:
    """On a member's page read on its behalf, the reasons name the member ("which Agrotecnia
    needs"), not "you": the reader is its facilitator, not the member."""
    mid = "agrotecnia-herencia"
    home = f"/n/{HERENCIA}/home/{mid}"
    own = _member_browser(app, seeded, mid).get(home).text
    assert re.search(r"which you need|where you are weak", own)
    facilitator = _signed_in(app, seeded, "facilitator")
    for headers, you, about in (
            ({}, r"which you need|where you are weak|You offer|You already work|You have \d|"
                 r"both of you", r"which Agrotecnia[^<]* needs|where Agrotecnia[^<]* is weak"),
            (SPANISH, r"que necesitas|donde tú flojeas|Ofreces |Ya trabajas|Tenéis \d|os conoce",
             r"que Agrotecnia[^<]* necesita|donde Agrotecnia[^<]* flojea")):
        page = facilitator.get(home, headers=headers).text
        assert not re.search(you, page), re.search(you, page)
        assert re.search(about, page), page[:200]
