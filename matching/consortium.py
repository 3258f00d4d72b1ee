"""Consortia for an order too big for one firm: who supplies how much, as an exact integer program.

"Mistrust vanishes usually with experience or with a big business order for one of the actors,
that cannot fulfill it due to lack of capacity": a town's bus-body builders took on a country's
fleet together. Given an order (capabilities and quantities a month), this module picks the
members that together cover as much of it as possible, with as few members as possible, holding
together by ties that already exist, at the best levels.

Only public data and capacities are read (capabilities, capacities, ties, sector, region, hours
stated for co-operation): never weaknesses, so any member may ask.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from matching.agents import AgentDirectory, gap_sentence
from matching.projection import NetworkProjection
from matching.rivalry import core_sets, rival_pairs
from matching.taxonomy import coverage_matrix

try:  # declared in pyproject.toml; an install made before it was added uses scipy's milp instead
    import highspy
except ImportError:  # pragma: no cover
    highspy = None

SUPPLY_COVERAGE = 0.8  # the capability, a synonym or a direct narrower one can deliver it
CORE_LEVEL = 3
POSITIVE_TIES = frozenset({"TRUSTS", "COLLABORATES_WITH", "SUPPLIES"})
MEMBER_HOURS = 4.0  # hours a month a consortium asks of each member: meetings, planning
LEAD_HOURS = 8.0  # and of its lead: the customer, the contract, the co-ordination
CANDIDATES_PER_REQUIREMENT = 40
CANDIDATE_SLACK = 6
TIME_LIMIT_S: float | None = None  # per integer program; None: to optimality (benchmarks bound it)
# Ties and levels only break ties between consortia of equal coverage and size; on a big order
# proving their optimum can take far longer than finding it, so each gets this long and the
# answer says whether it was proven (``exact``). A node limit would be deterministic, but each
# node of these programs costs a full LP: 200 nodes took longer than an unbounded solve.
TIE_BREAK_LIMIT_S = 0.5
# And the tie-breaks of one call (the best and its alternatives) that stop at their limit share
# this much: on a big order they are rarely proven in any time the answer can wait for (10,000
# members: ties and levels unproven after 5 s each), so once one has failed the alternatives keep
# the swap they were found by; a tie-break proven in its time costs the budget nothing, so on
# small networks (proven in milliseconds, however loaded the machine) it never binds.
TIE_BREAK_BUDGET_S = 0.5
SWAP_TRIALS = 40  # linear programs tried for an alternative by one swap (_Model.swapped)
COMPETITOR_POLICIES = ("include", "penalise", "exclude")


class OrderInvalid(ValueError):
    """An order that cannot be planned; ``path`` says which part."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True)
class Requirement:
    capability: str
    quantity: float  # units a month, in the capability's unit
    min_level: int = CORE_LEVEL


@dataclass(frozen=True)
class Order:
    requirements: Sequence[Requirement]
    lead: str | None = None
    competitors: str = "penalise"
    max_members: int | None = None


@dataclass(frozen=True)
class _Triple:
    """Member i can deliver requirement r through its capability c."""

    i: int  # candidate index
    c: int  # capability column
    r: int  # requirement index
    capacity: float
    level: float
    core: bool


def _label(p: NetworkProjection, cid: str) -> str:
    return p.taxonomy.nodes[cid].get("label") or cid


def _name(p: NetworkProjection, mid: str) -> str:
    return p.ties.nodes[mid].get("name") or mid


def hours_available(p: NetworkProjection, committed: Mapping[str, float]) -> np.ndarray:
    """Hours a month each member has left for co-operation; ``inf`` where none was stated."""
    left = np.where(np.isnan(p.hours), np.inf, p.hours)
    for mid, hours in committed.items():
        if mid in p.member_index:
            left[p.member_index[mid]] -= hours
    return left


def _check(p: NetworkProjection, order: Order) -> None:
    if not order.requirements:
        raise OrderInvalid("requirements", "an order needs at least one requirement")
    if order.competitors not in COMPETITOR_POLICIES:
        raise OrderInvalid("competitors", f"must be one of {', '.join(COMPETITOR_POLICIES)}")
    if order.lead is not None and order.lead not in p.member_index:
        raise OrderInvalid("lead", f"member {order.lead!r} is not in this network")
    if order.max_members is not None and order.max_members < 1:
        raise OrderInvalid("max_members", "must be at least 1")
    for r, req in enumerate(order.requirements):
        if req.capability not in p.capability_index:
            raise OrderInvalid(f"requirements[{r}].capability",
                               f"unknown capability {req.capability!r}")
        if not req.quantity > 0:
            raise OrderInvalid(f"requirements[{r}].quantity", "must be more than 0")


