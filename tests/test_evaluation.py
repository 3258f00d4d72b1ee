"""Pure tests of matching.evaluation: metrics with known answers, baselines equal to networkx,
no leak of held-out ties, and the CORDIS baseline reproduction (when the data is present)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from matching import evaluation as ev
from matching.evaluation.holdout import positive_pairs
from seed_data import SEED_DIR

CORDIS_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cordis-h2020"


# -- metrics ----------------------------------------------------------------------------------
RANKED = ["a", "b", "c", "d", "e"]
RELEVANT = {"b", "e", "z"}  # z is never ranked


def test_precision_and_recall_at_k():
    assert ev.precision_at_k(RANKED, RELEVANT, 1) == 0.0
    assert ev.precision_at_k(RANKED, RELEVANT, 2) == 0.5
    assert ev.precision_at_k(RANKED, RELEVANT, 5) == pytest.approx(2 / 5)
    assert ev.precision_at_k(RANKED, RELEVANT, 10) == pytest.approx(2 / 10)  # k, not len
    assert ev.recall_at_k(RANKED, RELEVANT, 2) == pytest.approx(1 / 3)
    assert ev.recall_at_k(RANKED, RELEVANT, 5) == pytest.approx(2 / 3)
    assert ev.recall_at_k(RANKED, set(), 5) == 0.0


def test_reciprocal_rank():
    assert ev.reciprocal_rank(RANKED, RELEVANT) == 0.5
    assert ev.reciprocal_rank(RANKED, {"a"}) == 1.0
    assert ev.reciprocal_rank(RANKED, {"e"}) == 0.2
    assert ev.reciprocal_rank(RANKED, {"z"}) == 0.0


def test_ndcg_at_k():
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # three relevant ids
    assert ev.ndcg_at_k(RANKED, RELEVANT, 5) == pytest.approx(dcg / idcg)
    assert ev.ndcg_at_k(["b", "e"], {"b", "e"}, 2) == pytest.approx(1.0)
    assert ev.ndcg_at_k(RANKED, {"a"}, 3) == pytest.approx(1.0)
    assert ev.ndcg_at_k(RANKED, set(), 3) == 0.0


def test_aggregate_is_the_mean_over_queries():
    rows = [ev.query_metrics(RANKED, {"a"}, 2), ev.query_metrics(RANKED, {"c"}, 2)]
    agg = ev.aggregate(rows)
    assert agg["precision"] == pytest.approx(0.25)
    assert agg["recall"] == pytest.approx(0.5)
    assert agg["mrr"] == pytest.approx((1 + 1 / 3) / 2)
    assert agg["n_queries"] == 2


def test_roc_auc_known_values():
    assert ev.roc_auc([3, 4], [1, 2]) == 1.0
    assert ev.roc_auc([1, 2], [3, 4]) == 0.0
    assert ev.roc_auc([1, 3], [2, 2]) == 0.5
    assert ev.roc_auc([1.0], [-np.inf]) == 1.0  # not suggestible ranks lowest
    neg = ev.sample_negative_pairs(6, {(0, 1), (2, 3)}, 5, seed=3)
    assert neg == ev.sample_negative_pairs(6, {(0, 1), (2, 3)}, 5, seed=3)  # fixed seed
    assert len(neg) == 5 and not {(0, 1), (2, 3)} & set(neg)
    assert all(a < b for a, b in neg)


def test_rank_matrix_orders_by_score_and_drops_disallowed():
    scores = np.array([[0.0, 3.0, 1.0, -np.inf, 2.0]])
    allowed = np.array([[False, True, True, True, False]])
    assert ev.rank_matrix(scores, allowed)[0].tolist() == [1, 2, 3]


# -- baselines --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_graph() -> nx.Graph:
    g = nx.karate_club_graph()
    g = nx.relabel_nodes(g, {v: f"n{v}" for v in g})
    g.add_node("isolated")
    return g


@pytest.mark.parametrize("method", ev.LINK_PREDICTORS)
def test_link_predictors_equal_networkx(small_graph, method):
    nodes = list(small_graph.nodes)
    scores = ev.link_prediction_scores(small_graph, method, nodes, nodes)
    pairs = [(u, v) for i, u in enumerate(nodes) for v in nodes[i + 1:]]
    if method == "common_neighbors":
        expected = [(u, v, len(list(nx.common_neighbors(small_graph, u, v)))) for u, v in pairs]
    else:
        expected = getattr(nx, method)(small_graph, pairs)
    index = {v: i for i, v in enumerate(nodes)}
    for u, v, p in expected:
        assert scores[index[u], index[v]] == pytest.approx(p, abs=1e-12)
        assert scores[index[v], index[u]] == pytest.approx(p, abs=1e-12)


def test_text_scores_are_tfidf_cosines():
    s = ev.text_scores([["x", "y"], ["x", "y"], ["z"], []])
    assert s[0, 1] == pytest.approx(1.0)
    assert s[0, 2] == 0.0 and s[3].sum() == 0.0
    assert s[0, 0] == pytest.approx(1.0)


# -- hold-out on a seed network ---------------------------------------------------------------
@pytest.fixture(scope="module")
def seed_docs():
    taxonomy = json.loads((SEED_DIR / "taxonomy.json").read_text())["capabilities"]
    docs = {p.stem: json.loads(p.read_text()) for p in sorted(SEED_DIR.glob("*.json"))
            if p.stem != "taxonomy"}
    return taxonomy, docs


def test_holdout_never_leaks_a_held_out_tie(seed_docs):
    _, docs = seed_docs
    for doc in docs.values():
        for seed in (0, 1, 2):
            train, held = ev.split_ties(doc, 0.2, seed)
            train_pairs = {tuple(sorted((t["source"], t["target"]))) for t in train
                           if t["type"] in ev.HELD_OUT_TIE_TYPES}
            assert held and not held & train_pairs
            # everything else is kept: positive ties of other pairs and every rivalry
            kept = [t for t in doc["ties"] if t["type"] == "COMPETES_WITH"
                    or tuple(sorted((t["source"], t["target"]))) not in held]
            assert len(train) == len(kept)
            assert len(held) == max(1, round(0.2 * len(positive_pairs(doc["ties"]))))


def test_holdout_evaluation_reports_every_method(seed_docs):
    taxonomy, docs = seed_docs
    result = ev.holdout_evaluation(docs["fishing"], taxonomy, seeds=(0,))
    assert set(result) == {*ev.LINK_PREDICTORS, "text", "random", "engine"}
    for metrics in result.values():
        for name in ev.METRICS:
            assert 0.0 <= metrics[name] <= 1.0


# -- CORDIS -----------------------------------------------------------------------------------
@pytest.mark.skipif(not (CORDIS_DIR / "h2020.csv.gz").exists(),
                    reason=f"CORDIS H2020 extract not found at {CORDIS_DIR}")
def test_cordis_common_neighbours_reproduces_the_reference_at_2018():
    data = ev.cordis_load(CORDIS_DIR)
    split = ev.cordis_split(data, 2018)
    assert (len(split.queries), len(split.candidates), len(split.positives)) == (944, 964, 16779)
    assert sum(data.org_type[split.candidates[q]] == "PRC" for q in split.queries) == 212
    scores = ev.link_prediction_scores(split.graph, "common_neighbors", split.candidates,
                                       split.candidates)
    result = ev.cordis_summaries(data, split, {"cn": scores})
    overall, companies = result["overall"]["cn"], result["companies"]["cn"]
    assert overall["precision"] == pytest.approx(0.233, abs=0.01)
    assert overall["recall"] == pytest.approx(0.071, abs=0.01)
    assert overall["roc_auc"] == pytest.approx(0.728, abs=0.01)
    assert companies["precision"] == pytest.approx(0.171, abs=0.01)
    # MRR depends on how equal scores are ordered: 0.428-0.443 over tie orders (README 0.439).
    assert overall["mrr"] == pytest.approx(0.439, abs=0.015)


def test_rank_blend_keeps_row_orders_at_the_ends():
    from matching.evaluation.cordis import blend_scores, rank_scores

    rng = np.random.default_rng(0)
    learned, pa = rng.random((4, 6)), rng.random((4, 6)) * 100
    ranks = rank_scores(learned)
    assert ranks.min() > 0 and ranks.max() == 1.0
    np.testing.assert_array_equal(np.argsort(blend_scores(learned, pa, 0.0), axis=1),
                                  np.argsort(learned, axis=1))
    np.testing.assert_array_equal(np.argsort(blend_scores(learned, pa, 1.0), axis=1),
                                  np.argsort(pa, axis=1))
