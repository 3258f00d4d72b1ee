"""Ranking metrics (P@k, R@k, MRR, NDCG@k, ROC-AUC) and how every method ranks."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from tqdm import tqdm


def _progress(iterable, **kwargs):
    return tqdm(iterable, file=sys.stderr, leave=False, **kwargs)


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# =============================================================================================
# Metrics
# =============================================================================================
def precision_at_k(ranked: Sequence, relevant: Iterable, k: int = 10) -> float:
    r"""Share of the first ``k`` ranked candidates that are relevant.

    .. math:: P@k = \frac{|\{r_1, \dots, r_k\} \cap R|}{k}

    The denominator is ``k`` even when fewer than ``k`` candidates are ranked.

    Parameters
    ----------
    ranked : sequence
        Candidate ids, best first.
    relevant : iterable
        The ids that are right answers for this query.
    k : int
        Cut-off.

    Returns
    -------
    float

    Examples
    --------
    >>> precision_at_k(["a", "b", "c", "d"], {"b", "d", "x"}, k=2)
    0.5
    """
    relevant = set(relevant)
    return sum(1 for c in list(ranked)[:k] if c in relevant) / k


def recall_at_k(ranked: Sequence, relevant: Iterable, k: int = 10) -> float:
    r"""Share of the relevant ids found among the first ``k`` ranked candidates.

    .. math:: R@k = \frac{|\{r_1, \dots, r_k\} \cap R|}{|R|}

    Returns 0 when ``relevant`` is empty.

    Examples
    --------
    >>> recall_at_k(["a", "b", "c", "d"], {"b", "d", "x"}, k=2)
    0.3333333333333333
    """
    relevant = set(relevant)
    if not relevant:
        return 0.0
    return sum(1 for c in list(ranked)[:k] if c in relevant) / len(relevant)


def reciprocal_rank(ranked: Sequence, relevant: Iterable) -> float:
    r"""One over the (1-based) rank of the first relevant candidate, 0 if none is ranked.

    .. math:: RR = \frac{1}{\min\{i : r_i \in R\}}

    The mean over queries is the MRR.

    Examples
    --------
    >>> reciprocal_rank(["a", "b", "c"], {"c"})
    0.3333333333333333
    """
    relevant = set(relevant)
    for i, c in enumerate(ranked, start=1):
        if c in relevant:
            return 1.0 / i
    return 0.0


def ndcg_at_k(ranked: Sequence, relevant: Iterable, k: int = 10) -> float:
    r"""Normalised discounted cumulative gain at ``k`` with binary relevance.

    .. math::

        DCG@k = \sum_{i=1}^{k} \frac{[r_i \in R]}{\log_2(i + 1)}, \qquad
        IDCG@k = \sum_{i=1}^{\min(k, |R|)} \frac{1}{\log_2(i + 1)}, \qquad
        NDCG@k = \frac{DCG@k}{IDCG@k}

    Returns 0 when ``relevant`` is empty.

    Examples
    --------
    >>> round(ndcg_at_k(["a", "b"], {"b"}, k=2), 4)  # 1/log2(3)
    0.6309
    """
    relevant = set(relevant)
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, c in enumerate(list(ranked)[:k]) if c in relevant)
    idcg = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / idcg


def query_metrics(ranked: Sequence, relevant: Iterable, k: int = 10) -> dict[str, float]:
    """P@k, R@k, reciprocal rank and NDCG@k of one query, as a dict."""
    relevant = set(relevant)
    return {"precision": precision_at_k(ranked, relevant, k),
            "recall": recall_at_k(ranked, relevant, k),
            "mrr": reciprocal_rank(ranked, relevant),
            "ndcg": ndcg_at_k(ranked, relevant, k)}


def aggregate(per_query: Iterable[Mapping[str, float]]) -> dict[str, float]:
    r"""Mean of each metric over queries (macro average): :math:`\bar m = \frac{1}{|Q|}\sum_q m_q`.

    Returns NaN for every metric when there is no query; ``n_queries`` gives the count.
    """
    rows = list(per_query)
    out = {name: (float(np.mean([r[name] for r in rows])) if rows else float("nan"))
           for name in ("precision", "recall", "mrr", "ndcg")}
    out["n_queries"] = len(rows)
    return out


def roc_auc(positive_scores: Sequence[float], negative_scores: Sequence[float]) -> float:
    r"""Area under the ROC curve of positive pairs against negative pairs.

    Equal to the probability that a random positive scores above a random negative, ties
    counting one half (:func:`sklearn.metrics.roc_auc_score`):

    .. math:: AUC = \frac{1}{|P||N|} \sum_{p \in P} \sum_{n \in N}
              \left([s_p > s_n] + \tfrac12 [s_p = s_n]\right)

    Scores of ``-inf`` (not suggestible) are treated as the lowest finite value.
    """
    pos = np.asarray(positive_scores, np.float64)
    neg = np.asarray(negative_scores, np.float64)
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    scores = np.concatenate([pos, neg])
    finite = scores[np.isfinite(scores)]
    low = (finite.min() - 1.0) if finite.size else 0.0
    scores = np.where(np.isfinite(scores), scores, low)
    labels = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    return float(roc_auc_score(labels, scores))


def sample_negative_pairs(n: int, excluded: set[tuple[int, int]], size: int,
                          seed: int = 0) -> list[tuple[int, int]]:
    """``size`` distinct random pairs ``(i, j)``, ``i < j < n``, not in ``excluded`` (fixed seed).

    ``excluded`` holds pairs as ``(min, max)``. Returns fewer pairs if fewer exist.
    """
    rng = np.random.default_rng(seed)
    total = n * (n - 1) // 2
    size = min(size, total - len(excluded))
    chosen: set[tuple[int, int]] = set()
    while len(chosen) < size:
        i, j = (int(x) for x in rng.integers(0, n, 2))
        if i == j:
            continue
        pair = (min(i, j), max(i, j))
        if pair not in excluded:
            chosen.add(pair)
    return sorted(chosen)


# =============================================================================================
# Ranking a score matrix
# =============================================================================================
def rank_matrix(scores: np.ndarray, allowed: np.ndarray, tie_seed: int = 0) -> list[np.ndarray]:
    """Per row, the allowed column indices sorted best first.

    Higher scores first; ``-inf``/NaN scores after every finite one; equal scores in the order of
    one fixed random permutation of the columns (``tie_seed``), identical for every method.
    """
    n_rows, n_cols = scores.shape
    tiebreak = np.random.default_rng(tie_seed).permutation(n_cols)
    out = []
    for i in range(n_rows):
        cols = np.flatnonzero(allowed[i])
        s = scores[i, cols].astype(np.float64)
        s = np.where(np.isfinite(s), s, -np.inf)
        order = np.lexsort((tiebreak[cols], -s))  # last key is primary
        out.append(cols[order])
    return out


@dataclass
class QueryResults:
    """Per-query metrics of one method and its ROC-AUC, with subsets by a query label."""

    per_query: list[dict[str, float]]
    auc: float
    labels: list[Any] = field(default_factory=list)

    def summary(self, keep: Callable[[Any], bool] | None = None) -> dict[str, float]:
        rows = [m for m, lab in zip(self.per_query, self.labels or [None] * len(self.per_query))
                if keep is None or keep(lab)]
        out = aggregate(rows)
        out["roc_auc"] = self.auc
        return out


def evaluate_scores(scores: np.ndarray, query_rows: Sequence[int], allowed: np.ndarray,
                    relevant: Sequence[set[int]], auc_pairs: tuple[list, list], k: int = 10,
                    tie_seed: int = 0, labels: Sequence[Any] | None = None) -> QueryResults:
    """Metrics of a square score matrix over candidates.

    Parameters
    ----------
    scores : ndarray, shape (n, n)
        ``scores[a, b]``: how strongly ``b`` is suggested to ``a`` (candidate indices).
    query_rows : sequence of int
        The candidates that are queries.
    allowed : ndarray of bool, shape (len(query_rows), n)
        Which candidates each query ranks (not itself, not already tied).
    relevant : sequence of set of int
        Per query, the candidate indices that are right answers.
    auc_pairs : (positives, negatives)
        Lists of candidate index pairs; a pair's score is the mean of its two directions.
    """
    query_rows = np.asarray(query_rows)
    ranked = rank_matrix(scores[query_rows], allowed, tie_seed)
    per_query = [query_metrics(r, rel, k) for r, rel in zip(ranked, relevant)]
    auc = roc_auc(*(_pair_scores(scores, pairs) for pairs in auc_pairs))
    return QueryResults(per_query, auc, list(labels) if labels is not None else [])


def _pair_scores(scores: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    if not len(pairs):
        return np.array([])
    a, b = np.asarray(pairs).T
    s = np.stack([scores[a, b], scores[b, a]]).astype(np.float64)
    finite = s[np.isfinite(s)]
    low = (finite.min() - 1.0) if finite.size else 0.0
    return np.where(np.isfinite(s), s, low).mean(axis=0)
