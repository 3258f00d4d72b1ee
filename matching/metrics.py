"""Figures about a whole network: its size, cohesion, groups, rivalry and untapped potential.

Analysts read these, so they are counts and shares only, computed in the public view (no one's
weaknesses count, not even as a total); the facilitator view adds the weakness total and scores
suggestions with everyone's weaknesses.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import networkx as nx
import numpy as np

from matching.features import View
from matching.projection import NetworkProjection
from matching.rivalry import rivalries

POSITIVE_TIES = ("TRUSTS", "COLLABORATES_WITH", "SUPPLIES")
DEFAULT_TIE_WEIGHT = 0.5
SHARE_SAMPLE = 500
BLOCK_SIZE = 512

Tie = tuple[str, str, str, dict[str, Any]]


def _date(value: str | None) -> dt.date | None:
    """The date part of an ISO date or timestamp; None when missing."""
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _tie_figures(projection: NetworkProjection, ties: list[Tie]) -> dict[str, Any]:
    """Counts, density, components, isolates and the share of COMPETES_WITH among the given
    ties, over all members."""
    simple = nx.Graph()
    simple.add_nodes_from(projection.member_ids)
    simple.add_edges_from((a, b) for a, b, _, _ in ties if a != b)
    by_type = Counter(kind for _, _, kind, _ in ties)
    return {
        "ties": len(ties),
        "ties_by_type": dict(sorted(by_type.items())),
        "density": round(nx.density(simple), 4) if len(simple) > 1 else 0.0,
        "components": nx.number_connected_components(simple),
        "isolated": sorted(nx.isolates(simple)),
        "competition": {"tie_share": _share(by_type["COMPETES_WITH"], len(ties))},
    }


def _competition(projection: NetworkProjection) -> dict[str, Any]:
    """The rivalry the engine uses (``matching.rivalry``): pairs of rivals and the share of
    members in at least one such pair."""
    pairs = [(r["a"], r["b"]) for r in rivalries(projection) if r["rivals"]]
    involved = {m for pair in pairs for m in pair}
    return {"pairs": len(pairs), "member_share": _share(len(involved), projection.n_members)}


def _communities(projection: NetworkProjection, ties: Iterable[Tie]) -> list[list[str]]:
    """Louvain groups over positive ties, summed weights; members without one are left out."""
    graph = nx.Graph()
    for a, b, kind, data in ties:
        if kind in POSITIVE_TIES and a != b:
            w = data.get("weight")
            w = DEFAULT_TIE_WEIGHT if w is None else float(w)
            old = graph.get_edge_data(a, b, {"weight": 0.0})["weight"]
            graph.add_edge(a, b, weight=old + w)
    if not graph:
        return []
    # insertion order changes Louvain's visiting order, so fix it for reproducible groups
    ordered = nx.Graph()
    ordered.add_nodes_from(sorted(graph))
    ordered.add_weighted_edges_from(sorted((min(a, b), max(a, b), d["weight"])
                                           for a, b, d in graph.edges(data=True)))
    groups = nx.community.louvain_communities(ordered, weight="weight", seed=0)
    return sorted((sorted(g) for g in groups), key=lambda g: (-len(g), g[0]))


def _suggestion_share(projection: NetworkProjection, matcher: Any, threshold: float,
                      view: View) -> float:
    """Share of members with at least one candidate scoring above ``threshold``.

    Above ``SHARE_SAMPLE`` members it is estimated on a fixed random sample of that many (a
    dashboard figure: within about 4.5 points at 95% confidence), which keeps the
    metrics fast on big networks.
    """
    if matcher.projection_.member_ids != projection.member_ids:
        raise ValueError("the matcher was fitted on another network")
    n, hits = projection.n_members, 0
    members = np.arange(n)
    if n > SHARE_SAMPLE:
        members = np.sort(np.random.default_rng(0).choice(n, SHARE_SAMPLE, replace=False))
    for start in range(0, len(members), BLOCK_SIZE):
        score, _, _ = matcher.score_block(members[start:start + BLOCK_SIZE], view=view)
        hits += int((score > threshold).any(axis=1).sum())  # -inf never counts
    return _share(hits, len(members))


def network_metrics(projection: NetworkProjection, *, matcher: Any = None,
                    threshold: float = 0.2, since: str | None = None,
                    until: str | None = None, view: View | str = View.FACILITATOR
                    ) -> dict[str, Any]:
    r"""Size, cohesion, groups, rivalry and untapped potential of one network.

    Over the undirected simple graph G of all ties (any type, direction and multiplicity
    ignored, self-ties dropped) with n members and m distinct pairs:

    - ``density`` = :math:`2m / (n (n - 1))`;
    - ``components``: connected components of G, isolated members counting one each;
    - ``isolated``: ids of members without any tie;
    - ``communities``: Louvain communities (``seed=0``) of the graph of positive ties (TRUSTS,
      COLLABORATES_WITH, SUPPLIES; weights summed, 0.5 when missing), members without a positive
      tie left out; each sorted, largest first;
    - ``competition``: ``tie_share`` = COMPETES_WITH ties / all ties; ``pairs``: pairs of members
      the engine treats as rivals (``matching.rivalry``: a COMPETES_WITH tie, a core offer in
      common in one market, or a facilitator's confirmation, less the pairs a facilitator
      rejected), the rivalry that keeps members out of each other's core business;
      ``member_share`` = members in at least one such pair / n. Every input of the rule is
      public (ties, sector, region, customer segments, capability levels and core flags) or the
      facilitators' word, never anyone's weaknesses; the verdicts themselves are not shown;
    - ``suggestion_share``: share of members with at least one suggestion scoring above
      ``threshold`` under ``matcher`` (a ``PartnerMatcher`` fitted on this projection) in
      ``view``, None without one;
    - ``weaknesses_total``: number of weaknesses declared, in the facilitator view only: in the
      public view (what analysts read) the figures do not depend on anyone's weaknesses.

    With ``since`` and/or ``until`` (ISO dates, either bound may be open), ``range`` repeats the
    tie figures for ties whose ``since`` date d satisfies ``since`` <= d <= ``until``. Ties
    without a ``since`` date cannot be placed and are left out of the range figures;
    ``range["undated_excluded"]`` counts them. Its ``competition`` has ``tie_share`` only: the
    rivalry the engine infers has no date.

    Returns
    -------
    dict
        The figures above, plus ``members``, ``ties``, ``ties_by_type`` and ``reasons``:
        sentences summing them up.
    """
    index = projection.member_index
    ties: list[Tie] = [(a, b, kind, data) for a, b, kind, data
                       in projection.ties.edges(keys=True, data=True)
                       if a in index and b in index]
    figures = _tie_figures(projection, ties)
    # Louvain is pure Python and scoring mostly numpy, which releases the GIL: run them together.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = (pool.submit(_suggestion_share, projection, matcher, threshold, View(view))
                   if matcher is not None else None)
        communities = _communities(projection, ties)
        share = pending.result() if pending is not None else None
    figures["competition"].update(_competition(projection))
    result: dict[str, Any] = {
        "members": projection.n_members,
        **figures,
        "communities": communities,
        "suggestion_share": share,
        "threshold": threshold,
    }
    if View(view) is View.FACILITATOR:
        result["weaknesses_total"] = int(projection.severities.nnz)
    if since is not None or until is not None:
        low, high = _date(since), _date(until)
        dated = [t for t in ties if _date(t[3].get("since")) is not None]
        inside = [t for t in dated
                  if (low is None or _date(t[3]["since"]) >= low)
                  and (high is None or _date(t[3]["since"]) <= high)]
        result["range"] = {"since": since, "until": until, **_tie_figures(projection, inside),
                           "undated_excluded": len(ties) - len(dated)}
    result["reasons"] = _reasons(result)
    return result


def _reasons(r: dict[str, Any]) -> list[str]:
    reasons = [f"{r['members']} members joined by {r['ties']} ties (density {r['density']:.2f}, "
               f"{r['components']} connected component{'s' * (r['components'] != 1)})"]
    if r["isolated"]:
        alone = len(r["isolated"])
        reasons.append(f"{alone} member{'s have' if alone != 1 else ' has'} no tie at all")
    if r["communities"]:
        sizes = ", ".join(str(len(c)) for c in r["communities"])
        reasons.append(f"{len(r['communities'])} groups of working ties (sizes {sizes})")
    comp = r["competition"]
    reasons.append(f"{comp['pairs']} pair{'s' * (comp['pairs'] != 1)} of members compete "
                   f"(declared, inferred from a core offer in one market, or confirmed), "
                   f"involving {comp['member_share']:.0%} of members; {comp['tie_share']:.0%} "
                   f"of ties say so")
    if r["suggestion_share"] is not None:
        reasons.append(f"{r['suggestion_share']:.0%} of members have at least one partner "
                       f"suggestion scoring above {r['threshold']:g}")
    if "range" in r:
        rng = r["range"]
        if rng["since"] and rng["until"]:
            span = f"between {rng['since']} and {rng['until']}"
        else:
            span = f"from {rng['since']} on" if rng["since"] else f"up to {rng['until']}"
        reasons.append(f"{rng['ties']} ties started {span} "
                       f"({rng['undated_excluded']} ties without a start date not counted)")
    return reasons
