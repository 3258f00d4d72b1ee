"""Import and export of network documents: validate everything first, then write in one transaction."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from neo4j import ManagedTransaction

from graph import queries as q
from graph.acting import without_credentials
from graph.batches import Progress, run_batched
from graph.changes import ChangeKind, record_change, record_taxonomy_change
from graph.database import Database
from graph.turns import board_versions, seed_board, wait_turn
from graph.disclosure import public_project
from graph.removal import absent_members, remove_members
from graph.document import (Agent, Capability, DeclaredOrder, Member, Network,
                             NetworkDocument, NetworkPolicy, Project, TaxonomyDocument)
from graph.validation import (DocumentForbidden, DocumentInvalid, Problem, validate_network,
                              validate_taxonomy)


class NetworkNotFound(LookupError):
    """No network with this id is stored."""


class ImportMismatch(RuntimeError):
    """What the database holds after an import's writes differs from the document; the
    transaction was rolled back, nothing was written."""


@dataclass(frozen=True)
class ImportSummary:
    network: str
    members: int
    capabilities: int
    weaknesses: int
    needs: int
    ties: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"network": self.network, "members": self.members,
                "capabilities": self.capabilities, "weaknesses": self.weaknesses,
                "needs": self.needs, "ties": dict(self.ties)}


# -- taxonomy -------------------------------------------------------------------------------
def read_taxonomy(db: Database, nid: str | None = None) -> list[dict[str, Any]]:
    """The shared taxonomy entries, and network ``nid``'s own (id, label, label_es, kind,
    broader, synonyms, unit)."""
    return db.query(q.TAXONOMY, nid=nid)


def known_broader(db: Database, nid: str | None = None) -> dict[str, str | None]:
    """Each capability id visible in network ``nid`` (shared ones only for None) -> parent id."""
    return {row["id"]: row["broader"] for row in read_taxonomy(db, nid)}


def _changes_stored(tx: ManagedTransaction, capabilities: list[Capability]) -> bool:
    """Whether writing ``capabilities`` changes a stored one (label, kind, parent, synonyms).

    Only such a change moves other networks' scores: a new capability is in no one's profile
    yet, and label similarity is computed per label, with nothing learned from the others.
    """
    stored = {row["id"]: row for row in tx.run(q.CAPABILITIES_BY_ID,
                                               ids=[c.id for c in capabilities]).data()}
    for c in capabilities:
        row = stored.get(c.id)
        if row is not None and (row["label"] != c.label or row["kind"] != c.kind
                                or (c.broader and c.broader != row["broader"])
                                or (c.serves is not None
                                    and sorted(c.serves) != sorted(row["serves"] or []))
                                or set(c.synonyms) - set(row["synonyms"] or [])):
            return True
    return False


def _write_capabilities(tx: ManagedTransaction, capabilities: list[Capability],
                        owner: str | None) -> None:
    """Upsert ``capabilities`` as ``owner``'s (None: shared); refuse if one has another owner."""
    if not capabilities:
        return
    # A network's own entries come with its import (a full refit); shared ones reach every
    # network's matcher through the taxonomy version.
    if owner is None and _changes_stored(tx, capabilities):
        record_taxonomy_change(tx)
    rows = [{"id": c.id, "label": c.label, "label_es": c.label_es, "kind": c.kind,
             "synonyms": c.synonyms, "unit": c.unit,
             "serves": None if c.serves is None else sorted(c.serves)} for c in capabilities]
    written = {r["id"] for r in tx.run(q.UPSERT_CAPABILITIES, rows=rows, owner=owner).data()}
    # Checked before the transaction too; this catches an entry created meanwhile by another.
    taken = [Problem(f"capabilities[{i}].id", _TAKEN.format(cid=c.id))
             for i, c in enumerate(capabilities) if c.id not in written]
    if taken:
        raise DocumentForbidden(taken)
    # A document that names a parent replaces the stored one; without one the stored link stays.
    with_parent = [{"id": c.id, "broader": c.broader} for c in capabilities if c.broader]
    tx.run(q.DELETE_BROADER, ids=[row["id"] for row in with_parent]).consume()
    tx.run(q.CREATE_BROADER, rows=with_parent).consume()


