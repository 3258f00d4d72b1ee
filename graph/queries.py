"""Every Cypher statement of partnermatch, as constants with ``$parameters``.

They run unchanged on Neo4j 5 / 2025 and on ArcadeDB's Bolt endpoint. Relationship types cannot
be parameters in Cypher, so each tie type has its own constant, chosen from a fixed table.
"""

from graph.document import TieType

# -- taxonomy -------------------------------------------------------------------------------
# A capability without ``network`` is shared (the seed taxonomy, what admins add); one with it
# belongs to that network and is visible there only. ``$nid`` null: the shared entries alone.
TAXONOMY = """
MATCH (c:Capability)
WHERE c.network IS NULL OR c.network = $nid
OPTIONAL MATCH (c)-[:BROADER]->(p:Capability)
RETURN c.id AS id, c.label AS label, c.kind AS kind, p.id AS broader, c.synonyms AS synonyms
ORDER BY id
"""

CAPABILITIES_BY_ID = """
MATCH (c:Capability)
WHERE c.id IN $ids
OPTIONAL MATCH (c)-[:BROADER]->(p:Capability)
RETURN c.id AS id, c.network AS network, c.label AS label, c.kind AS kind, p.id AS broader,
       c.synonyms AS synonyms
ORDER BY id
"""

# Writes only entries owned by ``$owner`` (null: shared ones) and returns their ids, so a
# capability another owner created meanwhile is left alone and the caller sees it is missing.
UPSERT_CAPABILITIES = """
UNWIND $rows AS row
MERGE (c:Capability {id: row.id})
ON CREATE SET c.network = $owner
WITH c, row
WHERE coalesce(c.network, '') = coalesce($owner, '')
SET c.label = row.label,
    c.kind = row.kind,
    c.synonyms = coalesce(c.synonyms, []) +
                 [s IN row.synonyms WHERE NOT s IN coalesce(c.synonyms, [])]
RETURN c.id AS id
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
    n.description = $network.description, n.policy_approval = $network.policy_approval,
    n.policy_expiry_days = $network.policy_expiry_days,
    n.policy_suppress_declined_days = $network.policy_suppress_declined_days
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
    m.description = row.description, m.contact = row.contact
MERGE (m)-[:MEMBER_OF]->(n)
"""

# One row per member with its list: the member is found once, not once per edge.
CREATE_HAS_CAPABILITY = """
UNWIND $rows AS row
MATCH (m:Member {network: $nid, id: row.member})
UNWIND row.entries AS entry
MATCH (c:Capability {id: entry.id})
CREATE (m)-[:HAS_CAPABILITY {level: entry.level}]->(c)
"""

CREATE_HAS_WEAKNESS = """
UNWIND $rows AS row
MATCH (m:Member {network: $nid, id: row.member})
UNWIND row.entries AS entry
MATCH (c:Capability {id: entry.id})
CREATE (m)-[:HAS_WEAKNESS {severity: entry.severity}]->(c)
"""

CREATE_NEEDS = """
UNWIND $rows AS row
MATCH (m:Member {network: $nid, id: row.member})
UNWIND row.entries AS entry
MATCH (c:Capability {id: entry.id})
CREATE (m)-[:NEEDS {kind: entry.kind, urgency: entry.urgency, volume: entry.volume}]->(c)
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

# Projects: outcomes, history and source are JSON strings (Neo4j properties hold no maps).
DELETE_PROJECTS = """
MATCH (p:Project {network: $nid})
DETACH DELETE p
"""

ADD_PROJECTS = """
MATCH (n:Network {id: $nid})
UNWIND $rows AS row
CREATE (p:Project {network: $nid, id: row.id, title: row.title, kind: row.kind,
                   lead: row.lead, goal: row.goal, source: row.source, phase: row.phase,
                   outcomes: row.outcomes, history: row.history})
