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
RETURN c.id AS id, c.label AS label, c.label_es AS label_es, c.kind AS kind, p.id AS broader,
       c.synonyms AS synonyms, c.unit AS unit, c.serves AS serves
ORDER BY id
"""

CAPABILITIES_BY_ID = """
MATCH (c:Capability)
WHERE c.id IN $ids
OPTIONAL MATCH (c)-[:BROADER]->(p:Capability)
RETURN c.id AS id, c.network AS network, c.label AS label, c.label_es AS label_es,
       c.kind AS kind, p.id AS broader, c.synonyms AS synonyms, c.serves AS serves
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
    c.unit = coalesce(row.unit, c.unit),
    c.label_es = coalesce(row.label_es, c.label_es),
    c.serves = coalesce(row.serves, c.serves),
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
MATCH (c:Capability {id: row.id})
MATCH (p:Capability {id: row.broader})
CREATE (c)-[:BROADER]->(p)
"""

# -- networks and members -------------------------------------------------------------------
UPSERT_NETWORK = """
MERGE (n:Network {id: $network.id})
ON CREATE SET n.version = $network.first_version
SET n.name = $network.name, n.sector = $network.sector, n.region = $network.region,
    n.description = $network.description, n.policy_approval = $network.policy_approval,
    n.policy_expiry_days = $network.policy_expiry_days,
    n.policy_suppress_declined_days = $network.policy_suppress_declined_days,
    n.policy_member_token_days = $network.policy_member_token_days,
    n.policy_analyst_token_days = $network.policy_analyst_token_days,
    n.policy_facilitator_token_days = $network.policy_facilitator_token_days,
    n.policy_invitation_days = $network.policy_invitation_days,
    n.policy_training_capacity = $network.policy_training_capacity,
    n.policy_full_at_members = $network.policy_full_at_members,
    n.policy_discounts = $network.policy_discounts
"""

# Only the policy settings given (flattened, ``policy_`` + name); the rest stays as stored. A
# network without a policy reads as having none until its approval is set: set, to the default.
SET_NETWORK_POLICY = """
MATCH (n:Network {id: $nid})
SET n += $settings
SET n.policy_approval = coalesce(n.policy_approval, 'auto')
RETURN n.id AS id
"""

DELETE_ABSENT_MEMBERS = """
MATCH (m:Member {network: $nid})
WHERE NOT m.id IN $keep
DETACH DELETE m
"""

# An import's members are all the network's members: no `IN` list to test for each of them.
DELETE_NETWORK_MEMBER_EDGES = """
MATCH (m:Member {network: $nid})-[r:HAS_CAPABILITY|HAS_WEAKNESS|NEEDS]->()
WITH collect(r) AS edges
UNWIND edges AS r
DELETE r
"""

RELEASE_PROJECT_LEADS = """
MATCH (p:Project {network: $nid})
WHERE p.lead IN $ids
SET p.lead = null
"""

DELETE_MEMBER = """
MATCH (m:Member {network: $nid, id: $mid})
DETACH DELETE m
RETURN count(*) AS deleted
"""

# Run before DELETE_NETWORK_MEMBER_EDGES in an import: on ArcadeDB, deleting ties after deleting member
# edges in the same transaction misses some ties (docs/arcadedb.md).
DELETE_TIES = """
MATCH (:Member {network: $nid})-[t:COLLABORATES_WITH|COMPETES_WITH|SUPPLIES|TRUSTS|RIVALRY]->(:Member)
WITH collect(t) AS ties
UNWIND ties AS t
DELETE t
"""

# What an import wrote, counted inside its transaction before it commits.
COUNT_MEMBER_EDGES = """
MATCH (m:Member {network: $nid})
RETURN count(m) AS members,
       sum(size([(m)-[:HAS_CAPABILITY]->(:Capability) | 1])) AS capabilities,
       sum(size([(m)-[:HAS_WEAKNESS]->(:Capability) | 1])) AS weaknesses,
       sum(size([(m)-[:NEEDS]->(:Capability) | 1])) AS needs
"""

COUNT_TIES = """
MATCH (:Member {network: $nid})-[t:COLLABORATES_WITH|COMPETES_WITH|SUPPLIES|TRUSTS]->(:Member)
RETURN type(t) AS type, count(t) AS ties
ORDER BY type
"""

COUNT_PROJECTS = """
MATCH (p:Project {network: $nid})
RETURN count(p) AS projects, sum(size([(:Member)-[:PARTICIPATES_IN]->(p) | 1])) AS participants
"""

UPSERT_MEMBERS = """
MATCH (n:Network {id: $nid})
UNWIND $rows AS row
MERGE (m:Member {network: $nid, id: row.id})
SET m.uid = coalesce(m.uid, row.uid), m.name = row.name, m.sector = row.sector,
    m.region = row.region, m.size = row.size,
    m.description = row.description, m.contact = row.contact,
    m.hours_per_month = row.hours_per_month, m.customers = row.customers