class _Problem:
    """The candidates, triples and constraint rows of one order."""

    def __init__(self, p: NetworkProjection, order: Order, available: np.ndarray):
        self.p, self.order = p, order
        S = coverage_matrix(p.taxonomy, p.capability_ids,
                            rows=[req.capability for req in order.requirements])
        units = [p.taxonomy.nodes[c].get("unit") for c in p.capability_ids]
        lead = p.member_index[order.lead] if order.lead is not None else None
        by_member: dict[int, list[tuple[int, int, float, float]]] = {}
        self.unsized: dict[int, list[str]] = {}
        self.no_time: dict[int, list[str]] = {}
        serving_of = []
        for req in order.requirements:
            d = p.capability_index[req.capability]
            row = S[[d], :]
            serving_of.append([c for c, cover in zip(row.indices.tolist(), row.data.tolist())
                               if cover >= SUPPLY_COVERAGE
                               and (units[c] == units[d] or not units[c] or not units[d])])
        # The serving columns only, sliced once and read column by column.
        columns = sorted({c for serving in serving_of for c in serving})
        at = {c: k for k, c in enumerate(columns)}
        levels = sp.csc_array(p.levels[:, columns]) if columns else None
        caps = sp.csc_array(p.capacities[:, columns]) if columns else None
        offers_of: list[dict[int, list[tuple[int, float, float]]]] = []
        kept: set[int] = set()
        for r, req in enumerate(order.requirements):
            offers: dict[int, list[tuple[int, float, float]]] = {}
            for c in serving_of[r]:
                k = at[c]
                rows = levels.indices[levels.indptr[k]:levels.indptr[k + 1]].tolist()
                values = levels.data[levels.indptr[k]:levels.indptr[k + 1]].tolist()
                sizes = dict(zip(caps.indices[caps.indptr[k]:caps.indptr[k + 1]].tolist(),
                                 caps.data[caps.indptr[k]:caps.indptr[k + 1]].tolist()))
                for i, level in zip(rows, values):
                    if level < req.min_level:
                        continue
                    size = sizes.get(i, 0.0)
                    if size <= 0:
                        self.unsized.setdefault(r, []).append(p.member_ids[i])
                        continue
                    if available[i] < (LEAD_HOURS if i == lead else MEMBER_HOURS):
                        self.no_time.setdefault(r, []).append(p.member_ids[i])
                        continue
                    offers.setdefault(i, []).append((c, float(size), level))
            offers_of.append(offers)
            kept.update(_largest(offers, req.quantity, p.member_ids))
        for i in kept:  # a kept member brings everything it can deliver, for any requirement
            for r, offers in enumerate(offers_of):
                for c, capacity, level in offers.get(i, ()):
                    by_member.setdefault(i, []).append((r, c, capacity, level))
        members = set(by_member)
        if lead is not None:
            members.add(lead)
        self.members = sorted(members, key=lambda i: p.member_ids[i])
        self.position = {i: k for k, i in enumerate(self.members)}
        core = dict(zip(self.members, core_sets(p, self.members)))
        self.triples = [_Triple(self.position[i], c, r, capacity, level, c in core[i])
                        for i in self.members for r, c, capacity, level in by_member.get(i, ())]
        self.lead = self.position[lead] if lead is not None else None
        # The same rule as suggestions (matching.rivalry), facilitators' verdicts included.
        self.rivals = rival_pairs(p, self.members) if order.competitors != "include" else []
        self.tie_pairs = self._tie_pairs()

    def _candidate_edges(self, kinds: frozenset[str]) -> list[tuple[int, int]]:
        """Candidate pairs joined by a tie of one of ``kinds``, each once, smaller first: only
        the candidates' own edges are read, never the whole network's."""
        p = self.p
        pairs: set[tuple[int, int]] = set()
        for a, b, kind in p.ties.out_edges([p.member_ids[i] for i in self.members], keys=True):
            ib = p.member_index.get(b, -1)
            if kind in kinds and ib in self.position:
                ka, kb = self.position[p.member_index[a]], self.position[ib]
                if ka != kb:
                    pairs.add((min(ka, kb), max(ka, kb)))
        return sorted(pairs)

    def _tie_pairs(self) -> list[tuple[int, int]]:
        return self._candidate_edges(POSITIVE_TIES)


