"""Constraints and indexes, created idempotently on every start.

Member ids are unique within a network through a composite uniqueness constraint, so the database
itself refuses a duplicate, whatever code path writes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neo4j import ManagedTransaction

if TYPE_CHECKING:
    from graph.database import Database

STATEMENTS = (
    "CREATE CONSTRAINT network_id IF NOT EXISTS FOR (n:Network) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT capability_id IF NOT EXISTS FOR (c:Capability) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT member_key IF NOT EXISTS "
    "FOR (m:Member) REQUIRE (m.network, m.id) IS UNIQUE",
    "CREATE INDEX member_network IF NOT EXISTS FOR (m:Member) ON (m.network)",
    "CREATE CONSTRAINT project_key IF NOT EXISTS "
    "FOR (p:Project) REQUIRE (p.network, p.id) IS UNIQUE",
    "CREATE CONSTRAINT introduction_id IF NOT EXISTS FOR (i:Introduction) REQUIRE i.id IS UNIQUE",
    "CREATE CONSTRAINT token_id IF NOT EXISTS FOR (t:Token) REQUIRE t.id IS UNIQUE",
    "CREATE CONSTRAINT token_hash IF NOT EXISTS FOR (t:Token) REQUIRE t.hash IS UNIQUE",
    "CREATE CONSTRAINT invitation_id IF NOT EXISTS FOR (i:Invitation) REQUIRE i.id IS UNIQUE",
    "CREATE CONSTRAINT invitation_hash IF NOT EXISTS "
    "FOR (i:Invitation) REQUIRE i.hash IS UNIQUE",
    # The change log (graph/changes.py) is read by network and version.
    "CREATE INDEX change_network IF NOT EXISTS FOR (c:Change) ON (c.network, c.version)",
    "CREATE CONSTRAINT taxonomy_version_id IF NOT EXISTS "
    "FOR (t:TaxonomyVersion) REQUIRE t.id IS UNIQUE",
    "MERGE (t:TaxonomyVersion {id: 'shared'}) ON CREATE SET t.version = 0",
    "CREATE CONSTRAINT web_session_key IF NOT EXISTS FOR (s:WebSession) REQUIRE s.key IS UNIQUE",
    "CREATE CONSTRAINT service_key_name IF NOT EXISTS "
    "FOR (k:ServiceKey) REQUIRE k.name IS UNIQUE",
)


def ensure(db: Database) -> None:
    for statement in STATEMENTS:
        # Schema statements cannot share a transaction with each other on Neo4j.
        def work(tx: ManagedTransaction, cypher: str = statement) -> None:
            tx.run(cypher).consume()

        db.write(work)