MERGE (m)-[:MEMBER_OF]->(n)
"""

# One member replaced in one statement (graph/members.py): the node upserted by its key (which
# takes its write lock before its edges are read) with the change history entry appended; of its
# capability, weakness and need edges only those no longer listed are deleted, collected first
# (docs/arcadedb.md, 1); the listed ones are merged and their properties set. An edit that
# changes a level touches the edge alone, not the capability node (a hub that every member
# holding it shares: writing it made concurrent edits conflict). `$entries` lists every edge as
# {type, id, ...properties}, `$kept` the same as 'TYPE id' strings; the caller sends no empty
# `$entries` (UNWIND would end the statement before the merges, nothing else). Only capabilities
# the network sees (shared ones and its own) are linked, and `linked` counts them: fewer than the
# entries means one is not visible, and the caller rolls the transaction back (the member was
# validated without a read: a read transaction fewer on every edit).
PUT_MEMBER = """
MATCH (n:Network {id: $nid})
MERGE (m:Member {network: $nid, id: $mid})
SET m.uid = coalesce(m.uid, $uid), m.name = $name, m.sector = $sector, m.region = $region,
    m.size = $size, m.description = $description, m.contact = $contact,
    m.hours_per_month = $hours_per_month, m.customers = $customers,
    m.changes = (coalesce(m.changes, []) + [$entry])[-$keep..]
MERGE (m)-[:MEMBER_OF]->(n)
WITH m
OPTIONAL MATCH (m)-[r:HAS_CAPABILITY|HAS_WEAKNESS|NEEDS]->(c:Capability)
WHERE NOT type(r) + ' ' + c.id IN $kept
WITH m, collect(r) AS gone
FOREACH (r IN gone | DELETE r)
WITH m
UNWIND $entries AS e
MATCH (c:Capability {id: e.id})
WHERE c.network IS NULL OR c.network = $nid
FOREACH (_ IN CASE WHEN e.type = 'HAS_CAPABILITY' THEN [1] ELSE [] END |
    MERGE (m)-[r:HAS_CAPABILITY]->(c)
    SET r.level = e.level, r.capacity = e.capacity, r.core = e.core)
FOREACH (_ IN CASE WHEN e.type = 'HAS_WEAKNESS' THEN [1] ELSE [] END |
    MERGE (m)-[r:HAS_WEAKNESS]->(c)
    SET r.severity = e.severity)
FOREACH (_ IN CASE WHEN e.type = 'NEEDS' THEN [1] ELSE [] END |
    MERGE (m)-[r:NEEDS]->(c)
    SET r.kind = e.kind, r.urgency = e.urgency, r.volume = e.volume)
RETURN count(c) AS linked
"""

# A member that lists no capability, weakness or need: the same, its edges all deleted.
PUT_MEMBER_WITHOUT_EDGES = PUT_MEMBER[:PUT_MEMBER.index("WITH m\nUNWIND $entries")] + \
    "RETURN count(*) AS written\n"  # 0: no such network

# The same, for the member itself: it replaces the member it finds and never creates one, so
# that its save, checked against its token before a removal committed, does not bring back the
# member the removal took away (under either database: Neo4j's MATCH waits for the removal's
# lock and finds nothing, ArcadeDB's write conflicts with it and runs again).
PUT_OWN_MEMBER = PUT_MEMBER.replace("MERGE (m:Member {network: $nid, id: $mid})",
                                    "MATCH (m:Member {network: $nid, id: $mid})", 1)
PUT_OWN_MEMBER_WITHOUT_EDGES = PUT_MEMBER_WITHOUT_EDGES.replace(
    "MERGE (m:Member {network: $nid, id: $mid})", "MATCH (m:Member {network: $nid, id: $mid})", 1)

# Whether member $mid of $nid is stored (inside a write that found less than it wrote).
MEMBER_STORED = """
MATCH (m:Member {network: $nid, id: $mid})
RETURN count(m) AS stored
"""

# The capability ids a member lists that network $nid sees (shared ones and its own), each
# found by its key: what validating one member needs, not the whole taxonomy.
VISIBLE_CAPABILITIES = """
UNWIND $ids AS wanted
MATCH (c:Capability {id: wanted})
WHERE c.network IS NULL OR c.network = $nid
RETURN c.id AS id
ORDER BY id
"""

# One row per member with its list: the member is found once, not once per edge.
CREATE_HAS_CAPABILITY = """
UNWIND $rows AS row
MATCH (m:Member {network: $nid, id: row.member})
UNWIND row.entries AS entry
MATCH (c:Capability {id: entry.id})
CREATE (m)-[:HAS_CAPABILITY {level: entry.level, capacity: entry.capacity, core: entry.core}]->(c)
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
MATCH (a:Member {{network: $nid, id: row.source}})
MATCH (b:Member {{network: $nid, id: row.target}})
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

