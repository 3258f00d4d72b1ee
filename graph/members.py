"""Members one at a time: list with filters, read, replace and delete."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from neo4j import ManagedTransaction

from graph import queries as q
from graph.acting import Acting, who
from graph.changes import MEMBER_ENTRY_FIELDS, ChangeKind, record_change
from graph.database import Database, DatabaseBusy
from graph.directory import find_members, folded, label_text, text_matches
from graph.document import IDENTIFIER, Member, Network
from graph.removal import remove_members
from graph.store import (
    NO_FILTER,
    NetworkNotFound,
    network_row,
    policy_settings,
    read_network,
    read_taxonomy,
)
from graph.validation import DocumentInvalid, Problem, brief, validate_network
from matching.projection import NetworkProjection

MEMBER_CHANGES_KEPT = 50


class MemberNotFound(LookupError):
    """No member with this id in this network."""


def _member(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row in the import format's member shape."""
    member = {k: row[k] for k in ("id", "name", "sector", "region", "size", "description",
                                  "customers", "contact", "hours_per_month")
              if row.get(k) is not None}
    for key in ("capabilities", "weaknesses", "needs"):
        entries = [{k: v for k, v in e.items() if v is not None} for e in row[key]]
        member[key] = sorted(entries, key=lambda e: e["id"])
    return member


def list_members(
    db: Database, nid: str, *, sector: str | None = None, region: str | None = None,
    capability: str | None = None, text: str | None = None,
) -> list[dict[str, Any]]:
    """Members of ``nid`` matching every given filter; ``capability`` includes narrower ones.

    ``text`` is looked for in the name, the description and the labels (English and Spanish) of
    the member's capabilities and needs, with case and accents folded (``GROSSHANDEL`` finds
    ``Großhandel``, ``carrocerias`` finds ``Carrocerías``): in Python, since Cypher's ``toLower``
    folds neither ``ß`` nor accents. Weaknesses are never searched: they are confidential.
    Every member is read: ``members_page`` lists one page of a large network.
    """
    read_network(db, nid)
    filters = {**NO_FILTER, "sector": sector, "region": region, "capability": capability}
    rows = db.query(q.MEMBERS, nid=nid, **filters)
    if text:
        wanted = folded(text)
        labels = {c["id"]: label_text(c) for c in read_taxonomy(db, nid)}
        rows = [row for row in rows if text_matches(
            wanted, row["name"], row["description"],
            [e["id"] for key in ("capabilities", "needs") for e in row[key]], labels)]
    return [_member(row) for row in rows]


