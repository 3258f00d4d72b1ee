"""Scorers: the networkx link predictors (vectorised), TF-IDF text, random, the engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import networkx as nx
import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from matching.projection import NetworkProjection
from matching.scoring import PartnerMatcher


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
        score, _, _ = matcher.score_block(rows, new_partners=False)  # link prediction
        out[start:start + len(rows)] = score[:, idx]
    return out
