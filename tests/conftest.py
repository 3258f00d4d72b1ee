"""Shared fixtures: one real Bolt server for the whole session.

Without ``NEO4J_URI`` the tests start partnermatch's own local ArcadeDB server in a temporary data
directory; with it they run against that Neo4j server. Each test works in a network id of its
own, so tests do not see each other's data.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from graph.database import Database, open_database
from graph.files import load_path
from graph.settings import DatabaseSettings
from graph.store import delete_network, import_network, list_networks
from graph.tokens import issue_token
from seed_data import SEED_DIR


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> DatabaseSettings:
    settings = DatabaseSettings.from_env()
    if settings.is_local:
        settings = dataclasses.replace(settings, data_dir=tmp_path_factory.mktemp("graph-data"))
    return settings


# Every Cypher statement the code sends during the session (tests/test_cypher_lint.py checks
# each one with Neo4j's own Cypher front end at the end of the run).
RECORDED_STATEMENTS: set[str] = set()


def record_statement(query: str, parameters: dict[str, Any]) -> None:
    RECORDED_STATEMENTS.add(query)


@pytest.fixture(scope="session")
def db(settings: DatabaseSettings) -> Iterator[Database]:
    with open_database(settings) as database:
        database.observer = record_statement
        existing = {n["id"] for n in list_networks(database)}
        yield database
        if not settings.is_local:  # an external server (NEO4J_URI) outlives the run: tidy up
            for network in list_networks(database):
                if network["id"] not in existing:
                    delete_network(database, network["id"])


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``after_suite`` run last, whatever their file: they look at what the others
    did."""
    items.sort(key=lambda item: item.get_closest_marker("after_suite") is not None)


@pytest.fixture(scope="session")
def seeded(db: Database) -> Database:
    """The database with the shared taxonomy and the five seed networks loaded."""
    load_path(db, SEED_DIR / "taxonomy.json")
    for path in sorted(SEED_DIR.glob("*.json")):
        if path.name != "taxonomy.json":
            load_path(db, path)
    return db


ADMIN_SECRET = "pm_test-admin-" + uuid.uuid4().hex


class World:
    """Two networks and a token for every role and scope."""

    def __init__(self, db: Database):
        self.nid = f"api-{uuid.uuid4().hex[:10]}"
        self.other = self.nid + "-other"
        for nid in (self.nid, self.other):
            import_network(db, small_document(nid))
        self.tokens = {
            "admin": ADMIN_SECRET,
            "facilitator": issue_token(db, "facilitator", self.nid, None)[0],
            "other-facilitator": issue_token(db, "facilitator", self.other, None)[0],
            "member": issue_token(db, "member", self.nid, "clinic")[0],
            "other-member": issue_token(db, "member", self.nid, "genlab")[0],
            "analyst": issue_token(db, "analyst", self.nid, None)[0],
            "other-analyst": issue_token(db, "analyst", self.other, None)[0],
            "unknown": "pm_not-a-real-token",
        }

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}


@pytest.fixture(scope="module")
def world(db: Database) -> World:
    """Two fresh networks and a token per role, shared by one test module."""
    return World(db)


@pytest.fixture(scope="module")
def client(db: Database) -> Iterator[TestClient]:
    """The app on the real database, with an admin token from the environment's setting."""
    # Tests send many wrong tokens from one address on purpose; tests/test_credentials.py checks
    # the throttle at its real limit.
    # A loaded machine may take seconds for a network's first fit: tests wait for it rather than
    # read the 503 a user would (tests/test_live_engine.py checks that 503 with no wait).
    app = create_app(ApiSettings(admin_token=ADMIN_SECRET, max_body_bytes=256 * 1024,
                                 auth_failures_per_minute=100_000, first_fit_wait=120),
                     database=db)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def member(mid: str, caps=(), weak=(), needs=(), **attrs: Any) -> dict[str, Any]:
    """A member row for pure tests: ``caps`` (id, level), ``weak`` (id, severity),
    ``needs`` (id, urgency, kind)."""
    return {"id": mid, "name": attrs.pop("name", mid.title()), **attrs,
            "capabilities": [{"id": c, "level": lvl} for c, lvl in caps],
            "weaknesses": [{"id": c, "severity": s} for c, s in weak],
            "needs": [{"id": c, "urgency": u, "kind": k} for c, u, k in needs]}


def another_process(db: Database) -> Database:
    """The same server as another service process sees it: its own write watcher and bookmarks
    on the shared driver (two apps on one ``Database`` would hand each other their writes, which
    separate processes never do)."""
    other = Database(db.driver, db.database, availability=db.availability,
                     retry_time=db.retry_time, read_timeout=db.read_timeout,
                     data_dir=db.data_dir)
    other.observer = db.observer
    return other