def members_page(
    db: Database, nid: str, projection: NetworkProjection, *, offset: int, limit: int,
    sector: str | None = None, region: str | None = None, capability: str | None = None,
    text: str | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """How many members match the filters (as ``list_members`` applies them) and the ``limit``
    of them from ``offset`` on, in id order: found on the network's live projection (caught up
    with the database by the caller), only the rows shown read from the database."""
    found = find_members(projection, sector=sector, region=region, capability=capability,
                         text=text)
    shown = found[offset:offset + limit]
    if not shown:
        return len(found), []
    rows = db.query(q.MEMBERS_BY_IDS, nid=nid, ids=shown,
                    **{k: v for k, v in NO_FILTER.items() if k != "mid"})
    return len(found), [_member(row) for row in rows]


def get_member(db: Database, nid: str, mid: str) -> dict[str, Any]:
    read_network(db, nid)
    # By its key (the composite index), not the filtered scan of MEMBERS
    rows = db.query(q.MEMBERS_BY_IDS, nid=nid, ids=[mid],
                    **{k: v for k, v in NO_FILTER.items() if k != "mid"})
    if not rows:
        raise MemberNotFound(mid)
    return _member(rows[0])


def validate_member(db: Database, nid: str, mid: str, raw: Any) -> Member:
    """Validate one member object exactly as the import does; paths are relative to the member.

    Raises ``NetworkNotFound`` first. Only the capability ids the member lists are looked up
    (with the network, in one read), not the whole taxonomy: a member defines no capabilities,
    so which listed ids the network sees is all its validation asks of the taxonomy.
    """
    if isinstance(raw, dict) and raw.get("id", mid) != mid:
        read_network(db, nid)
        raise DocumentInvalid([Problem("id", f"is {brief(raw.get('id'))} but the address names "
                                             f"member {mid!r}")])
    return _checked(nid, mid, raw, _visible(db, nid, _listed_ids(raw)))


def _checked(nid: str, mid: str, raw: Any, visible: dict[str, str | None]) -> Member:
    """``raw`` validated as member ``mid`` of ``nid`` when the network sees the capability ids in
    ``visible`` (``DocumentInvalid``, paths relative to the member)."""
    if isinstance(raw, dict) and raw.get("id", mid) != mid:
        raise DocumentInvalid([Problem("id", "does not match the address")])
    if isinstance(raw, dict):
        raw = {"id": mid, **raw}
    wrapper = {"network": {"id": nid, "name": nid}, "members": [raw]}
    try:
        return validate_network(wrapper, visible).members[0]
    except DocumentInvalid as exc:
        prefix = "members[0]"
        problems = [Problem(p.path[len(prefix) + 1:] if p.path.startswith(prefix + ".") else
                            p.path.replace(prefix, "", 1) or "", p.message) for p in exc.problems]
        raise DocumentInvalid(problems) from None


def _listed_ids(raw: Any) -> list[str]:
    """The capability ids a raw member object lists (whatever else is wrong with it), those
    that are identifiers only: they are looked up in the database, and a string that is not one
    (a lone surrogate cannot even be sent) names no capability; validation refuses it anyway."""
    if not isinstance(raw, dict):
        return []
    return sorted({e["id"] for key in EDGE_TYPES for e in raw.get(key) or ()
                   if isinstance(raw.get(key), list) and isinstance(e, dict)
                   and isinstance(e.get("id"), str) and IDENTIFIER.fullmatch(e["id"])})


def _visible(db: Database, nid: str, ids: list[str]) -> dict[str, str | None]:
    """Which of ``ids`` network ``nid`` sees (``known_broader``'s shape, parents left out: a
    member's validation only asks which ids exist); ``NetworkNotFound``."""
    def work(tx: ManagedTransaction) -> tuple[bool, list[str]]:
        found = bool(tx.run(q.NETWORK_VERSION, nid=nid).data())
        rows = tx.run(q.VISIBLE_CAPABILITIES, nid=nid, ids=ids).data() if found and ids else []
        return found, [row["id"] for row in rows]

    found, visible = db.read(work)
    if not found:
        raise NetworkNotFound(nid)
    return dict.fromkeys(visible)


# The member's lists and the relationship type each is stored as (a fixed table, never input).
EDGE_TYPES = {"capabilities": "HAS_CAPABILITY", "weaknesses": "HAS_WEAKNESS", "needs": "NEEDS"}


def put_member(db: Database, nid: str, mid: str, raw: Any, by: str | Acting | None = None,
               *, create: bool = True) -> dict[str, Any]:
    """Create or replace one member (its ties stay); validates first, writes in one transaction,
    with who made the change (``by``) in the member's change history. Returns the member as
    stored (what ``get_member`` reads; the write leaves nothing else to read back).

    The member is validated as if the network saw every capability it lists, without a read;
    the write links only the capabilities the network does see (``PUT_MEMBER`` counts them), so
    a member listing another one is rolled back and validated again against what the network
    sees, for the error (``NetworkNotFound`` first, then every problem). The transaction is two
    statements: the member with only what changed in its edges (``PUT_MEMBER``), then the change
    record, last, so the network's version is held from its bump to the commit only
    (``graph.changes.record_change``). The member's row for this process's engine and for other
    processes (kept on the record) is the one it stored, not read back: the statement sets every
    field the row has and leaves the member exactly the listed edges.

    ``create=False`` (the member itself writing) replaces only a member that is stored when the
    write runs (``MemberNotFound`` otherwise): a removal that commits during the member's save
    stays a removal."""
    try:
        member = _checked(nid, mid, raw, dict.fromkeys(_listed_ids(raw)))
    except DocumentInvalid:  # invalid whatever the network sees: the full validation says why
        validate_member(db, nid, mid, raw)  # (NetworkNotFound first)
        raise
    entry = json.dumps({"at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                        "change": "profile", **who(by or "system")})
    fields = member.model_dump(include=set(ROW_FIELDS))
    entries = [{"type": edge_type, **e.model_dump()}
               for key, edge_type in EDGE_TYPES.items() for e in getattr(member, key)]
    kept = [f"{e['type']} {e['id']}" for e in entries]
    stored = stored_row(mid, fields, entries)

    def work(tx: ManagedTransaction) -> None:
        params = {"nid": nid, "mid": mid, "uid": uuid.uuid4().hex, "entry": entry,
                  "keep": MEMBER_CHANGES_KEPT, "kept": kept, **fields}
        # UNWIND of no entries would end the statement early: one without any, then.
        put, bare = ((q.PUT_MEMBER, q.PUT_MEMBER_WITHOUT_EDGES) if create else
                     (q.PUT_OWN_MEMBER, q.PUT_OWN_MEMBER_WITHOUT_EDGES))
        if entries:
            row = tx.run(put, entries=entries, **params).single()
            if row is None or row["linked"] != len(entries):
                _refuse_a_removed_member(tx, nid, mid, create)
                raise _NotVisible  # a capability the network does not see: roll back
        elif not tx.run(bare, entries=entries, **params).single()[0]:
            _refuse_a_removed_member(tx, nid, mid, create)
            raise NetworkNotFound(nid)  # no such network: nothing was written
        record_change(tx, nid, ChangeKind.MEMBERS, [mid], left={"members": [stored]})

    for _ in range(3):
        try:
            db.write(work)
            return _member(stored)
        except _NotVisible:
            # Raises NetworkNotFound or names the capability; passes only if the taxonomy
            # changed since the write looked (a capability created): write again.
            validate_member(db, nid, mid, raw)
    raise DatabaseBusy("the network's taxonomy kept changing during the write; try again",
                       retry_after=1)


def _refuse_a_removed_member(tx: ManagedTransaction, nid: str, mid: str, create: bool) -> None:
    """``MemberNotFound`` (the write rolls back) when a write that may not create the member
    found none to replace."""
    if not create and not tx.run(q.MEMBER_STORED, nid=nid, mid=mid).single()["stored"]:
        raise MemberNotFound(mid)


def stored_row(mid: str, fields: dict[str, Any], entries: list[dict[str, Any]]
               ) -> dict[str, Any]:
    """The row ``q.MEMBERS_BY_IDS`` reads back (as ``graph.changes.member_row`` orders it) once
    ``PUT_MEMBER`` stored member ``mid`` with ``fields`` and ``entries``: its key order, and a
    null for every field or entry value not given (the statement sets them all)."""
    row = {"id": mid, **{key: fields[key] for key in ROW_FIELDS}}
    for key, edge_type in EDGE_TYPES.items():
        row[key] = sorted(({name: e[name] for name in MEMBER_ENTRY_FIELDS[key]}
                           for e in entries if e["type"] == edge_type), key=lambda e: e["id"])
    return row


# A member row's own fields, in ``q.MEMBERS``'s order (its lists follow).
ROW_FIELDS = ("name", "sector", "region", "size", "description", "contact", "hours_per_month",
              "customers")


class _NotVisible(Exception):
    """A member's capability is not one its network sees (or the network is gone)."""


def member_changes(db: Database, nid: str, mid: str) -> list[dict[str, Any]]:
    """Who changed the member's profile, when, with which credential; oldest first."""
    rows = db.query(q.MEMBER_CHANGES, nid=nid, mid=mid)
    return [json.loads(entry) for entry in rows[0]["changes"]] if rows else []


def delete_member(db: Database, nid: str, mid: str) -> None:
    """Remove a member: its tokens and invitations are revoked, its open introductions withdrawn,
    its ties, feedback and participations dropped."""
    def work(tx: ManagedTransaction) -> int:
        remove_members(tx, nid, [mid])
        deleted = tx.run(q.DELETE_MEMBER, nid=nid, mid=mid).single(strict=True)["deleted"]
        if deleted:
            record_change(tx, nid, ChangeKind.REMOVED, [mid])
        return deleted

    read_network(db, nid)
    if not db.write(work):
        raise MemberNotFound(mid)


def upsert_network(db: Database, network: Network) -> dict[str, Any]:
    def work(tx: ManagedTransaction) -> None:
        tx.run(q.UPSERT_NETWORK, network=network_row(network)).consume()
        record_change(tx, network.id, ChangeKind.NETWORK)

    db.write(work)
    return read_network(db, network.id)


def set_network_policy(db: Database, nid: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Change only the given policy settings (already validated, as ``NetworkPolicy`` names
    them) in one statement, recorded in the change log so analyses refresh; NetworkNotFound."""
    def work(tx: ManagedTransaction) -> bool:
        found = tx.run(q.SET_NETWORK_POLICY, nid=nid,
                       settings=policy_settings(settings)).data()
        if found:
            record_change(tx, nid, ChangeKind.NETWORK)
        return bool(found)

    if not db.write(work):
        raise NetworkNotFound(nid)
    return read_network(db, nid)