def _largest(offers: dict[int, list[tuple[int, float, float]]], quantity: float,
             ids: list[str]) -> list[int]:
    """The candidates kept for one requirement: by largest capacity, then level, then id, the
    ``2k + CANDIDATE_SLACK`` first (at most ``CANDIDATES_PER_REQUIREMENT``), with k the fewest of
    them that could cover the quantity alone. Fewer members is the second aim, so smaller
    suppliers further down rarely matter, and the program stays small at 10,000 members."""
    size = {i: max(o[1] for o in found) for i, found in offers.items()}
    ranked = sorted(offers, key=lambda i: (-size[i], -max(o[2] for o in offers[i]), ids[i]))
    total, needed = 0.0, len(ranked)
    for k, i in enumerate(ranked, start=1):
        total += size[i]
        if total >= quantity:
            needed = k
            break
    return ranked[:min(CANDIDATES_PER_REQUIREMENT, 2 * needed + CANDIDATE_SLACK)]


class _Model:
    """The integer program of a ``_Problem``: variables y (member in), x (quantity of a triple),
    z (both members of a rival pair in, under ``penalise``), t (both ends of a tie in)."""

    def __init__(self, prob: _Problem):
        self.prob = prob
        n_y, n_x = len(prob.members), len(prob.triples)
        penalise = prob.order.competitors == "penalise"
        n_z = len(prob.rivals) if penalise else 0
        n_t = len(prob.tie_pairs)
        self.n_y, self.n_x, self.n_z, self.n_t = n_y, n_x, n_z, n_t
        self.n = n_y + n_x + n_z + n_t
        self.x0, self.z0, self.t0 = n_y, n_y + n_x, n_y + n_x + n_z
        reqs = prob.order.requirements
        rows: list[dict[int, float]] = []
        lower: list[float] = []
        upper: list[float] = []

        def add(row: dict[int, float], low: float, high: float) -> None:
            rows.append(row)
            lower.append(low)
            upper.append(high)

        by_capacity: dict[tuple[int, int], list[int]] = {}
        for k, t in enumerate(prob.triples):
            by_capacity.setdefault((t.i, t.c), []).append(k)
        for (i, c), ks in by_capacity.items():  # a capability's capacity is shared, only if in
            cap = prob.triples[ks[0]].capacity
            add({**{self.x0 + k: 1.0 for k in ks}, i: -cap}, -np.inf, 0.0)
        for r, req in enumerate(reqs):
            add({self.x0 + k: 1.0 for k, t in enumerate(prob.triples) if t.r == r}, 0.0,
                req.quantity)
        if prob.order.max_members is not None:
            add({i: 1.0 for i in range(n_y)}, 0.0, prob.order.max_members)
        core_of: dict[int, list[list[int]]] = {}  # member -> its core triples, per capability
        for (i, c), ks in by_capacity.items():
            core = [k for k in ks if prob.triples[k].core]
            if core:
                core_of.setdefault(i, []).append(core)
        for z, (a, b) in enumerate(prob.rivals):
            if not penalise:  # exclude: never both
                add({a: 1.0, b: 1.0}, -np.inf, 1.0)
                continue
            add({a: 1.0, b: 1.0, self.z0 + z: -1.0}, -np.inf, 1.0)
            for who in (a, b):  # with its rival in, a member supplies only outside its core offer
                if who == prob.lead:
                    continue  # the order is the lead's own business: its rivals give way
                for core in core_of.get(who, ()):
                    cap = prob.triples[core[0]].capacity
                    add({**{self.x0 + k: 1.0 for k in core}, self.z0 + z: cap}, -np.inf, cap)
        for e, (a, b) in enumerate(prob.tie_pairs):
            add({self.t0 + e: 1.0, a: -1.0}, -np.inf, 0.0)
            add({self.t0 + e: 1.0, b: -1.0}, -np.inf, 0.0)
        self.rows, self.lower, self.upper = rows, lower, upper
        self.coverage = np.zeros(self.n)
        self.levels = np.zeros(self.n)
        for k, t in enumerate(prob.triples):
            self.coverage[self.x0 + k] = 1.0 / reqs[t.r].quantity
            self.levels[self.x0 + k] = t.level / reqs[t.r].quantity
        self.members_row = np.r_[np.ones(n_y), np.zeros(self.n - n_y)]
        self.ties_row = np.r_[np.zeros(self.t0), np.ones(n_t)]
        upper_bounds = np.r_[np.ones(n_y), [t.capacity for t in prob.triples], np.ones(n_z + n_t)]
        lower_bounds = np.zeros(self.n)
        if prob.lead is not None:
            lower_bounds[prob.lead] = 1.0
        self.bounds = Bounds(lower_bounds, upper_bounds)
        self.integrality = np.r_[np.ones(n_y), np.zeros(n_x), np.ones(n_z + n_t)]
        self.timed_out = False
        self.size_proven = False  # coverage and size of the last solve proven optimal
        self.budget = TIE_BREAK_BUDGET_S  # seconds left for tie-breaks (see TIE_BREAK_BUDGET_S)
        self._lp: Any = None  # a highspy.Highs, see _relaxation
        self.matrix = _matrix(rows, self.n)
        self.lower_array, self.upper_array = np.array(lower), np.array(upper)
        self.triples_of: dict[int, list[int]] = {}
        for j, t in enumerate(prob.triples):
            self.triples_of.setdefault(t.i, []).append(j)
        self.rivals_of: dict[int, set[int]] = {}
        for a, b in prob.rivals:
            self.rivals_of.setdefault(a, set()).add(b)
            self.rivals_of.setdefault(b, set()).add(a)

    def solve(self, cuts: list[list[int]], start: np.ndarray | None = None
              ) -> np.ndarray | None:
        """Lexicographic optimum avoiding every member set in ``cuts``: most coverage, then
        fewest members, then most ties inside, then best quantity-weighted levels.

        ``start``: a solution avoiding ``cuts`` already known to be optimal on coverage and size
        (see ``swapped``); only ties and levels are then optimised, from it."""
        if not self.n:
            return None if cuts else np.zeros(0)
        rows, lower, upper = list(self.rows), list(self.lower), list(self.upper)
        for members in cuts:  # at least one of an earlier answer's members must go
            rows.append(dict.fromkeys(members, 1.0))
            lower.append(-np.inf)
            upper.append(len(members) - 1.0)
        objectives = [-self.coverage, self.members_row, -self.ties_row, -self.levels]

        def keep(stage: int, x: np.ndarray) -> None:
            """Hold stage ``stage``'s aim at the value ``x`` reaches, in every later stage."""
            row = (self.coverage, self.members_row, self.ties_row)[stage]
            value = float(row @ x)
            rows.append({j: float(v) for j, v in enumerate(row) if v})
            if stage == 0:  # coverage: at least as much
                lower.append(value - 1e-7 * max(1.0, abs(value)))
                upper.append(np.inf)
            elif stage == 1:  # members: at most as many
                lower.append(-np.inf)
                upper.append(round(value) + 0.5)
            else:  # ties: at least as many
                lower.append(round(value) - 0.5)
                upper.append(np.inf)

        x = start
        first = 2 if start is not None else 0
        for stage in range(first):
            keep(stage, x)
        for stage in range(first, len(objectives)):
            if stage > first:
                keep(stage - 1, x)
            if stage == 2 and start is None:
                self.size_proven = not self.timed_out
            limit = None
            if stage >= 2:
                limit = min(TIE_BREAK_LIMIT_S, self.budget)
                if limit < 0.005:  # budget spent: keep the answer, unproven
                    self.timed_out = True
                    break
            started, earlier = time.monotonic(), self.timed_out
            self.timed_out = False
            found = self._milp(objectives[stage], rows, lower, upper, limit=limit)
            if limit is not None and self.timed_out:  # not proven in its time: it pays
                self.budget -= time.monotonic() - started
            self.timed_out = self.timed_out or earlier
            if found is None:  # a tie-break that found nothing in its time keeps the last answer
                if stage >= 2 and x is not None:
                    break
                return None
            if x is not None and objectives[stage] @ found > \
                    objectives[stage] @ x + 1e-7 * max(1.0, abs(objectives[stage] @ x)):
                break  # a tie-break cut short found worse than what it started from
            x = found
        return x

    def swapped(self, x: np.ndarray, cuts: list[list[int]]) -> np.ndarray | None:
        """A solution as good as ``x`` on coverage and size that avoids every member set in
        ``cuts``: ``x``'s members with one swapped for a member outside, or None.

        Each cut only takes solutions away, so when ``x`` was optimal on coverage and size, any
        such swap is optimal on both for the next alternative with no search: only ties and
        levels are left to optimise. Each swap tried is one linear program (the quantities, with
        the members fixed), at most ``SWAP_TRIALS`` of them, the likeliest first: a member
        outside that can take over most of what the leaving one supplied."""
        prob = self.prob
        chosen = [k for k in range(self.n_y) if x[k] > 0.5]
        inside = set(chosen)
        target = float(self.coverage @ x)
        supplied: dict[int, dict[int, float]] = {k: {} for k in chosen}
        for j, t in enumerate(prob.triples):
            if t.i in inside and x[self.x0 + j] > 1e-9:
                supplied[t.i][t.r] = supplied[t.i].get(t.r, 0.0) + float(x[self.x0 + j])
        offer: dict[int, dict[int, float]] = {}
        spare: dict[int, float] = {}  # per requirement, capacity the members inside leave unused
        used: dict[tuple[int, int], float] = {}
        for j, t in enumerate(prob.triples):
            used[t.i, t.c] = used.get((t.i, t.c), 0.0) + float(x[self.x0 + j])
        for t in prob.triples:
            if t.i not in inside:
                can = offer.setdefault(t.i, {})
                can[t.r] = can.get(t.r, 0.0) + t.capacity
            else:
                spare[t.r] = spare.get(t.r, 0.0) + max(t.capacity - used[t.i, t.c], 0.0)
        cut_sets = [set(c) for c in cuts]
        trials = []
        for out in chosen:
            if out == prob.lead:
                continue
            rest = inside - {out}
            for into, can in offer.items():
                if self.rivals_of.get(into, set()) & rest:
                    continue
                if any(c <= rest | {into} for c in cut_sets):
                    continue
                left = sum(max(q - can.get(r, 0.0) - spare.get(r, 0.0), 0.0)
                           for r, q in supplied[out].items())
                taken = sum(min(q, can.get(r, 0.0)) for r, q in supplied[out].items())
                trials.append((round(left, 6), -round(taken, 6), out, into))
        for *_, out, into in sorted(trials)[:SWAP_TRIALS]:
            found = self._with_members((inside - {out}) | {into}, target)
            if found is not None:
                return found
        return None

    def _relaxation(self) -> Any:
        """The program's linear relaxation (most coverage), built once and kept: each swap only
        fixes the members and HiGHS starts from the last basis."""
        if self._lp is None:
            matrix = sp.csc_array(self.matrix)
            lp = highspy.HighsLp()
            lp.num_col_, lp.num_row_ = self.n, matrix.shape[0]
            lp.col_cost_ = -self.coverage
            lp.col_lower_, lp.col_upper_ = self.bounds.lb, self.bounds.ub
            inf = highspy.kHighsInf
            lp.row_lower_ = np.where(np.isinf(self.lower_array), -inf, self.lower_array)
            lp.row_upper_ = np.where(np.isinf(self.upper_array), inf, self.upper_array)
            lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
            lp.a_matrix_.start_ = matrix.indptr
            lp.a_matrix_.index_ = matrix.indices
            lp.a_matrix_.value_ = matrix.data
            self._lp = highspy.Highs()
            self._lp.setOptionValue("output_flag", False)
            self._lp.passModel(lp)
        return self._lp

    def _with_members(self, members: set[int], coverage: float) -> np.ndarray | None:
        """The quantities with exactly ``members`` in, if they reach ``coverage``; checked
        against every constraint row."""
        y = np.array([1.0 if k in members else 0.0 for k in range(self.n_y)])
        if highspy is None:  # the same program, built anew by scipy at each call
            lb, ub = self.bounds.lb.copy(), self.bounds.ub.copy()
            lb[:self.n_y] = ub[:self.n_y] = y
            result = milp(-self.coverage, integrality=np.zeros(self.n), bounds=Bounds(lb, ub),
                          constraints=LinearConstraint(self.matrix, self.lower_array,
                                                       self.upper_array))
            found, reached = result.x, None if result.x is None else -result.fun
        else:
            lp = self._relaxation()
            lp.changeColsBounds(self.n_y, np.arange(self.n_y, dtype=np.int32), y, y)
            lp.run()
            optimal = lp.getModelStatus() == highspy.HighsModelStatus.kOptimal
            found = lp.getSolution().col_value if optimal else None
            reached = -lp.getInfo().objective_function_value if optimal else None
        if found is None or reached < coverage - 1e-7 * max(1.0, coverage):
            return None
        x = np.array(found)
        x[:self.n_y] = y
        x[self.z0:self.t0] = np.ceil(x[self.z0:self.t0] - 1e-6)  # 1 only where both are in
        for e, (a, b) in enumerate(self.prob.tie_pairs):
            x[self.t0 + e] = 1.0 if a in members and b in members else 0.0
        values = self.matrix @ x
        tol = 1e-6
        if np.any(values < self.lower_array - tol) or np.any(values > self.upper_array + tol):
            return None
        return x

    def _milp(self, objective: np.ndarray, rows: list[dict[int, float]], lower: list[float],
              upper: list[float], limit: float | None = None) -> np.ndarray | None:
        constraints = None
        if rows:
            constraints = LinearConstraint(_matrix(rows, self.n), lower, upper)
        options: dict[str, Any] = {"mip_rel_gap": 0.0}
        limits = [t for t in (TIME_LIMIT_S, limit) if t is not None]
        if limits:
            options["time_limit"] = min(limits)
        result = milp(objective, integrality=self.integrality, bounds=self.bounds,
                      constraints=constraints, options=options)
        self.timed_out = self.timed_out or result.status == 1  # a time or node limit hit
        if result.x is None:
            return None
        x = np.array(result.x)
        x[:self.n_y] = np.round(x[:self.n_y])
        x[self.t0:] = np.round(x[self.t0:])
        return x


