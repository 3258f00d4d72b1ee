"""Outside agents of a network, replaced as a whole list; declared orders read back."""

from __future__ import annotations

from typing import Any

from neo4j import ManagedTransaction

from graph import queries as q
from graph.changes import ChangeKind, record_change
from graph.database import Database
from graph.document import Agent
from graph.store import known_broader, read_agents, read_network, write_agents
from graph.validation import validate_network


def validate_agents(db: Database, nid: str, raw: Any) -> list[Agent]:
    """Validate ``{"agents": [...]}`` exactly as the import does (paths ``agents[i]...``): known
    capabilities, unique ids, no id shared with a member."""
    members = [{"id": row["id"], "name": row["id"]} for row in db.query(q.MEMBER_IDS, nid=nid)]
    agents = raw.get("agents") if isinstance(raw, dict) else raw
    document = {"network": {"id": nid, "name": nid}, "members": members, "agents": agents}
    return validate_network(document, known_broader(db, nid)).agents


def replace_agents(db: Database, nid: str, raw: Any) -> list[dict[str, Any]]:
    """Make the network's agents exactly the given list, in one transaction."""
    read_network(db, nid)
    agents = validate_agents(db, nid, raw)

    def work(tx: ManagedTransaction) -> None:
        write_agents(tx, nid, agents)
        record_change(tx, nid, ChangeKind.AGENTS)

    db.write(work)
    return read_agents(db, nid)


def list_agents(db: Database, nid: str) -> list[dict[str, Any]]:
    read_network(db, nid)
    return read_agents(db, nid)
