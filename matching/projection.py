"""The in-memory form of one network that every matching algorithm works on.

``graph`` reads a network from the database and hands the plain rows to ``build_projection``;
nothing here knows where they came from.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from matching.rows import Rows, replace_rows
from matching.sharing import own_adjacency, shared_graph

MEMBER_ATTRIBUTES = ("name", "sector", "region", "size", "description", "customers")


@dataclass(frozen=True)
class NetworkProjection:
    """Members, taxonomy and ties of one network as graphs and sparse member x capability arrays.

    Attributes
    ----------
    network : dict
        The network's own properties (id, name, ...).
    member_ids : list of str
        Row order of the member arrays; ``member_index`` inverts it.
    capability_ids : list of str
        Column order of the member arrays: every capability of the taxonomy.
    taxonomy : networkx.DiGraph
        One node per capability (``label``, ``label_es``, ``kind``, ``synonyms``, ``serves``: the capabilities
        it can serve), an edge child -> parent for each BROADER link.
    levels, severities, urgencies : scipy.sparse.csr_array
        ``levels[i, j]`` is member i's level (1-5) in capability j, 0 when absent; likewise the
        severity of its weakness and the urgency of its need.
    needs : list of list of dict
        Per member, its needs with ``id``, ``kind``, ``urgency`` and ``volume``.
    ties : networkx.MultiDiGraph
        One node per member (with its public attributes); one edge per tie, keyed by tie type,
        with ``weight`` and ``since``.
    capacities : scipy.sparse.csr_array
        ``capacities[i, j]``: how many units a month member i can deliver of capability j (in the
        unit the capability declares, taxonomy node attribute ``unit``); 0 when not declared.
    core_flags : scipy.sparse.csr_array
        ``core_flags[i, j]`` is 1 where member i marks capability j as its core business
        (``"core": true``); a member that marks none has its top offers as core
        (``matching.member_rows``).
    hours : numpy.ndarray
        Hours a month each member can give to co-operation; NaN where not stated.
    agents : list of dict
        Outside agents (banks, universities, town halls, ...): ``id``, ``name``, ``kind``,
        ``region``, ``description``, ``contact`` and ``offers`` (capability ids). Not members.
    feedback : list of dict
        Decisions on past suggestions: ``member``, ``candidate``, ``decision`` ("accepted" or
        "declined") and ``at`` (ISO timestamp), oldest first.
    version : int
        The stored network's version when it was read: it changes with every write.
    verdicts : dict
        Facilitators' verdicts on rivalry, keyed by the pair of member ids in ascending order:
        ``{"verdict": "rivals" | "not_rivals", "note": str | None}`` (``matching.rivalry``).
    """

    network: dict[str, Any]
    member_ids: list[str]
    member_index: dict[str, int]
    capability_ids: list[str]
    capability_index: dict[str, int]
    taxonomy: nx.DiGraph
    levels: sp.csr_array
    severities: sp.csr_array
    urgencies: sp.csr_array
    needs: list[list[dict[str, Any]]]
    ties: nx.MultiDiGraph
    feedback: list[dict[str, Any]] = field(default_factory=list)
    version: int = 0
    # Filled in by __post_init__ when not given (older callers declare neither).
    capacities: sp.csr_array = None  # type: ignore[assignment]
    hours: np.ndarray = None  # type: ignore[assignment]
    core_flags: sp.csr_array = None  # type: ignore[assignment]
    agents: list[dict[str, Any]] = field(default_factory=list)
    verdicts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Older callers build projections without capacities or hours: none declared.
        if self.capacities is None:
            object.__setattr__(self, "capacities", sp.csr_array(self.levels.shape,
                                                                dtype=np.float32))
        if self.core_flags is None:
            object.__setattr__(self, "core_flags", sp.csr_array(self.levels.shape,
                                                                dtype=np.float32))
        if self.hours is None:
            object.__setattr__(self, "hours", np.full(len(self.member_ids), np.nan))

    @property
    def n_members(self) -> int:
        return len(self.member_ids)


def _matrix(
    members: list[Mapping[str, Any]], key: str, value: str, index: Mapping[str, int]
) -> sp.csr_array:
    rows, cols, data = [], [], []
    for i, member in enumerate(members):
        for entry in member.get(key) or ():
            rows.append(i)
            cols.append(index[entry["id"]])
            data.append(entry[value] if entry.get(value) is not None else 3)
    shape = (len(members), len(index))
    return sp.csr_array((np.asarray(data, dtype=np.float32), (rows, cols)), shape=shape)


def build_projection(
    network: Mapping[str, Any],
    taxonomy: Iterable[Mapping[str, Any]],
    members: Iterable[Mapping[str, Any]],
    ties: Iterable[Mapping[str, Any]],
    feedback: Iterable[Mapping[str, Any]] = (),
    version: int = 0,
    agents: Iterable[Mapping[str, Any]] = (),
    verdicts: Iterable[Mapping[str, Any]] = (),
) -> NetworkProjection:
    """Build the projection from plain rows in the shape of the import document.

    ``taxonomy`` rows carry ``id``, ``label``, ``kind``, ``broader``, ``synonyms``; ``members``
    rows the member fields (with ``hours_per_month``) and their ``capabilities`` (with
    ``capacity``), ``weaknesses`` and ``needs`` lists; ``ties`` rows ``source``, ``target``,
    ``type``, ``weight``, ``since``; ``agents`` rows the outside agents; ``verdicts`` rows
    ``a``, ``b``, ``verdict``, ``note`` (a facilitator's word on rivalry).
    """
    members = sorted(members, key=lambda m: m["id"])
    hierarchy = nx.DiGraph()
    for row in sorted(taxonomy, key=lambda r: r["id"]):
        hierarchy.add_node(row["id"], label=row.get("label"), label_es=row.get("label_es"),
                           kind=row.get("kind"),
                           unit=row.get("unit"), synonyms=list(row.get("synonyms") or []),
                           serves=sorted(row.get("serves") or []))
    for row in sorted(taxonomy, key=lambda r: r["id"]):
        if row.get("broader"):
            hierarchy.add_edge(row["id"], row["broader"])
    capability_ids = list(hierarchy.nodes)
    capability_index = {cid: j for j, cid in enumerate(capability_ids)}
    member_ids = [m["id"] for m in members]

    tie_graph = nx.MultiDiGraph()
    for m in members:
        tie_graph.add_node(m["id"], **{k: m.get(k) for k in MEMBER_ATTRIBUTES})
    # Sorted, so that paths and every other result do not depend on the order rows arrived in.
    for t in sorted(ties, key=lambda t: (t["source"], t["target"], t["type"])):
        tie_graph.add_edge(t["source"], t["target"], key=t["type"], type=t["type"],
                           weight=t.get("weight"), since=t.get("since"))

    return NetworkProjection(
        network=dict(network),
        member_ids=member_ids,
        member_index={mid: i for i, mid in enumerate(member_ids)},
        capability_ids=capability_ids,
        capability_index=capability_index,
        taxonomy=hierarchy,
        levels=_matrix(members, "capabilities", "level", capability_index),
        severities=_matrix(members, "weaknesses", "severity", capability_index),
        urgencies=_matrix(members, "needs", "urgency", capability_index),
        needs=[sorted((dict(n) for n in (m.get("needs") or [])), key=lambda n: n["id"])
               for m in members],
        ties=tie_graph,
        feedback=sorted((dict(f) for f in feedback), key=feedback_order),
        version=version,
        capacities=_capacities(members, capability_index),
        core_flags=_core_flags(members, capability_index),
        hours=np.array([np.nan if m.get("hours_per_month") is None else float(m["hours_per_month"])
                        for m in members]),
        agents=_agents(agents),
        verdicts=_verdicts(verdicts, set(member_ids)),
    )


def _verdicts(rows: Iterable[Mapping[str, Any]], members: set[str]
              ) -> dict[tuple[str, str], dict[str, Any]]:
    out = {}
    for row in rows:
        a, b = sorted((row["a"], row["b"]))
        if a != b and a in members and b in members:
            out[(a, b)] = {"verdict": row["verdict"], "note": row.get("note")}
    return dict(sorted(out.items()))


def with_verdicts(projection: NetworkProjection, verdicts: Iterable[Mapping[str, Any]]
                  ) -> NetworkProjection:
    """``projection`` with every verdict on rivalry replaced by ``verdicts``."""
    return replace(projection, verdicts=_verdicts(verdicts, set(projection.member_index)))


def _agents(agents: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({**a, "offers": sorted(a.get("offers") or [])} for a in agents),
                  key=lambda a: a["id"])


def with_agents(projection: NetworkProjection, agents: Iterable[Mapping[str, Any]]
                ) -> NetworkProjection:
    """``projection`` with its outside agents replaced (they hold no matching data)."""
    return replace(projection, agents=_agents(agents))


def _capacities(members: list[Mapping[str, Any]], index: Mapping[str, int]) -> sp.csr_array:
    rows, cols, data = [], [], []
    for i, member in enumerate(members):
        for entry in member.get("capabilities") or ():
            if entry.get("capacity"):
                rows.append(i)
                cols.append(index[entry["id"]])
                data.append(float(entry["capacity"]))
    return sp.csr_array((np.asarray(data, dtype=np.float64), (rows, cols)),
                        shape=(len(members), len(index)))


def _core_flags(members: list[Mapping[str, Any]], index: Mapping[str, int]) -> sp.csr_array:
    rows, cols = [], []
    for i, member in enumerate(members):
        for entry in member.get("capabilities") or ():
            if entry.get("core"):
                rows.append(i)
                cols.append(index[entry["id"]])
    return sp.csr_array((np.ones(len(rows), dtype=np.float32), (rows, cols)),
                        shape=(len(members), len(index)))


# -- live updates (the engine's write path) -------------------------------------------------
# A changed member keeps its row; a new member gets a row past the end and a removed one keeps
# an all-zero row that nothing points to (``member_index`` forgets it), so no other row moves.
# Orders that users see are by member id, never by row, so a fit from scratch (rows sorted by
# id) ranks exactly as an updated projection does.
def with_members(projection: NetworkProjection, members: Iterable[Mapping[str, Any]],
                 removed: Iterable[str] = ()) -> tuple[NetworkProjection, list[int]]:
    """A projection with ``members`` (full rows, as for ``build_projection``) replaced or added
    and ``removed`` taken out; returns it and the rows that changed. The tie graph is shared and
    updated in place (a removed member's ties go with it), and so are the lists of member ids
    and needs and the member index unless members are added or removed: copying them would
    cost more than the whole edit of a large network."""
    p = projection
    members = sorted(members, key=lambda m: m["id"])
    reshaped = bool(set(removed) & p.member_index.keys()) or \
        any(m["id"] not in p.member_index for m in members)
    member_ids, index, needs = p.member_ids, p.member_index, p.needs
    if reshaped:
        member_ids, index, needs = list(member_ids), dict(index), list(needs)
    changed: list[int] = []
    for m in members:
        if m["id"] not in index:
            index[m["id"]] = len(member_ids)
            member_ids.append(m["id"])
            needs.append([])
        changed.append(index[m["id"]])
    gone = sorted(mid for mid in set(removed) if mid in index and
                  mid not in {m["id"] for m in members})
    own_adjacency(p.ties, gone)
    for mid in gone:
        changed.append(index.pop(mid))
        p.ties.remove_node(mid)
    for i, m in zip(changed, members):
        needs[i] = [dict(n) for n in (m.get("needs") or [])]
        attrs = {k: m.get(k) for k in MEMBER_ATTRIBUTES}
        if m["id"] in p.ties:  # a new dict: a frozen copy may hold the old one
            p.ties._node[m["id"]] = attrs
        else:
            p.ties.add_node(m["id"], **attrs)
    for i in changed[len(members):]:
        needs[i] = []
    empty: list[Mapping[str, Any]] = [{"id": mid} for mid in gone]
    rows = members + empty
    arrays = {key: replace_rows(getattr(p, attr), changed,
                                _member_rows(rows, key, value, p.capability_index))
              for attr, key, value in (("levels", "capabilities", "level"),
                                       ("severities", "weaknesses", "severity"),
                                       ("urgencies", "needs", "urgency"))}
    feedback, verdicts = p.feedback, p.verdicts
    if gone:
        feedback = [f for f in feedback if f["member"] not in gone and f["candidate"] not in gone]
        verdicts = {key: v for key, v in verdicts.items() if not set(gone) & set(key)}
    hours = np.concatenate([p.hours, np.full(len(member_ids) - len(p.hours), np.nan)])
    for i, m in zip(changed, rows):
        hours[i] = np.nan if m.get("hours_per_month") is None else float(m["hours_per_month"])
    updated = replace(p, member_ids=member_ids, member_index=index, needs=needs,
                      levels=arrays["capabilities"], severities=arrays["weaknesses"],
                      urgencies=arrays["needs"], feedback=feedback, hours=hours,
                      verdicts=verdicts,
                      capacities=replace_rows(p.capacities, changed,
                                              _member_rows(rows, "capabilities", "capacity",
                                                           p.capability_index)),
                      core_flags=replace_rows(p.core_flags, changed,
                                              _member_rows(rows, "capabilities", "core",
                                                           p.capability_index)))
    return updated, changed


def _member_rows(members: list[Mapping[str, Any]], key: str, value: str,
                 index: Mapping[str, int]) -> Rows | sp.csr_array:
    """The rows ``_matrix`` (``value`` "level", "severity", "urgency"), ``_capacities``
    ("capacity") or ``_core_flags`` ("core") build for ``members``, straight into CSR arrays:
    an edit's one or two rows cost no scipy construction (a tenth of a millisecond each). A
    member naming a capability twice goes the way of the full builders, which add the two."""
    pairs = []
    for member in members:
        entries = member.get(key) or ()
        if value == "capacity":
            row = {index[e["id"]]: float(e["capacity"]) for e in entries if e.get("capacity")}
        elif value == "core":
            row = {index[e["id"]]: 1.0 for e in entries if e.get("core")}
        else:
            row = {index[e["id"]]: e[value] if e.get(value) is not None else 3 for e in entries}
        if len(row) != sum(1 for e in entries if value not in ("capacity", "core")
                           or e.get(value)):
            builder = {"capacity": _capacities, "core": _core_flags}.get(value)
            return builder(members, index) if builder else _matrix(members, key, value, index)
        cols = sorted(row)
        pairs.append((np.asarray(cols, dtype=np.int64), [row[c] for c in cols]))
    return Rows.stacked(pairs, len(index), np.float64 if value == "capacity" else np.float32)


def frozen_projection(projection: NetworkProjection) -> NetworkProjection:
    """A copy of ``projection`` that the live updates leave as it is: the tie graph's outer
    dicts and the list of needs are its own (``matching.sharing``: updates replace what they
    change inside them); the arrays, and the lists and index of members that updates replace
    whole whenever members come or go, are shared."""
    return replace(projection, ties=shared_graph(projection.ties), needs=list(projection.needs))


def with_ties(projection: NetworkProjection, members: Iterable[str],
              ties: Iterable[Mapping[str, Any]]) -> NetworkProjection:
    """The tie graph with every tie touching ``members`` replaced by ``ties`` (in place)."""
    graph = projection.ties
    members = [mid for mid in members if mid in graph]
    ties = list(ties)
    own_adjacency(graph, [*members, *(end for t in ties for end in (t["source"], t["target"]))])
    stale = [(a, b, k) for mid in members for a, b, k in
             [*graph.out_edges(mid, keys=True), *graph.in_edges(mid, keys=True)]]
    graph.remove_edges_from(set(stale))
    for t in ties:
        if t["source"] in graph and t["target"] in graph:
            graph.add_edge(t["source"], t["target"], key=t["type"], type=t["type"],
                           weight=t.get("weight"), since=t.get("since"))
    return projection


class FeedbackIndex:
    """A projection's decisions by member, to replace those of a few members without walking
    and sorting all of them.

    Filtering the list and sorting it again with a Python key per decision cost time linear in
    the network's decisions: 2.2 ms per decision at 10k members and about 2,000 decisions, and
    growing with every decision recorded. Here the decisions replaced are found by member and
    the new ones inserted in order: a copy of the list (one C-level copy, as a frozen copy of
    the projection may share the old one) and a few bisections.
    """

    def __init__(self, feedback: list[dict[str, Any]]):
        self.feedback = feedback  # the list indexed (by identity: another list needs another)
        self.of: dict[str, list[dict[str, Any]]] = {}
        for f in feedback:
            for end in (f["member"], f["candidate"]):
                self.of.setdefault(end, []).append(f)

    def replaced(self, projection: NetworkProjection, members: Iterable[str],
                 feedback: Iterable[Mapping[str, Any]]
                 ) -> tuple[NetworkProjection, list[dict[str, Any]]]:
        """``projection`` with the decisions involving ``members`` replaced by ``feedback``
        (those between known members), in order: the list sorted by ``feedback_order``, stably,
        the decisions kept first; and the decisions it now holds that involve ``members``, oldest
        first. ``projection.feedback`` must be the list indexed; the index then describes the
        new one."""
        assert projection.feedback is self.feedback, "the index describes another list"
        members = set(members)
        index = projection.member_index
        fresh = sorted((dict(f) for f in feedback
                        if f["member"] in index and f["candidate"] in index), key=feedback_order)
        old = {id(f): f for mid in members for f in self.of.get(mid, ())}
        entries = list(projection.feedback)
        for f in old.values():
            at = bisect.bisect_left(entries, feedback_order(f), key=feedback_order)
            while entries[at] is not f:  # (equal orders: find this very record)
                at += 1
            del entries[at]
        for end in {end for f in old.values() for end in (f["member"], f["candidate"])}:
            self.of[end] = [f for f in self.of[end] if id(f) not in old]
        for f in fresh:
            bisect.insort_right(entries, f, key=feedback_order)
            for end in (f["member"], f["candidate"]):
                self.of.setdefault(end, []).append(f)
        self.feedback = entries
        read = [f for f in fresh if f["member"] in members or f["candidate"] in members]
        return replace(projection, feedback=entries), read


def feedback_order(f: Mapping[str, Any]) -> tuple[str, int, str, str, str]:
    """Oldest first (by time, then the stored sequence number); then in a fixed order."""
    return (f.get("at") or "", f.get("seq") or 0, f["member"], f["candidate"],
            f.get("decision") or "")