@pytest.fixture
def nid() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def small_document(nid: str, newcomer: bool = False) -> dict[str, Any]:
    """A tiny valid network that defines its own capabilities (prefixed by the network id).

    Its three members all work together already, so none is a new partner for another; with
    ``newcomer`` a fourth, NewLab, whom nobody knows yet, covers the clinic's urgent need and
    weakness and needs genetic testing (GenLab's)."""
    c = f"{nid}-"
    document = _small_document(c, nid)
    if newcomer:
        document["members"].append(
            {"id": "newlab", "name": "NewLab", "sector": "genetics-lab", "region": "Valencia",
             "capabilities": [{"id": c + "pgt", "level": 4}, {"id": c + "quality", "level": 4}],
             "weaknesses": [], "needs": [{"id": c + "fuel", "kind": "purchase", "urgency": 2},
                                         {"id": c + "genetics", "kind": "service", "urgency": 3}]})
    return document


def _small_document(c: str, nid: str) -> dict[str, Any]:
    return copy.deepcopy({
        "network": {"id": nid, "name": "Test network", "sector": "health", "region": "Madrid"},
        "capabilities": [
            {"id": c + "genetics", "label": "Genetic testing", "kind": "service",
             "synonyms": ["análisis genético"]},
            {"id": c + "pgt", "label": "Preimplantation genetic testing", "kind": "service",
             "broader": c + "genetics", "synonyms": ["PGT", "DGP"]},
            {"id": c + "fuel", "label": "Fuel", "kind": "purchase", "synonyms": []},
            {"id": c + "quality", "label": "Quality management", "kind": "knowhow",
             "synonyms": ["gestión de calidad"]},
        ],
        "members": [
            {"id": "clinic", "name": "Clínica Sol", "sector": "fertility-clinic",
             "region": "Madrid", "size": "small", "description": "IVF clinic",
             "capabilities": [{"id": c + "quality", "level": 2}],
             "weaknesses": [{"id": c + "quality", "severity": 4}],
             "needs": [{"id": c + "pgt", "kind": "service", "urgency": 5},
                       {"id": c + "fuel", "kind": "purchase", "urgency": 2, "volume": 5000}]},
            {"id": "genlab", "name": "GenLab", "sector": "genetics-lab", "region": "Madrid",
             "size": "micro",
             "capabilities": [{"id": c + "pgt", "level": 5}, {"id": c + "genetics", "level": 4}],
             "weaknesses": [], "needs": [{"id": c + "fuel", "kind": "purchase", "urgency": 3}]},
            {"id": "cro", "name": "CRO Iberia", "capabilities": [{"id": c + "quality", "level": 5}],
             "weaknesses": [], "needs": []},
        ],
        "ties": [
            {"source": "clinic", "target": "cro", "type": "TRUSTS", "weight": 0.9,
             "since": "2019-05-01"},
            {"source": "cro", "target": "genlab", "type": "COLLABORATES_WITH", "weight": 0.5},
            {"source": "clinic", "target": "genlab", "type": "SUPPLIES"},
        ],
    })


def normalised(document: dict[str, Any]) -> str:
    """A canonical text of a document: lists sorted, so two equal graphs compare equal."""
    doc = copy.deepcopy(document)
    doc.setdefault("value_chains", [])
    doc["projects"] = sorted(doc.get("projects", []), key=lambda p: p["id"])
    for project in doc["projects"]:
        project["members"] = sorted(project["members"], key=lambda m: m["member"])
    doc["value_chains"] = sorted(doc["value_chains"], key=lambda t: t["id"])
    doc["agents"] = sorted(doc.get("agents", []), key=lambda a: a["id"])
    doc["orders"] = sorted(doc.get("orders", []), key=lambda o: o["id"])
    for member in doc.get("members", []):
        for key in ("capabilities", "weaknesses", "needs"):
            member[key] = sorted(member.get(key, []), key=lambda e: e["id"])
            for entry in member[key]:
                if "volume" in entry:
                    entry["volume"] = float(entry["volume"])
    doc["members"] = sorted(doc.get("members", []), key=lambda m: m["id"])
    doc["ties"] = sorted(doc.get("ties", []), key=lambda t: (t["source"], t["target"], t["type"]))
    for tie in doc["ties"]:
        if "weight" in tie:
            tie["weight"] = float(tie["weight"])
    # An export carries the capabilities its members use and their ancestors, no others.
    by_id = {c["id"]: c for c in doc.get("capabilities", [])}
    used = {e["id"] for m in doc["members"] for k in ("capabilities", "weaknesses", "needs")
            for e in m[k]}
    frontier = set(used)
    while frontier:
        parents = {by_id[c].get("broader") for c in frontier if c in by_id} - {None} - used
        used |= parents
        frontier = parents
    doc["capabilities"] = sorted((c for c in by_id.values() if c["id"] in used),
                                 key=lambda c: c["id"])
    for cap in doc["capabilities"]:
        cap["synonyms"] = sorted(cap.get("synonyms", []))
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, indent=1)
