"""Pool members' needs: buying groups for purchases, shared providers for services and know-how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx

from matching.agents import AgentDirectory
from matching.projection import NetworkProjection

# Largest discount a pooled purchase reaches, by category; a facilitator can override any.
DEFAULT_MAX_DISCOUNT: dict[str, float] = {
    "fuel": 0.05, "energy": 0.08, "office-material": 0.15, "insurance": 0.12,
    "cleaning-supplies": 0.12, "workwear-ppe": 0.12, "packaging": 0.10, "raw-steel": 0.06,
    "food-supplies": 0.08, "medical-consumables": 0.10, "pharmaceuticals": 0.04,
    "industrial-gases": 0.10, "fishing-gear": 0.08, "broadcast-equipment": 0.08,
}
FALLBACK_MAX_DISCOUNT = 0.07
PROVIDER_LEVEL = 4


@dataclass(frozen=True)
class DiscountModel:
    r"""Volume discount of a buying group.

    .. math:: saving = V \cdot r_{max}(c) \cdot \min\Big(1, \frac{n - 1}{n_{full} - 1}\Big)

    for a group of n members with total annual volume V in category c: the discount grows with
    the number of buyers pooled and reaches the category's largest rate :math:`r_{max}(c)` at
    :math:`n_{full}` members. Rates are clipped to [0, 1], so a saving never exceeds the volume.
    """

    max_discount: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MAX_DISCOUNT))
    fallback: float = FALLBACK_MAX_DISCOUNT
    full_at_members: int = 10

    def rate(self, category: str, members: int) -> float:
        top = min(max(self.max_discount.get(category, self.fallback), 0.0), 1.0)
        scale = min(1.0, (members - 1) / max(self.full_at_members - 1, 1))
        return top * max(scale, 0.0)


def _name(p: NetworkProjection, mid: str) -> str:
    return p.ties.nodes[mid].get("name") or mid


def _label(p: NetworkProjection, cid: str) -> str:
    return p.taxonomy.nodes[cid].get("label") or cid


def purchase_category(taxonomy: nx.DiGraph, cid: str) -> str:
    """The top-most purchase-kind ancestor: a need for diesel joins the fuel group."""
    category = cid
    while True:
        parents = [q for q in taxonomy.successors(category)
                   if taxonomy.nodes[q].get("kind") == "purchase"]
        if not parents:
            return category
        category = parents[0]


def _need_kind(p: NetworkProjection, need: Mapping) -> str | None:
    return need.get("kind") or p.taxonomy.nodes[need["id"]].get("kind")


def _trusted_by(p: NetworkProjection) -> dict[str, int]:
    return {mid: sum(1 for _, _, t in p.ties.in_edges(mid, keys=True) if t == "TRUSTS")
            for mid in p.member_ids}


def buying_groups(projection: NetworkProjection, model: DiscountModel | None = None,
                  min_members: int = 2) -> dict[str, list[dict]]:
    """Members with purchase needs in one category (rolled up the taxonomy) form a buying group.

    The lead is the member best placed to negotiate: largest volume, then most trusted.
    """
    p, model = projection, model or DiscountModel()
    groups: dict[str, dict[str, float]] = {}
    for mid, needs in zip(p.member_ids, p.needs):
        for need in needs:
            if _need_kind(p, need) == "purchase":
                members = groups.setdefault(purchase_category(p.taxonomy, need["id"]), {})
                members[mid] = members.get(mid, 0.0) + float(need.get("volume") or 0.0)
    trusted = _trusted_by(p)
    out = []
    for category, volumes in groups.items():
        if len(volumes) < min_members:
            continue
        total = sum(volumes.values())
        rate = model.rate(category, len(volumes))
        lead = max(sorted(volumes), key=lambda m: (volumes[m], trusted[m]))
        unknown = sorted(m for m, v in volumes.items() if v == 0)
        saving = round(min(total * rate, total), 2)
        reason = (f"{len(volumes)} members buy {_label(p, category)} "
                  f"({total:,.0f} EUR a year together); pooled, a {rate:.1%} discount saves about "
                  f"{saving:,.0f} EUR. {_name(p, lead)} buys most and would lead the negotiation")
        if unknown:
            reason += f"; {len(unknown)} member(s) gave no volume yet"
        out.append({"category": category, "label": _label(p, category),
                    "members": sorted(volumes), "volumes": {m: volumes[m] for m in sorted(volumes)},
                    "total_volume": round(total, 2), "discount_rate": round(rate, 4),
                    "estimated_saving": saving, "lead": lead, "reason": reason})
    out.sort(key=lambda g: (-g["estimated_saving"], g["category"]))
    return {"groups": out}


def shared_services(projection: NetworkProjection, min_members: int = 2,
                    provider_level: int = PROVIDER_LEVEL) -> dict[str, list[dict]]:
    """Members needing the same service or know-how, pooled around one provider.

    The provider is a member (outside the pool) with the capability at ``provider_level`` or
    more, the strongest first; without one, the pool shares an external purchase, like a shipyard
    sharing two quality consultants with its suppliers, and ``agents`` names the network's outside
    agents that offer it.
    """
    p = projection
    directory = AgentDirectory(p)
    pools: dict[str, list[str]] = {}
    for mid, needs in zip(p.member_ids, p.needs):
        for need in needs:
            if _need_kind(p, need) in ("service", "knowhow"):
                pools.setdefault(need["id"], []).append(mid)
    out = []
    for cid, members in pools.items():
        members = sorted(set(members))
        if len(members) < min_members:
            continue
        j = p.capability_index[cid]
        column = p.levels[:, [j]].tocoo()
        providers = sorted(((int(level), p.member_ids[i]) for i, level in zip(column.row, column.data)
                            if level >= provider_level and p.member_ids[i] not in members),
                           key=lambda e: (-e[0], e[1]))
        provider = providers[0][1] if providers else None
        label = _label(p, cid)
        if provider:
            reason = (f"{len(members)} members need {label}; {_name(p, provider)} offers it "
                      f"at level {providers[0][0]} and could serve them all")
        else:
            reason = (f"{len(members)} members need {label} and nobody in the network "
                      "offers it at level 4 or more: hire it once from outside and share it")
        agents = [] if provider else directory.for_capability(cid)
        if agents:
            reason += "; " + ", ".join(f"{a['name']} ({a['kind']})" for a in agents) + \
                (" offers it" if len(agents) == 1 else " offer it")
        out.append({"capability": cid, "label": label, "members": members,
                    "provider": provider, "external": provider is None,
                    "alternatives": [m for _, m in providers[1:4]], "agents": agents,
                    "reason": reason})
    out.sort(key=lambda s: (-len(s["members"]), s["capability"]))
    return {"services": out}
