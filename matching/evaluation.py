"""Offline evaluation of partner suggestions: held-out ties and a real temporal benchmark.

Everything here is pure (numpy, scipy, networkx, scikit-learn; no database). Three layers:

- **metrics** on one ranked list of candidate ids against a set of relevant ids
  (:func:`precision_at_k`, :func:`recall_at_k`, :func:`reciprocal_rank`, :func:`ndcg_at_k`),
  their mean over queries (:func:`aggregate`) and :func:`roc_auc` over pairs;
- **scorers**: the networkx link predictors vectorised with :mod:`scipy.sparse`
  (:func:`link_prediction_scores`, identical to networkx's definitions), a TF-IDF text baseline
  (:func:`text_scores`), a random one, and the engine (:class:`matching.scoring.PartnerMatcher`);
- **protocols**: :func:`holdout_evaluation` hides random positive ties of a seed network;
  the ``cordis_*`` functions run the temporal benchmark of ``shared/data/cordis-h2020``
  (health projects, SC1) including the engine with a ranker learned on pre-cut data only.

Ranking conventions used by every method: a query ranks every candidate except itself and those
it is already tied to; higher scores first; equal scores are ordered by one fixed random
permutation of the candidates (``tie_seed``), the same for every method, so no method profits
from the order of ids.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import math
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import normalize
from tqdm import tqdm

from matching.features import POSITIVE_TIES, NetworkFeatures
from matching.projection import NetworkProjection, build_projection
from matching.ranker import LEARNED_FEATURES
from matching.scoring import PartnerMatcher

#: Tie types that count as a positive relation, held out and predicted. COMPETES_WITH is not one:
#: it stays in the training network (the engine needs it to recognise rivals).
HELD_OUT_TIE_TYPES: tuple[str, ...] = tuple(POSITIVE_TIES)  # COLLABORATES_WITH, TRUSTS, SUPPLIES

LINK_PREDICTORS = ("common_neighbors", "jaccard_coefficient", "adamic_adar_index",
                   "resource_allocation_index", "preferential_attachment")
METHOD_LABELS = {
    "common_neighbors": "common neighbours",
    "jaccard_coefficient": "Jaccard",
    "adamic_adar_index": "Adamic-Adar",
    "resource_allocation_index": "resource allocation",
    "preferential_attachment": "preferential attachment",
    "text": "TF-IDF text",
    "random": "random",
    "engine": "engine (hand score)",
    "engine_learned": "engine + learned ranker",
}
METRICS = ("precision", "recall", "mrr", "ndcg", "roc_auc")


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


# =============================================================================================
# Baseline scorers
# =============================================================================================
def adjacency(graph: nx.Graph, nodes: Sequence | None = None) -> tuple[sp.csr_array, list]:
    """Binary symmetric adjacency of ``graph`` (self-loops dropped) and its node order."""
    nodes = list(graph.nodes) if nodes is None else list(nodes)
    index = {v: i for i, v in enumerate(nodes)}
    rows, cols = [], []
    for u, v in graph.edges():
        if u != v:
            rows += [index[u], index[v]]
            cols += [index[v], index[u]]
    a = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(len(nodes), len(nodes)))
    a.sum_duplicates()
    a.data[:] = 1.0
    return a, nodes


def link_prediction_scores(graph: nx.Graph, method: str, rows: Sequence, cols: Sequence,
                           adj: sp.csr_array | None = None) -> np.ndarray:
    r"""A networkx link predictor for every (u, v) with u in ``rows``, v in ``cols``, vectorised.

    With :math:`\Gamma(u)` the neighbours of u in the undirected ``graph`` and A its adjacency:

    - ``common_neighbors``: :math:`|\Gamma(u) \cap \Gamma(v)| = (A^2)_{uv}`
      (``len(list(nx.common_neighbors(G, u, v)))``);
    - ``jaccard_coefficient``: :math:`|\Gamma(u) \cap \Gamma(v)| / |\Gamma(u) \cup \Gamma(v)|`,
      0 when the union is empty;
    - ``adamic_adar_index``: :math:`\sum_{w \in \Gamma(u) \cap \Gamma(v)} 1 / \log |\Gamma(w)|`;
    - ``resource_allocation_index``: :math:`\sum_{w \in \Gamma(u) \cap \Gamma(v)} 1 / |\Gamma(w)|`;
    - ``preferential_attachment``: :math:`|\Gamma(u)| \, |\Gamma(v)|`.

    Values equal networkx's functions of the same name (tested) for u != v; the diagonal is
    not meaningful. Returns a dense ``len(rows) x len(cols)`` float64 array.
    """
    if adj is None:
        adj, nodes = adjacency(graph)
    else:
        nodes = list(graph.nodes)
    index = {v: i for i, v in enumerate(nodes)}
    r = np.array([index[v] for v in rows], dtype=np.int64)
    c = np.array([index[v] for v in cols], dtype=np.int64)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    if method == "preferential_attachment":
        return np.outer(deg[r], deg[c]).astype(np.float64)
    ar = adj[r]
    ac = sp.csr_array(adj[c])
    if method in ("common_neighbors", "jaccard_coefficient"):
        cn = np.asarray((ar @ ac.T).toarray(), np.float64)
        if method == "common_neighbors":
            return cn
        union = deg[r][:, None] + deg[c][None, :] - cn
        return np.divide(cn, union, out=np.zeros_like(cn), where=union > 0)
    if method == "adamic_adar_index":
        # A common neighbour has degree >= 2, so log(deg) > 0 wherever it is used.
        weight = np.where(deg > 1, 1.0 / np.log(np.maximum(deg, 2.0)), 0.0)
    elif method == "resource_allocation_index":
        weight = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    else:
        raise ValueError(f"unknown link predictor {method!r}")
    return np.asarray((ar @ sp.diags_array(weight) @ ac.T).toarray(), np.float64)


def text_scores(documents: Sequence[str] | Sequence[list[str]], *,
                analyzer: str | Callable = "word") -> np.ndarray:
    r"""Cosine similarity of TF-IDF vectors of the documents, all pairs (dense ``n x n``).

    .. math:: s_{uv} = \frac{x_u \cdot x_v}{\lVert x_u \rVert \lVert x_v \rVert}, \quad
              x_{ut} = tf_{ut} \left(\ln\frac{1 + n}{1 + df_t} + 1\right)

    (scikit-learn's smoothed IDF). A document may be a string or a list of tokens (then each
    token is one term). Empty documents score 0 with everyone.
    """
    docs = list(documents)
    if docs and not isinstance(docs[0], str):
        vectoriser = TfidfVectorizer(analyzer=lambda tokens: tokens)
    else:
        vectoriser = TfidfVectorizer(analyzer=analyzer)
    try:
        x = vectoriser.fit_transform(docs)
    except ValueError:  # no vocabulary at all
        return np.zeros((len(docs), len(docs)))
    x = normalize(x)
    return np.asarray((x @ x.T).toarray(), np.float64)


def random_scores(n_rows: int, n_cols: int, seed: int = 0) -> np.ndarray:
    """Uniform random scores in [0, 1) (fixed seed): the chance baseline."""
    return np.random.default_rng(seed).random((n_rows, n_cols))


def engine_scores(projection: NetworkProjection, nodes: Sequence[str],
                  matcher: PartnerMatcher | None = None, block_size: int = 256) -> np.ndarray:
    """The engine's own score (``PartnerMatcher.score_block``, penalise policy) over ``nodes``.

    ``-inf`` where the engine makes no suggestion (nothing to offer either way, oneself).
    """
    matcher = (matcher or PartnerMatcher()).fit(projection)
    idx = np.array([projection.member_index[v] for v in nodes])
    out = np.empty((len(idx), len(idx)))
    for start in range(0, len(idx), block_size):
        rows = idx[start:start + block_size]
        score, _, _ = matcher.score_block(rows)
        out[start:start + len(rows)] = score[:, idx]
    return out


# =============================================================================================
# Seed networks: random hold-out of positive ties
# =============================================================================================
def _positive_pairs(ties: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    return {tuple(sorted((t["source"], t["target"]))) for t in ties
            if t["type"] in HELD_OUT_TIE_TYPES and t["source"] != t["target"]}


def split_ties(document: Mapping[str, Any], fraction: float = 0.2, seed: int = 0
               ) -> tuple[list[dict], set[tuple[str, str]]]:
    """Hold out ``fraction`` of the member pairs joined by a positive tie.

    A pair is held out as a whole: every COLLABORATES_WITH, TRUSTS and SUPPLIES tie between the
    two members, in either direction, leaves the training ties. COMPETES_WITH ties all stay.
    Returns (training ties, held-out pairs as sorted id tuples). At least one pair is held out.
    """
    pairs = sorted(_positive_pairs(document["ties"]))
    rng = np.random.default_rng(seed)
    n_out = max(1, round(fraction * len(pairs))) if pairs else 0
    held = {pairs[i] for i in rng.choice(len(pairs), size=n_out, replace=False)}
    train = [dict(t) for t in document["ties"]
             if not (t["type"] in HELD_OUT_TIE_TYPES
                     and tuple(sorted((t["source"], t["target"]))) in held)]
    return train, held


def _profile_text(projection: NetworkProjection) -> list[str]:
    """Each member's description and the labels and synonyms of what it offers and wants."""
    tax = projection.taxonomy.nodes
    both = sp.csr_array(projection.levels + projection.urgencies + projection.severities)
    texts = []
    for i, mid in enumerate(projection.member_ids):
        words = [projection.ties.nodes[mid].get("description") or ""]
        for j in both[[i], :].indices:
            node = tax[projection.capability_ids[j]]
            words += [node.get("label") or "", *node.get("synonyms", [])]
        texts.append(" ".join(w for w in words if w))
    return texts