_TAKEN = "{cid!r} is another network's own capability; choose another id"


def _stored_capabilities(db: Database, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in db.query(q.CAPABILITIES_BY_ID, ids=ids)}


def _shared_change(entry: Capability, stored: dict[str, Any]) -> str | None:
    """What ``entry`` would change in a stored shared capability, or None (fields it leaves out
    keep their stored values)."""
    if entry.label != stored["label"]:
        return f"label {stored['label']!r} -> {entry.label!r}"
    if entry.label_es is not None and entry.label_es != stored.get("label_es"):
        return f"label_es {stored.get('label_es')!r} -> {entry.label_es!r}"
    if entry.kind is not None and entry.kind != stored["kind"]:
        return f"kind {stored['kind']!r} -> {entry.kind!r}"
    if entry.broader is not None and entry.broader != stored["broader"]:
        return f"broader {stored['broader']!r} -> {entry.broader!r}"
    if entry.serves is not None and sorted(entry.serves) != sorted(stored["serves"] or []):
        return f"serves {sorted(stored['serves'] or [])!r} -> {sorted(entry.serves)!r}"
    added = [s for s in entry.synonyms if s not in (stored["synonyms"] or [])]
    if added:
        return f"new synonym {added[0]!r}"
    return None


def _own_capabilities(db: Database, nid: str, capabilities: list[Capability]
                      ) -> tuple[list[Capability], list[Problem]]:
    """The document's capabilities that are the network's own (to write), and problems for those
    that would change a shared entry or take another network's id.

    A shared entry repeated unchanged (as every export carries them) is simply not written."""
    stored = _stored_capabilities(db, [c.id for c in capabilities])
    own: list[Capability] = []
    problems: list[Problem] = []
    for i, cap in enumerate(capabilities):
        found = stored.get(cap.id)
        if found is None or found["network"] == nid:
            own.append(cap)
        elif found["network"] is not None:
            problems.append(Problem(f"capabilities[{i}].id", _TAKEN.format(cid=cap.id)))
        elif (change := _shared_change(cap, found)) is not None:
            problems.append(Problem(
                f"capabilities[{i}]", f"would change the shared capability {cap.id!r} ({change}); "
                "only an admin changes the shared taxonomy, with a taxonomy document"))
    return own, problems


def load_taxonomy(db: Database, raw: Any, source: str | None = None) -> TaxonomyDocument:
    """Validate and upsert shared entries; label, kind and parent win, synonyms merge.

    Loading a taxonomy is the admin's (the command line): an id that a network owns is refused."""
    document = validate_taxonomy(raw, known_broader(db), source)
    stored = _stored_capabilities(db, [c.id for c in document.capabilities])
    taken = [Problem(f"capabilities[{i}].id", _TAKEN.format(cid=c.id))
             for i, c in enumerate(document.capabilities)
             if stored.get(c.id, {}).get("network") is not None]
    if taken:
        raise DocumentForbidden(taken, source)
    db.write(_write_capabilities, document.capabilities, None)
    return document


# -- networks -------------------------------------------------------------------------------
def write_members(tx: ManagedTransaction, nid: str, members: list[Member], *,
                  progress: Progress | None = None) -> None:
    """Upsert ``members``, all the network's members (an import), and make their capabilities,
    weaknesses and needs exactly the given ones. (One member is replaced by
    ``graph.members.put_member``, which changes only the edges that differ.)
    """
    tx.run(q.DELETE_NETWORK_MEMBER_EDGES, nid=nid).consume()
    # A new member node gets an internal uid once; tokens are bound to it (see graph.tokens).
    rows = [{**m.model_dump(include={"id", "name", "sector", "region", "size", "description",
                                     "contact", "hours_per_month", "customers"}),
             "uid": uuid.uuid4().hex} for m in members]
    run_batched(tx, q.UPSERT_MEMBERS, rows, nid=nid, progress=progress, counts="members")
    for query, part in ((q.CREATE_HAS_CAPABILITY, "capabilities"),
                         (q.CREATE_HAS_WEAKNESS, "weaknesses"), (q.CREATE_NEEDS, "needs")):
        rows = [{"member": m.id, "entries": [e.model_dump() for e in getattr(m, part)]}
                for m in members if getattr(m, part)]
        run_batched(tx, query, rows, nid=nid)