CREATE (p)-[:PROJECT_OF]->(n)
"""

CREATE_PARTICIPATION = """
UNWIND $rows AS row
MATCH (m:Member {network: $nid, id: row.member}), (p:Project {network: $nid, id: row.project})
CREATE (m)-[:PARTICIPATES_IN {role: row.role}]->(p)
"""

PROJECTS = """
MATCH (p:Project {network: $nid})
WHERE $pid IS NULL OR p.id = $pid
RETURN p.id AS id, p.title AS title, p.kind AS kind, p.lead AS lead, p.goal AS goal,
       p.source AS source, p.phase AS phase, p.outcomes AS outcomes, p.history AS history,
       [(m:Member)-[r:PARTICIPATES_IN]->(p) | {member: m.id, role: r.role}] AS members
ORDER BY id
"""

# Conditional on the phase read before: a concurrent change makes it match nothing.
MOVE_PROJECT = """
MATCH (p:Project {network: $nid, id: $pid})
WHERE p.phase = $expected
SET p.phase = $phase, p.history = $history
RETURN p.id AS id
"""

SET_OUTCOMES = """
MATCH (p:Project {network: $nid, id: $pid})
SET p.outcomes = $outcomes
RETURN p.id AS id
"""

MEMBERS_IN = """
MATCH (m:Member {network: $nid})
WHERE m.id IN $ids
RETURN m.id AS id
"""

# -- introductions --------------------------------------------------------------------------
CREATE_INTRODUCTION = """
MATCH (a:Member {network: $nid, id: $requester}), (b:Member {network: $nid, id: $recipient})
CREATE (i:Introduction {network: $nid, id: $id, requester: $requester, recipient: $recipient,
                        message: $message, reasons: $reasons, status: $status,
                        created: $now, updated: $now, expires: $expires, history: $history})
CREATE (a)-[:REQUESTED]->(i)-[:INTRODUCES]->(b)
"""

INTRODUCTIONS = """
MATCH (i:Introduction {network: $nid})
WHERE ($id IS NULL OR i.id = $id)
  AND ($member IS NULL OR i.requester = $member OR i.recipient = $member)
RETURN i.id AS id, i.requester AS requester, i.recipient AS recipient, i.message AS message,
       i.reasons AS reasons, i.status AS status, i.created AS created, i.updated AS updated,
       i.expires AS expires, i.history AS history
ORDER BY created DESC, id
"""

OPEN_INTRODUCTION_BETWEEN = """
MATCH (i:Introduction {network: $nid})
WHERE i.status IN $open AND i.expires > $now
  AND ((i.requester = $a AND i.recipient = $b) OR (i.requester = $b AND i.recipient = $a))
RETURN i.id AS id
"""

# Conditional on the status read before, so two concurrent answers cannot both win.
MOVE_INTRODUCTION = """
MATCH (i:Introduction {network: $nid, id: $id})
WHERE i.status = $expected
SET i.status = $status, i.updated = $now, i.history = $history
RETURN i.id AS id
"""

CONTACTS_REVEALED = """
MATCH (i:Introduction {network: $nid, status: 'accepted'})
WHERE i.requester = $member OR i.recipient = $member
RETURN CASE WHEN i.requester = $member THEN i.recipient ELSE i.requester END AS partner
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
       n.description AS description, CASE WHEN n.policy_approval IS NULL THEN null
            ELSE {approval: n.policy_approval, expiry_days: n.policy_expiry_days,
                  suppress_declined_days: n.policy_suppress_declined_days} END AS policy
"""

NETWORKS = """
MATCH (n:Network)
RETURN n.id AS id, n.name AS name, n.sector AS sector, n.region AS region,
       n.description AS description, CASE WHEN n.policy_approval IS NULL THEN null
            ELSE {approval: n.policy_approval, expiry_days: n.policy_expiry_days,
                  suppress_declined_days: n.policy_suppress_declined_days} END AS policy
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
       m.description AS description, m.contact AS contact,
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

# A write that touches nothing of any network: /health tries it while writes are failing, to
# notice when they work again (a disk that got space back).
PROBE_WRITE = """
MERGE (p:HealthProbe {id: 'write'})
SET p.at = $at
"""
