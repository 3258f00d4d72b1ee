"""Read one network into memory for the matching engine, in one read transaction."""

from __future__ import annotations

from graph.database import Database
from graph.store import NetworkRows, read_network_rows
from matching.projection import NetworkProjection, build_projection


def project_network(db: Database, nid: str) -> NetworkProjection:
    """Eight statements in one transaction (network, members with their edges, ties, taxonomy,
    feedback, version, agents, verdicts on rivalry), never one query per member."""
    return projection_of(read_network_rows(db, nid))


def projection_of(rows: NetworkRows) -> NetworkProjection:
    """The projection of rows read by ``read_network_rows``."""
    return build_projection(rows.network, rows.taxonomy, rows.members, rows.ties, rows.feedback,
                            version=rows.version, agents=rows.agents, verdicts=rows.verdicts)
