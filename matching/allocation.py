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
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from matching.features import NetworkFeatures

KEPT_VALUES = 2_500_000  # providers' benefits kept per state of the network: 20 MB at most


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
    counted (full or needs only, members x capabilities), the fair share, which capabilities
    serve some demand, and the members' order by id (ties between askers go by id, never by
    row)."""

    demand: sp.csr_array  # members x capabilities
    share: int
    serving: np.ndarray  # serving[c]: offering c covers something some member wants
    id_rank: np.ndarray
    benefits: dict[int, np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def benefit_of(self, features: NetworkFeatures, b: int) -> np.ndarray:
        """``benefit[m]``: what provider row ``b`` covers of what member m wants (0 for itself
        and its partners): kept per provider until the network changes, as many members ask
        for the same few providers."""
        benefit = self.benefits.get(b)
        if benefit is None:
            covers = features.coverage_t  # row b: how well b covers each capability
            lo, hi = covers.indptr[b], covers.indptr[b + 1]
            weights = np.zeros(covers.shape[1], dtype=np.float64)
            weights[covers.indices[lo:hi]] = covers.data[lo:hi]
            benefit = self.demand @ weights  # one pass over the demand rows: no scipy slicing
            benefit[b] = 0
            benefit[features.tie_partners(b)] = 0
            if len(self.benefits) >= max(16, KEPT_VALUES // max(1, len(benefit))):
                self.benefits.clear()
            self.benefits[b] = benefit
        return benefit

    @classmethod
    def of(cls, features: NetworkFeatures, demand: sp.csr_array,
           id_rank: np.ndarray | None = None) -> NetworkLoad:
        """``id_rank`` may be given when known (it changes only with the member ids)."""
        demand = sp.csr_array(demand)
        wanted = np.zeros(demand.shape[1], dtype=np.float64)
        wanted[np.unique(demand.indices)] = 1.0
        serving = (sp.csr_array(features.coverage_of).T @ wanted) > 0
        if id_rank is None:
            id_rank = id_ranks(features.projection.member_ids)
        return cls(demand, fair_share(features, demand), serving, id_rank)


def id_ranks(ids: list[str]) -> np.ndarray:
    """``rank[row]``: the place of each row's id in the order of ids."""
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(np.array(ids, dtype=object), kind="stable")] = np.arange(len(ids))
    return rank


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
    benefit = network.benefit_of(features, b)
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


def contributions(features: NetworkFeatures, demand: dict[int, float], candidates: np.ndarray,
                  allowed: dict[int, set[int]]) -> np.ndarray:
    """``K[k, j]``: how much candidate ``candidates[k]`` covers the j-th need of ``demand``
    (weight times coverage); 0 where ``allowed[k]`` (a rival's permitted needs, for the
    positions it names) leaves the need out."""
    needs = sorted(demand)
    if not needs or not len(candidates):
        return np.zeros((len(candidates), len(needs)))
    pick = np.zeros((features.coverage_t.shape[1], len(needs)))
    pick[needs, np.arange(len(needs))] = 1.0  # the needs' columns, in one pass over coverage
    cover = np.asarray(features.coverage_t @ pick)[candidates]
    out = cover * np.array([demand[d] for d in needs], dtype=np.float64)
    for k, keep in allowed.items():
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
