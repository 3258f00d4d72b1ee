"""How sure a difference is: paired bootstrap over queries and the spread over tie orders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from matching.evaluation.ranking import query_metrics, rank_matrix

#: Metrics the target is stated in (P@10 and MRR).
COMPARED_METRICS = ("precision", "mrr")


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, n_resamples: int = 2000,
                     level: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b`` over queries and its percentile bootstrap interval.

    ``a[i]`` and ``b[i]`` are two methods' metric on the same query i; the queries are resampled
    with replacement ``n_resamples`` times (fixed ``seed``), the same resample for both methods,
    so what two methods share (an easy or hard query) cancels. Returns ``{"diff", "low",
    "high", "n"}``; NaN for no query.
    """
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    if d.size == 0:
        return {"diff": float("nan"), "low": float("nan"), "high": float("nan"), "n": 0}
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples)
    for start in range(0, n_resamples, 256):  # bounded memory: 256 resamples at a time
        stop = min(start + 256, n_resamples)
        means[start:stop] = d[rng.integers(0, d.size, (stop - start, d.size))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return {"diff": float(d.mean()), "low": float(low), "high": float(high), "n": int(d.size)}


def per_query_metrics(scores: np.ndarray, query_rows: Sequence[int], allowed: np.ndarray,
                      relevant: Sequence[set[int]], k: int = 10,
                      tie_seed: int = 0) -> dict[str, np.ndarray]:
    """Per query, every metric of :func:`query_metrics` (arrays in query order) for one score
    matrix, ranked as :func:`rank_matrix` does with tie order ``tie_seed``."""
    ranked = rank_matrix(scores[np.asarray(query_rows)], allowed, tie_seed)
    rows = [query_metrics(r, rel, k) for r, rel in zip(ranked, relevant)]
    return {m: np.array([r[m] for r in rows]) for m in ("precision", "recall", "mrr", "ndcg")}


def tie_order_spread(scores: np.ndarray, query_rows: Sequence[int], allowed: np.ndarray,
                     relevant: Sequence[set[int]], subsets: Mapping[str, np.ndarray],
                     k: int = 10, tie_seeds: Sequence[int] = (0, 1, 2, 3, 4)
                     ) -> dict[str, dict[str, tuple[float, float]]]:
    """``{subset: {metric: (min, max)}}`` of the mean metric over the tie orders ``tie_seeds``.

    A baseline such as common neighbours gives many candidates the same score; which of them
    enter the top 10 is then the tie order's choice, and the spread shows how much of a
    difference between methods that choice alone can make. ``subsets`` maps a name to a
    boolean mask over the queries.
    """
    runs = [per_query_metrics(scores, query_rows, allowed, relevant, k, s) for s in tie_seeds]
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for name, mask in subsets.items():
        mask = np.asarray(mask, bool)
        out[name] = {}
        for metric in runs[0]:
            values = [float(r[metric][mask].mean()) if mask.any() else float("nan")
                      for r in runs]
            out[name][metric] = (min(values), max(values))
    return out


def compare_to_best_baseline(per_query: Mapping[str, Mapping[str, np.ndarray]], method: str,
                             baselines: Sequence[str], mask: np.ndarray | None = None, *,
                             metrics: Sequence[str] = COMPARED_METRICS, n_resamples: int = 2000,
                             seed: int = 0) -> dict[str, dict[str, Any]]:
    """Per metric: the baseline with the best mean (over the queries in ``mask``), ``method``'s
    and its mean, and :func:`paired_bootstrap` of ``method`` minus that baseline.

    The best baseline is picked on the same queries it is compared on (the comparison a reader
    makes from the table), so the interval is, if anything, slightly against ``method``.
    """
    out: dict[str, dict[str, Any]] = {}
    for metric in metrics:
        def values(m: str) -> np.ndarray:
            v = np.asarray(per_query[m][metric])
            return v if mask is None else v[np.asarray(mask, bool)]

        best = max(baselines, key=lambda m: (float(values(m).mean()) if values(m).size
                                            else float("-inf")))
        boot = paired_bootstrap(values(method), values(best), n_resamples=n_resamples,
                                seed=seed)
        out[metric] = {"baseline": best, "method_value": float(values(method).mean()),
                       "baseline_value": float(values(best).mean()), **boot}
    return out
