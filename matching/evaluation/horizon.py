"""A horizon-matched ranker for the CORDIS benchmark (issue 14, the held-out test at cut 2019).

The learned ranker of :mod:`matching.evaluation.cordis` and the gate of
:mod:`matching.evaluation.gate` were chosen on windows of one or two years of new pairs, while
the test counts the new pairs of several years; on the short windows the neighbourhood scores
win, on the long test the most active organisations do. Here the windows are sized to the test
instead, and there is one choice per part (no query groups):

- the test's *effective horizon* is the number of start years in [cut, :data:`LAST_FULL_YEAR`]
  (H2020 projects start 2014-2020; the data's README says 2021 is almost absent): protocol
  knowledge, never counted from rows at or after the cut;
- validation: one window of that horizon ending at cut - 1, shortened only as far as needed to
  leave a year of features and a training window before it (:func:`horizon_windows`), or to
  find queries in it and in a training window before it;
- training: the longest horizon up to the validation horizon whose window before the
  validation window has queries; the final model is fitted on the same horizon ending at
  cut - 1, so what is validated is what is deployed;
- the structural baseline to blend with: the link predictor with the best validation score on
  its own (not preferential attachment by default);
- the learned model (``logreg`` or ``hgb_small``, the same features as the learned ranker) and
  the blend weight of the chosen baseline (0 to 0.9: the model must contribute), by the same
  validation score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Last start year of the extract with a full year of projects (H2020 2014-2020; README:
#: "2021 is almost absent"). Protocol knowledge: fixed before any test row is read.
LAST_FULL_YEAR = 2020
#: The structural baselines the learned model may be blended with: the pair feature holding
#: each link predictor's score (log PA ranks as PA does).
STRUCTURAL = {"common_neighbors": "cn", "jaccard_coefficient": "jaccard",
              "adamic_adar_index": "aa", "resource_allocation_index": "ra",
              "preferential_attachment": "log_pa"}
#: Blend weights of the chosen baseline (1.0, the baseline alone, is left out as before).
HORIZON_BLEND_WEIGHTS = tuple(round(0.1 * i, 1) for i in range(10))


def effective_test_horizon(cut: int, last_full_year: int = LAST_FULL_YEAR) -> int:
    """Start years of the test period that hold a full year of projects: [cut, last_full_year]."""
    return max(1, last_full_year - cut + 1)


def horizon_windows(cut: int, first_year: int = 2014,
                    last_full_year: int = LAST_FULL_YEAR) -> tuple[int, int]:
    """(validation horizon V, longest training horizon h) for a test cut.

    V = the test's effective horizon, capped so that the validation window (cut - V, V) leaves
    at least one year of features and one year of training labels before it; h <= V is the
    longest horizon whose training window (cut - V - h, h) still has a year of features
    (its start after ``first_year``).
    """
    v = min(effective_test_horizon(cut, last_full_year), cut - first_year - 2)
    if v < 1:
        raise ValueError(f"cut {cut}: no pre-cut validation window with a training window "
                         f"before it (data from {first_year})")
    return v, min(v, cut - v - first_year - 1)


def selection_score(metrics: Mapping[str, np.ndarray], company: np.ndarray) -> float:
    """(P@10 + MRR overall + P@10 + MRR companies) / 2, as the learned ranker's selection; with
    no company query the overall figures count twice."""
    def part(mask: np.ndarray) -> float:
        return float(metrics["precision"][mask].mean() + metrics["mrr"][mask].mean())

    every = np.ones(len(company), bool)
    return (part(every) + (part(company) if company.any() else part(every))) / 2


@dataclass
class BlendChoice:
    """What :func:`choose_blend` picked and the validation scores it picked from."""

    baseline: str
    model: str
    weight: float
    score: float
    baseline_scores: dict[str, float]
    model_scores: dict[str, dict[float, float]]  # model -> weight -> score


def choose_blend(baseline_ranks: Mapping[str, np.ndarray],
                 learned_ranks: Mapping[str, np.ndarray], allowed: np.ndarray,
                 relevant: Sequence[set[int]], company: np.ndarray, k: int = 10,
                 weights: Sequence[float] = HORIZON_BLEND_WEIGHTS) -> BlendChoice:
    """On one validation window (rows = its queries, per-row ranks in (0, 1]): first the
    baseline with the best :func:`selection_score` alone (ties: the first in
    ``baseline_ranks``' order), then the (model, weight) whose blend
    (1 - w) x learned + w x baseline scores best (ties: the smaller weight, then the first
    model)."""
    from matching.evaluation.gate import fast_query_metrics

    rows = np.arange(len(relevant))

    def score(s: np.ndarray) -> float:
        return selection_score(fast_query_metrics(s, rows, allowed, relevant, k), company)

    baseline_scores = {name: score(r) for name, r in baseline_ranks.items()}
    baseline = max(baseline_scores, key=baseline_scores.get)  # first maximum
    model_scores = {model: {w: score((1.0 - w) * learned + w * baseline_ranks[baseline])
                            for w in weights}
                    for model, learned in learned_ranks.items()}
    best = max(((m, w) for m in model_scores for w in weights),
               key=lambda mw: (model_scores[mw[0]][mw[1]], -mw[1]))
    return BlendChoice(baseline, best[0], best[1], model_scores[best[0]][best[1]],
                       baseline_scores, model_scores)


@dataclass
class HorizonRanker:
    """The fitted horizon-matched ranker: model, training window, blended baseline and weight."""

    model: Any
    choice: BlendChoice
    validation_window: tuple[int, int]  # (t, V): labels t .. t + V - 1
    validation_train_window: tuple[int, int]  # (t, h) the validated model was fitted on
    train_window: tuple[int, int]  # (t, h) of the final fit: labels up to cut - 1
    test_horizon: int
    validation_queries: int = 0
    skipped_windows: tuple[tuple[int, int], ...] = field(default=())

    def score(self, features: Any) -> np.ndarray:
        """Candidate x candidate scores on a split's features (every row, both directions)."""
        from matching.evaluation.cordis import blend_scores, predict_scores

        # (the learned ranker's rank blend, with the chosen baseline in place of PA)
        return blend_scores(predict_scores(self.model, features),
                            features.pair[STRUCTURAL[self.choice.baseline]], self.choice.weight)


def cordis_fit_horizon(data: Any, cut: int, *, programme: str = "SC1",
                       models: Sequence[str] = ("logreg", "hgb_small"), k: int = 10,
                       first_year: int = 2014, last_full_year: int = LAST_FULL_YEAR,
                       max_rows: int = 150_000, seed: int = 0,
                       cache: dict | None = None) -> HorizonRanker:
    """Select and fit the horizon-matched ranker for test cut ``cut`` of ``programme``.

    Windows as in :func:`~matching.evaluation.cordis.cordis_fit_ranker`: (t, h) = features
    before t, labels = new pairs of projects starting in [t, t + h - 1]. Only windows ending
    before ``cut`` are read. ``cache`` maps (t, h) to window features and may be shared with
    the learned ranker's (same keys, same content). Windows without queries are skipped: first
    the training horizon, then the validation horizon is shortened (:func:`horizon_windows`
    gives the longest of each). Raises ``ValueError`` when no pair of windows has queries.
    """
    from matching.evaluation.cordis import (
        COMPANY,
        _models,
        _training_set,
        cordis_pair_features,
        cordis_split,
        predict_scores,
        rank_scores,
    )

    cache = {} if cache is None else cache
    v, _ = horizon_windows(cut, first_year, last_full_year)
    skipped: set[tuple[int, int]] = set()

    def window(t: int, h: int) -> Any:
        if (t, h) not in cache:
            split = cordis_split(data, t, end=t + h - 1, programme=programme)
            if not split.queries:
                skipped.add((t, h))
                return None
            cache[(t, h)] = cordis_pair_features(data, split)
        return cache[(t, h)]

    # the longest validation horizon up to v, then the longest training horizon up to it,
    # whose windows have queries (small parts have no new pair in their first years)
    found = None
    for vv in range(v, 0, -1):
        val = window(cut - vv, vv)
        if val is None:
            continue
        found = next(((vv, val, h, train) for h in range(vv, 0, -1)
                      if cut - vv - h > first_year
                      and (train := window(cut - vv - h, h)) is not None), None)
        if found:
            break
    if found is None:
        raise ValueError(f"{programme} cut {cut}: no pre-cut validation window with queries and "
                         f"a training window with queries before it (skipped {sorted(skipped)})")
    v, val, h, train = found
    t_val = cut - v
    queries = np.asarray(val.split.queries)
    company = np.array([data.org_type[val.split.candidates[q]] == COMPANY for q in queries])
    baseline_ranks = {name: rank_scores(val.pair[key][queries])
                      for name, key in STRUCTURAL.items()}
    X, y = _training_set(train, max_rows, seed)
    learned_ranks = {name: rank_scores(predict_scores(_models(seed)[name].fit(X, y), val)[queries])
                     for name in models}
    choice = choose_blend(baseline_ranks, learned_ranks, val.split.allowed, val.split.relevant,
                          company, k)
    final = window(cut - h, h)
    if final is None:  # cannot happen when the validation window has queries and h <= v
        raise ValueError(f"{programme} cut {cut}: final training window has no query")
    X, y = _training_set(final, max_rows, seed)
    model = _models(seed)[choice.model].fit(X, y)
    return HorizonRanker(model, choice, (t_val, v), (t_val - h, h), (cut - h, h),
                         effective_test_horizon(cut, last_full_year), len(queries),
                         tuple(sorted(skipped)))