def _matrix(rows: list[dict[int, float]], n: int) -> sp.csr_array:
    r_idx = [r for r, row in enumerate(rows) for _ in row]
    c_idx = [c for row in rows for c in row]
    vals = [v for row in rows for v in row.values()]
    return sp.csr_array((vals, (r_idx, c_idx)), shape=(len(rows), n))


def form_consortia(projection: NetworkProjection, order: Order, *, alternatives: int = 2,
                   committed: Mapping[str, float] | None = None) -> dict[str, Any]:
    r"""The best consortium for ``order`` and up to ``alternatives`` others, each exact.

    Member i can deliver requirement r (capability d, quantity :math:`q_r` a month) through its
    capability c when c is d, a synonym or a direct narrower capability (coverage
    :math:`S_{dc} \ge 0.8`), in the same unit, at level :math:`\ge` the requirement's
    ``min_level``, with a declared capacity :math:`cap_{ic}` (shared by every requirement c
    serves). Members without the time a consortium asks (``MEMBER_HOURS``, the lead
    ``LEAD_HOURS``, beyond ``committed``) are left out. The program (``scipy.optimize.milp``,
    HiGHS, solved in three exact stages):

    .. math::

        \text{lex}\max \Big( \sum_r \frac{\sum_{ic} x_{icr}}{q_r},\;
              -\sum_i y_i,\; \sum_{ij \in T} t_{ij},\;
              \sum_{icr} level_{ic} \frac{x_{icr}}{q_r} \Big)
        \quad \text{s.t.} \quad \sum_r x_{icr} \le cap_{ic} \, y_i, \quad
        \sum_{ic} x_{icr} \le q_r, \quad \sum_i y_i \le \text{max\_members},
        \quad t_{ij} \le y_i, \, y_j

    with T the pairs tied by trust, collaboration or supply. Rivals (``matching.rivalry``: a
    confirmed rivalry or a COMPETES_WITH tie, or one market (sector and region, or a customer
    segment) and a core offer in common, unless a facilitator rejected it) never sit together under ``exclude``; under
    ``penalise`` they may, but then each supplies only requirements outside its core offers (:math:`x_{icr} \le cap_{ic} (1 - z_{ij})` for core c, with
    :math:`z_{ij} \ge y_i + y_j - 1`), except the lead: the order is its own business. Each
    alternative must drop at least one member of every earlier answer; it is first sought one
    swap away from the last answer (``_Model.swapped``): cuts only take solutions away, so a swap
    as good on coverage and size is optimal on both, proven with no search. Coverage and the number
    of members are always proven optimal; ties and levels are proven within
    ``TIE_BREAK_LIMIT_S`` each, ``TIE_BREAK_BUDGET_S`` in all (every small network and the
    seeds: at once), otherwise the best
    found is kept and ``exact`` is false. The
    program is exact over
    its candidates: for each requirement the largest suppliers, ``2k + 6`` of them with k the
    fewest that could cover it alone, at most ``CANDIDATES_PER_REQUIREMENT`` (``_largest``), each
    with everything it can deliver; on any network with no more suppliers than that, over all.
    """
    p = projection
    _check(p, order)
    available = hours_available(p, committed or {})
    if order.lead is not None and available[p.member_index[order.lead]] < LEAD_HOURS:
        raise OrderInvalid("lead", f"{_name(p, order.lead)} has "
                                   f"{max(available[p.member_index[order.lead]], 0):g} hours a "
                                   f"month left for co-operation; leading a consortium asks "
                                   f"{LEAD_HOURS:g}")
    prob = _Problem(p, order, available)
    model = _Model(prob)
    directory = AgentDirectory(p)
    answers: list[dict[str, Any]] = []
    cuts: list[list[int]] = []
    x = None
    for _ in range(1 + max(alternatives, 0)):
        # An alternative first tries one swap from the last answer: optimal on coverage and size
        # at once when that answer was (see _Model.swapped), else the full program.
        start = model.swapped(x, cuts) if x is not None and model.size_proven else None
        x = model.solve(cuts, start)
        if x is None:
            break
        chosen = [k for k in range(model.n_y) if x[k] > 0.5]
        answers.append({**_describe(prob, model, x, directory), "exact": not model.timed_out})
        model.timed_out = False
        if not chosen or (prob.lead is not None and chosen == [prob.lead]):
            break
        cuts.append(chosen)
    if not answers:  # nothing feasible: only when the lead alone breaks max_members
        answers.append({**_describe(prob, model, np.zeros(model.n), directory), "exact": True})
    return {"best": answers[0], "alternatives": answers[1:],
            "order": {"lead": order.lead, "competitors": order.competitors,
                      "max_members": order.max_members,
                      "requirements": [{"capability": r.capability, "quantity": r.quantity,
                                        "min_level": r.min_level,
                                        "unit": p.taxonomy.nodes[r.capability].get("unit")}
                                       for r in order.requirements]}}


