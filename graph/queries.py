"""Every Cypher statement of partnermatch, as constants with ``$parameters``.

They run unchanged on Neo4j 5 / 2025 and on ArcadeDB's Bolt endpoint. Relationship types cannot
be parameters in Cypher, so each tie type has its own constant, chosen from a fixed table.
"""

from graph.document import TieType

# -- taxonomy -------------------------------------------------------------------------------
TAXONOMY = """
MATCH (c:Capability)
OPTIONAL MATCH (c)-[:BROADER]->(p:Capability)
RETURN c.id AS id, c.label AS label, c.kind AS kind, p.id AS broader, c.synonyms AS synonyms
"""

UPSERT_CAPABILITIES = """
UNWIND $rows AS row
MERGE (c:Capability {id: row.id})
SET c.label = row.label,
    c.kind = row.kind,
    c.synonyms = coalesce(c.synonyms, []) +
                 [s IN row.synonyms WHERE NOT s IN coalesce(c.synonyms, [])]
"""

DELETE_BROADER = """
UNWIND $ids AS cid
MATCH (:Capability {id: cid})-[b:BROADER]->()
DELETE b
"""

CREATE_BROADER = """
UNWIND $rows AS row
MATCH (c:Capability {id: row.id}), (p:Capability {id: row.broader})
CREATE (c)-[:BROADER]->(p)
"""

# -- networks and members -------------------------------------------------------------------
UPSERT_NETWORK = """
MERGE (n:Network {id: $network.id})
SET n.name = $network.name, n.sector = $network.sector, n.region = $network.region,
    n.description = $network.description
"""

DELETE_ABSENT_MEMBERS = """
MATCH (m:Member {network: $nid})
WHERE NOT m.id IN $keep
DETACH DELETE m
"""

DELETE_MEMBER_EDGES = """
MATCH (m:Member {network: $nid})-[r:HAS_CAPABILITY|HAS_WEAKNESS|NEEDS]->()
WHERE m.id IN $ids
DELETE r
"""

DELETE_MEMBER = """
MATCH (m:Member {network: $nid, id: $mid})
DETACH DELETE m
RETURN count(*) AS deleted
"""

DELETE_TIES = """
MATCH (:Member {network: $nid})-[t:COLLABORATES_WITH|COMPETES_WITH|SUPPLIES|TRUSTS]->(:Member)
DELETE t
"""

UPSERT_MEMBERS = """
MATCH (n:Network {id: $nid})
UNWIND $rows AS row
MERGE (m:Member {network: $nid, id: row.id})
SET m.name = row.name, m.sector = row.sector, m.region = row.region, m.size = row.size,
    m.description = row.description
MERGE (m)-[:MEMBER_OF]->(n)
"""

CREATE_HAS_CAPABILITY = """
UNWIND $rows AS row
MATCH (m:Member {network: $nid, id: row.member}), (c:Capability {id: row.id})
CREATE (m)-[:HAS_CAPABILITY {level: row.level}]->(c)
"""

CREATE_HAS_WEAKNESS = """
UNWIND $rows AS row
MATCH (m:Member {network: $nid, id: row.member}), (c:Capability {id: row.id})
CREATE (m)-[:HAS_WEAKNESS {severity: row.severity}]->(c)
"""

CREATE_NEEDS = """
UNWIND $rows AS row
MATCH (m:Member {network: $nid, id: row.member}), (c:Capability {id: row.id})
CREATE (m)-[:NEEDS {kind: row.kind, urgency: row.urgency, volume: row.volume}]->(c)
"""

_CREATE_TIE = """
UNWIND $rows AS row
MATCH (a:Member {{network: $nid, id: row.source}}), (b:Member {{network: $nid, id: row.target}})
CREATE (a)-[:{type} {{weight: row.weight, since: row.since}}]->(b)
"""
# Built once from the closed set of tie types, never from input.
CREATE_TIE = {tie_type.value: _CREATE_TIE.format(type=tie_type.value) for tie_type in TieType}

# Stages are kept as a JSON string: Neo4j properties cannot hold lists of maps.
REPLACE_VALUE_CHAINS = """
MATCH (n:Network {id: $nid})
OPTIONAL MATCH (old:ValueChainTemplate {network: $nid})
DETACH DELETE old
WITH DISTINCT n
UNWIND $rows AS row
CREATE (t:ValueChainTemplate {network: $nid, id: row.id, name: row.name,
                              max_stages_per_member: row.max_stages_per_member,
                              stages: row.stages})
CREATE (t)-[:TEMPLATE_OF]->(n)
"""

