"""The consortium builder (:mod:`matching.consortium`) as a method of consortium completion, and
its one blend with the coordinator's history.

The builder answers an order: capabilities and quantities, a lead, members with capacities. On
CORDIS (:func:`~matching.evaluation.cordis.cordis_projection`) a query becomes such an order:

- **the order** of coordinator c in part P: the capabilities (activity type, country, programme
  experience) that c's past partners in P brought, each with its share s among them (weighted
  by joint projects; the projection's own rule for needs: at most ``MAX_NEEDS``, s >= 0.1),
  quantity ``max(1, round(s * m)) + [c has it]`` with m the median number of partners of c's
  past projects in P: the lead supplies what it has itself, so the rest is what it lacks;
  every level accepted (``min_level`` 1); rivalry ignored (``competitors="include"``: in
  CORDIS a type and a country in common are no rivalry);
- **capacities**: every organisation can fill one place of each of its capabilities
  (capacity 1), no hours stated;
- **the ranking**: the builder's best consortium (lead c, ``alternatives=0``), its members but
  the lead first, in the builder's order (largest share first, then id); then every other
  candidate by the fallback, the builder's own first aim for one member alone: the share of the
  order it could supply alone (``sum_r [it can serve r] / q_r / |R|``), then its mean level on
  those requirements (1e-3 weight) as the builder breaks ties by level.

The blend (written down before its test run, docs/evaluation.md): ``w * rank(builder) + (1 - w)
* rank(past partners first)``, per-row ranks (:func:`~matching.evaluation.cordis.rank_scores`),
w in ``BLEND_WEIGHTS`` chosen per part on validation projects only: projects of P starting in
cut - 1, graph of P's projects before cut - 1 (:func:`select_blend_weight`), by the largest mean
of validation P@10 and MRR (overall), the smaller w on a tie.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from typing import Any

import numpy as np
import scipy.sparse as sp

from matching.consortium import SUPPLY_COVERAGE, Order, Requirement, form_consortia
from matching.evaluation.cordis import CordisData, cordis_projection, rank_scores
from matching.projection import NetworkProjection
from matching.taxonomy import coverage_matrix

MAX_NEEDS = 8  # as cordis_projection's needs
MIN_SHARE = 0.1
BLEND_WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))  # 0: past partners alone, 1: builder
PICKED = 2.0  # the builder's picks score above every fallback (at most 1 + 1e-3 * 5)


def builder_projection(data: CordisData, graph: Any, cut: int, programme: str
                       ) -> NetworkProjection:
    """:func:`cordis_projection` with a capacity of 1 on every capability (one place each)."""
    p = cordis_projection(data, graph, cut, programme=programme)
    levels = sp.csr_array(p.levels)
    capacities = sp.csr_array((np.ones_like(levels.data, dtype=float), levels.indices,
                               levels.indptr), shape=levels.shape)
    return dataclasses.replace(p, capacities=capacities)


def past_projects(data: CordisData, cut: int, programme: str) -> list[frozenset[str]]:
    """The participants of each project of ``programme`` starting before ``cut``."""
    return [data.members[rcn] for rcn in data.projects(0, cut - 1, programme)]


def coordinator_order(graph: Any, p: NetworkProjection, coordinator: str,
                      past: list[frozenset[str]]) -> Order:
    """The order of ``coordinator`` (see the module doc) from ``graph``, ``p`` and ``past``
    (:func:`past_projects`): only projects before the cut are read."""
    partners = graph[coordinator]
    seen: Counter = Counter()
    for nb, attrs in partners.items():
        for c in p.levels[[p.member_index[nb]], :].nonzero()[1]:
            seen[p.capability_ids[c]] += attrs["weight"]
    total = sum(attrs["weight"] for attrs in partners.values()) or 1
    sizes = [len(members) - 1 for members in past if coordinator in members]
    m = statistics.median(sizes) if sizes else 1
    own = set(p.levels[[p.member_index[coordinator]], :].nonzero()[1].tolist())
    requirements = []
    for cid, count in sorted(seen.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_NEEDS]:
        share = count / total
        if share < MIN_SHARE:
            continue
        has = p.capability_index[cid] in own
        requirements.append(Requirement(cid, float(max(1, round(share * m)) + has), min_level=1))
    return Order(requirements, lead=coordinator, competitors="include")


def fallback_scores(p: NetworkProjection, order: Order) -> np.ndarray:
    """Per member of ``p``: the share of ``order`` it could supply alone, plus 1e-3 times its
    mean level on the requirements it can serve (in [0, 1.005])."""
    reqs = order.requirements
    if not reqs:
        return np.zeros(len(p.member_ids))
    S = coverage_matrix(p.taxonomy, p.capability_ids, rows=[r.capability for r in reqs])
    S = sp.csr_array(S)[[p.capability_index[r.capability] for r in reqs], :]  # rows by index
    serving = sp.csr_array((S >= SUPPLY_COVERAGE).astype(float))  # reqs x capabilities
    levels = sp.csr_array(p.levels)
    can = (levels > 0).astype(float) @ serving.T  # members x reqs: capabilities serving r
    can = np.asarray(can.todense() if sp.issparse(can) else can) > 0
    best_level = np.column_stack([
        (levels @ sp.diags_array(serving[[r], :].toarray().ravel())).max(axis=1).toarray().ravel()
        for r in range(len(reqs))])
    q = np.array([r.quantity for r in reqs])
    share = (can / q[None, :]).sum(axis=1) / len(reqs)
    n_can = can.sum(axis=1)
    mean_level = np.where(n_can > 0, (best_level * can).sum(axis=1) / np.maximum(n_can, 1), 0.0)
    return share + 1e-3 * mean_level


def builder_row(p: NetworkProjection, order: Order, nodes: list[str]) -> tuple[np.ndarray,
                                                                                 list[str]]:
    """Scores of ``nodes`` for one order: the builder's picks (but the lead) first in its order,
    then the fallback; and the picks' ids. An empty order (a coordinator without a past
    partner in the part: it ran its projects alone) asks the builder nothing: every candidate
    scores 0 and the shared tie order ranks them."""
    if not order.requirements:
        return np.zeros(len(nodes)), []
    best = form_consortia(p, order, alternatives=0)["best"]
    picks = [m["member"] for m in best["members"] if m["member"] != order.lead]
    fallback = fallback_scores(p, order)
    row = fallback[[p.member_index[v] for v in nodes]].copy()
    at = {v: i for i, v in enumerate(nodes)}
    for k, mid in enumerate(picks):
        row[at[mid]] = PICKED + (len(picks) - k)
    return row, picks


def builder_scores(data: CordisData, task: Any) -> np.ndarray:
    """A ``len(task.rows) x len(task.nodes)`` block: row r ranks every candidate for the
    coordinator ``task.nodes[task.rows[r]]`` by :func:`builder_row`."""
    p = builder_projection(data, task.graph, task.cut, task.programme)
    past = past_projects(data, task.cut, task.programme)
    out = np.empty((len(task.rows), len(task.nodes)))
    for r, i in enumerate(task.rows):
        coord = task.nodes[i]
        order = coordinator_order(task.graph, p, coord, past)
        out[r], _ = builder_row(p, order, task.nodes)
    return out


def blend(builder: np.ndarray, repeat: np.ndarray, weight: float) -> np.ndarray:
    """``weight * rank(builder) + (1 - weight) * rank(past partners first)``, per row."""
    return weight * rank_scores(builder) + (1.0 - weight) * rank_scores(repeat)


def select_blend_weight(data: CordisData, cut: int, programme: str
                        ) -> tuple[float, list[dict[str, float]]]:
    """The blend weight of ``programme`` at ``cut`` chosen on validation only: queries are the
    projects starting in ``cut - 1`` (graph before ``cut - 1``); the weight with the largest
    mean of P@10 and MRR (overall), the smaller on a tie. Returns it and the table per weight
    (empty table and weight 0 when the validation year has no query)."""
    from matching.evaluation.consortium import (consortium_metrics, consortium_scores,
                                                consortium_task)

    task = consortium_task(data, cut - 1, programme, end=cut - 1)
    if not task.projects:
        return 0.0, []
    scores = consortium_scores(data, task, engine=False)
    built = builder_scores(data, task)
    table = []
    for w in BLEND_WEIGHTS:
        per = consortium_metrics(task, blend(built, scores["repeat_partners"], w))["overall"]
        table.append({"weight": w, "precision": float(per["precision"].mean()),
                      "mrr": float(per["mrr"].mean()), "queries": len(task.projects)})
    best = max(table, key=lambda t: ((t["precision"] + t["mrr"]) / 2, -t["weight"]))
    return best["weight"], table
