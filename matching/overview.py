"""A readable picture of a network of any size: what the interactive network view draws.

Built once per snapshot of a network from public data only (members' names, sectors, regions and
the ties between them: no one's weaknesses, needs or feedback), then cut per request:

- a small network, or a filtered part of a big one that fits, is drawn member by member;
- otherwise a big network shows its Louvain communities collapsed, one node each, sized by their
  members and joined by the ties between them, until a community, sector, region or name is
  chosen; a filtered part larger than ``limit`` shows its ``limit`` members of highest degree.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Any

from matching.metrics import _communities
from matching.projection import NetworkProjection

DEFAULT_LIMIT = 300
MAX_LIMIT = 1000


def _fold(text: str) -> str:
    """Case and accents folded, so ``carrocerias`` finds "Carrocerías"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Overview:
    """Members (public attributes, degree, community), simple ties and communities of a network.

    ``fingerprint`` is a digest of exactly the public data a picture of the network draws
    (the network's description, members' public attributes, ties and outside agents): two
    snapshots with the same fingerprint give the same picture, whatever private data changed.
    """

    members: list[dict[str, Any]]  # id, name, sector, region, degree, community; by degree
    ties: dict[tuple[str, str], list[str]]  # (a, b) with a < b -> tie types between them
    communities: list[int]  # members per community, community ids are list positions
    fingerprint: str


def build_overview(projection: NetworkProjection) -> Overview:
    """The overview of ``projection``'s live members (public attributes only)."""
    live = sorted(projection.member_index)
    graph = projection.ties
    ties: dict[tuple[str, str], list[str]] = {}
    raw = []
    for a, b, kind, data in graph.edges(keys=True, data=True):
        if a == b or a not in projection.member_index or b not in projection.member_index:
            continue
        raw.append((a, b, kind, data))
        ties.setdefault((min(a, b), max(a, b)), []).append(kind)
    for kinds in ties.values():
        kinds.sort()
    groups = _communities(projection, raw)
    community = {mid: i for i, group in enumerate(groups) for mid in group}
    next_id = len(groups)  # members without a positive tie: a community of their own each
    degree: Counter[str] = Counter(end for pair in ties for end in pair)
    members: list[dict[str, Any]] = []
    for mid in live:
        attrs = graph.nodes[mid]
        if mid not in community:
            community[mid], next_id = next_id, next_id + 1
        members.append({"id": mid, "name": attrs.get("name") or mid,
                        "sector": attrs.get("sector") or "", "region": attrs.get("region") or "",
                        "degree": degree[mid], "community": community[mid]})
    members.sort(key=lambda m: (-int(m["degree"]), str(m["name"]).casefold(), str(m["id"])))
    sizes = Counter(m["community"] for m in members)
    return Overview(members, ties, [sizes[i] for i in range(next_id)],
                    _fingerprint(projection, live, raw))


def _fingerprint(projection: NetworkProjection, live: list[str], ties: list[Any]) -> str:
    public = {
        "network": {k: v for k, v in sorted(projection.network.items())
                    if isinstance(v, (str, int, float, bool)) and k != "version"},
        "members": [[mid, sorted((k, str(v)) for k, v in projection.ties.nodes[mid].items())]
                    for mid in live],
        "ties": sorted([a, b, kind, str(data.get("weight")), str(data.get("since"))]
                       for a, b, kind, data in ties),
        "agents": sorted(json.dumps(a, sort_keys=True, default=str) for a in projection.agents),
    }
    return hashlib.sha256(json.dumps(public, sort_keys=True, default=str).encode()).hexdigest()


def select(overview: Overview, *, sector: str = "", region: str = "", community: int | None = None,
           q: str = "", limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The part of ``overview`` to draw: members and ties, or collapsed communities.

    Returns ``level`` ("members" or "communities"), ``nodes``, ``edges``, ``total`` (members
    matching the filters) and ``shown`` (members drawn, 0 for communities)."""
    limit = max(1, min(limit, MAX_LIMIT))
    needle = _fold(q.strip())
    chosen = [m for m in overview.members
              if (not sector or m["sector"] == sector) and (not region or m["region"] == region)
              and (community is None or m["community"] == community)
              and (not needle or needle in _fold(m["name"]))]
    filtered = bool(sector or region or needle or community is not None)
    if not filtered and len(chosen) > limit:
        return _communities_view(overview, len(chosen), limit)
    drawn = chosen[:limit]  # highest degree first
    ids = {m["id"] for m in drawn}
    edges = [{"source": a, "target": b, "types": kinds}
             for (a, b), kinds in sorted(overview.ties.items()) if a in ids and b in ids]
    return {"level": "members", "nodes": drawn, "edges": edges, "total": len(chosen),
            "shown": len(drawn)}


def _communities_view(overview: Overview, total: int, limit: int) -> dict[str, Any]:
    of = {m["id"]: m["community"] for m in overview.members}
    between: Counter[tuple[int, int]] = Counter()
    for a, b in overview.ties:
        ca, cb = of[a], of[b]
        if ca != cb:
            between[(min(ca, cb), max(ca, cb))] += 1
    lead: dict[int, str] = {}
    for m in overview.members:  # by degree: the first seen is the best-tied member
        lead.setdefault(m["community"], m["name"])
    nodes: list[dict[str, Any]] = [{"id": f"community:{c}", "community": c, "members": size, "lead": lead[c]}
             for c, size in enumerate(overview.communities) if size > 1]
    nodes = sorted(nodes, key=lambda n: -int(n["members"]))[:limit]  # communities come biggest first
    kept = {n["community"] for n in nodes}
    edges = [{"source": f"community:{a}", "target": f"community:{b}", "ties": count}
             for (a, b), count in sorted(between.items()) if a in kept and b in kept]
    return {"level": "communities", "nodes": nodes, "edges": edges, "total": total,
            "shown": 0, "alone": sum(1 for size in overview.communities if size == 1)}


def filters(overview: Overview) -> dict[str, Any]:
    """The values the view can filter by: sectors, regions, and communities of 2 or more."""
    return {"sectors": sorted({m["sector"] for m in overview.members if m["sector"]}),
            "regions": sorted({m["region"] for m in overview.members if m["region"]}),
            "communities": [{"id": c, "members": size}
                            for c, size in enumerate(overview.communities) if size > 1]}


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Overview", "build_overview", "filters", "select"]