# Outside agents: their own nodes, OFFERS edges to the capabilities they provide.
REPLACE_AGENTS = """
MATCH (n:Network {id: $nid})
OPTIONAL MATCH (old:Agent {network: $nid})
DETACH DELETE old
WITH DISTINCT n
UNWIND $rows AS row
CREATE (a:Agent {network: $nid, id: row.id, name: row.name, kind: row.kind, region: row.region,
                 description: row.description, contact: row.contact})
CREATE (a)-[:AGENT_OF]->(n)
WITH a, row
UNWIND row.offers AS cid
MATCH (c:Capability {id: cid})
CREATE (a)-[:OFFERS]->(c)
"""

AGENTS = """
MATCH (a:Agent {network: $nid})
RETURN a.id AS id, a.name AS name, a.kind AS kind, a.region AS region,
       a.description AS description, a.contact AS contact,
       [(a)-[:OFFERS]->(c:Capability) | c.id] AS offers
ORDER BY id
"""

# Declared orders: requirements as a JSON string (properties hold no lists of maps).
REPLACE_ORDERS = """
MATCH (n:Network {id: $nid})
OPTIONAL MATCH (old:Order {network: $nid})
DETACH DELETE old
WITH DISTINCT n
UNWIND $rows AS row
CREATE (o:Order {network: $nid, id: row.id, title: row.title, lead: row.lead,
                 competitors: row.competitors, max_members: row.max_members, value: row.value,
                 requirements: row.requirements})
CREATE (o)-[:ORDER_OF]->(n)
"""

ORDERS = """
MATCH (o:Order {network: $nid})
RETURN o.id AS id, o.title AS title, o.lead AS lead, o.competitors AS competitors,
       o.max_members AS max_members, o.value AS value, o.requirements AS requirements
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
MATCH (m:Member {network: $nid, id: row.member})
MATCH (p:Project {network: $nid, id: row.project})
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

# Locked before its phase is read, in the transaction that moves it (see LOCK_INTRODUCTION).
LOCK_PROJECT = """
MATCH (p:Project {network: $nid, id: $pid})
SET p._lock = coalesce(p._lock, 0) + 1
RETURN p.phase AS phase, p.history AS history
"""

MOVE_PROJECT = """
MATCH (p:Project {network: $nid, id: $pid})
SET p.phase = $phase, p.history = $history
RETURN p.id AS id
"""

SET_OUTCOMES = """
MATCH (p:Project {network: $nid, id: $pid})
SET p.outcomes = $outcomes
RETURN p.id AS id
"""

MEMBER_IDS = """
MATCH (m:Member {network: $nid})
RETURN m.id AS id
ORDER BY id
"""

# Each member found by its key (`WHERE m.id IN $ids` scans the network's members on ArcadeDB:
# 189 ms against 8 ms at 10,000 members).
MEMBERS_IN = """
UNWIND $ids AS wanted
MATCH (m:Member {network: $nid, id: wanted})
RETURN DISTINCT m.id AS id
"""

# -- introductions --------------------------------------------------------------------------
CREATE_INTRODUCTION = """
MATCH (a:Member {network: $nid, id: $requester})
MATCH (b:Member {network: $nid, id: $recipient})
CREATE (i:Introduction {network: $nid, id: $id, requester: $requester, recipient: $recipient,
                        message: $message, reasons: $reasons, status: $status,
                        created: $now, updated: $now, expires: $expires, history: $history})
CREATE (a)-[:REQUESTED]->(i)-[:INTRODUCES]->(b)
"""

INTRODUCTIONS = """
MATCH (i:Introduction {network: $nid})
WHERE ($id IS NULL OR i.id = $id)
  AND ($member IS NULL OR EXISTS {
        MATCH (:Member {network: $nid, id: $member})-[:REQUESTED|INTRODUCES]-(i)
      })
RETURN i.id AS id, i.requester AS requester, i.recipient AS recipient, i.message AS message,
       i.reasons AS reasons, i.status AS status, i.created AS created, i.updated AS updated,
       i.expires AS expires, i.history AS history
