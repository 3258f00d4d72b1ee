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

from matching.features import POSITIVE_TIES
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


# =============================================================================================
# CORDIS Horizon 2020: the temporal health benchmark
# =============================================================================================
CORDIS_END_YEAR = 2021  # test projects start in [cut, 2021]; 2022 is 7 rows of an unfinished year
HEALTH = "SC1"
COMPANY = "PRC"
ACTIVITY_TYPES = ("PRC", "HES", "REC", "PUB", "OTH")
PROGRAMME_LABELS = {
    "ERC": "European Research Council frontier research",
    "FET": "Future and emerging technologies",
    "MSCA": "Marie Sklodowska-Curie actions researcher mobility training",
    "RI": "Research infrastructures",
    "LEIT": "Industrial leadership enabling technologies",
    "ARF": "Access to risk finance",
    "Innovation in SMEs": "Innovation in small and medium enterprises",
    "SC1": "Health demographic change and wellbeing",
    "SC2": "Food security bioeconomy agriculture marine",
    "SC3": "Secure clean efficient energy",
    "SC4": "Smart green integrated transport",
    "SC5": "Climate action environment resources raw materials",
    "SC6": "Inclusive innovative reflective societies",
    "SC7": "Secure societies",
    "SEWP": "Spreading excellence widening participation",
    "SWAFS": "Science with and for society",
    "JRC": "Joint Research Centre",
    "EIT": "European Institute of Innovation and Technology",
    "Euratom": "Euratom nuclear research",
}
TYPE_LABELS = {"PRC": "private company", "HES": "higher education", "REC": "research organisation",
               "PUB": "public body", "OTH": "other organisation"}


@dataclass
class CordisData:
    """The CORDIS extract in memory: projects, their programme parts and the organisations."""

    year: dict[str, int]  # rcn -> start year
    members: dict[str, frozenset[str]]  # rcn -> participating pics
    parts: dict[str, frozenset[str]]  # rcn -> programme parts
    coordinator: dict[str, str]  # rcn -> pic of the coordinator (when given)
    org_type: dict[str, str]
    country: dict[str, str]
    group: dict[str, str]  # pic -> eu15 / eu13 / ac / tc

    def projects(self, start: int, end: int, programme: str | None = None) -> list[str]:
        """Projects starting in ``[start, end]`` (in ``programme`` when given), sorted by rcn."""
        return sorted(r for r, y in self.year.items() if start <= y <= end
                      and (programme is None or programme in self.parts.get(r, ())))


def cordis_load(data_dir: str | Path) -> CordisData:
    """Read ``h2020.csv.gz`` and ``programme_parts.csv.gz`` (csv + gzip, no pandas)."""
    data_dir = Path(data_dir)
    year: dict[str, int] = {}
    members: dict[str, set[str]] = defaultdict(set)
    coordinator: dict[str, str] = {}
    org_type: dict[str, str] = {}
    country: dict[str, str] = {}
    group: dict[str, str] = {}
    with gzip.open(data_dir / "h2020.csv.gz", "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            rcn, pic = row["rcn"], row["pic"]
            org_type[pic] = row["type"]
            country[pic] = row["country"]
            group[pic] = row["group"]
            if not row["start_year"].isdigit():  # 7 rows without dates: not placeable in time
                continue
            year[rcn] = int(row["start_year"])
            members[rcn].add(pic)
            if row["role"] == "coordinator":
                coordinator[rcn] = pic
    parts: dict[str, set[str]] = defaultdict(set)
    with gzip.open(data_dir / "programme_parts.csv.gz", "rt", newline="") as fh:
        for row in csv.DictReader(fh):
            parts[row["rcn"]].add(row["programme_part"])
    return CordisData(year, {r: frozenset(m) for r, m in members.items()},
                      {r: frozenset(p) for r, p in parts.items()}, coordinator, org_type,
                      country, group)


@dataclass
class CordisSplit:
    """One temporal split: the train graph before ``cut`` and the new pairs of ``[cut, end]``.

    ``candidates`` are the organisations in the train graph that also take part in a health
    project of the test period; ``queries`` those with at least one positive; ``relevant[i]`` the
    candidate indices that are new partners of ``queries[i]``; ``allowed[i]`` which candidates
    query i ranks (not itself, not a train partner).
    """

    cut: int
    end: int
    graph: nx.Graph
    candidates: list[str]
    queries: list[int]
    relevant: list[set[int]]
    allowed: np.ndarray
    positives: list[tuple[int, int]]
    negatives: list[tuple[int, int]]

    @property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.candidates)}