def _write_members(tx: ManagedTransaction, document: NetworkDocument,
                   progress: Progress | None = None) -> None:
    nid = document.network.id
    keep = [m.id for m in document.members]
    remove_members(tx, nid, absent_members(tx, nid, keep))
    tx.run(q.DELETE_ABSENT_MEMBERS, nid=nid, keep=keep).consume()
    write_members(tx, nid, document.members, progress=progress)


def _write_ties(tx: ManagedTransaction, document: NetworkDocument,
                progress: Progress | None = None) -> None:
    nid = document.network.id
    by_type: dict[str, list[dict[str, Any]]] = {}
    for tie in document.ties:
        by_type.setdefault(tie.type, []).append(tie.model_dump(mode="json"))
    for tie_type, rows in by_type.items():
        run_batched(tx, q.CREATE_TIE[tie_type], rows, nid=nid, progress=progress, counts="ties")


def _write_verdicts(tx: ManagedTransaction, document: NetworkDocument) -> None:
    """The document's verdicts on rivalry (graph.rivalries), each from the smaller id."""
    rows = [{**r.model_dump(mode="json"), "a": min(r.a, r.b), "b": max(r.a, r.b)}
            for r in document.rivalries]
    run_batched(tx, q.CREATE_RIVALRIES, rows, nid=document.network.id)


def _check_written(tx: ManagedTransaction, document: NetworkDocument) -> None:
    """Raise ``ImportMismatch`` (rolling the import back) unless the stored counts of members,
    their edges, ties per type, projects, participants and verdicts on rivalry are exactly the
    document's."""
    nid = document.network.id
    expected = summarise(document)
    edges = tx.run(q.COUNT_MEMBER_EDGES, nid=nid).single(strict=True)
    ties = {row["type"]: row["ties"] for row in tx.run(q.COUNT_TIES, nid=nid)}
    projects = tx.run(q.COUNT_PROJECTS, nid=nid).single(strict=True)
    rivalries = tx.run(q.COUNT_RIVALRIES, nid=nid).single(strict=True)["rivalries"]
    found = {"members": edges["members"], "capabilities": edges["capabilities"] or 0,
             "weaknesses": edges["weaknesses"] or 0, "needs": edges["needs"] or 0,
             "ties": {t: n for t, n in sorted(ties.items()) if n},
             "projects": projects["projects"], "participants": projects["participants"] or 0,
             "rivalries": rivalries}
    wanted = {**{k: v for k, v in expected.as_dict().items() if k != "network"},
              "projects": len(document.projects),
              "participants": sum(len(p.members) for p in document.projects),
              "rivalries": len(document.rivalries)}
    if found != wanted:
        differences = ", ".join(f"{key}: {found[key]} stored, {wanted[key]} in the document"
                                for key in wanted if found[key] != wanted[key])
        raise ImportMismatch(f"the import of {nid!r} was rolled back: {differences}")


def network_row(network: Network) -> dict[str, Any]:
    """The network's properties as stored: the policy flattened (properties hold no maps)."""
    row = network.model_dump(exclude={"policy"})
    policy = network.policy.model_dump() if network.policy else {}
    row.update(policy_settings(policy, every=True))
    # A new network's versions start at the clock in milliseconds, not 0: a process that still
    # holds a matcher of a deleted network of the same id never finds its version again.
    row["first_version"] = time.time_ns() // 1_000_000
    return row


def policy_settings(policy: dict[str, Any], every: bool = False) -> dict[str, Any]:
    """Policy settings as node properties (``policy_`` + name; properties hold no maps, so the
    discounts become sorted ``category:rate`` strings); ``every`` names the absent ones too."""
    keys = NetworkPolicy.model_fields if every else policy
    row = {f"policy_{key}": policy.get(key) for key in keys}
    if row.get("policy_discounts") is not None:
        row["policy_discounts"] = [f"{c}:{r!r}" for c, r in sorted(policy["discounts"].items())]
    return row