def _describe(prob: _Problem, model: _Model, x: np.ndarray, directory: AgentDirectory
              ) -> dict[str, Any]:
    p, reqs = prob.p, prob.order.requirements
    chosen = [k for k in range(model.n_y) if x[k] > 0.5]
    ids = {k: p.member_ids[prob.members[k]] for k in chosen}
    supplies: dict[int, list[dict[str, Any]]] = {r: [] for r in range(len(reqs))}
    by_member: dict[int, list[tuple[int, float, int, float]]] = {k: [] for k in chosen}
    for j, t in enumerate(prob.triples):
        q = float(x[model.x0 + j])
        if q > 1e-6 and t.i in by_member:
            by_member[t.i].append((t.r, q, t.c, t.level))
    requirements, gaps = [], []
    for r, req in enumerate(reqs):
        for k in chosen:
            for rr, q, c, level in by_member[k]:
                if rr == r:
                    supplies[r].append({"member": ids[k], "quantity": round(q, 3),
                                        "capability": p.capability_ids[c], "level": int(level)})
        supplies[r].sort(key=lambda s: (-s["quantity"], s["member"]))
        covered = min(sum(s["quantity"] for s in supplies[r]), req.quantity)
        entry = {"capability": req.capability, "label": _label(p, req.capability),
                 "quantity": req.quantity, "covered": round(covered, 3),
                 "unit": p.taxonomy.nodes[req.capability].get("unit"),
                 "supplies": supplies[r]}
        requirements.append(entry)
        if covered < req.quantity - 1e-6:
            agents = directory.for_capability(req.capability)
            gaps.append({"capability": req.capability, "label": entry["label"],
                         "missing": round(req.quantity - covered, 3), "unit": entry["unit"],
                         "agents": agents,
                         "reason": _gap_reason(prob, r, agents, req.quantity - covered)})
    shares = {k: sum(q / reqs[r].quantity for r, q, _, _ in by_member[k]) / len(reqs)
              for k in chosen}
    lead = ids.get(prob.lead) if prob.lead is not None else None
    paths = _trust_paths(p, [ids[k] for k in chosen], lead)
    members: list[dict[str, Any]] = [{"member": ids[k], "name": _name(p, ids[k]), "share": round(shares[k], 4),
                "lead": ids[k] == lead,
                "hours_per_month": LEAD_HOURS if ids[k] == lead else MEMBER_HOURS,
                "trust_path": paths.get(ids[k], []),
                "reason": _member_reason(prob, k, ids, by_member[k], lead)}
               for k in chosen]
    members.sort(key=lambda m: (not m["lead"], -m["share"], m["member"]))
    inside = [(ids[a], ids[b]) for a, b in prob.tie_pairs if a in ids and b in ids]
    coverage = sum(e["covered"] / e["quantity"] for e in requirements) / len(reqs)
    return {"members": members, "requirements": requirements, "gaps": gaps,
            "coverage": round(coverage, 4), "ties_inside": len(inside),
            "tied_pairs": [list(pair) for pair in inside],
            "reason": _consortium_reason(p, members, coverage, len(inside), gaps)}