VALUE_CHAINS = """
MATCH (t:ValueChainTemplate {network: $nid})
RETURN t.id AS id, t.name AS name, t.max_stages_per_member AS max_stages_per_member,
       t.stages AS stages
ORDER BY id
"""

# Every write to a network bumps its version in the same transaction, so in-memory projections
# (cached per network in any process) know when they are stale.
BUMP_VERSION = """
MATCH (n:Network {id: $nid})
SET n.version = coalesce(n.version, 0) + 1
"""

NETWORK_VERSION = """
MATCH (n:Network {id: $nid})
RETURN coalesce(n.version, 0) AS version
"""

CREATE_FEEDBACK = """
MATCH (a:Member {network: $nid, id: $member}), (b:Member {network: $nid, id: $candidate})
CREATE (a)-[:FEEDBACK_ON {decision: $decision, at: $at}]->(b)
"""

FEEDBACK = """
MATCH (a:Member {network: $nid})-[f:FEEDBACK_ON]->(b:Member {network: $nid})
RETURN a.id AS member, b.id AS candidate, f.decision AS decision, f.at AS at
ORDER BY at
"""

# -- reading --------------------------------------------------------------------------------
NETWORK = """
MATCH (n:Network {id: $nid})
RETURN n.id AS id, n.name AS name, n.sector AS sector, n.region AS region,
       n.description AS description
"""

NETWORKS = """
MATCH (n:Network)
RETURN n.id AS id, n.name AS name, n.sector AS sector, n.region AS region,
       n.description AS description
ORDER BY n.id
"""

# Every filter is optional (null = any); the capability filter includes narrower capabilities.
MEMBERS = """
MATCH (m:Member {network: $nid})
WHERE ($mid IS NULL OR m.id = $mid)
  AND ($sector IS NULL OR m.sector = $sector)
  AND ($region IS NULL OR m.region = $region)
  AND ($capability IS NULL OR EXISTS {
        MATCH (m)-[:HAS_CAPABILITY]->(:Capability)-[:BROADER*0..]->(:Capability {id: $capability})
      })
  AND ($text IS NULL OR toLower(m.name) CONTAINS $text
       OR toLower(coalesce(m.description, '')) CONTAINS $text)
RETURN m.id AS id, m.name AS name, m.sector AS sector, m.region AS region, m.size AS size,
       m.description AS description,
       [(m)-[r:HAS_CAPABILITY]->(c:Capability) | {id: c.id, level: r.level}] AS capabilities,
       [(m)-[r:HAS_WEAKNESS]->(c:Capability) | {id: c.id, severity: r.severity}] AS weaknesses,
       [(m)-[r:NEEDS]->(c:Capability) |
           {id: c.id, kind: r.kind, urgency: r.urgency, volume: r.volume}] AS needs
ORDER BY m.id
"""

TIES = """
MATCH (a:Member {network: $nid})-[t:COLLABORATES_WITH|COMPETES_WITH|SUPPLIES|TRUSTS]->
      (b:Member {network: $nid})
RETURN a.id AS source, b.id AS target, type(t) AS type, t.weight AS weight, t.since AS since
ORDER BY source, target, type
"""

# -- access tokens (only their SHA-256 is stored) ---------------------------------------------
CREATE_TOKEN = """
CREATE (t:Token {id: $id, hash: $hash, role: $role, network: $network, member: $member,
                 created: $created})
"""

REPLACE_BOOTSTRAP_TOKEN = """
MERGE (t:Token {id: $id})
SET t.hash = $hash, t.role = 'admin', t.network = null, t.member = null, t.created = $created
"""

TOKEN_BY_HASH = """
MATCH (t:Token {hash: $hash})
RETURN t.id AS id, t.role AS role, t.network AS network, t.member AS member
"""

TOKEN_BY_ID = """
MATCH (t:Token {id: $id})
RETURN t.id AS id, t.role AS role, t.network AS network, t.member AS member
"""

DELETE_TOKEN = """
MATCH (t:Token {id: $id})
DELETE t
"""