def _write_network(tx: ManagedTransaction, document: NetworkDocument,
                   own: list[Capability], describe: bool, progress: Progress | None) -> None:
    nid = document.network.id
    if progress is not None:
        progress("start", 0)  # a retried transaction starts again from nothing
    _write_capabilities(tx, own, nid)
    if describe:
        tx.run(q.UPSERT_NETWORK, network=network_row(document.network)).consume()
    # Ties go first: on ArcadeDB, deleting them after the member edges misses some.
    tx.run(q.DELETE_TIES, nid=nid).consume()
    _write_members(tx, document, progress)
    _write_ties(tx, document, progress)
    _write_verdicts(tx, document)
    _write_value_chains(tx, document)
    write_agents(tx, nid, document.agents)
    write_orders(tx, nid, document.orders)
    write_projects(tx, nid, document.projects)
    record_change(tx, nid, ChangeKind.REPLACED)
    _check_written(tx, document)


def project_row(project: Project) -> dict[str, Any]:
    data = project.model_dump(mode="json")
    return {**{k: data[k] for k in ("id", "title", "kind", "lead", "goal", "phase")},
            "source": json.dumps(data["source"]) if data["source"] is not None else None,
            "outcomes": json.dumps(data["outcomes"]),
            "history": json.dumps([_without_none(entry) for entry in data["history"]])}


def write_projects(tx: ManagedTransaction, nid: str, projects: list[Project], *,
                   replace: bool = True) -> None:
    """Add projects and their participants; with ``replace``, the network's others go."""
    if replace:
        tx.run(q.DELETE_PROJECTS, nid=nid).consume()
    run_batched(tx, q.ADD_PROJECTS, [project_row(p) for p in projects], nid=nid)
    participants = [{"project": p.id, "member": m.member, "role": m.role}
                    for p in projects for m in p.members]
    run_batched(tx, q.CREATE_PARTICIPATION, participants, nid=nid)


def read_projects(db: Database, nid: str, pid: str | None = None) -> list[dict[str, Any]]:
    """Projects in the import format (one when ``pid`` is given)."""
    projects = []
    for row in db.query(q.PROJECTS, nid=nid, pid=pid):
        project = _without_none({k: row[k] for k in ("id", "title", "kind", "lead", "goal",
                                                      "phase")})
        project["members"] = sorted(row["members"], key=lambda m: m["member"])
        project["outcomes"] = json.loads(row["outcomes"] or "{}")
        project["history"] = json.loads(row["history"] or "[]")
        if row["source"]:
            project["source"] = json.loads(row["source"])
        projects.append(project)
    return projects


def _write_value_chains(tx: ManagedTransaction, document: NetworkDocument) -> None:
    rows = [{**t.model_dump(include={"id", "name", "max_stages_per_member"}),
             "stages": json.dumps([s.model_dump(exclude_none=True) for s in t.stages])}
            for t in document.value_chains]
    tx.run(q.REPLACE_VALUE_CHAINS, nid=document.network.id, rows=rows).consume()


def read_value_chains(db: Database, nid: str) -> list[dict[str, Any]]:
    """The network's stored value-chain templates, in the import format."""
    return [{**row, "stages": json.loads(row["stages"])}
            for row in db.query(q.VALUE_CHAINS, nid=nid)]


def write_agents(tx: ManagedTransaction, nid: str, agents: list[Agent]) -> None:
    """Make the network's outside agents exactly ``agents``."""
    tx.run(q.REPLACE_AGENTS, nid=nid, rows=[a.model_dump(mode="json") for a in agents]).consume()


def read_agents(db: Database, nid: str) -> list[dict[str, Any]]:
    """The network's outside agents in the import format, by id."""
    return [{**_without_none(row), "offers": sorted(row["offers"])}
            for row in db.query(q.AGENTS, nid=nid)]


def write_orders(tx: ManagedTransaction, nid: str, orders: list[DeclaredOrder]) -> None:
    rows = [{**o.model_dump(mode="json", exclude={"requirements"}),
             "requirements": json.dumps([r.model_dump(mode="json") for r in o.requirements])}
            for o in orders]
    tx.run(q.REPLACE_ORDERS, nid=nid, rows=rows).consume()


def read_orders(db: Database, nid: str) -> list[dict[str, Any]]:
    """The network's declared orders in the import format, by id."""
    return [{**_without_none(row), "requirements": json.loads(row["requirements"])}
            for row in db.query(q.ORDERS, nid=nid)]