ORDER BY created DESC, id
"""

# Write locks first (Neo4j reads take no locks): both members, in id order so that two
# requests for one pair cannot deadlock; then the check for an open request sees every commit.
# The lock is a counter, not `SET x._lock = true REMOVE x._lock`: ArcadeDB (optimistic, no
# locks) sees a conflict only when the record really changed, and that pair leaves it unchanged.
# Each member is found by its key: on ArcadeDB `WHERE m.id IN $ids` scans the network's members
# (0.2-0.5 s at 10,000).
LOCK_MEMBERS = """
UNWIND $ids AS wanted
MATCH (m:Member {network: $nid, id: wanted})
WITH DISTINCT m ORDER BY m.id
SET m._lock = coalesce(m._lock, 0) + 1
RETURN m.id AS id
"""

OPEN_INTRODUCTION_BETWEEN = """
MATCH (i:Introduction {network: $nid})
WHERE i.status IN $open AND i.expires > $now
  AND ((i.requester = $a AND i.recipient = $b) OR (i.requester = $b AND i.recipient = $a))
RETURN i.id AS id
ORDER BY i.created, id
"""

# The write lock is taken before the status is read, in the transaction that moves it: of two
# concurrent actions the second waits (Neo4j) or conflicts and is retried (ArcadeDB), then sees
# the first one's status.
LOCK_INTRODUCTION = """
MATCH (i:Introduction {network: $nid, id: $id})
SET i._lock = coalesce(i._lock, 0) + 1
RETURN i.id AS id, i.requester AS requester, i.recipient AS recipient, i.message AS message,
       i.reasons AS reasons, i.status AS status, i.created AS created, i.updated AS updated,
       i.expires AS expires, i.history AS history
"""

MOVE_INTRODUCTION = """
MATCH (i:Introduction {network: $nid, id: $id})
SET i.status = $status, i.updated = $now, i.history = $history
RETURN i.id AS id, i.requester AS requester, i.recipient AS recipient, i.message AS message,
       i.reasons AS reasons, i.status AS status, i.created AS created, i.updated AS updated,
       i.expires AS expires, i.history AS history
"""

# Through the edges, not the ids: they die with a removed member, so a later member with the
# same id sees nothing of its predecessor's introductions.
CONTACTS_REVEALED = """
MATCH (me:Member {network: $nid, id: $member})-[:REQUESTED|INTRODUCES]-
      (i:Introduction {network: $nid, status: 'accepted'})-[:REQUESTED|INTRODUCES]-
      (partner:Member {network: $nid})
WHERE partner.id <> $member
RETURN DISTINCT partner.id AS partner
ORDER BY partner
"""

# The change log (graph/changes.py): every write to a network bumps its version and appends its
# records in the same transaction, last before the commit; the SET takes the network's write
# lock, so versions follow the commit order without gaps. The version is read after the bump (a
# value read before it could be lost to a concurrent write on Neo4j), and the records numbered up
# to it, in order. Returns the new version (no row: no such network).
RECORD_CHANGES = """
MATCH (n:Network {id: $nid})
SET n.version = coalesce(n.version, 0) + size($records)
WITH n.version AS last
UNWIND range(0, size($records) - 1) AS k
WITH last, k, $records[k] AS record
CREATE (:Change {network: $nid, version: last - size($records) + k + 1, kind: record.kind,
                 members: record.members, at: record.at, state: record.state})
RETURN DISTINCT last AS version
"""

# The records from ``$oldest`` to ``$upto``, each by its key (a range over the version scans every
# record of the network on ArcadeDB); graph/changes.py deletes the older ones in steps.
COMPACT_CHANGES = """
UNWIND range($oldest, $upto) AS old
MATCH (c:Change {network: $nid, version: old})
DELETE c
"""

# The network's version and the taxonomy's, then the change records from ``$since`` + 1 up to
# that version, each looked up by its key (a range over the version scanned every record of the
# network, up to graph/changes.py ``KEEP``, on ArcadeDB); none when there are more than ``$most``
# (the log cannot reach that far back). One row per version (nulls for a record that is gone),
# and one for ``$since`` itself so that a network with no record to read still answers; no row
# when there is no such network.
CHANGES_SINCE = """
MATCH (n:Network {id: $nid})
WITH coalesce(n.version, 0) AS version
OPTIONAL MATCH (t:TaxonomyVersion {id: 'shared'})
WITH version, coalesce(t.version, 0) AS taxonomy
UNWIND [$since] + range($since + 1,
                        CASE WHEN version - $since > $most THEN $since ELSE version END)
       AS wanted
OPTIONAL MATCH (c:Change {network: $nid, version: wanted})
RETURN version, taxonomy, wanted, c.version AS change, c.kind AS kind, c.members AS members,
       c.at AS at, c.state AS state
