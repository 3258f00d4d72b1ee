"""A per-query gated blend for the CORDIS benchmark: no single baseline to hide behind.

The learned ranker of :mod:`matching.evaluation.cordis` was mostly preferential attachment
(issue 14). Here every query gets a rank blend of six components, with weights that depend on
how embedded the query is in the pre-cut graph (its degree, in three groups):

- ``pa``, ``aa``, ``ra``: preferential attachment, Adamic-Adar, resource allocation;
- ``activity``: a node-level forecast of the candidate's number of new partners in the next
  window, from its activity before the cut (on the node
  features of :data:`~matching.evaluation.cordis.NODE_FEATURES`, a Poisson regression);
- ``learned``: the learned pair ranker (unblended);
- ``engine``: the engine's hand score (complementarity of capabilities and needs).

Every weight and threshold is chosen on pre-cut validation windows (:func:`fit_gate`); the
test split is only scored.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The blend's components, in the order of every weight vector.
GATE_COMPONENTS = ("pa", "aa", "ra", "activity", "learned", "engine")
#: Weight grid step: every vector of multiples of it summing to 1 (126 vectors for 6 components).
GATE_STEP = 0.25
#: Query groups by pre-cut degree: the tertiles of the query degrees of a validation window.
GATE_QUANTILES = (1 / 3, 2 / 3)


def weight_grid(n_components: int = len(GATE_COMPONENTS), step: float = GATE_STEP
                ) -> np.ndarray:
    """Every vector of ``n_components`` non-negative multiples of ``step`` summing to 1, in a
    fixed (lexicographic) order; shape (count, n_components)."""
    units = round(1 / step)
    rows = [c for c in itertools.product(range(units + 1), repeat=n_components)
            if sum(c) == units]
    return np.array(rows, np.float64) / units


def fast_query_metrics(scores: np.ndarray, query_rows: Sequence[int], allowed: np.ndarray,
                       relevant: Sequence[set[int]], k: int = 10,
                       tie_seed: int = 0) -> dict[str, np.ndarray]:
    """Per query, P@k and reciprocal rank, ranked exactly as
    :func:`~matching.evaluation.ranking.rank_matrix` does (higher first, non-finite last,
    ties in the order of the permutation ``tie_seed``), vectorised over queries."""
    query_rows = np.asarray(query_rows)
    s = scores[query_rows].astype(np.float64)
    s = np.where(np.isfinite(s), s, -np.inf)
    n_rows, n_cols = s.shape
    tiebreak = np.random.default_rng(tie_seed).permutation(n_cols)
    # disallowed columns go behind every allowed one (allowed -inf included)
    key_allowed = (~allowed).astype(np.int8)
    order = np.lexsort((np.broadcast_to(tiebreak, s.shape), -s, key_allowed), axis=1)
    rel = np.zeros((n_rows, n_cols), bool)
    for i, r in enumerate(relevant):
        rel[i, list(r)] = True
    hits = np.take_along_axis(rel, order, axis=1)
    precision = hits[:, :k].sum(axis=1) / k
    has = hits.any(axis=1)
    rr = np.where(has, 1.0 / (hits.argmax(axis=1) + 1), 0.0)
    return {"precision": precision, "mrr": rr}


def degree_groups(degrees: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Group index per query: 0 for degree <= thresholds[0], 1 up to thresholds[1], then 2."""
    return np.searchsorted(np.asarray(thresholds, np.float64), np.asarray(degrees, np.float64),
                           side="left")


