"""Network-aware ordering of one member's suggestions: providers' load and a varied list.

Ranked one member at a time, every member gets the same best provider: a payroll office or a
culture-media supplier becomes #1 for half the network, and a list can name five providers of the
same need. Two rules order a member's list for the network, at answer time, from the fitted state
only (so a live matcher, updated in place, orders exactly as a fresh fit does):

- **load**: a provider can be #1 for at most ``quota`` members: its declared capacity (the sum of
  its capabilities' ``capacity``, units a month, at least one unit a partner) where it declares
  one, otherwise a fair share, ``ceil(askers / providers)`` of the network. Its askers are the
  members it would be a new partner for with a benefit, ranked by that benefit (ties by id); a
  member outside the first ``quota`` still gets it in its list, but not as #1 while a provider with
  room covers something. The facilitator's view counts what members want in full (needs and
  weaknesses); a member's view and the public one count needs only (the public demand), so what
  a member is shown depends on no other member's weaknesses.
- **variety**: the list is built greedily; a candidate's benefit on a need that earlier entries
  already cover counts ``repeat_discount`` times less for each of them, so the list covers
  different needs before it names a second provider of the same one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from matching.features import NetworkFeatures


@dataclass(frozen=True)
class Load:
    """How many members a provider can be #1 for, and where the query member stands."""

    askers: int  # members it would be a new partner for, with a benefit
    quota: int
    ahead: int | None  # askers ranked before the query member (None: it is no asker)

    @property
    def busy(self) -> bool:
        """Past its quota, and the query member is not among its first ``quota`` askers."""
        return self.askers > self.quota and (self.ahead is None or self.ahead >= self.quota)


@dataclass(frozen=True)
class NetworkLoad:
    """What every provider's load reads, computed once per state of the network: the demand
    counted (full or needs only), the fair share, which capabilities serve some demand, and the
    members' order by id (ties between askers go by id, never by row)."""

    demand_t: sp.csr_array  # capabilities x members
    share: int
    serving: np.ndarray  # serving[c]: offering c covers something some member wants
    id_rank: np.ndarray

    @classmethod
    def of(cls, features: NetworkFeatures, demand: sp.csr_array) -> NetworkLoad:
        demand = sp.csr_array(demand)
        wanted = np.zeros(demand.shape[1], dtype=np.float64)
        wanted[np.unique(demand.indices)] = 1.0
        serving = (sp.csr_array(features.coverage_of).T @ wanted) > 0
        ids = np.array(features.projection.member_ids, dtype=object)
        id_rank = np.empty(len(ids), dtype=np.int64)
        id_rank[np.argsort(ids, kind="stable")] = np.arange(len(ids))
        return cls(sp.csr_array(demand.T.tocsr()), fair_share(features, demand), serving,
                   id_rank)


def fair_share(features: NetworkFeatures, demand: sp.csr_array) -> int:
    """``ceil(A / P)``: A members with some ``demand``, P members covering some of it."""
    demand = sp.csr_array(demand)
    asking = np.diff(demand.indptr) > 0
    wanted = np.zeros(demand.shape[1], dtype=np.float64)
    np.add.at(wanted, demand.indices, 1.0)
    covering = sp.csr_array(features.coverage_t) @ (wanted > 0).astype(np.float64)
    providers = int(np.count_nonzero(covering))
    return max(1, math.ceil(int(asking.sum()) / max(1, providers)))


def provider_load(features: NetworkFeatures, b: int, network: NetworkLoad,
                  a: int | None = None) -> Load:
    """The load of provider row ``b`` and the place of member row ``a`` among its askers (see
    the module docstring)."""
    covers = features.coverage_t  # row b: how well b covers each capability
    lo, hi = covers.indptr[b], covers.indptr[b + 1]
    needs, weights = covers.indices[lo:hi], covers.data[lo:hi].astype(np.float64)
    # benefit[m] = sum_k weights[k] * demand[m, needs[k]], summed in the order of k: straight
    # from the CSR arrays (indexing a scipy array costs a millisecond, this some microseconds).
    demand = network.demand_t
    n = demand.shape[1]
    starts, ends = demand.indptr[needs], demand.indptr[needs + 1]
    members = np.concatenate([demand.indices[s:e] for s, e in zip(starts, ends)] or [[]])
    amounts = np.concatenate([demand.data[s:e].astype(np.float64) * w
                              for s, e, w in zip(starts, ends, weights)] or [[]])
    benefit = np.bincount(members.astype(np.int64), weights=amounts, minlength=n)
    benefit[b] = 0
    benefit[list(features.tie_partners(b))] = 0
    askers = int(np.count_nonzero(benefit > 0))
    quota = declared_capacity(features, b, network.serving)
    quota = network.share if quota is None else quota
    ahead = None
    if a is not None and benefit[a] > 0:
        rank = network.id_rank
        ahead = int(np.count_nonzero((benefit > benefit[a])
                                     | ((benefit == benefit[a]) & (rank < rank[a]))))
    return Load(askers=askers, quota=quota, ahead=ahead)


