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
from matching.rows import gathered, transposed



@dataclass(frozen=True)
class Load:
    """How many members a provider can be #1 for, and whether the query member is among them."""

    askers: int  # members it would be a new partner for, with a benefit
    quota: int
    among_first: bool  # the query member is one of its first ``quota`` askers

    @property
    def busy(self) -> bool:
        """Past its quota, and the query member is not among its first ``quota`` askers."""
        return self.askers > self.quota and not self.among_first


@dataclass(frozen=True)
class Providing:
    """One provider's askers in short: how many, its quota, and the last of its first
    ``quota`` askers (its benefit and id rank; None when every asker fits)."""

    askers: int
    quota: int
    cut: tuple[float, int] | None

    def takes(self, benefit: float, rank: int) -> bool:
        """Whether an asker with this benefit and id rank is among the first ``quota``."""
        if benefit <= 0:
            return False
        if self.cut is None:
            return True
        value, last = self.cut
        return benefit > value or (benefit == value and rank <= last)


class Providers:
    """Every counted provider's askers in short (a ``Providing`` each), as arrays over member
    rows: an edit carries them across in a few array operations (``move``), where a dict of
    ``Providing`` took a Python loop over every provider kept and every one whose askers moved
    (about 1,000 per member edit at 10k: 0.7-1 ms of each edit's apply, in every process)."""

    def __init__(self, n: int) -> None:
        self.known = np.zeros(n, dtype=bool)
        self.askers = np.zeros(n, dtype=np.int64)
        self.quota = np.zeros(n, dtype=np.int64)
        self.has_cut = np.zeros(n, dtype=bool)
        self.cut_value = np.zeros(n, dtype=np.float64)  # (the benefits' own values, exactly)
        self.cut_rank = np.zeros(n, dtype=np.int64)

    def __len__(self) -> int:
        return int(np.count_nonzero(self.known))

    def __contains__(self, b: int) -> bool:
        return b < len(self.known) and bool(self.known[b])

    def get(self, b: int) -> Providing | None:
        if b >= len(self.known) or not self.known[b]:
            return None
        cut = (float(self.cut_value[b]), int(self.cut_rank[b])) if self.has_cut[b] else None
        return Providing(int(self.askers[b]), int(self.quota[b]), cut)

    def __setitem__(self, b: int, providing: Providing) -> None:
        if b >= len(self.known):
            self.grow(b + 1)
        self.known[b] = True
        self.askers[b], self.quota[b] = providing.askers, providing.quota
        self.has_cut[b] = providing.cut is not None
        self.cut_value[b], self.cut_rank[b] = providing.cut or (0.0, 0)

    def as_dict(self) -> dict[int, Providing]:
        """Every provider counted, by row."""
        return {b: self.get(b) for b in np.flatnonzero(self.known).tolist()}

    def grow(self, n: int) -> None:
        """Room for ``n`` rows (members added since)."""
        for name in ("known", "askers", "quota", "has_cut", "cut_value", "cut_rank"):
            old = getattr(self, name)
            if len(old) < n:
                setattr(self, name, np.concatenate([old, np.zeros(n - len(old), old.dtype)]))

    def forget(self, rows: np.ndarray) -> None:
        self.known[rows[rows < len(self.known)]] = False

    def move(self, rows: np.ndarray, before: np.ndarray, after: np.ndarray, rank: int) -> None:
        """What providers ``rows`` cover for one asker (id rank ``rank``) moved from ``before``
        to ``after``: their askers updated, exactly as counting them all again would give them,
        when the asker did not cross a provider's cut (nor was its cut): its first ``quota``
        askers are then the same ones. Where it did, the provider is forgotten (only a count can
        tell the new cut). Call ``settle`` once every asker's moves are in."""
        self.askers[rows] += (after > 0).astype(np.int64) - (before > 0)
        cut, value, last = self.has_cut[rows], self.cut_value[rows], self.cut_rank[rows]

        def takes(benefit: np.ndarray) -> np.ndarray:  # (``Providing.takes``, with a cut)
            return (benefit > 0) & ((benefit > value) | ((benefit == value) & (rank <= last)))

        crossed = cut & (((before == value) & (rank == last)) | (takes(before) != takes(after)))
        self.known[rows[crossed]] = False

    def settle(self, rows: np.ndarray) -> None:
        """After ``move``: a provider whose askers now fit its quota has no cut; one past its
        quota without a cut before must be counted."""
        rows = rows[self.known[rows]]
        fits = self.askers[rows] <= self.quota[rows]
        self.known[rows[~fits & ~self.has_cut[rows]]] = False
        self.has_cut[rows[fits]] = False