def blend(ranks: Mapping[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Σ_c weights[c] x ranks[c] (rows = queries), components in :data:`GATE_COMPONENTS` order."""
    out = np.zeros_like(next(iter(ranks.values())), dtype=np.float64)
    for w, name in zip(weights, GATE_COMPONENTS):
        if w:
            out += w * ranks[name]
    return out


@dataclass
class GateWindow:
    """What one validation window contributes: per-row ranks of every component over its
    queries, the ranking inputs, each query's degree and whether it is a company."""

    window: tuple[int, int]
    ranks: dict[str, np.ndarray]  # component -> (n_queries, n_candidates)
    allowed: np.ndarray
    relevant: list[set[int]]
    degree: np.ndarray
    company: np.ndarray


@dataclass
class GatedRanker:
    """Degree thresholds, one weight vector per group and how they were chosen."""

    thresholds: tuple[float, float]
    weights: list[np.ndarray]
    validation: list[dict[str, Any]] = field(default_factory=list)

    def score(self, ranks: Mapping[str, np.ndarray], degrees: np.ndarray) -> np.ndarray:
        """Scores of the rows of ``ranks`` (one query per row, ``degrees`` its pre-cut degree)."""
        groups = degree_groups(degrees, self.thresholds)
        out = np.zeros_like(ranks[GATE_COMPONENTS[0]], dtype=np.float64)
        for g, w in enumerate(self.weights):
            rows = groups == g
            if rows.any():
                out[rows] = blend({c: r[rows] for c, r in ranks.items()}, w)
        return out


def _group_score(metrics: Mapping[str, np.ndarray], rows: np.ndarray,
                 company: np.ndarray) -> float:
    """(P@10 + MRR over the group + P@10 + MRR over its companies) / 2; a group without a
    company query counts its overall figures twice."""
    def part(mask: np.ndarray) -> float:
        return float(metrics["precision"][mask].mean() + metrics["mrr"][mask].mean())

    comp = rows & company
    return (part(rows) + (part(comp) if comp.any() else part(rows))) / 2


def fit_gate(windows: Sequence[GateWindow], k: int = 10,
             grid: np.ndarray | None = None) -> GatedRanker:
    """Choose the degree thresholds (tertiles of the first window's query degrees) and, per
    group, the weight vector of ``grid`` with the best mean :func:`_group_score` over the
    windows (ties: the first vector in grid order)."""
    grid = weight_grid() if grid is None else grid
    thresholds = tuple(float(x) for x in np.quantile(windows[0].degree, GATE_QUANTILES))
    n_groups = len(thresholds) + 1
    totals = np.zeros((len(grid), n_groups))
    counts = np.zeros((len(windows), n_groups), int)
    for wi, win in enumerate(windows):
        groups = degree_groups(win.degree, thresholds)
        counts[wi] = np.bincount(groups, minlength=n_groups)
        rows_of = [groups == g for g in range(n_groups)]
        for vi, weights in enumerate(grid):
            scores = blend(win.ranks, weights)
            metrics = fast_query_metrics(scores, np.arange(len(scores)), win.allowed,
                                         win.relevant, k)
            for g in range(n_groups):
                if rows_of[g].any():
                    totals[vi, g] += _group_score(metrics, rows_of[g], win.company)
    chosen, validation = [], []
    for g in range(n_groups):
        n_windows = max(1, int((counts[:, g] > 0).sum()))
        mean = totals[:, g] / n_windows
        best = int(np.argmax(mean))  # first maximum: grid order
        chosen.append(grid[best])
        validation.append({"group": g, "queries": counts[:, g].tolist(),
                           "weights": dict(zip(GATE_COMPONENTS, grid[best].tolist())),
                           "score": float(mean[best]),
                           "score_pa_only": float(mean[_index_of(grid, "pa")])})
    return GatedRanker(thresholds, chosen, validation)


def _index_of(grid: np.ndarray, component: str) -> int:
    """Row of ``grid`` that puts all weight on ``component``."""
    target = np.zeros(len(GATE_COMPONENTS))
    target[GATE_COMPONENTS.index(component)] = 1.0
    return int(np.flatnonzero((grid == target).all(axis=1))[0])


def fit_activity_forecast(node: np.ndarray, new_partners: np.ndarray) -> Any:
    """A Poisson regression (log link, standardised features, small L2 penalty) of a
    candidate's number of new partners in a window on its pre-window node features: a
    multiplicative model of activity (the node features are mostly log counts)."""
    from sklearn.linear_model import PoissonRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler(), PoissonRegressor(alpha=1e-3, max_iter=1000))
    return model.fit(node, new_partners)


# ---------------------------------------------------------------------------------------------
# On the CORDIS benchmark (features and windows of matching.evaluation.cordis)
# ---------------------------------------------------------------------------------------------
def _new_partner_counts(split: Any) -> np.ndarray:
    """Per candidate of a window's split, its number of new partners (0 if not a query)."""
    counts = np.zeros(len(split.candidates))
    for q, rel in zip(split.queries, split.relevant):
        counts[q] = len(rel)
    return counts


def _query_info(data: Any, split: Any) -> tuple[np.ndarray, np.ndarray]:
    from matching.evaluation.cordis import COMPANY

    pics = [split.candidates[q] for q in split.queries]
    degree = np.array([split.graph.degree(p) for p in pics], np.float64)
    company = np.array([data.org_type[p] == COMPANY for p in pics], bool)
    return degree, company


def _component_ranks(features: Any, learned_rank: np.ndarray, forecast: np.ndarray,
                     rows: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row ranks of every component over the candidates ``rows`` (learned already
    ranked)."""
    from matching.evaluation.cordis import rank_scores

    q = np.asarray(rows)
    pair = features.pair
    activity = np.broadcast_to(forecast, (len(q), len(forecast)))
    return {"pa": rank_scores(pair["log_pa"][q]), "aa": rank_scores(pair["aa"][q]),
            "ra": rank_scores(pair["ra"][q]), "activity": rank_scores(activity),
            "learned": learned_rank[q], "engine": rank_scores(pair["engine_hand_score"][q])}


def _forecast(train: Any, target: Any) -> np.ndarray:
    model = fit_activity_forecast(train.node, _new_partner_counts(train.split))
    return model.predict(target.node)


def cordis_fit_gate(data: Any, ranker: Any, cache: Mapping, learned_val: Mapping,
                    k: int = 10) -> GatedRanker:
    """The gate for one cut, on the learned ranker's own validation windows: for window (t, v)
    the components are the window's PA, AA, RA and engine score, the activity forecast fitted
    on window (t - h, h) and the selected learned model fitted there (h = the ranker's
    horizon). Only pre-cut windows are read (``cache`` holds their features)."""
    h = ranker.horizon
    windows = []
    for t, v in ranker.validation_windows:
        val = cache[(t, v)]
        learned = learned_val[(t, v)][(ranker.name, h)]
        ranks = _component_ranks(val, learned, _forecast(cache[(t - h, h)], val),
                                 np.asarray(val.split.queries))
        degree, company = _query_info(data, val.split)
        windows.append(GateWindow((t, v), ranks, val.split.allowed, val.split.relevant,
                                  degree, company))
    return fit_gate(windows, k)


def cordis_gate_scores(gate: GatedRanker, ranker: Any, features: Any, cache: Mapping
                       ) -> np.ndarray:
    """Candidate x candidate scores of the gate on a (test) split: the activity forecast and
    the learned model fitted on the last pre-cut window (cut - h, h); every candidate's row is
    scored (the ROC-AUC reads both directions of a pair), grouped by its pre-cut degree."""
    from matching.evaluation.cordis import predict_scores, rank_scores

    split = features.split
    h = ranker.horizon
    learned = rank_scores(predict_scores(ranker.model, features))
    n = len(split.candidates)
    ranks = _component_ranks(features, learned, _forecast(cache[(split.cut - h, h)], features), np.arange(n))
    degree = np.array([split.graph.degree(c) for c in split.candidates], np.float64)
    return gate.score(ranks, degree)
