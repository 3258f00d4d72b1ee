"""Natural leaders of a network: members others already trust, who bridge groups, who know a lot.

A facilitator asks them to host a working group or to vouch for an introduction. Analysts may
read the result, so it is built from ties, capabilities and certifications only: weaknesses are
never read here.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from matching.projection import NetworkProjection

TRUSTED_TIES = ("TRUSTS", "COLLABORATES_WITH")
DEFAULT_TIE_WEIGHT = 0.5  # a tie recorded without a weight counts as a middling one
STRONG_LEVEL = 4
BETWEENNESS_BUDGET = 500_000
MIN_PIVOTS = 32
WEIGHTS = {"trust": 0.30, "betweenness": 0.20, "degree": 0.15, "brokerage": 0.10,
           "capabilities": 0.15, "certifications": 0.10}


def _ordinal(rank: int) -> str:
    if rank == 1:
        return "highest"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(rank % 10 if rank % 100 not in (11, 12, 13) else 0,
                                            "th")
    return f"{rank}{suffix} highest"


def _scaled(values: np.ndarray) -> np.ndarray:
    """x / max(x), all zeros when nobody has any: 0 keeps meaning "none"."""
    top = values.max(initial=0.0)
    return values / top if top > 0 else np.zeros_like(values)


def _raw_components(projection: NetworkProjection) -> dict[str, np.ndarray]:
    ids, n = projection.member_ids, projection.n_members
    index = projection.member_index
    trust = np.zeros(n)
    trusters: list[set[str]] = [set() for _ in range(n)]
    trusted = nx.Graph()
    trusted.add_nodes_from(ids)
    for a, b, kind, data in projection.ties.edges(keys=True, data=True):
        if a == b or kind not in TRUSTED_TIES or a not in index or b not in index:
            continue
        trusted.add_edge(a, b)
        if kind == "TRUSTS":
            weight = data.get("weight")
            trust[index[b]] += DEFAULT_TIE_WEIGHT if weight is None else float(weight)
            trusters[index[b]].add(a)
    degree = nx.degree_centrality(trusted) if n > 1 else {mid: 0.0 for mid in ids}
    # Exact betweenness costs one graph traversal per member, O(n m). On big networks it is
    # estimated from a fixed random sample of sources (Brandes-Pich pivots) sized to a budget of
    # about BETWEENNESS_BUDGET edge visits: rougher, but the strong bridges still stand out.
    n, m = trusted.number_of_nodes(), max(trusted.number_of_edges(), 1)
    pivots = max(MIN_PIVOTS, BETWEENNESS_BUDGET // m)
    betweenness = nx.betweenness_centrality(trusted, k=pivots if pivots < n else None, seed=0)
    # Burt's effective size: contacts minus their redundancy. On an undirected, unweighted graph
    # it is deg - 2 t / deg with t the ties among one's contacts (Borgatti 1997; what
    # nx.effective_size computes there), so sparse products give it for every member at once.
    adjacency = nx.to_scipy_sparse_array(trusted, nodelist=ids, weight=None, format="csr")
    contact_ties = np.asarray((adjacency @ adjacency).multiply(adjacency).sum(axis=1)).ravel() / 2
    degrees = np.asarray(adjacency.sum(axis=1), dtype=np.float64).ravel()
    effective_size = np.divide(degrees * degrees - 2 * contact_ties, degrees,
                               out=np.zeros_like(degrees), where=degrees > 0)
    levels = sp.csr_array(projection.levels)
    certification = np.array([projection.taxonomy.nodes[c].get("kind") == "certification"
                              for c in projection.capability_ids], dtype=bool)
    held = (levels > 0).astype(np.float64)
    return {
        "trust": trust,
        "trusters": np.array([len(s) for s in trusters], dtype=np.float64),
        "degree": np.array([degree[m] for m in ids]),
        "contacts": np.array([trusted.degree(m) for m in ids], dtype=np.float64),
        "betweenness": np.array([betweenness[m] for m in ids]),
        "brokerage": effective_size,
        # breadth weighted by level: ten capabilities at level 1 count as two at level 5
        "capabilities": np.asarray(levels.sum(axis=1), dtype=np.float64).ravel() / 5,
        "strong": np.asarray((levels >= STRONG_LEVEL).sum(axis=1), dtype=np.float64).ravel(),
        "certifications": held @ certification.astype(np.float64),
    }


def natural_leaders(projection: NetworkProjection, limit: int = 5
                    ) -> dict[str, list[dict[str, Any]]]:
    r"""The ``limit`` members best placed to lead, each with its components and reasons.

    Over the undirected graph G of trusted and collaborative ties (TRUSTS, COLLABORATES_WITH),
    member i gets six raw components:

    - trust: weighted in-degree of TRUSTS, :math:`\sum_{j \to i} w_{ji}` (0.5 when unweighted);
    - degree: degree centrality in G, :math:`\deg(i) / (n - 1)`;
    - betweenness: normalised betweenness centrality in G, the share of shortest paths between
      other members passing through i;
    - brokerage: Burt's effective size in G (contacts minus their redundancy, structural holes);
    - capabilities: :math:`\sum_c level_{ic} / 5`, breadth weighted by level;
    - certifications: number of capabilities of taxonomy kind "certification" held.

    Each is scaled to [0, 1] by its network maximum, :math:`\hat x_i = x_i / \max_j x_j`, and

    .. math::

        score_i = 0.30\,\widehat{trust} + 0.20\,\widehat{betweenness} + 0.15\,\widehat{degree}
                  + 0.10\,\widehat{brokerage} + 0.15\,\widehat{capabilities}
                  + 0.10\,\widehat{certifications}

    Weaknesses are never read, so the output can be shown to analysts.

    Returns
    -------
    dict
        ``leaders``: best first (ties by member id), each with ``member``, ``name``, ``score``,
        ``components`` (the scaled values), ``facts`` (why it can lead: ``kind`` -
        trusted, bridge, contacts, broker, certified, strong - with its figures) and ``reasons``
        (the same facts in English sentences). Members scoring 0 are left out.
    """
    if not projection.member_ids:  # an empty network has no leaders (and no graph to measure)
        return {"leaders": []}
    raw = _raw_components(projection)
    scaled = {k: _scaled(raw[k]) for k in WEIGHTS}
    score = sum(w * scaled[k] for k, w in WEIGHTS.items())
    ids = projection.member_ids
    order = sorted((i for i in range(len(ids)) if score[i] > 0), key=lambda i: (-score[i], ids[i]))
    leaders = []
    for i in order[:limit]:
        mid = ids[i]
        facts = _facts(projection, raw, i)
        leaders.append({
            "member": mid,
            "name": projection.ties.nodes[mid].get("name") or mid,
            "score": round(float(score[i]), 4),
            "components": {k: round(float(scaled[k][i]), 4) for k in WEIGHTS},
            "reasons": [_sentence(f) for f in facts],
            "facts": facts,
        })
    return {"leaders": leaders}


def _rank(values: np.ndarray, i: int) -> int:
    """1 + how many members have strictly more."""
    return int((values > values[i]).sum()) + 1


def _facts(projection: NetworkProjection, raw: dict[str, np.ndarray], i: int
           ) -> list[dict[str, Any]]:
    """Why member ``i`` can lead, as facts a page can say in its reader's language (``kind``
    and its figures); :func:`_sentence` says each in English for the API's ``reasons``."""
    facts: list[dict[str, Any]] = []
    trusters = int(raw["trusters"][i])
    if trusters:
        facts.append({"kind": "trusted", "members": trusters,
                      "most": _rank(raw["trusters"], i) == 1})
    between = float(raw["betweenness"][i])
    # a few stray shortest paths do not make a bridge: say it when it matters
    if between >= 0.1 or (between > 0 and _rank(raw["betweenness"], i) == 1):
        facts.append({"kind": "bridge", "betweenness": between,
                      "rank": _rank(raw["betweenness"], i)})
    contacts = int(raw["contacts"][i])
    if contacts > trusters:  # else "Trusted by" already said it
        facts.append({"kind": "contacts", "members": contacts})
    # only worth saying when the contacts are largely strangers to one another
    if contacts >= 3 and raw["brokerage"][i] >= 0.75 * contacts:
        facts.append({"kind": "broker", "effective_size": float(raw["brokerage"][i]),
                      "contacts": contacts})
    certificates = [_certificate(projection, c) for c in _held(projection, i)
                    if projection.taxonomy.nodes[c].get("kind") == "certification"]
    if certificates:
        facts.append({"kind": "certified", "certifications": certificates})
    strong = int(raw["strong"][i])
    if strong:
        facts.append({"kind": "strong", "capabilities": strong, "level": STRONG_LEVEL})
    return facts