def cordis_train_graph(data: CordisData, cut: int, programme: str = HEALTH) -> nx.Graph:
    """Health projects starting before ``cut``: every participant a node, every pair of a
    project's participants an edge (``weight`` = joint projects, ``first`` = first year)."""
    graph = nx.Graph()
    for rcn in data.projects(0, cut - 1, programme):
        pics = sorted(data.members[rcn])
        graph.add_nodes_from(pics)
        for a, b in itertools.combinations(pics, 2):
            if graph.has_edge(a, b):
                graph[a][b]["weight"] += 1
                graph[a][b]["first"] = min(graph[a][b]["first"], data.year[rcn])
            else:
                graph.add_edge(a, b, weight=1, first=data.year[rcn])
    return graph


def cordis_split(data: CordisData, cut: int, end: int = CORDIS_END_YEAR,
                 programme: str = HEALTH, negative_seed: int = 0) -> CordisSplit:
    """The README protocol for one cut year.

    1. Train graph: :func:`cordis_train_graph` (projects starting before ``cut``).
    2. Positives: pairs sharing a project that starts in ``[cut, end]``, not tied in the train
       graph, both nodes of the train graph.
    3. Candidates: train-graph organisations that take part in a test project; queries:
       candidates with a positive.
    4. ROC-AUC negatives: as many random candidate pairs, neither tied in the train graph nor
       positive (seed ``negative_seed``).
    """
    graph = cordis_train_graph(data, cut, programme)
    test = data.projects(cut, end, programme)
    active = {p for rcn in test for p in data.members[rcn]}
    candidates = sorted(active & set(graph.nodes))
    index = {c: i for i, c in enumerate(candidates)}
    pos: set[tuple[int, int]] = set()
    for rcn in test:
        pics = sorted(p for p in data.members[rcn] if p in index)
        for a, b in itertools.combinations(pics, 2):
            if not graph.has_edge(a, b):
                pos.add((index[a], index[b]))
    relevant: dict[int, set[int]] = defaultdict(set)
    for a, b in pos:
        relevant[a].add(b)
        relevant[b].add(a)
    queries = sorted(relevant)
    n = len(candidates)
    allowed = np.ones((len(queries), n), bool)
    for qi, q in enumerate(queries):
        allowed[qi, q] = False
        for nb in graph.neighbors(candidates[q]):
            if nb in index:
                allowed[qi, index[nb]] = False
    tied = {(min(index[a], index[b]), max(index[a], index[b])) for a, b in graph.edges()
            if a in index and b in index}
    negatives = sample_negative_pairs(n, tied | pos, len(pos), negative_seed)
    return CordisSplit(cut, end, graph, candidates, queries, [relevant[q] for q in queries],
                       allowed, sorted(pos), negatives)


def cordis_programme_documents(data: CordisData, pics: Sequence[str], cut: int) -> list[list[str]]:
    """Per organisation, the programme parts of its H2020 projects starting before ``cut``
    (one token per project and part): the documents of the TF-IDF baseline."""
    wanted = set(pics)
    docs: dict[str, list[str]] = {p: [] for p in pics}
    for rcn in data.projects(0, cut - 1):
        for pic in data.members[rcn] & wanted:
            docs[pic].extend(sorted(data.parts.get(rcn, ())))
    return [docs[p] for p in pics]


