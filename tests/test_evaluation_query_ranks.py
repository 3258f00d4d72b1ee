"""The query-rank ranker of the CORDIS benchmark (matching.evaluation.query_ranks): its windows,
features that mean the same in every year, and that nothing from the cut on changes its fit.
Tiny synthetic inputs (no CORDIS data needed)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from matching import evaluation as ev
from matching.evaluation import query_ranks as qr
from tests.test_evaluation_horizon import synthetic_cordis


def test_windows_pool_every_year_before_the_validation_window():
    # cut 2020: the test is one year (2020; 2021 almost absent): validate on the new pairs of
    # 2019 with models fitted on those of 2015-2018 (each with the features before its year)
    assert qr.query_rank_windows(2020)[0] == (
        1, [(2015, 1), (2016, 1), (2017, 1), (2018, 1)], (2019, 1))
    # cut 2019: two test years; the two-year window 2015-2016 is the only one ending before
    # the validation window 2017-2018 starts; shorter horizons come next
    plans = qr.query_rank_windows(2019)
    assert plans[0] == (2, [(2015, 2)], (2017, 2))
    assert plans[1] == (1, [(2015, 1), (2016, 1), (2017, 1)], (2018, 1))
    # cut 2018: no three- or two-year window fits before its validation window
    assert qr.query_rank_windows(2018) == [(1, [(2015, 1), (2016, 1)], (2017, 1))]
    assert qr.query_rank_windows(2016) == []


@pytest.fixture(scope="module")
def window() -> ev.CordisPairFeatures:
    data = synthetic_cordis()
    return ev.cordis_pair_features(data, ev.cordis_split(data, 2018, end=2018, programme="X"))


def test_features_mean_the_same_when_every_count_grows(window):
    """A graph where every organisation did more (every count, degree and score larger by an
    increasing map: here 3x + 7 and x cubed, which keep distinct values distinct in floating
    point) gives the same design matrix: what a model learns on an early window applies to a
    later, busier one."""
    grown = dataclasses.replace(
        window,
        node=np.where(qr._NODE_RANKED, 3.0 * window.node + 7.0, window.node),
        pair={name: (np.power(v.astype(np.float64), 3) if name not in qr.INDICATOR_PAIR else v)
              for name, v in window.pair.items()})
    ranks, grown_ranks = qr.node_ranks(window), qr.node_ranks(grown)
    for qi, q in enumerate(window.split.queries):
        cols = np.flatnonzero(window.split.allowed[qi])
        np.testing.assert_allclose(qr.design(grown, grown_ranks, q, cols),
                                   qr.design(window, ranks, q, cols), rtol=1e-6)
    # while the raw features the learned ranker reads do change
    q = window.split.queries[0]
    assert not np.allclose(grown.rows(np.array([q])), window.rows(np.array([q])))


def test_a_candidates_features_are_its_ranks_among_the_querys_candidates(window):
    ranks = qr.node_ranks(window)
    q = window.split.queries[0]
    cols = np.flatnonzero(window.split.allowed[0])
    x = qr.design(window, ranks, q, cols)
    assert x.shape == (len(cols), len(qr.FEATURE_NAMES))
    aa = x[:, qr.FEATURE_NAMES.index("aa")]
    raw = window.pair["aa"][q, cols]
    # the best Adamic-Adar candidate has rank 1; equal scores share a rank; the order is kept
    assert aa.max() == pytest.approx(1.0) and 0 < aa.min() <= 1
    assert np.all(np.diff(aa[np.argsort(raw, kind="stable")]) >= 0)
    # indicators stay 0/1; the query's own features are the same on every row
    same_country = x[:, qr.FEATURE_NAMES.index("same_country")]
    np.testing.assert_array_equal(same_country, window.pair["same_country"][q, cols])
    query_cols = [i for i, n in enumerate(qr.FEATURE_NAMES) if n.startswith("query_")]
    assert np.all(x[:, query_cols] == x[0, query_cols])


def test_scores_rank_only_the_candidates_a_row_is_not_tied_to(window):
    model = _fit(synthetic_cordis(), 2018).model
    s = qr.query_rank_scores(model, window)
    split = window.split
    for qi, q in enumerate(split.queries):
        assert np.all(s[q, ~split.allowed[qi]] == 0)
        assert np.all(s[q, split.allowed[qi]] > 0)
    # a row that is no query ranks by the same rule (not itself, not its partners)
    others = [r for r in range(len(split.candidates)) if r not in set(split.queries)]
    for r in others:
        assert s[r, r] == 0


def _fit(data: ev.CordisData, cut: int = 2020) -> qr.QueryRankRanker:
    return qr.cordis_fit_query_ranks(data, cut, programme="X", models=("logreg",), k=5)


def test_nothing_from_the_cut_on_changes_the_fit():
    reference = _fit(synthetic_cordis())
    assert reference.validation_window == (2019, 1)
    assert reference.validation_train_windows == ((2015, 1), (2016, 1), (2017, 1), (2018, 1))
    assert reference.train_windows == ((2015, 1), (2016, 1), (2017, 1), (2018, 1), (2019, 1))
    rewritten = _fit(synthetic_cordis(rewrite_from=2020))
    assert rewritten.validation_scores == reference.validation_scores
    np.testing.assert_array_equal(rewritten.model[-1].coef_, reference.model[-1].coef_)
    # the same rewrite one year earlier (the validation window) does change it: the test above
    # can see a leak
    earlier = _fit(synthetic_cordis(rewrite_from=2019))
    assert not np.array_equal(earlier.model[-1].coef_, reference.model[-1].coef_)


def test_windows_without_queries_are_skipped():
    # part X starts in 2016: the windows of 2015 and 2016 have no query (no X project before
    # them), so the models are fitted on 2017 and 2018 only
    ranker = _fit(synthetic_cordis(first_x_year=2016))
    assert ranker.validation_train_windows == ((2017, 1), (2018, 1))
    assert {(2015, 1), (2016, 1)} <= set(ranker.skipped_windows)
    with pytest.raises(ValueError, match="no pre-cut validation window with queries"):
        _fit(synthetic_cordis(first_x_year=2019))


def test_windows_whose_pairs_are_all_new_partners_teach_nothing(monkeypatch):
    # a tiny part where every candidate of every query is a new partner: a clear refusal, not
    # the model library's complaint about one class
    def all_positive(features, max_rows, seed):
        x, y = real(features, max_rows, seed)
        return x, np.ones_like(y)

    real = qr.training_rows
    monkeypatch.setattr(qr, "training_rows", all_positive)
    with pytest.raises(ValueError, match="are all new partners: no ranking to learn"):
        _fit(synthetic_cordis())