ORDER BY wanted
"""

# Kept states hold member rows, weaknesses included: a member's deletion forgets those of the
# records that name it, an import (``$ids`` null) all of the network's (graph/changes.py).
FORGET_KEPT_STATES = """
MATCH (c:Change {network: $nid})
WHERE c.state IS NOT NULL AND ($ids IS NULL OR any(named IN c.members WHERE named IN $ids))
SET c.state = null
"""

NETWORK_SIZES = """
MATCH (n:Network)
OPTIONAL MATCH (m:Member {network: n.id})
RETURN n.id AS id, count(m) AS members
ORDER BY members, id
"""

# The shared taxonomy has one version of its own (created by graph/schema.py).
BUMP_TAXONOMY_VERSION = """
MATCH (t:TaxonomyVersion {id: 'shared'})
SET t.version = t.version + 1
RETURN t.version AS version
"""

# What a cached matcher compares on every request: one indexed lookup each.
VERSIONS = """
MATCH (n:Network {id: $nid})
OPTIONAL MATCH (t:TaxonomyVersion {id: 'shared'})
RETURN coalesce(n.version, 0) AS version, coalesce(t.version, 0) AS taxonomy
"""

NETWORK_VERSION = """
MATCH (n:Network {id: $nid})
RETURN coalesce(n.version, 0) AS version
"""

# Decisions carry full-precision time and a sequence number, one more than the pair's latest
# decision either way round: two decisions on one pair within the same instant are still read in
# the order they were made. One statement: both members' write locks first (as LOCK_MEMBERS, in
# id order), and only once both are held (the count waits for every lock) the pair's latest
# number is read and the decision created with the next one. No row: a member (or the network)
# is missing, and nothing is written. The network node is not touched (its version is bumped
# last, by the change record, so its lock is held only from there to the commit). Also returns
# every earlier decision touching either member (as FEEDBACK_TOUCHING's rows, read under both
# locks, before the new one is created): with the new one, the state the write leaves for the
# change log (graph/feedback.py), without a statement more to read it back.
LOCK_AND_CREATE_FEEDBACK = """
UNWIND $ids AS wanted
MATCH (m:Member {network: $nid, id: wanted})
WITH DISTINCT m ORDER BY m.id
SET m._lock = coalesce(m._lock, 0) + 1
WITH count(m) AS locked
WHERE locked = 2
MATCH (a:Member {network: $nid, id: $member})
MATCH (b:Member {network: $nid, id: $candidate})
OPTIONAL MATCH (a)-[old:FEEDBACK_ON]-(b)
WITH a, b, coalesce(max(old.seq), 0) AS last
UNWIND [a, b] AS side
OPTIONAL MATCH (side)-[f:FEEDBACK_ON]-(:Member {network: $nid})
WITH a, b, last, collect(DISTINCT f) AS earlier
WITH a, b, last, [f IN earlier | {member: startNode(f).id, candidate: endNode(f).id,
                                  decision: f.decision, at: f.at,
                                  on_behalf: coalesce(f.on_behalf, false),
                                  seq: coalesce(f.seq, 0)}] AS touching
CREATE (a)-[:FEEDBACK_ON {decision: $decision, at: $at, seq: last + 1, token: $token,
                           issued_by: $issued_by,
                           issuer_role: $issuer_role, on_behalf: $on_behalf}]->(b)
RETURN last + 1 AS seq, touching
"""

# on_behalf: a manager decided for the member; the ranker does not learn from it as the member's.
FEEDBACK = """
MATCH (a:Member {network: $nid})-[f:FEEDBACK_ON]->(b:Member {network: $nid})
RETURN a.id AS member, b.id AS candidate, f.decision AS decision, f.at AS at,
       coalesce(f.on_behalf, false) AS on_behalf, coalesce(f.seq, 0) AS seq
ORDER BY at, seq, member, candidate
"""

# Every decision involving one of ``$ids``, each once: one statement from the members by their
# key, either direction (two, one per direction, cost a round trip more on every catch-up).
FEEDBACK_TOUCHING = """
UNWIND $ids AS wanted
MATCH (:Member {network: $nid, id: wanted})-[f:FEEDBACK_ON]-(:Member {network: $nid})
WITH DISTINCT f
RETURN startNode(f).id AS member, endNode(f).id AS candidate, f.decision AS decision, f.at AS at,
       coalesce(f.on_behalf, false) AS on_behalf, coalesce(f.seq, 0) AS seq
ORDER BY at, seq, member, candidate
"""

# One member's decisions on suggested partners, oldest first (the latest per candidate wins).
MEMBER_FEEDBACK = """
MATCH (a:Member {network: $nid, id: $member})-[f:FEEDBACK_ON]->(b:Member {network: $nid})
RETURN b.id AS candidate, f.decision AS decision, f.at AS at,
       coalesce(f.on_behalf, false) AS on_behalf, coalesce(f.seq, 0) AS seq
ORDER BY at, seq, candidate
"""

# Undo: the member's latest decision on one candidate goes (the caller holds the member's lock).
DELETE_FEEDBACK = """
MATCH (a:Member {network: $nid, id: $member})-[f:FEEDBACK_ON]->
      (b:Member {network: $nid, id: $candidate})