def cordis_baseline_scores(data: CordisData, split: CordisSplit,
                           seed: int = 0) -> dict[str, np.ndarray]:
    """Candidate x candidate scores of the link predictors, TF-IDF of programme parts, random."""
    docs = cordis_programme_documents(data, split.candidates, split.cut)
    return all_method_scores(split.graph, split.candidates, docs, seed=seed)


def cordis_summaries(data: CordisData, split: CordisSplit, scores: Mapping[str, np.ndarray],
                     k: int = 10, tie_seed: int = 0) -> dict[str, dict[str, dict[str, float]]]:
    """``{"overall" | "companies": {method: metrics}}`` for score matrices over candidates.

    Companies: queries of activity type PRC; their ROC-AUC uses the positive and negative
    pairs with at least one company.
    """
    is_company = [data.org_type[c] == COMPANY for c in split.candidates]
    labels = [is_company[q] for q in split.queries]
    company_pairs = tuple([p for p in pairs if is_company[p[0]] or is_company[p[1]]]
                          for pairs in (split.positives, split.negatives))
    out: dict[str, dict[str, dict[str, float]]] = {"overall": {}, "companies": {}}
    for method, s in scores.items():
        res = evaluate_scores(s, split.queries, split.allowed, split.relevant,
                              (split.positives, split.negatives), k, tie_seed, labels)
        out["overall"][method] = res.summary()
        company = res.summary(lambda lab: bool(lab))
        company["roc_auc"] = roc_auc(*(_pair_scores(s, p) for p in company_pairs))
        out["companies"][method] = company
    return out


# ---------------------------------------------------------------------------------------------
# The engine on CORDIS: organisations as members, a ranker learned before the cut
# ---------------------------------------------------------------------------------------------
def _level(count: float) -> int:
    """Participation count -> level 1-5: 1, 2-3, 4-7, 8-15, 16+ (log2 bins)."""
    return int(min(5, 1 + math.floor(math.log2(max(count, 1)))))


def cordis_taxonomy(data: CordisData) -> list[dict[str, Any]]:
    """A small taxonomy: roots ``programme``, ``activity-type`` and ``country``; programme parts
    under ``programme``; countries under their group (eu15, eu13, ac, tc) under ``country``."""
    rows = [{"id": "programme", "label": "H2020 programme area", "kind": "knowhow"},
            {"id": "activity-type", "label": "Kind of organisation", "kind": "service"},
            {"id": "country", "label": "Country", "kind": "asset"}]
    parts = sorted({p for ps in data.parts.values() for p in ps})
    rows += [{"id": f"prog:{p}", "label": PROGRAMME_LABELS.get(p, p), "kind": "knowhow",
              "broader": "programme", "synonyms": [p]} for p in parts]
    rows += [{"id": f"type:{t}", "label": TYPE_LABELS[t], "kind": "service",
              "broader": "activity-type", "synonyms": [t]} for t in ACTIVITY_TYPES]
    groups = sorted(set(data.group.values()))
    rows += [{"id": f"group:{g}", "label": f"country group {g}", "kind": "asset",
              "broader": "country"} for g in groups]
    by_country = {c: data.group[p] for p, c in data.country.items()}
    rows += [{"id": f"country:{c}", "label": f"located in {c}", "kind": "asset",
              "broader": f"group:{by_country[c]}"} for c in sorted(by_country)]
    return rows