def declared_capacity(features: NetworkFeatures, b: int, serving: np.ndarray) -> int | None:
    """What provider row ``b`` can serve by its declared capacities: the sum over its
    capabilities that serve some member's demand (``serving``; one unit a partner at least),
    when every one of them declares a capacity; None otherwise."""
    p = features.projection
    if b >= p.capacities.shape[0]:
        return None
    relevant = [c for c in features.levels_of[b] if serving[c]]
    if not relevant:
        return None
    lo, hi = p.capacities.indptr[b], p.capacities.indptr[b + 1]
    declared = dict(zip(p.capacities.indices[lo:hi].tolist(), p.capacities.data[lo:hi].tolist()))
    capacity = [declared.get(c, 0.0) for c in relevant]
    if min(capacity) <= 0:
        return None
    return max(1, math.floor(sum(capacity)))


def contributions(features: NetworkFeatures, demand: dict[int, float], candidates: list[int],
                  allowed: list[set[int] | None]) -> np.ndarray:
    """``K[k, j]``: how much candidate ``candidates[k]`` covers the j-th need of ``demand``
    (weight times coverage); 0 where ``allowed[k]`` (a rival's permitted needs) leaves it out."""
    needs = sorted(demand)
    if not needs or not candidates:
        return np.zeros((len(candidates), len(needs)))
    cover = sp.csr_array(features.coverage_t)[candidates, :][:, needs].toarray()
    weights = np.array([demand[d] for d in needs], dtype=np.float64)
    out = cover.astype(np.float64) * weights
    for k, keep in enumerate(allowed):
        if keep is not None:
            out[k, [j for j, d in enumerate(needs) if d not in keep]] = 0
    return out


def varied_order(scores: np.ndarray, gains: np.ndarray, limit: int, rank: np.ndarray,
                 busy: np.ndarray, repeat_discount: float = 0.5) -> list[tuple[int, float]]:
    r"""Greedy order of candidates (positions into ``scores``) with their adjusted scores.

    With :math:`k_j` the number of entries already chosen that cover need j, a candidate's
    adjusted score is :math:`s - \sum_j K_{j} (1 - \lambda^{k_j})` (:math:`\lambda` =
    ``repeat_discount``). The first entry is the best one that is not ``busy``, if any. Equal
    adjusted scores are ordered by ``rank`` (the candidates' order by id).

    >>> order = varied_order(np.array([1.0, 0.7, 0.5]), np.array([[0.6, 0], [0.6, 0], [0, 0.3]]),
    ...                      3, np.array([0, 1, 2]), np.array([False, False, False]))
    >>> [(k, round(s, 2)) for k, s in order]
    [(0, 1.0), (2, 0.5), (1, 0.4)]
    """
    chosen: list[tuple[int, float]] = []
    taken = np.zeros(len(scores), dtype=bool)
    counts = np.zeros(gains.shape[1])
    for position in range(min(limit, len(scores))):
        adjusted = scores - (gains * (1 - repeat_discount ** counts)).sum(axis=1)
        pool = ~taken
        if position == 0 and (pool & ~busy).any():
            pool &= ~busy
        options = np.flatnonzero(pool)
        values = np.round(adjusted[options], 12)
        best_options = options[values == values.max()]
        best = int(best_options[np.argmin(rank[best_options])])
        chosen.append((best, float(adjusted[best])))
        taken[best] = True
        counts += gains[best] > 0
    return chosen
