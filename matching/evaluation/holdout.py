"""Protocol 1: hide random positive ties of a seed network and rank them back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from matching.evaluation.baselines import (
    adjacency,
    engine_scores,
    link_prediction_scores,
    random_scores,
    text_scores,
)
from matching.evaluation.constants import HELD_OUT_TIE_TYPES, LINK_PREDICTORS, METRICS
from matching.evaluation.ranking import evaluate_scores, sample_negative_pairs
from matching.projection import NetworkProjection, build_projection


def positive_pairs(ties: Iterable[Mapping[str, Any]]) -> set[tuple[str, str]]:
    return {tuple(sorted((t["source"], t["target"]))) for t in ties
            if t["type"] in HELD_OUT_TIE_TYPES and t["source"] != t["target"]}


def split_ties(document: Mapping[str, Any], fraction: float = 0.2, seed: int = 0
               ) -> tuple[list[dict], set[tuple[str, str]]]:
    """Hold out ``fraction`` of the member pairs joined by a positive tie.

    A pair is held out as a whole: every COLLABORATES_WITH, TRUSTS and SUPPLIES tie between the
    two members, in either direction, leaves the training ties. COMPETES_WITH ties all stay.
    Returns (training ties, held-out pairs as sorted id tuples). At least one pair is held out.
    """
    pairs = sorted(positive_pairs(document["ties"]))
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
    all_pairs = positive_pairs(document["ties"])
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
        train_pairs = positive_pairs(train_ties)
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