def cordis_projection(data: CordisData, graph: nx.Graph, cut: int,
                      max_needs: int = 8) -> NetworkProjection:
    """The train graph as a partnermatch network, using only projects starting before ``cut``.

    - members: the train graph's organisations; ``sector`` = activity type, ``region`` = country;
    - capabilities: activity type and country (level 5), each programme part of its H2020
      projects before the cut (level from the count, :func:`_level`);
    - needs (kind ``partner``): the capabilities its past health partners brought most often
      (up to ``max_needs`` with a share >= 0.1, urgency 1 + 4 x share): what it looks for;
    - ties: COLLABORATES_WITH per train-graph edge, weight min(1, joint projects / 3).
    """
    pics = sorted(graph.nodes)
    wanted = set(pics)
    part_counts: dict[str, Counter] = {p: Counter() for p in pics}
    for rcn in data.projects(0, cut - 1):
        for pic in data.members[rcn] & wanted:
            part_counts[pic].update(data.parts.get(rcn, ()))
    caps: dict[str, list[dict[str, Any]]] = {}
    for pic in pics:
        entries = [{"id": f"type:{data.org_type[pic]}", "level": 5},
                   {"id": f"country:{data.country[pic]}", "level": 5}]
        entries += [{"id": f"prog:{p}", "level": _level(c)}
                    for p, c in sorted(part_counts[pic].items())]
        caps[pic] = entries
    members = []
    for pic in pics:
        seen: Counter = Counter()
        for nb, attrs in graph[pic].items():
            for cap in caps[nb]:
                seen[cap["id"]] += attrs["weight"]
        total = sum(graph[pic][nb]["weight"] for nb in graph[pic]) or 1
        needs = [{"id": cid, "kind": "partner", "urgency": int(1 + round(4 * min(1.0, c / total)))}
                 for cid, c in seen.most_common(max_needs) if c / total >= 0.1]
        members.append({"id": pic, "name": pic, "sector": data.org_type[pic],
                        "region": data.country[pic], "capabilities": caps[pic], "needs": needs})
    ties = [{"source": a, "target": b, "type": "COLLABORATES_WITH",
             "weight": min(1.0, attrs["weight"] / 3), "since": f"{attrs['first']}-01-01"}
            for a, b, attrs in graph.edges(data=True)]
    return build_projection({"id": f"cordis-sc1-before-{cut}", "name": "CORDIS H2020 health"},
                            cordis_taxonomy(data), members, ties)


#: Engine pair features (``NetworkFeatures.block``) used by the learned ranker: the engine's own
#: ``LEARNED_FEATURES`` (no direct tie: candidates are never tied to the query).
ENGINE_FEATURES = tuple(LEARNED_FEATURES)
NODE_FEATURES = ("log_degree", "log_strength", "log_health_projects", "log_health_last1",
                 "log_health_last2", "log_all_projects", "log_all_last2", "years_since_last",
                 "years_since_first", "log_coordinated", "log_mean_size", "log_all_degree",
                 *(f"type_{t}" for t in ACTIVITY_TYPES))
GRAPH_PAIR_FEATURES = ("cn", "jaccard", "aa", "ra", "log_pa", "log_paths3", "weighted_cn",
                       "same_type", "same_country", "same_group", "programme_cosine",
                       "engine_hand_score", "all_tied", "all_log_joint", "all_log_cn")


@dataclass
class CordisPairFeatures:
    """Pair features over the candidates of one split, from information before its cut only."""

    split: CordisSplit
    node: np.ndarray  # candidates x NODE_FEATURES
    pair: dict[str, np.ndarray]  # name -> candidates x candidates

    @property
    def names(self) -> list[str]:
        return ([f"a_{n}" for n in NODE_FEATURES] + [f"b_{n}" for n in NODE_FEATURES]
                + list(GRAPH_PAIR_FEATURES) + list(ENGINE_FEATURES))

    def rows(self, rows: np.ndarray, cols: np.ndarray | None = None) -> np.ndarray:
        """Design matrix of the pairs (a, b), a in ``rows``, b in ``cols`` (all by default),
        row-major: shape (len(rows) * len(cols), n_features), float32."""
        n = len(self.split.candidates)
        cols = np.arange(n) if cols is None else np.asarray(cols)
        r, c = np.repeat(rows, len(cols)), np.tile(cols, len(rows))
        parts = [self.node[r], self.node[c]]
        parts += [self.pair[name][r, c][:, None] for name in GRAPH_PAIR_FEATURES]
        parts += [self.pair[name][r, c][:, None] for name in ENGINE_FEATURES]
        return np.hstack(parts).astype(np.float32)