@dataclass
class NetworkLoad:
    """What every provider's load reads, computed once per state of the network: the demand
    counted (full or needs only, members x capabilities), the fair share, which capabilities
    serve some demand, and the members' order by id (ties between askers go by id, never by
    row)."""

    demand: sp.csr_array  # members x capabilities
    demand_t: sp.csr_array  # its transpose, capabilities x members
    share: int
    serving: np.ndarray  # serving[c]: offering c covers something some member wants
    id_rank: np.ndarray
    providing: Providers = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.providing = Providers(self.demand.shape[0])

    def benefit_of(self, features: NetworkFeatures, b: int) -> np.ndarray:
        """``benefit[m]``: what provider row ``b`` covers of what member m wants (0 for itself
        and its partners)."""
        covers = features.coverage_t  # row b: how well b covers each capability
        lo, hi = covers.indptr[b], covers.indptr[b + 1]
        # The demand for what b covers only: its capabilities' rows of the transpose.
        benefit = gathered(self.demand_t, covers.indices[lo:hi], covers.data[lo:hi])
        benefit[b] = 0
        benefit[features.tie_partners(b)] = 0
        return benefit

    def benefit_to(self, features: NetworkFeatures, a: int) -> np.ndarray:
        """``benefit[b]``: what each provider row b covers of what member ``a`` wants, the same
        values ``benefit_of(b)[a]`` holds (the same products summed in the same order of
        capabilities), for every provider at once."""
        lo, hi = self.demand.indptr[a], self.demand.indptr[a + 1]
        benefit = gathered(features.coverage, self.demand.indices[lo:hi],
                           self.demand.data[lo:hi])
        benefit[a] = 0
        benefit[features.tie_partners(a)] = 0  # positive ties are symmetric
        return benefit

    def of_provider(self, features: NetworkFeatures, b: int) -> Providing:
        """Provider ``b``'s askers in short, kept until the network changes (a few numbers per
        provider)."""
        providing = self.providing.get(b)
        if providing is None:
            providing = self.providing[b] = self._providing(
                self.benefit_of(features, b), self._quota(features, b))
        return providing

    def count(self, features: NetworkFeatures, providers: list[int]) -> None:
        """Count the askers of those of ``providers`` not counted yet, in one pass over their
        demand: the numbers ``of_provider`` keeps, each benefit summed in the same order."""
        missing = [b for b in dict.fromkeys(providers) if b not in self.providing]
        if len(missing) < 2:
            return
        covers, demand_t = features.coverage_t, self.demand_t
        n = demand_t.shape[1]
        spans = [(covers.indptr[b], covers.indptr[b + 1]) for b in missing]
        which = np.concatenate([covers.indices[lo:hi] for lo, hi in spans]).astype(np.int64)
        weights = np.concatenate([covers.data[lo:hi] for lo, hi in spans])
        starts = demand_t.indptr[which].astype(np.int64)
        lengths = demand_t.indptr[which + 1] - starts
        ends = np.cumsum(lengths)
        positions = np.repeat(starts - (ends - lengths), lengths)
        positions += np.arange(len(positions))
        members = demand_t.indices[positions]
        values = demand_t.data[positions] * np.repeat(np.asarray(weights, np.float64), lengths)
        # Provider k's entries: its capabilities' rows of the demand, in their order, as
        # ``benefit_of`` sums them (one provider at a time: a row fits the cache).
        bounds = [0, *np.concatenate([[0], ends])[np.cumsum([hi - lo for lo, hi in spans])].tolist()]
        for k, b in enumerate(missing):
            lo, hi = bounds[k], bounds[k + 1]
            benefit = np.bincount(members[lo:hi], weights=values[lo:hi], minlength=n)
            benefit[b] = 0
            benefit[features.tie_partners(b)] = 0
            self.providing[b] = self._providing(benefit, self._quota(features, b))

    def _quota(self, features: NetworkFeatures, b: int) -> int:
        quota = declared_capacity(features, b, self.serving)
        return self.share if quota is None else quota

    def _providing(self, benefit: np.ndarray, quota: int) -> Providing:
        """A provider's askers in short from what it covers of each member's demand."""
        asking = benefit > 0
        askers = int(np.count_nonzero(asking))
        if askers <= quota:
            return Providing(askers, quota, None)
        if quota == 1:  # the usual quota (the fair share is 1 where providers outnumber
            # askers): the best asker, ties by id
            value = benefit.max()
            return Providing(askers, 1, (float(value),
                                         int(self.id_rank[benefit == value].min())))
        rows = np.flatnonzero(asking)
        values = benefit[rows]
        value = np.partition(values, len(rows) - quota)[len(rows) - quota]
        before = int(np.count_nonzero(values > value))  # fewer than quota
        tied = np.sort(self.id_rank[rows[values == value]])
        return Providing(askers, quota, (float(value), int(tied[quota - before - 1])))

    @classmethod
    def of(cls, features: NetworkFeatures, demand: sp.csr_array,
           id_rank: np.ndarray | None = None, demand_t: sp.csr_array | None = None
           ) -> NetworkLoad:
        """``id_rank`` and ``demand_t`` may be given when known (the features keep the
        transposed demands; the ids change only with the members)."""
        demand = sp.csr_array(demand)
        if demand_t is None:
            demand_t = transposed(demand)
        wanted = (np.bincount(demand.indices, minlength=demand.shape[1]) > 0).astype(np.float64)
        serving = (sp.csr_array(features.coverage_of).T @ wanted) > 0
        if id_rank is None:
            id_rank = id_ranks(features.projection.member_ids)
        return cls(demand, demand_t, fair_share(features, demand), serving, id_rank)