WITH f ORDER BY f.at DESC, coalesce(f.seq, 0) DESC
LIMIT 1
WITH f, f.decision AS decision
DELETE f
RETURN decision
"""

# -- reading --------------------------------------------------------------------------------
NETWORK = """
MATCH (n:Network {id: $nid})
RETURN n.id AS id, n.name AS name, n.sector AS sector, n.region AS region,
       n.description AS description, CASE WHEN n.policy_approval IS NULL THEN null
            ELSE {approval: n.policy_approval, expiry_days: n.policy_expiry_days,
                  suppress_declined_days: n.policy_suppress_declined_days,
                  member_token_days: n.policy_member_token_days,
                  analyst_token_days: n.policy_analyst_token_days,
                  facilitator_token_days: n.policy_facilitator_token_days,
                  invitation_days: n.policy_invitation_days,
                  training_capacity: n.policy_training_capacity,
                  full_at_members: n.policy_full_at_members,
                  discounts: n.policy_discounts} END AS policy
"""

NETWORKS = """
MATCH (n:Network)
RETURN n.id AS id, n.name AS name, n.sector AS sector, n.region AS region,
       n.description AS description, CASE WHEN n.policy_approval IS NULL THEN null
            ELSE {approval: n.policy_approval, expiry_days: n.policy_expiry_days,
                  suppress_declined_days: n.policy_suppress_declined_days,
                  member_token_days: n.policy_member_token_days,
                  analyst_token_days: n.policy_analyst_token_days,
                  facilitator_token_days: n.policy_facilitator_token_days,
                  invitation_days: n.policy_invitation_days,
                  training_capacity: n.policy_training_capacity,
                  full_at_members: n.policy_full_at_members,
                  discounts: n.policy_discounts} END AS policy
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
RETURN m.id AS id, m.name AS name, m.sector AS sector, m.region AS region, m.size AS size,
       m.description AS description, m.contact AS contact, m.hours_per_month AS hours_per_month,
       m.customers AS customers,
       [(m)-[r:HAS_CAPABILITY]->(c:Capability) |
           {id: c.id, level: r.level, capacity: r.capacity, core: r.core}] AS capabilities,
       [(m)-[r:HAS_WEAKNESS]->(c:Capability) | {id: c.id, severity: r.severity}] AS weaknesses,
       [(m)-[r:NEEDS]->(c:Capability) |
           {id: c.id, kind: r.kind, urgency: r.urgency, volume: r.volume}] AS needs
ORDER BY m.id
"""

# The change log's catch-up reads a few members: each found by its key, never by a scan.
# (A pair, not a string constant: the Cypher check lints every string constant as a statement.)
_ANY_MEMBER_TO_THESE = ("MATCH (m:Member {network: $nid})\nWHERE ($mid IS NULL OR m.id = $mid)",
                        "UNWIND $ids AS wanted\nMATCH (m:Member {network: $nid, id: wanted})\nWHERE true")
assert _ANY_MEMBER_TO_THESE[0] in MEMBERS
MEMBERS_BY_IDS = MEMBERS.replace(*_ANY_MEMBER_TO_THESE)

# Every tie touching one of ``$ids``, each once (as FEEDBACK_TOUCHING).
TIES_TOUCHING = """
UNWIND $ids AS wanted
MATCH (:Member {network: $nid, id: wanted})-[t:COLLABORATES_WITH|COMPETES_WITH|SUPPLIES|TRUSTS]-
      (:Member {network: $nid})
WITH DISTINCT t
RETURN startNode(t).id AS source, endNode(t).id AS target, type(t) AS type, t.weight AS weight,
       t.since AS since
ORDER BY source, target, type
"""

TIES = """
MATCH (a:Member {network: $nid})-[t:COLLABORATES_WITH|COMPETES_WITH|SUPPLIES|TRUSTS]->
      (b:Member {network: $nid})