def cordis_pair_features(data: CordisData, split: CordisSplit) -> CordisPairFeatures:
    """Node and pair features of a split: graph structure, activity before the cut, the engine's
    ``NetworkFeatures`` on :func:`cordis_projection` and its hand score."""
    cut, graph, cands = split.cut, split.graph, split.candidates
    n = len(cands)
    # -- node features ------------------------------------------------------------------------
    health = defaultdict(list)
    all_years = defaultdict(list)
    coordinated = Counter()
    sizes = defaultdict(list)
    cand_set = set(cands)
    for rcn in data.projects(0, cut - 1):
        is_health = HEALTH in data.parts.get(rcn, ())
        for pic in data.members[rcn] & cand_set:
            all_years[pic].append(data.year[rcn])
            if is_health:
                health[pic].append(data.year[rcn])
                sizes[pic].append(len(data.members[rcn]))
                coordinated[pic] += data.coordinator.get(rcn) == pic
    node = np.zeros((n, len(NODE_FEATURES)), np.float64)
    for i, pic in enumerate(cands):
        hy, ay = health[pic], all_years[pic]
        strength = sum(a["weight"] for a in graph[pic].values())
        node[i, :12] = [
            math.log1p(graph.degree(pic)), math.log1p(strength), math.log1p(len(hy)),
            math.log1p(sum(y == cut - 1 for y in hy)), math.log1p(sum(y >= cut - 2 for y in hy)),
            math.log1p(len(ay)), math.log1p(sum(y >= cut - 2 for y in ay)),
            cut - max(hy), cut - min(hy), math.log1p(coordinated[pic]),
            math.log(np.mean(sizes[pic])), 0.0,
        ]
        node[i, 12 + ACTIVITY_TYPES.index(data.org_type[pic])] = 1.0
    # -- graph pair features --------------------------------------------------------------------
    adj, nodes = adjacency(graph)
    pair: dict[str, np.ndarray] = {}
    for name, method in (("cn", "common_neighbors"), ("jaccard", "jaccard_coefficient"),
                         ("aa", "adamic_adar_index"), ("ra", "resource_allocation_index"),
                         ("log_pa", "preferential_attachment")):
        pair[name] = link_prediction_scores(graph, method, cands, cands, adj)
    pair["log_pa"] = np.log1p(pair["log_pa"])
    index = {v: i for i, v in enumerate(nodes)}
    ci = np.array([index[c] for c in cands])
    a2 = sp.csr_array(adj @ adj)
    pair["log_paths3"] = np.log1p(np.asarray((adj[ci] @ a2[:, ci]).toarray()))
    weights = nx.to_scipy_sparse_array(graph, nodelist=nodes, weight="weight", format="csr")
    pair["weighted_cn"] = np.log1p(np.asarray((weights[ci] @ weights[:, ci]).toarray()))
    types = np.array([data.org_type[c] for c in cands])
    countries = np.array([data.country[c] for c in cands])
    groups = np.array([data.group[c] for c in cands])
    pair["same_type"] = (types[:, None] == types[None, :]).astype(np.float64)
    pair["same_country"] = (countries[:, None] == countries[None, :]).astype(np.float64)
    pair["same_group"] = (groups[:, None] == groups[None, :]).astype(np.float64)
    pair["programme_cosine"] = text_scores(cordis_programme_documents(data, cands, cut))
    # -- every H2020 programme before the cut (not only health) -------------------------------
    everything = data.projects(0, cut - 1)
    pics = sorted({p for rcn in everything for p in data.members[rcn]})
    where = {p: i for i, p in enumerate(pics)}
    inc_rows = [where[p] for rcn in everything for p in data.members[rcn]]
    inc_cols = [j for j, rcn in enumerate(everything) for _ in data.members[rcn]]
    incidence = sp.csr_array((np.ones(len(inc_rows)), (inc_rows, inc_cols)),
                             shape=(len(pics), len(everything)))
    ck = np.array([where[c] for c in cands])
    joint = sp.csr_array(incidence[ck] @ incidence.T)  # candidates x all organisations
    linked = sp.csr_array(joint > 0, dtype=np.float64)
    linked = sp.csr_array(linked - sp.csr_array(  # not one's own neighbour
        (np.ones(len(ck)), (np.arange(len(ck)), ck)), shape=linked.shape))
    linked.eliminate_zeros()
    joint_cc = np.asarray(joint[:, ck].toarray())
    np.fill_diagonal(joint_cc, 0.0)
    pair["all_tied"] = (joint_cc > 0).astype(np.float64)
    pair["all_log_joint"] = np.log1p(joint_cc)
    pair["all_log_cn"] = np.log1p(np.asarray((linked @ linked.T).toarray()))
    node[:, NODE_FEATURES.index("log_all_degree")] = np.log1p(
        np.asarray(linked.sum(axis=1)).ravel())
    # -- the engine -----------------------------------------------------------------------------
    projection = cordis_projection(data, graph, cut)
    matcher = PartnerMatcher().fit(projection)
    rows = np.array([projection.member_index[c] for c in cands])
    block = {name: np.empty((n, n), np.float32) for name in ENGINE_FEATURES}
    hand = np.empty((n, n))
    for start in range(0, n, 256):
        r = rows[start:start + 256]
        score, _, _ = matcher.score_block(r)
        f = matcher.features_.block(r, ENGINE_FEATURES)
        for name in ENGINE_FEATURES:
            block[name][start:start + len(r)] = f[name][:, rows]
        hand[start:start + len(r)] = score[:, rows]
    pair.update(block)
    pair["engine_hand_score"] = np.where(np.isfinite(hand), hand, 0.0)
    return CordisPairFeatures(split, node, pair)