def id_ranks(ids: list[str]) -> np.ndarray:
    """``rank[row]``: the place of each row's id in the order of ids."""
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(np.array(ids, dtype=object), kind="stable")] = np.arange(len(ids))
    return rank


def fair_share(features: NetworkFeatures, demand: sp.csr_array) -> int:
    """``ceil(A / P)``: A members with some ``demand``, P members covering some of it."""
    demand = sp.csr_array(demand)
    asking = np.diff(demand.indptr) > 0
    wanted = np.bincount(demand.indices, minlength=demand.shape[1]).astype(np.float64)
    covering = sp.csr_array(features.coverage_t) @ (wanted > 0).astype(np.float64)
    providers = int(np.count_nonzero(covering))
    return max(1, math.ceil(int(asking.sum()) / max(1, providers)))


def provider_load(features: NetworkFeatures, b: int, network: NetworkLoad,
                  a: int | None = None, benefit_to_a: np.ndarray | None = None) -> Load:
    """The load of provider row ``b`` and whether member row ``a`` is among its first askers
    (see the module docstring); ``benefit_to_a`` is ``network.benefit_to(features, a)`` when
    the caller has it."""
    providing = network.of_provider(features, b)
    among = False
    if a is not None:
        if benefit_to_a is None:
            benefit_to_a = network.benefit_to(features, a)
        among = providing.takes(float(benefit_to_a[b]), int(network.id_rank[a]))
    return Load(askers=providing.askers, quota=providing.quota, among_first=among)


def declared_capacity(features: NetworkFeatures, b: int, serving: np.ndarray) -> int | None:
    """What provider row ``b`` can serve by its declared capacities: the sum over its
    capabilities that serve some member's demand (``serving``; one unit a partner at least),
    when every one of them declares a capacity; None otherwise."""
    p = features.projection
    if b >= p.capacities.shape[0] or p.capacities.indptr[b] == p.capacities.indptr[b + 1]:
        return None  # no capacity declared: none of its capabilities has one
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
    coverage = features.coverage  # capability x member: the needs' rows, nothing else
    cover = np.zeros((len(candidates), len(needs)))
    place = np.full(coverage.shape[1], -1, dtype=np.int64)
    place[candidates] = np.arange(len(candidates))
    for j, d in enumerate(needs):
        lo, hi = coverage.indptr[d], coverage.indptr[d + 1]
        at = place[coverage.indices[lo:hi]]
        cover[at[at >= 0], j] = coverage.data[lo:hi][at >= 0]
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
    counts = np.zeros(gains.shape[1])
    adjusted = scores - (gains * (1 - repeat_discount ** counts)).sum(axis=1)
    # A few array operations a place (a list is built for every suggestion): the entries
    # taken and, for the first place, the busy ones are out of the running as -inf.
    values = np.round(adjusted, 12)
    first = np.where(busy, -np.inf, values) if not busy.all() else values
    for position in range(min(limit, len(scores))):
        pool = first if position == 0 else values
        best_options = np.flatnonzero(pool == pool.max())
        best = int(best_options[0] if len(best_options) == 1 else
                   best_options[np.argmin(rank[best_options])])
        chosen.append((best, float(adjusted[best])))
        covering = gains[best] > 0
        if covering.any():  # the discounts of the needs it covers grow
            counts += covering
            adjusted = scores - (gains * (1 - repeat_discount ** counts)).sum(axis=1)
            values = np.round(adjusted, 12)
        for taken, _ in chosen:
            values[taken] = -np.inf
    return chosen