def summarise(document: NetworkDocument) -> ImportSummary:
    members = document.members
    return ImportSummary(
        network=document.network.id,
        members=len(members),
        capabilities=sum(len(m.capabilities) for m in members),
        weaknesses=sum(len(m.weaknesses) for m in members),
        needs=sum(len(m.needs) for m in members),
        ties=dict(sorted(Counter(str(t.type) for t in document.ties).items())),
    )


def _network_changes(db: Database, network: Network) -> list[Problem]:
    """What the document's ``network`` part would change in the stored network."""
    try:
        stored = read_network(db, network.id)
    except NetworkNotFound:
        return [Problem("network.id", f"there is no network {network.id!r}; only an admin "
                                      f"creates one (PUT /networks/{network.id})")]
    given = network_row(network)
    stored_row = network_row(Network(**stored))
    return [Problem(f"network.{key}", f"is {given[key]!r} but the network's {key} is "
                                      f"{stored_row[key]!r}; only an admin changes it "
                                      f"(PUT /networks/{network.id})")
            for key in given if key != "first_version"  # the clock when read, not a setting
            and given[key] is not None and given[key] != stored_row[key]]


def _raw_network_id(raw: Any) -> str | None:
    network = raw.get("network") if isinstance(raw, dict) else None
    nid = network.get("id") if isinstance(network, dict) else None
    return nid if isinstance(nid, str) else None


def import_network(
    db: Database, raw: Any, source: str | None = None, expected_id: str | None = None,
    *, describe: bool = True, progress: Progress | None = None,
) -> ImportSummary:
    """Validate a network document and write it in one transaction.

    The document replaces what is stored for its network: members absent from it are removed, and
    the members' capabilities, weaknesses, needs and ties become exactly the document's, so
    importing the same document twice leaves the same graph. Large documents are written in
    batches (``graph.batches``), still in the one transaction; ``progress`` hears of each batch
    of members and ties written, and of a ``"start"`` when the transaction (re)starts.

    Capabilities the document defines become the network's own, visible in it only; shared ones
    may be repeated but not changed (``DocumentForbidden``). Without ``describe`` (a facilitator's
    import) the network must exist and its name, description and policy stay as stored: a
    document that gives other values is refused.
    """
    nid = expected_id or _raw_network_id(raw)
    document = validate_network(raw, known_broader(db, nid), source)
    if expected_id is not None and document.network.id != expected_id:
        raise DocumentInvalid(
            [Problem("network.id", f"is {document.network.id!r} but the document is imported into "
                                   f"network {expected_id!r}")], source)
    own, problems = _own_capabilities(db, document.network.id, document.capabilities)
    if not describe:
        problems = _network_changes(db, document.network) + problems
    if problems:
        raise DocumentForbidden(problems, source)
    db.write(_write_network, document, own, describe, progress)
    return summarise(document)


# -- reading back ---------------------------------------------------------------------------
def list_networks(db: Database) -> list[dict[str, Any]]:
    return [_network(row) for row in db.query(q.NETWORKS)]


def network_policy(db: Database, nid: str) -> NetworkPolicy:
    """The network's policy, the defaults where none was set."""
    return NetworkPolicy(**(read_network(db, nid).get("policy") or {}))


def delete_network(db: Database, nid: str) -> None:
    """Delete the network and everything it owns (members, ties, decisions, projects,
    introductions, its tokens and invitations, agents, orders, templates, its own capabilities,
    its change log) in one transaction; NetworkNotFound if there is none."""

    def work(tx: ManagedTransaction) -> bool:
        if not tx.run(q.NETWORK, nid=nid).data():
            return False
        tx.run(q.DELETE_TIES, nid=nid).consume()  # first: see DELETE_TIES
        for label in q.NETWORK_OWNED_LABELS:
            tx.run(q.DELETE_NETWORK_PARTS[label], nid=nid).consume()
        # Its version is no longer on the board of any process using the local server: the
        # next request asks the database, and learns the network is gone (graph/turns.py).
        wait_turn(f"network:{nid}")
        tx.run(q.DELETE_NETWORK_NODE, nid=nid).consume()
        return True

    if not db.write(work):
        raise NetworkNotFound(nid)