def holdout_evaluation(document: Mapping[str, Any], taxonomy: Sequence[Mapping[str, Any]],
                       seeds: Sequence[int] = (0, 1, 2), fraction: float = 0.2, k: int = 5,
                       tie_seed: int = 0) -> dict[str, dict[str, float]]:
    """Hide random positive ties of a seed network and rank them back, for every method.

    For each seed: :func:`split_ties` holds out ``fraction`` of the member pairs joined by a
    COLLABORATES_WITH, TRUSTS or SUPPLIES tie; the engine and the baselines see only the rest.
    Queries are the members with a held-out pair; each ranks every other member it has no
    training positive tie with (rivals included: the engine's competitor policy is part of what
    is tested). ROC-AUC: held-out pairs against as many random pairs with no positive tie in the
    full network (seeded). Metrics are averaged over the seeds.

    Parameters
    ----------
    document : mapping
        A seed network: ``network``, ``members``, ``ties`` and optional ``capabilities``.
    taxonomy : sequence of mapping
        The shared taxonomy rows (``seed_data/taxonomy.json``'s ``capabilities``).
    k : int
        Cut-off of P@k, R@k and NDCG@k (5 by default: the seed networks have 8-37 members).

    Returns
    -------
    dict
        ``{method: {"precision", "recall", "mrr", "ndcg", "roc_auc", "n_queries"}}`` (mean over
        seeds; ``n_queries`` is the mean number of queries).
    """
    tax_rows = list(taxonomy) + list(document.get("capabilities") or [])
    all_pairs = _positive_pairs(document["ties"])
    runs: dict[str, list[dict[str, float]]] = defaultdict(list)
    for seed in seeds:
        train_ties, held = split_ties(document, fraction, seed)
        projection = build_projection(document["network"], tax_rows, document["members"],
                                      train_ties)
        ids = projection.member_ids
        index = projection.member_index
        n = len(ids)
        graph = nx.Graph()
        graph.add_nodes_from(ids)
        train_pairs = _positive_pairs(train_ties)
        graph.add_edges_from(train_pairs)
        assert not (train_pairs & held), "a held-out tie leaked into the training ties"

        relevant: dict[int, set[int]] = defaultdict(set)
        for a, b in held:
            relevant[index[a]].add(index[b])
            relevant[index[b]].add(index[a])
        queries = sorted(relevant)
        allowed = np.ones((len(queries), n), bool)
        for qi, q in enumerate(queries):
            allowed[qi, q] = False
            for nb in graph.neighbors(ids[q]):
                allowed[qi, index[nb]] = False
        positives = sorted((index[a], index[b]) for a, b in held)
        excluded = {tuple(sorted((index[a], index[b]))) for a, b in all_pairs}
        negatives = sample_negative_pairs(n, excluded, len(positives), seed)

        scores = all_method_scores(graph, ids, _profile_text(projection), seed=seed)
        scores["engine"] = engine_scores(projection, ids)
        for method, s in scores.items():
            res = evaluate_scores(s, queries, allowed, [relevant[q] for q in queries],
                                  (positives, negatives), k=k, tie_seed=tie_seed + seed)
            runs[method].append(res.summary())
    return {method: {m: float(np.mean([r[m] for r in rs])) for m in (*METRICS, "n_queries")}
            for method, rs in runs.items()}


def all_method_scores(graph: nx.Graph, nodes: Sequence, documents: Sequence,
                      seed: int = 0) -> dict[str, np.ndarray]:
    """Score matrices over ``nodes`` x ``nodes`` of the five link predictors, text and random."""
    adj, _ = adjacency(graph)
    out = {m: link_prediction_scores(graph, m, nodes, nodes, adj) for m in LINK_PREDICTORS}
    out["text"] = text_scores(documents)
    out["random"] = random_scores(len(nodes), len(nodes), seed)
    return out
