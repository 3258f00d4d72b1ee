"""A ranker over per-query ranks, trained on every pre-cut window pooled (issue 14, the held-out
test at cut 2020).

The learned ranker of :mod:`matching.evaluation.cordis` and the horizon-matched ranker of
:mod:`matching.evaluation.horizon` learn from raw features (degrees, project counts, years of
activity) that grow with calendar time, so a model fitted on an early window reads a later
graph as if every organisation were more active than any it was trained on; each was also
fitted on one window, and the horizon-matched ranker leaned on one baseline that one window
chose. Here every feature is made comparable across years and the windows are pooled:

- each candidate-side feature (the candidate's activity, the pair's structural and engine
  scores) becomes its **rank among the query's candidates**, in (0, 1]: a candidate's share of
  the list it beats. Every structural baseline's order is a monotone function of one such
  column, so the model can reproduce any of them, and with the query's own features beside
  them it can switch between them by query (gating by how embedded the query is);
- the query's own node features become its **rank among the window's candidates** (how active
  it is compared with the others of its time, not in absolute counts);
- indicator features (types, same country, same group, tied elsewhere, the engine's rival,
  same-sector and same-region flags) stay as they are: they mean the same in every year;
- windows (t, H) of the test's effective horizon H (shortened until a training window fits
  before the validation window): the model of each kind is fitted on every window whose labels
  end before the validation window's start, validated on the last one (labels up to cut - 1),
  and the chosen kind is refitted on all of them, the validation window included;
- one choice per part and cut: the model (``logreg`` or ``hgb_small``) by the same validation
  score as the other rankers. No blend weight and no chosen baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from matching.evaluation.cordis import (
    ACTIVITY_TYPES,
    COMPANY,
    ENGINE_FEATURES,
    GRAPH_PAIR_FEATURES,
    NODE_FEATURES,
    CordisPairFeatures,
    _models,
    cordis_pair_features,
    cordis_split,
    sampled_pairs,
)
from matching.evaluation.ranking import _log
from matching.evaluation.horizon import LAST_FULL_YEAR, effective_test_horizon, selection_score

#: Features kept as they are: indicators that mean the same in every year.
INDICATOR_NODE = tuple(f"type_{t}" for t in ACTIVITY_TYPES)
INDICATOR_PAIR = ("same_type", "same_country", "same_group", "all_tied", "rival", "same_sector",
                  "same_region")
PAIR_FEATURES = (*GRAPH_PAIR_FEATURES, *ENGINE_FEATURES)
_NODE_RANKED = np.array([n not in INDICATOR_NODE for n in NODE_FEATURES])
_PAIR_RANKED = np.array([n not in INDICATOR_PAIR for n in PAIR_FEATURES])
#: Column names of the design matrix: the query's node features, the candidate's, the pair's.
FEATURE_NAMES = ([f"query_{n}" for n in NODE_FEATURES] + [f"candidate_{n}" for n in NODE_FEATURES]
                 + list(PAIR_FEATURES))
MODELS = ("logreg", "hgb_small")


def query_rank_windows(cut: int, first_year: int = 2014, last_full_year: int = LAST_FULL_YEAR,
                       ) -> list[tuple[int, list[tuple[int, int]], tuple[int, int]]]:
    """The window plans to try, in order: (H, training windows, validation window).

    H runs down from the test's effective horizon; for each, the validation window is
    (cut - H, H) (labels up to cut - 1) and the training windows are every (t, H) with at least
    one year of features (t > ``first_year``) whose labels end before the validation window
    starts (t + H - 1 < cut - H). Plans without a training window are left out."""
    plans = []
    for h in range(effective_test_horizon(cut, last_full_year), 0, -1):
        train = [(t, h) for t in range(first_year + 1, cut - 2 * h + 1)]
        if train:
            plans.append((h, train, (cut - h, h)))
    return plans


def node_ranks(features: CordisPairFeatures) -> np.ndarray:
    """Each candidate's node features as its rank among the window's candidates, in (0, 1]
    (indicators unchanged)."""
    out = features.node.astype(np.float64).copy()
    n = len(out)
    out[:, _NODE_RANKED] = rankdata(out[:, _NODE_RANKED], axis=0) / n
    return out


def unlinked_rows(features: CordisPairFeatures, rows: Sequence[int]) -> dict[int, np.ndarray]:
    """For each row, the candidates it ranks: every candidate but itself and those it is tied to
    (the split's ``allowed`` for a query; the same rule for any other row)."""
    split = features.split
    query_row = {q: i for i, q in enumerate(split.queries)}
    index = {c: i for i, c in enumerate(split.candidates)}
    out = {}
    for row in rows:
        if row in query_row:
            out[row] = np.flatnonzero(split.allowed[query_row[row]])
            continue
        keep = np.ones(len(split.candidates), bool)
        keep[row] = False
        for nb in split.graph.neighbors(split.candidates[row]):
            if nb in index:
                keep[index[nb]] = False
        out[row] = np.flatnonzero(keep)
    return out


def design(features: CordisPairFeatures, ranks: np.ndarray, row: int,
           cols: np.ndarray) -> np.ndarray:
    """Design matrix of the pairs (row, c), c in ``cols`` (the row's candidates): the query's
    node ranks, then the candidate's node features and the pair features, each ranked among
    ``cols`` (indicators unchanged). Shape (len(cols), len(FEATURE_NAMES)), float32."""
    m = len(cols)
    candidate = features.node[cols].astype(np.float64)
    pair = np.stack([features.pair[name][row, cols] for name in PAIR_FEATURES], axis=1
                    ).astype(np.float64)
    if m:
        candidate[:, _NODE_RANKED] = rankdata(candidate[:, _NODE_RANKED], axis=0) / m
        pair[:, _PAIR_RANKED] = rankdata(pair[:, _PAIR_RANKED], axis=0) / m
    query = np.broadcast_to(ranks[row], (m, ranks.shape[1]))
    return np.hstack([query, candidate, pair]).astype(np.float32)


def training_rows(features: CordisPairFeatures, max_rows: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Every positive pair of the window's queries and a random sample of their other
    candidates as negatives (at most ``max_rows`` rows), each ranked among all of its query's
    candidates before sampling (as the learned ranker's ``_training_set``)."""
    ranks = node_ranks(features)
    xs, ys = [], []
    for q, cols, y, keep in sampled_pairs(features.split, max_rows, seed):
        xs.append(design(features, ranks, q, cols)[keep])
        ys.append(y[keep])
    return np.vstack(xs), np.concatenate(ys).astype(int)


def query_rank_scores(model: Any, features: CordisPairFeatures,
                      rows: Sequence[int] | None = None) -> np.ndarray:
    """Candidate x candidate scores: each row's unlinked candidates scored by ``model`` on
    their ranks among that row's candidates; self and tied candidates get 0 (never ranked).
    ``rows``: the rows to score (all by default; others stay 0)."""
    n = len(features.split.candidates)
    ranks = node_ranks(features)
    out = np.zeros((n, n))
    for row, cols in unlinked_rows(features, range(n) if rows is None else rows).items():
        if len(cols):
            out[row, cols] = model.predict_proba(design(features, ranks, row, cols))[:, 1]
    return out


@dataclass
class QueryRankRanker:
    """The fitted ranker, its windows and the validation scores its model was chosen by."""

    model: Any
    model_name: str
    horizon: int
    validation_window: tuple[int, int]
    validation_train_windows: tuple[tuple[int, int], ...]
    train_windows: tuple[tuple[int, int], ...]
    validation_scores: dict[str, float]
    validation_queries: int
    skipped_windows: tuple[tuple[int, int], ...] = ()

    def score(self, features: CordisPairFeatures) -> np.ndarray:
        return query_rank_scores(self.model, features)


def cordis_fit_query_ranks(data: Any, cut: int, *, programme: str = "SC1",
                           models: Sequence[str] = MODELS, k: int = 10, first_year: int = 2014,
                           last_full_year: int = LAST_FULL_YEAR, max_rows: int = 150_000,
                           seed: int = 0, cache: dict | None = None) -> QueryRankRanker:
    """Select and fit the query-rank ranker for test cut ``cut`` of ``programme``.

    Windows as everywhere here: (t, h) = features before t, labels = the new pairs of projects
    starting in [t, t + h - 1]; only windows ending before ``cut`` are read, and ``cache``
    (keyed (t, h), shared with the other rankers) holds their features. Windows without queries
    are skipped; a plan (:func:`query_rank_windows`) is used when its validation window and at
    least one of its training windows have queries. Raises ``ValueError`` when none does.
    """
    from matching.evaluation.gate import fast_query_metrics

    cache = {} if cache is None else cache
    skipped: set[tuple[int, int]] = set()

    def window(t: int, h: int) -> CordisPairFeatures | None:
        if (t, h) in skipped:
            return None
        if (t, h) not in cache:
            split = cordis_split(data, t, end=t + h - 1, programme=programme)
            if not split.queries:
                skipped.add((t, h))
                return None
            _log(f"  features: window cut {t}, labels {t}-{t + h - 1}")
            cache[(t, h)] = cordis_pair_features(data, split)
        return cache[(t, h)]

    def pooled(windows: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        parts = [training_rows(window(t, h), max_rows, seed) for t, h in windows]
        y = np.concatenate([y for _, y in parts])
        if len(np.unique(y)) < 2:  # tiny parts: every candidate of every query a new partner
            kind = "new partners" if y.any() else "negatives"
            raise ValueError(f"{programme} cut {cut}: the pairs of windows "
                             f"{[t for t, _ in windows]} are all {kind}: no ranking to learn")
        return np.vstack([x for x, _ in parts]), y

    plan = None
    for h, train, val in query_rank_windows(cut, first_year, last_full_year):
        if window(*val) is None:
            continue
        usable = [w for w in train if window(*w) is not None]
        if usable:
            plan = (h, usable, val)
            break
    if plan is None:
        raise ValueError(f"{programme} cut {cut}: no pre-cut validation window with queries and "
                         f"a training window with queries before it (skipped {sorted(skipped)})")
    h, train, val = plan
    val_features = window(*val)
    split = val_features.split
    queries = np.asarray(split.queries)
    company = np.array([data.org_type[split.candidates[q]] == COMPANY for q in queries])
    X, y = pooled(train)
    _log(f"  query ranks: validation {val[0]}-{val[0] + h - 1}, trained on "
         f"{[w[0] for w in train]} (horizon {h}), {len(y)} rows")
    scores = {}
    for name in models:
        model = _models(seed)[name].fit(X, y)
        s = query_rank_scores(model, val_features, queries)[queries]
        scores[name] = selection_score(
            fast_query_metrics(s, np.arange(len(queries)), split.allowed, split.relevant, k),
            company)
    best = max(models, key=lambda m: scores[m])  # first maximum: the order of ``models``
    # every window of horizon h with labels up to cut - 1: the training ones, those between
    # them and the validation window (h > 1), and the validation window itself
    final = tuple((t, h) for t in range(first_year + 1, cut - h + 1) if window(t, h) is not None)
    X, y = pooled(final)
    model = _models(seed)[best].fit(X, y)
    return QueryRankRanker(model, best, h, val, tuple(train), final, scores, len(queries),
                           tuple(sorted(skipped)))