RETURN a.id AS source, b.id AS target, type(t) AS type, t.weight AS weight, t.since AS since
ORDER BY source, target, type
"""

# -- facilitators' verdicts on rivalry (graph.rivalries) ----------------------------------------
# One RIVALRY relationship per pair, from the smaller member id to the larger.
RIVALRIES = """
MATCH (a:Member {network: $nid})-[r:RIVALRY]->(b:Member {network: $nid})
RETURN a.id AS a, b.id AS b, r.verdict AS verdict, r.note AS note, r.at AS at
ORDER BY a, b
"""

COUNT_RIVALRIES = """
MATCH (:Member {network: $nid})-[r:RIVALRY]->(:Member)
RETURN count(r) AS rivalries
"""

# The verdict on one pair (a < b), read after the pair's write locks (LOCK_MEMBERS) are held.
RIVALRY_BETWEEN = """
MATCH (a:Member {network: $nid, id: $a})-[r:RIVALRY]-(b:Member {network: $nid, id: $b})
RETURN r.verdict AS verdict, r.note AS note, r.at AS at
ORDER BY at, verdict
"""

DELETE_RIVALRY = """
MATCH (a:Member {network: $nid, id: $a})-[r:RIVALRY]-(b:Member {network: $nid, id: $b})
DELETE r
"""

CREATE_RIVALRIES = """
UNWIND $rows AS row
MATCH (a:Member {network: $nid, id: row.a})
MATCH (b:Member {network: $nid, id: row.b})
CREATE (a)-[:RIVALRY {verdict: row.verdict, note: row.note, at: row.at}]->(b)
"""

# -- access tokens (only their SHA-256 is stored) ---------------------------------------------
# A real write on the member (a count of credentials issued), not only the uid's no-op SET: a
# removal that read the member's tokens and invitations before this one committed then
# conflicts with it on ArcadeDB and runs again, revoking it (Neo4j: the removal's lock makes
# this wait and find no member). With the no-op alone the removal committed too, and the token
# or invitation outlived its member: unusable, bound to the old uid, yet listed.
ENSURE_MEMBER_UID = """
MATCH (m:Member {network: $nid, id: $mid})
SET m.uid = coalesce(m.uid, $fresh), m.credentials_issued = coalesce(m.credentials_issued, 0) + 1
RETURN m.uid AS uid
"""

CREATE_TOKEN = """
CREATE (t:Token {id: $id, hash: $hash, role: $role, network: $network, member: $member,
                 member_uid: $member_uid, created: $created, expires: $expires,
                 issued_by: $issued_by, issuer_role: $issuer_role, invitation: $invitation})
"""

REPLACE_BOOTSTRAP_TOKEN = """
MERGE (t:Token {id: $id})
SET t.hash = $hash, t.role = 'admin', t.network = null, t.member = null, t.created = $created,
    t.expires = null
"""

_TOKEN_FIELDS = """t.id AS id, t.role AS role, t.network AS network, t.member AS member,
       t.member_uid AS member_uid, t.created AS created, t.expires AS expires,
       t.issued_by AS issued_by, t.issuer_role AS issuer_role, t.invitation AS invitation"""

# The member's current uid rides along: a token of a removed (or replaced) member opens nothing.
TOKEN_BY_HASH = """
MATCH (t:Token {hash: $hash})
OPTIONAL MATCH (m:Member {network: t.network, id: t.member})
RETURN """ + _TOKEN_FIELDS + """, m.uid AS current_uid
"""

TOKEN_BY_ID = """
MATCH (t:Token {id: $id})
RETURN """ + _TOKEN_FIELDS + """
"""

TOKENS = """
MATCH (t:Token)
WHERE ($network IS NULL OR t.network = $network)
  AND ($member IS NULL OR t.member = $member)
  AND ($roles IS NULL OR t.role IN $roles)
  AND ($ids IS NULL OR t.id IN $ids)
RETURN """ + _TOKEN_FIELDS + """
ORDER BY created, id
"""

DELETE_TOKEN = """
MATCH (t:Token {id: $id})
DELETE t
RETURN count(*) AS deleted
"""

# -- removing members: their credentials go, their open introductions are withdrawn -----------
ABSENT_MEMBERS = """
MATCH (m:Member {network: $nid})
WHERE NOT m.id IN $keep
RETURN m.id AS id
ORDER BY id
"""

# The members a removal takes, written before it reads what hangs on them (tokens,
# invitations, open introductions): whatever is issued to them meanwhile writes them too
# (ENSURE_MEMBER_UID, an introduction's edges), so one of the two transactions waits (Neo4j) or
# conflicts and runs again (ArcadeDB, which reads committed data, not a snapshot), instead of
# the removal missing it.
MARK_LEAVING_MEMBERS = """
UNWIND $ids AS mid
MATCH (m:Member {network: $nid, id: mid})
SET m.leaving = true
"""

DELETE_MEMBER_TOKENS = """
MATCH (t:Token {network: $nid})
WHERE t.member IN $ids
DELETE t
"""

# Locked first (the SET), then checked: a concurrent answer cannot slip between.
OPEN_INTRODUCTIONS_OF = """
MATCH (i:Introduction {network: $nid})
WHERE i.requester IN $ids OR i.recipient IN $ids
SET i.lock = coalesce(i.lock, 0) + 1
WITH i
WHERE i.status IN $open
RETURN i.id AS id, i.status AS status, i.history AS history
ORDER BY id
"""

WITHDRAW_INTRODUCTION = """
MATCH (i:Introduction {network: $nid, id: $id})
WHERE i.status = $expected
SET i.status = $status, i.updated = $now, i.history = $history
"""

DELETE_MEMBER_INVITATIONS = """
MATCH (i:Invitation {network: $nid})
WHERE i.member IN $ids
DELETE i
"""

# -- invitations (single-use codes a member redeems for its own token; only hashes stored) ----
CREATE_INVITATION = """
CREATE (i:Invitation {id: $id, hash: $hash, network: $network, member: $member,
                      member_uid: $member_uid, created: $created, expires: $expires,
                      issued_by: $issued_by, issuer_role: $issuer_role})