def _models(random_state: int = 0) -> dict[str, Any]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "logreg": make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000)),
        "hgb_small": HistGradientBoostingClassifier(
            max_iter=100, learning_rate=0.1, max_leaf_nodes=15, min_samples_leaf=200,
            l2_regularization=1.0, early_stopping=False, random_state=random_state),
        "hgb": HistGradientBoostingClassifier(
            max_iter=150, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=100,
            l2_regularization=1.0, early_stopping=False, random_state=random_state),
    }


def _training_set(features: CordisPairFeatures, max_rows: int, seed: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Every positive pair of the window's queries and a random sample of their other allowed
    candidates as negatives, at most ``max_rows`` rows in all."""
    split = features.split
    rng = np.random.default_rng(seed)
    total = int(split.allowed.sum())
    n_pos = sum(len(r) for r in split.relevant)
    keep_neg = min(1.0, max(0.0, (max_rows - n_pos) / max(total - n_pos, 1)))
    xs, ys = [], []
    for qi, q in enumerate(split.queries):
        cols = np.flatnonzero(split.allowed[qi])
        y = np.isin(cols, list(split.relevant[qi]))
        keep = y | (rng.random(len(cols)) < keep_neg)
        if keep.any():
            xs.append(features.rows(np.array([q]), cols[keep]))
            ys.append(y[keep])
    return np.vstack(xs), np.concatenate(ys).astype(int)


def predict_scores(model: Any, features: CordisPairFeatures, block: int = 128) -> np.ndarray:
    n = len(features.split.candidates)
    out = np.empty((n, n))
    for start in range(0, n, block):
        rows = np.arange(start, min(start + block, n))
        out[rows] = model.predict_proba(features.rows(rows))[:, 1].reshape(len(rows), n)
    return out


@dataclass
class LearnedRanker:
    """The selected model, its training window and the validation table it was chosen on."""

    model: Any
    name: str
    horizon: int
    train_window: tuple[int, int]
    validation: list[dict[str, Any]]


def cordis_fit_ranker(data: CordisData, cut: int, *, horizons: Sequence[int] = (1, 2, 3),
                      models: Sequence[str] = ("logreg", "hgb_small", "hgb"),
                      first_year: int = 2014, max_rows: int = 150_000, seed: int = 0,
                      cache: dict | None = None) -> LearnedRanker:
    """Select and fit the engine's learned ranker for test cut ``cut`` on pre-cut data only.

    A *window* (t, h) uses features from projects starting before t and labels = the new pairs
    of projects starting in [t, t + h - 1] (:func:`cordis_split` with ``end = t + h - 1``).

    - model selection: each (model, horizon h) is fitted on window (cut-1-h, h) and scored on
      the validation window (cut-1, 1), whose labels are the projects of year cut-1 (still
      before the cut); the best by P@10 + MRR on validation queries wins. Windows need at
      least one year of features (t > ``first_year``).
    - final fit: the chosen model on window (cut-h, h), i.e. labels up to year cut-1.

    Nothing from projects starting at or after ``cut`` is read.
    """
    cache = {} if cache is None else cache

    def window(t: int, h: int) -> CordisPairFeatures:
        if (t, h) not in cache:
            _log(f"  features: window cut {t}, labels {t}-{t + h - 1}")
            cache[(t, h)] = cordis_pair_features(data, cordis_split(data, t, end=t + h - 1))
        return cache[(t, h)]

    assert cut - 1 > first_year, "need one year of features before the validation window"
    validation_features = window(cut - 1, 1)
    rows = []
    for h in horizons:
        if cut - 1 - h <= first_year:
            continue
        X, y = _training_set(window(cut - 1 - h, h), max_rows, seed)
        for name in models:
            t0 = time.perf_counter()
            model = _models(seed)[name].fit(X, y)
            scores = predict_scores(model, validation_features)
            res = cordis_summaries(data, validation_features.split, {name: scores})
            row = {"model": name, "horizon": h, "train_window": (cut - 1 - h, cut - 2),
                   "validation_year": cut - 1, "fit_seconds": time.perf_counter() - t0,
                   **{f"val_{m}": res["overall"][name][m] for m in ("precision", "mrr")},
                   "val_companies_precision": res["companies"][name]["precision"]}
            rows.append(row)
            _log(f"  validation {name} h={h}: P@10 {row['val_precision']:.3f} "
                 f"MRR {row['val_mrr']:.3f}")
    best = max(rows, key=lambda r: r["val_precision"] + r["val_mrr"])
    h = best["horizon"]
    X, y = _training_set(window(cut - h, h), max_rows, seed)
    model = _models(seed)[best["model"]].fit(X, y)
    return LearnedRanker(model, best["model"], h, (cut - h, cut - 1), rows)


def cordis_evaluation(data: CordisData, cut: int, *, k: int = 10, seed: int = 0,
                      models: Sequence[str] = ("logreg", "hgb_small"),
                      horizons: Sequence[int] = (1, 2)) -> dict[str, Any]:
    """Every method on one cut, in the same run: the baselines, the engine's hand score on
    :func:`cordis_projection` and the engine's learned ranker (:func:`cordis_fit_ranker`, fitted
    before the cut). Returns ``{"split", "results": {"overall"|"companies": {method: metrics}},
    "ranker"}``."""
    _log(f"CORDIS cut {cut}: test split and features")
    split = cordis_split(data, cut)
    features = cordis_pair_features(data, split)
    scores = cordis_baseline_scores(data, split, seed=seed)
    scores["engine"] = features.pair["engine_hand_score"]
    _log(f"CORDIS cut {cut}: model selection before the cut")
    ranker = cordis_fit_ranker(data, cut, models=models, horizons=horizons, seed=seed)
    scores["engine_learned"] = predict_scores(ranker.model, features)
    return {"split": split, "results": cordis_summaries(data, split, scores, k=k),
            "ranker": ranker}