def _positive_neighbours(p: NetworkProjection, mid: str) -> set[str]:
    """Members tied to ``mid`` by trust, collaboration or supply, in either direction."""
    out = {b for _, b, kind in p.ties.out_edges(mid, keys=True) if kind in POSITIVE_TIES}
    out.update(a for a, _, kind in p.ties.in_edges(mid, keys=True) if kind in POSITIVE_TIES)
    out.discard(mid)
    return {m for m in out if m in p.member_index}


def _trust_paths(p: NetworkProjection, members: list[str], lead: str | None
                 ) -> dict[str, list[str]]:
    """Per member, the shortest chain of trust, collaboration or supply ties to the lead (or to
    the best-tied member when there is none), through anyone in the network, at most 3 steps;
    among chains of equal length the one through the smallest ids. A breadth-first search from
    the hub that reads only the ties it reaches (at 10,000 members, building a graph of the
    whole network took longer than the integer program)."""
    if not members:
        return {}
    inside = set(members)
    if lead is None:
        known = {m: len(_positive_neighbours(p, m) & inside) for m in members}
        hub = max(sorted(members), key=lambda m: known[m])
    else:
        hub = lead
    paths = {hub: [hub]}
    frontier = [hub]
    for _ in range(3):
        if inside <= paths.keys():
            break
        following = []
        for node in frontier:
            for other in sorted(_positive_neighbours(p, node)):
                if other not in paths:
                    paths[other] = paths[node] + [other]
                    following.append(other)
        frontier = following
    return {m: paths.get(m, []) for m in members}