"""

_INVITATION_FIELDS = """i.id AS id, i.network AS network, i.member AS member,
       i.member_uid AS member_uid, i.created AS created, i.expires AS expires,
       i.issued_by AS issued_by, i.issuer_role AS issuer_role, i.redeemed AS redeemed,
       i.token AS token, i.revoked AS revoked"""

INVITATIONS = """
MATCH (i:Invitation {network: $nid})
WHERE ($id IS NULL OR i.id = $id) AND ($member IS NULL OR i.member = $member)
RETURN """ + _INVITATION_FIELDS + """
ORDER BY created, id
"""

# The write lock is taken before the state is read, in the redeeming transaction: of two
# concurrent redemptions one waits, then sees the code used.
LOCK_INVITATION_BY_HASH = """
MATCH (i:Invitation {hash: $hash})
SET i.lock = coalesce(i.lock, 0) + 1
WITH i
OPTIONAL MATCH (m:Member {network: i.network, id: i.member})
RETURN """ + _INVITATION_FIELDS + """, m.uid AS current_uid
"""

LOCK_INVITATION = """
MATCH (i:Invitation {network: $nid, id: $id})
SET i.lock = coalesce(i.lock, 0) + 1
RETURN """ + _INVITATION_FIELDS + """
"""

REDEEM_INVITATION = """
MATCH (i:Invitation {id: $id})
WHERE i.redeemed IS NULL AND i.revoked IS NULL
SET i.redeemed = $now, i.token = $token
RETURN i.id AS id
"""

REVOKE_INVITATION = """
MATCH (i:Invitation {network: $nid, id: $id})
WHERE i.redeemed IS NULL AND i.revoked IS NULL
SET i.revoked = $now
RETURN i.id AS id
"""

# -- who changed a member's profile (JSON entries, the latest MEMBER_CHANGES_KEPT kept) ---------
MEMBER_CHANGES = """
MATCH (m:Member {network: $nid, id: $mid})
RETURN coalesce(m.changes, []) AS changes
"""

# A write that touches nothing of any network: /health tries it while writes are failing, to
# notice when they work again (a disk that got space back).
PROBE_WRITE = """
MERGE (p:HealthProbe {id: 'write'})
SET p.at = $at
"""


# Web sessions (graph/sessions.py): found by the hash of their id; times are epoch seconds.
CREATE_SESSION = """
CREATE (:WebSession {key: $key, token_hash: $token_hash, csrf: $csrf, created: $now, seen: $now})
"""

SESSION = """
MATCH (s:WebSession {key: $key})
RETURN s.token_hash AS token_hash, s.csrf AS csrf, s.created AS created, s.seen AS seen
"""

TOUCH_SESSION = """
MATCH (s:WebSession {key: $key})
SET s.seen = $now
"""

DELETE_SESSION = """
MATCH (s:WebSession {key: $key})
DELETE s
"""

PURGE_SESSIONS = """
MATCH (s:WebSession)
WHERE s.seen < $seen_before OR s.created < $created_before
WITH s LIMIT $limit
DELETE s
"""

COUNT_SESSIONS = """
MATCH (s:WebSession)
RETURN count(s) AS sessions
"""

SERVICE_KEY = """
MERGE (k:ServiceKey {name: $name})
ON CREATE SET k.value = $value
RETURN k.value AS value
"""

SERVICE_KEY_VALUE = """
MATCH (k:ServiceKey {name: $name})
RETURN k.value AS value
"""


# Deleting a network: its ties first (ArcadeDB misses some ties deleted after member edges in
# one transaction: docs/arcadedb.md), then each kind of node it owns, then the network itself.
NETWORK_OWNED_LABELS = ("Introduction", "Project", "Token", "Invitation", "Agent", "Order",
                        "ValueChainTemplate", "Change", "Member", "Capability")
DELETE_NETWORK_PARTS = {label: f"MATCH (x:{label} {{network: $nid}})\nDETACH DELETE x"
                        for label in NETWORK_OWNED_LABELS}
DELETE_NETWORK_NODE = """
MATCH (n:Network {id: $nid})
DETACH DELETE n
"""

DELETE_PROJECT = """
MATCH (p:Project {network: $nid, id: $pid})
DETACH DELETE p
RETURN count(*) AS deleted
"""
