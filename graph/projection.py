"""Read one network into memory for the matching engine, in one read transaction."""

from __future__ import annotations

from graph.database import Database
from graph.store import read_network_rows
from matching.projection import NetworkProjection, build_projection


def project_network(db: Database, nid: str) -> NetworkProjection:
    """Seven statements in one transaction (network, members with their edges, ties, taxonomy,
    feedback, version, agents), never one query per member."""
    rows = read_network_rows(db, nid)
    return build_projection(rows.network, rows.taxonomy, rows.members, rows.ties, rows.feedback,
                            version=rows.version, agents=rows.agents)