def _gap_reason(prob: _Problem, r: int, agents: list[dict[str, Any]], missing: float) -> str:
    p, req = prob.p, prob.order.requirements[r]
    what = _label(p, req.capability)
    notes = []
    if prob.unsized.get(r):
        names = ", ".join(_name(p, m) for m in sorted(set(prob.unsized[r]))[:3])
        notes.append(f"{names} could deliver {what} but declared no capacity")
    if prob.no_time.get(r):
        names = ", ".join(_name(p, m) for m in sorted(set(prob.no_time[r]))[:3])
        notes.append(f"{names} have no time left for co-operation")
    covered = prob.order.requirements[r].quantity - missing
    if covered <= 1e-6 and agents:
        base = gap_sentence(p, req.capability, agents)
    else:
        base = f"The network can deliver {covered:,.4g} of the {req.quantity:,.4g} asked of {what}"
        if agents:
            base += "; " + ", ".join(f"{a['name']} ({a['kind']})" for a in agents) + \
                (" offers" if len(agents) == 1 else " offer") + " it"
        base += "."
    return base + (" (" + "; ".join(notes) + ")" if notes else "")


def _member_reason(prob: _Problem, k: int, ids: dict[int, str],
                   supplied: list[tuple[int, float, int, float]], lead: str | None) -> str:
    p, reqs = prob.p, prob.order.requirements
    parts = []
    if ids[k] == lead:
        parts.append("leads the order")
    for r, q, c, level in sorted(supplied):
        unit = p.taxonomy.nodes[reqs[r].capability].get("unit") or "units"
        parts.append(f"supplies {q:,.4g} of {reqs[r].quantity:,.4g} {unit} of "
                     f"{_label(p, reqs[r].capability)} a month (level {level:g})")
    tied = sorted(ids[b if a == k else a] for a, b in prob.tie_pairs
                  if k in (a, b) and a in ids and b in ids)
    if tied:
        parts.append("already works with or trusts " + ", ".join(_name(p, m) for m in tied))
    return f"{_name(p, ids[k])} " + "; ".join(parts or ["is in"])


def _consortium_reason(p: NetworkProjection, members: list[dict[str, Any]], coverage: float,
                       ties: int, gaps: list[dict[str, Any]]) -> str:
    if not members:
        return "No member can deliver any part of this order: look outside the network."
    text = (f"{len(members)} member(s) cover {coverage:.0%} of the order, held together by "
            f"{ties} existing tie(s)")
    if gaps:
        text += "; still missing: " + ", ".join(g["label"] for g in gaps)
    return text + "."