def _sentence(fact: dict[str, Any]) -> str:
    """One fact of :func:`_facts` in English."""
    kind = fact["kind"]
    if kind == "trusted":
        n = fact["members"]
        return (f"Trusted by {n} member{'s' * (n != 1)}"
                + (" (the most in the network)" if fact["most"] else ""))
    if kind == "bridge":
        return (f"Bridges otherwise separate groups (betweenness {fact['betweenness']:.2f}, "
                f"{_ordinal(fact['rank'])} in the network)")
    if kind == "contacts":
        n = fact["members"]
        return f"Trusted or collaborative ties with {n} member{'s' * (n != 1)}"
    if kind == "broker":
        return (f"Its contacts barely know one another (effective size "
                f"{fact['effective_size']:.1f} of {fact['contacts']}): it can introduce them")
    if kind == "certified":
        held = fact["certifications"]
        return f"Holds {_join(held)} certification{'s' if len(held) > 1 else ''}"
    n = fact["capabilities"]
    return f"Strong in {n} capabilit{'ies' if n != 1 else 'y'} at level {fact['level']}-5"


def _held(projection: NetworkProjection, i: int) -> list[str]:
    row = sp.csr_array(projection.levels)[[i], :]
    return sorted(projection.capability_ids[j] for j in row.indices)


def _certificate(projection: NetworkProjection, cid: str) -> str:
    """The label without a trailing "certification", which the sentence adds itself."""
    label = projection.taxonomy.nodes[cid].get("label") or cid
    if label.casefold().endswith(" certification"):
        label = label[: -len(" certification")]
    return label


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
