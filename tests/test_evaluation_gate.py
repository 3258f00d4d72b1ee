"""The per-query gated blend of the CORDIS benchmark (matching.evaluation.gate) on tiny
hand-built inputs whose right answer is known (no CORDIS data needed)."""

from __future__ import annotations

import numpy as np
import pytest

from matching import evaluation as ev
from matching.evaluation import gate


def test_fast_metrics_rank_exactly_as_rank_matrix():
    rng = np.random.default_rng(0)
    n, q = 30, 12
    scores = rng.integers(0, 4, (n, n)).astype(float)  # many ties
    scores[rng.random((n, n)) < 0.1] = -np.inf
    rows = rng.choice(n, q, replace=False)
    allowed = rng.random((q, n)) < 0.8
    allowed[np.arange(q), rows] = False
    relevant = [set(rng.choice(np.flatnonzero(a), 3, replace=False).tolist()) for a in allowed]
    relevant[0] = set()  # a query without any relevant candidate scores 0
    for seed in (0, 3):
        slow = ev.per_query_metrics(scores, rows, allowed, relevant, k=5, tie_seed=seed)
        fast = gate.fast_query_metrics(scores, rows, allowed, relevant, k=5, tie_seed=seed)
        np.testing.assert_allclose(fast["precision"], slow["precision"])
        np.testing.assert_allclose(fast["mrr"], slow["mrr"])


def test_weight_grid_covers_the_simplex():
    grid = gate.weight_grid()
    assert grid.shape == (126, 6)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert {tuple(r) for r in np.eye(6)} <= {tuple(r) for r in grid}
    assert len({tuple(r) for r in grid}) == 126


def _window(n_queries: int, n: int, degree: np.ndarray, right: list[str], seed: int
            ) -> gate.GateWindow:
    """Queries whose relevant candidates are ranked first by the component ``right[i]`` and
    randomly by every other component."""
    rng = np.random.default_rng(seed)
    ranks = {c: rng.random((n_queries, n)) for c in gate.GATE_COMPONENTS}
    relevant = []
    for i, comp in enumerate(right):
        rel = set(rng.choice(n, 3, replace=False).tolist())
        relevant.append(rel)
        ranks[comp][i, list(rel)] = 2.0  # above every random rank
    return gate.GateWindow((2017, 1), ranks, np.ones((n_queries, n), bool), relevant,
                           degree, np.zeros(n_queries, bool))


def test_gate_gives_each_degree_group_the_component_that_is_right_for_it():
    # low-degree queries are found by Adamic-Adar, middle ones by the engine, hubs by the
    # activity forecast: the gate must learn exactly that, group by group
    m = 30
    degree = np.repeat([1.0, 10.0, 100.0], m)
    right = ["aa"] * m + ["engine"] * m + ["activity"] * m
    windows = [_window(3 * m, 60, degree, right, seed) for seed in (1, 2)]
    fitted = gate.fit_gate(windows, k=5)
    assert fitted.thresholds[0] < 10.0 <= fitted.thresholds[1] < 100.0
    assert [max(v["weights"], key=v["weights"].get) for v in fitted.validation] == [
        "aa", "engine", "activity"]
    # every relevant candidate (3) in the top 5 and first: P@5 = 0.6, RR = 1
    assert all(v["score"] == pytest.approx(1.6) for v in fitted.validation)
    # applied to new queries, each row is ranked by its group's component
    test = _window(3, 60, np.array([2.0, 10.0, 500.0]), ["aa", "engine", "activity"], seed=5)
    scores = fitted.score(test.ranks, test.degree)
    metrics = gate.fast_query_metrics(scores, np.arange(3), test.allowed, test.relevant, k=3)
    np.testing.assert_allclose(metrics["precision"], 1.0)


def test_one_component_right_everywhere_wins_every_group():
    degree = np.arange(60, dtype=float)
    windows = [_window(60, 40, degree, ["pa"] * 60, seed) for seed in (3, 4)]
    fitted = gate.fit_gate(windows, k=5)
    assert all(max(v["weights"], key=v["weights"].get) == "pa" for v in fitted.validation)
    assert all(v["score"] == pytest.approx(v["score_pa_only"]) for v in fitted.validation)


def test_degree_groups_put_the_thresholds_in_the_lower_group():
    np.testing.assert_array_equal(gate.degree_groups([1, 3, 4, 7, 8], (3, 7)), [0, 0, 1, 1, 2])


def test_activity_forecast_orders_by_past_activity():
    rng = np.random.default_rng(0)
    node = rng.random((400, 3))
    new_partners = rng.poisson(np.exp(3 * node[:, 0]))  # only the first feature matters
    model = gate.fit_activity_forecast(node, new_partners)
    probe = np.array([[0.1, 0.5, 0.5], [0.5, 0.5, 0.5], [0.9, 0.5, 0.5]])
    pred = model.predict(probe)
    assert pred[0] < pred[1] < pred[2]
