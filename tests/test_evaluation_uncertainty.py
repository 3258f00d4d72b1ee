"""Pure tests of the evaluation's uncertainty (paired bootstrap, tie-order spread) and of the
CORDIS protocol's pre-cut taxonomy, on tiny synthetic tables (no CORDIS data needed)."""

from __future__ import annotations

import numpy as np
import pytest

from matching import evaluation as ev


# -- paired bootstrap -------------------------------------------------------------------------
def test_bootstrap_of_identical_methods_is_exactly_zero():
    x = np.random.default_rng(1).random(300)
    out = ev.paired_bootstrap(x, x, n_resamples=200)
    assert out == {"diff": 0.0, "low": 0.0, "high": 0.0, "n": 300}


def test_bootstrap_interval_covers_the_true_difference_at_the_right_width():
    rng = np.random.default_rng(2)
    b = rng.random(4000)
    a = b + 0.05 + rng.normal(0, 1, 4000)
    out = ev.paired_bootstrap(a, b, n_resamples=1000, seed=3)
    assert out["diff"] == pytest.approx(float(np.mean(a - b)))
    assert out["low"] < out["diff"] < out["high"]
    assert abs(out["diff"] - 0.05) < 3 / np.sqrt(4000)  # three standard errors
    # standard error 1 / sqrt(4000): the 95% interval is about 2 x 1.96 x 0.0158 wide
    assert out["high"] - out["low"] == pytest.approx(2 * 1.96 / np.sqrt(4000), rel=0.15)


def test_bootstrap_is_paired_over_queries():
    # the per-query level varies a lot, the difference is a small constant: only a paired
    # resample sees that a is always ahead
    level = np.random.default_rng(4).random(200) * 10
    out = ev.paired_bootstrap(level + 0.01, level, n_resamples=500)
    assert out["low"] == pytest.approx(0.01) and out["high"] == pytest.approx(0.01)


def test_compare_to_best_baseline_picks_the_best_per_metric():
    per_query = {
        "pa": {"precision": np.array([0.2, 0.2, 0.2]), "mrr": np.array([0.1, 0.1, 0.1])},
        "aa": {"precision": np.array([0.1, 0.1, 0.1]), "mrr": np.array([0.5, 0.5, 0.5])},
        "engine": {"precision": np.array([0.3, 0.3, 0.3]), "mrr": np.array([0.4, 0.4, 0.4])},
    }
    out = ev.compare_to_best_baseline(per_query, "engine", ["pa", "aa"], n_resamples=50)
    assert out["precision"]["baseline"] == "pa"
    assert out["precision"]["diff"] == pytest.approx(0.1)
    assert out["mrr"]["baseline"] == "aa"
    assert out["mrr"]["diff"] == pytest.approx(-0.1) and out["mrr"]["high"] < 0
    only_first = ev.compare_to_best_baseline(per_query, "engine", ["pa", "aa"],
                                             np.array([True, False, False]), n_resamples=50)
    assert only_first["precision"]["n"] == 1


# -- tie-order spread -------------------------------------------------------------------------
def test_tie_order_spread_is_wide_for_ties_and_zero_for_distinct_scores():
    n = 40
    allowed = ~np.eye(n, dtype=bool)[:5]
    relevant = [{(q + 1) % n, (q + 2) % n} for q in range(5)]
    subsets = {"all": np.ones(5, bool)}
    tied = ev.tie_order_spread(np.zeros((n, n)), range(5), allowed, relevant, subsets, k=3,
                               tie_seeds=range(12))
    lo, hi = tied["all"]["mrr"]
    assert lo < hi
    distinct = np.tile(np.arange(n, dtype=float), (n, 1))
    sure = ev.tie_order_spread(distinct, range(5), allowed, relevant, subsets, k=3,
                               tie_seeds=range(12))
    assert sure["all"]["mrr"][0] == sure["all"]["mrr"][1]
    assert sure["all"]["precision"][0] == sure["all"]["precision"][1]


# -- CORDIS: the taxonomy and the ranker's windows see only pre-cut rows ------------------------
def tiny_cordis(extra_after_cut: bool) -> ev.CordisData:
    year = {"p1": 2015, "p2": 2016, "p3": 2017, "p4": 2019}
    members = {"p1": frozenset("abc"), "p2": frozenset("ad"), "p3": frozenset("bd"),
               "p4": frozenset("acde")}
    parts = {r: frozenset({"X"}) for r in year}
    country = {"a": "DE", "b": "FR", "c": "DE", "d": "IT", "e": "DE"}
    group = {"a": "eu15", "b": "eu15", "c": "eu15", "d": "eu15", "e": "eu15"}
    if extra_after_cut:  # a new country, group and programme part, all first seen in 2019
        parts["p4"] = frozenset({"X", "NEW"})
        country["e"], group["e"] = "ZZ", "tc"
    org_type = {p: "PRC" for p in country}
    return ev.CordisData(year, members, parts, {}, org_type, country, group)


def test_cordis_taxonomy_is_built_from_pre_cut_rows_only():
    before = ev.cordis_taxonomy(tiny_cordis(extra_after_cut=False), cut=2018)
    after = ev.cordis_taxonomy(tiny_cordis(extra_after_cut=True), cut=2018)
    assert after == before  # what happens from the cut on changes nothing
    ids = {row["id"] for row in after}
    assert {"prog:X", "country:DE", "country:FR", "country:IT", "group:eu15"} <= ids
    assert not ids & {"prog:NEW", "country:ZZ", "group:tc"}
    # without a cut (describing the whole extract) the later rows do appear
    assert {"prog:NEW", "country:ZZ"} <= {r["id"] for r in
                                          ev.cordis_taxonomy(tiny_cordis(True))}


def test_cordis_projection_uses_the_pre_cut_taxonomy():
    data = tiny_cordis(extra_after_cut=True)
    graph = ev.cordis_train_graph(data, 2018, "X")
    projection = ev.cordis_projection(data, graph, 2018, programme="X")
    reference = ev.cordis_projection(tiny_cordis(False), graph, 2018, programme="X")
    assert projection.capability_ids == reference.capability_ids


def test_cordis_split_of_another_part_and_ranker_without_any_query_window():
    data = tiny_cordis(extra_after_cut=False)
    split = ev.cordis_split(data, 2018, programme="X")
    assert split.programme == "X"
    assert [split.candidates[q] for q in split.queries] == ["c", "d"]  # c-d new; a-c, a-d tied; e new
    # the pre-cut windows of a part that starts in 2019 have no query at all: a clear error,
    # not a crash inside the training-set builder
    with pytest.raises(ValueError, match="no pre-cut training and validation window"):
        ev.cordis_fit_ranker(data, 2018, programme="NEW")
