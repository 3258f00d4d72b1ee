"""Outside agents for the network's gaps: who a facilitator can bring in where no member can help.

Agents (banks, universities, town halls, export agencies, certification bodies, ...) are not
members: they get no suggestions and hold no weaknesses. They are named wherever a need, a
value-chain stage, a consortium requirement or a shared service has no provider inside.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from matching.projection import NetworkProjection
from matching.taxonomy import coverage_matrix

AGENT_COVERAGE = 0.5  # the capability itself, a synonym, a narrower one or its direct parent
PROVIDER_LEVEL = 4  # a member at this level or more covers a need itself
MAX_AGENTS = 3


class AgentDirectory:
    """The agents of one network, indexed by the capabilities they cover.

    An agent offering capability c covers a need for d with the taxonomy coverage
    :math:`S_{dc}` (1 for d itself or a synonym, 0.8 for a narrower capability, 0.5 for the direct
    parent); it is named for d when :math:`S_{dc} \\ge 0.5`.
    """

    def __init__(self, projection: NetworkProjection):
        self.projection = projection

    @cached_property
    def _coverage(self) -> sp.csr_array:
        p = self.projection
        return coverage_matrix(p.taxonomy, p.capability_ids)

    @cached_property
    def _offered(self) -> dict[int, list[int]]:
        """Capability column -> indexes of the agents offering it."""
        index = self.projection.capability_index
        offered: dict[int, list[int]] = {}
        for k, agent in enumerate(self.projection.agents):
            for cid in agent.get("offers") or ():
                if cid in index:
                    offered.setdefault(index[cid], []).append(k)
        return offered

    def for_capability(self, cid: str, limit: int = MAX_AGENTS) -> list[dict[str, Any]]:
        """The agents able to provide ``cid``, best coverage first, then by name and id."""
        p = self.projection
        if cid not in p.capability_index or not p.agents:
            return []
        row = self._coverage[[p.capability_index[cid]], :]
        best: dict[int, tuple[float, str]] = {}
        for c, cover in zip(row.indices.tolist(), row.data.tolist()):
            if cover < AGENT_COVERAGE:
                continue
            for k in self._offered.get(c, ()):
                if cover > best.get(k, (0.0, ""))[0]:
                    best[k] = (float(cover), p.capability_ids[c])
        ranked = sorted(best.items(), key=lambda e: (-e[1][0], p.agents[e[0]].get("name") or "",
                                                     p.agents[e[0]]["id"]))
        return [{"agent": p.agents[k]["id"], "name": p.agents[k].get("name"),
                 "kind": p.agents[k].get("kind"), "region": p.agents[k].get("region"),
                 "offers": offered, "coverage": round(cover, 2),
                 "reason": _agent_reason(p, k, cid, offered)}
                for k, (cover, offered) in ranked[:limit]]

    @cached_property
    def _provided(self) -> np.ndarray:
        """Per capability: does some member cover it at ``PROVIDER_LEVEL`` or more (coverage
        at least 0.8: the capability, a synonym or a narrower one)?"""
        p = self.projection
        strong = sp.csr_array(p.levels >= PROVIDER_LEVEL, dtype=np.float32)
        held = np.asarray(strong.sum(axis=0)).ravel() > 0
        close = sp.csr_array(self._coverage >= 0.8, dtype=np.float32)
        return np.asarray(close @ held.astype(np.float32)).ravel() > 0

    def provided_inside(self, cid: str) -> bool:
        return bool(self._provided[self.projection.capability_index[cid]])


def _label(p: NetworkProjection, cid: str) -> str:
    return p.taxonomy.nodes[cid].get("label") or cid


def _agent_reason(p: NetworkProjection, k: int, need: str, offered: str) -> str:
    agent = p.agents[k]
    what = _label(p, need)
    via = "" if offered == need else f" (through {_label(p, offered)})"
    return f"{agent.get('name') or agent['id']} ({agent.get('kind') or 'agent'}) offers {what}{via}"


def gap_sentence(p: NetworkProjection, cid: str, agents: list[dict[str, Any]]) -> str:
    """"No member offers X; A does" in plain words."""
    what = _label(p, cid)
    if not agents:
        return f"No member offers {what}, and no outside agent of the network does either."
    names = ", ".join(f"{a['name']} ({a['kind']})" for a in agents)
    verb = "does" if len(agents) == 1 else "do"
    return f"No member offers {what}; {names} {verb}."


def network_gaps(projection: NetworkProjection, *, include_weaknesses: bool = False,
                 member: str | None = None, limit: int = 10) -> list[dict[str, Any]]:
    """The network's top gaps: capabilities members need (and, for facilitators only, are weak
    in) that no member provides at level 4 or more, most members affected first, each with the
    agents able to close it.

    Needs of kind ``purchase`` are left out: a buying group, not a provider, answers those.
    ``include_weaknesses`` reads weaknesses: facilitators and admins only, or, with ``member``,
    that member's own. With ``member`` only its own needs and weaknesses count, so the answer
    depends on no other member's private data.
    """
    p = projection
    directory = AgentDirectory(p)
    affected: dict[str, set[str]] = {}
    for mid, needs in zip(p.member_ids, p.needs):
        if member is not None and mid != member:
            continue
        for need in needs:
            kind = need.get("kind") or p.taxonomy.nodes[need["id"]].get("kind")
            if kind != "purchase":
                affected.setdefault(need["id"], set()).add(mid)
    if include_weaknesses:
        weak = sp.coo_array(p.severities)
        for i, j in zip(weak.row.tolist(), weak.col.tolist()):
            if member is None or p.member_ids[i] == member:
                affected.setdefault(p.capability_ids[j], set()).add(p.member_ids[i])
    gaps: list[dict[str, Any]] = []
    for cid, members in affected.items():
        if directory.provided_inside(cid):
            continue
        agents = directory.for_capability(cid)
        gaps.append({"capability": cid, "label": _label(p, cid), "members": len(members),
                     "agents": agents, "reason": gap_sentence(p, cid, agents)})
    gaps.sort(key=lambda g: (-g["members"], -bool(g["agents"]), g["capability"]))
    return gaps[:limit]