def read_network(db: Database, nid: str) -> dict[str, Any]:
    rows = db.query(q.NETWORK, nid=nid)
    if not rows:
        raise NetworkNotFound(nid)
    return _network(rows[0])


def _network(row: dict[str, Any]) -> dict[str, Any]:
    """A stored network row; policy settings stored before they existed take their defaults."""
    network = _without_none(row)
    if network.get("policy") is not None:
        network["policy"] = policy = _without_none(network["policy"])
        if "discounts" in policy:
            policy["discounts"] = {c: float(r) for c, _, r in
                                   (item.partition(":") for item in policy["discounts"])}
    return network


def _without_none(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def _used_capabilities(taxonomy: list[dict[str, Any]], used: set[str]) -> list[dict[str, Any]]:
    """The taxonomy entries of ``used`` ids, all their ancestors and what they serve (with its
    ancestors), parents first."""
    by_id = {row["id"]: row for row in taxonomy}
    closure: list[str] = []
    seen: set[str] = set()

    def visit(cid: str) -> None:
        if cid in seen or cid not in by_id:
            return
        seen.add(cid)
        parent = by_id[cid]["broader"]
        if parent:
            visit(parent)
        closure.append(cid)
        for served in sorted(by_id[cid].get("serves") or []):
            visit(served)

    for cid in sorted(used):
        visit(cid)
    entries = []
    for cid in closure:
        entry = _without_none(by_id[cid])
        entry["synonyms"] = list(entry.get("synonyms") or [])
        if "serves" in entry:
            entry["serves"] = sorted(entry["serves"])
        entries.append(entry)
    return entries


NO_FILTER: dict[str, Any] = {"mid": None, "sector": None, "region": None, "capability": None}


@dataclass(frozen=True)
class NetworkRows:
    """One network as read in a single transaction of four statements."""

    network: dict[str, Any]
    members: list[dict[str, Any]]
    ties: list[dict[str, Any]]
    taxonomy: list[dict[str, Any]]
    feedback: list[dict[str, Any]]
    version: int
    agents: list[dict[str, Any]] = field(default_factory=list)
    taxonomy_version: int = 0
    verdicts: list[dict[str, Any]] = field(default_factory=list)  # on rivalry, by pair


def read_network_rows(db: Database, nid: str) -> NetworkRows:
    """Network, members with their edges, ties, taxonomy, feedback, agents and verdicts on
    rivalry in one read transaction, and the versions they reflect at least.

    Each statement reads what is committed when it runs (ArcadeDB, like Neo4j, reads committed
    data, not one snapshot), so the versions are read first: rows newer than them are caught up
    again from the change log (applying a write twice is harmless; an import read after them
    makes the catch-up refit). Read last, a write committing in between was counted in the
    version but missing from the rows, and no catch-up would ever bring it."""

    def work(tx: ManagedTransaction) -> tuple[list[dict], ...]:
        return (tx.run(q.VERSIONS, nid=nid).data(), tx.run(q.NETWORK, nid=nid).data(),
                tx.run(q.MEMBERS, nid=nid, **NO_FILTER).data(),
                tx.run(q.TIES, nid=nid).data(), tx.run(q.TAXONOMY, nid=nid).data(),
                tx.run(q.FEEDBACK, nid=nid).data(),
                tx.run(q.AGENTS, nid=nid).data(), tx.run(q.RIVALRIES, nid=nid).data())

    (version, network_rows, member_rows, tie_rows, taxonomy, feedback, agents,
     verdicts) = db.read(work)
    if not network_rows or not version:  # (or created between the two statements)
        raise NetworkNotFound(nid)
    return NetworkRows(network_rows[0], member_rows, tie_rows, taxonomy, feedback,
                       version[0]["version"], [_without_none(a) for a in agents],
                       version[0]["taxonomy"], [_without_none(v) for v in verdicts])


def network_sizes(db: Database) -> list[tuple[str, int]]:
    """Every network's id and member count, smallest first."""
    return [(row["id"], int(row["members"])) for row in db.query(q.NETWORK_SIZES)]


def versions(db: Database, nid: str) -> tuple[int, int]:
    """The network's version and the shared taxonomy's, as committed now: from the board of the
    processes using the local server when both are known there (graph/turns.py), else in one
    indexed lookup (a round trip), which then goes on the board for the next requests."""
    known = board_versions_of(db, nid)
    return known if known is not None else looked_up_versions(db, nid)


def looked_up_versions(db: Database, nid: str) -> tuple[int, int]:
    """``versions`` when the board does not know them: one indexed lookup, whose answer then
    goes on the board for the next requests."""
    version, taxonomy = _stored_versions(db, nid)
    if db.board is not None:
        seed_board(db.board, [f"network:{nid}", "taxonomy"],
                   lambda: list(_stored_versions(db, nid)))
    return version, taxonomy


def board_versions_of(db: Database, nid: str) -> tuple[int, int] | None:
    """The network's and the shared taxonomy's committed versions from the board, when both are
    known there (two 56-byte reads, no round trip); None otherwise, or for a remote server."""
    if db.board is None:
        return None
    known = board_versions(db.board, [f"network:{nid}", "taxonomy"])
    return None if known is None else (known[0], known[1])


def _stored_versions(db: Database, nid: str) -> tuple[int, int]:
    rows = db.lookup(q.VERSIONS, nid=nid)
    if not rows:
        raise NetworkNotFound(nid)
    return int(rows[0]["version"]), int(rows[0]["taxonomy"])


def network_version(db: Database, nid: str) -> int:
    """A number that changes with every write to the network (one indexed lookup)."""
    rows = db.query(q.NETWORK_VERSION, nid=nid)
    if not rows:
        raise NetworkNotFound(nid)
    return int(rows[0]["version"])


def export_network(db: Database, nid: str, *, include_confidential: bool = True
                   ) -> dict[str, Any]:
    """The stored network as an import document.

    Without ``include_confidential`` (for analysts) members' weaknesses and contact details are
    left out, and so are facilitators' verdicts on rivalry; projects born from a weakness show
    only what ``graph.disclosure`` allows.

    The document carries the taxonomy entries it uses (with their ancestors), so it loads into an
    empty database too; a load/export round trip is lossless.
    """
    rows = read_network_rows(db, nid)
    member_rows, tie_rows, taxonomy = rows.members, rows.ties, rows.taxonomy
    keys = ["id", "name", "sector", "region", "size", "description", "hours_per_month",
            "customers"]
    if include_confidential:
        keys.append("contact")
    members = []
    used: set[str] = set()
    for row in member_rows:
        member = _without_none({k: row[k] for k in keys})
        member["capabilities"] = sorted((_without_none(c) for c in row["capabilities"]),
                                        key=lambda c: c["id"])
        member["weaknesses"] = (sorted(row["weaknesses"], key=lambda c: c["id"])
                                if include_confidential else [])
        member["needs"] = sorted((_without_none(n) for n in row["needs"]), key=lambda c: c["id"])
        used.update(c["id"] for key in ("capabilities", "weaknesses", "needs")
                    for c in member[key])
        members.append(member)
    value_chains = read_value_chains(db, nid)
    projects = read_projects(db, nid)
    if not include_confidential:  # no token ids of facilitators, no weakness-born details
        for project in projects:
            project["history"] = [without_credentials(e) for e in project["history"]]
        projects = [public_project(p) for p in projects]
    used.update(cid for t in value_chains for stage in t["stages"] for cid in stage["requires"])
    agents, orders = read_agents(db, nid), read_orders(db, nid)
    used.update(cid for a in agents for cid in a["offers"])
    used.update(r["capability"] for o in orders for r in o["requirements"])
    document = {
        "network": _network(rows.network),
        "capabilities": _used_capabilities(taxonomy, used),
        "members": members,
        "ties": sorted((_without_none(t) for t in tie_rows),
                       key=lambda t: (t["source"], t["target"], t["type"])),
        "value_chains": value_chains,
        "projects": projects,
        "agents": agents,
        "orders": orders,
        "rivalries": rows.verdicts if include_confidential else [],
    }
    # Read back through the models so the export is exactly the import format.
    return NetworkDocument.model_validate(document).to_json()
