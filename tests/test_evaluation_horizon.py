"""The horizon-matched ranker of the CORDIS benchmark (matching.evaluation.horizon): its windows,
its choice of baseline and blend weight, and that nothing from the cut on changes any choice.
Tiny synthetic inputs (no CORDIS data needed)."""

from __future__ import annotations

import numpy as np
import pytest

from matching import evaluation as ev
from matching.evaluation import horizon


def test_windows_are_sized_to_the_test_horizon():
    # cut 2019: test 2019-2020 (2021 almost absent) -> validate on the new pairs of 2017-2018,
    # with a model trained on 2015-2016 (features from 2014 only)
    assert horizon.effective_test_horizon(2019) == 2
    assert horizon.horizon_windows(2019) == (2, 2)
    # cut 2018: three test years, but a three-year window would leave nothing to train on
    assert horizon.effective_test_horizon(2018) == 3
    assert horizon.horizon_windows(2018) == (2, 1)
    assert horizon.horizon_windows(2017) == (1, 1)
    assert horizon.horizon_windows(2020) == (1, 1)
    with pytest.raises(ValueError, match="no pre-cut validation window"):
        horizon.horizon_windows(2015)


def _ranks(n_queries: int, n: int, seed: int) -> np.ndarray:
    """Per-row ranks in (0, 1], a random order per row."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n_queries, n)), axis=1).argsort(axis=1) / n + 1 / n


def _right_for(ranks: np.ndarray, relevant: list[set[int]]) -> np.ndarray:
    """``ranks`` with every query's relevant candidates moved to the top ranks."""
    out = ranks.copy()
    n = ranks.shape[1]
    for i, rel in enumerate(relevant):
        top = np.sort(out[i])[::-1][:len(rel)]
        others = [c for c in range(n) if c not in rel]
        rest = np.sort(out[i])[::-1][len(rel):]
        order = np.random.default_rng(i).permutation(len(others))
        out[i, list(rel)] = top
        out[i, np.array(others)[order]] = rest
    return out


def _validation(n_queries: int = 60, n: int = 120, seed: int = 0):
    rng = np.random.default_rng(seed)
    relevant = [set(rng.choice(n, 3, replace=False).tolist()) for _ in range(n_queries)]
    allowed = np.ones((n_queries, n), bool)
    company = np.arange(n_queries) % 3 == 0
    return relevant, allowed, company


def test_choice_blends_with_the_baseline_that_wins_on_validation_not_pa():
    relevant, allowed, company = _validation()
    q, n = allowed.shape
    baselines = {name: _ranks(q, n, i) for i, name in enumerate(horizon.STRUCTURAL)}
    # Adamic-Adar finds the new partners, preferential attachment (listed last) does not
    baselines["adamic_adar_index"] = _right_for(baselines["adamic_adar_index"], relevant)
    learned = {"logreg": _ranks(q, n, 10), "hgb_small": _ranks(q, n, 11)}
    choice = horizon.choose_blend(baselines, learned, allowed, relevant, company, k=10)
    assert choice.baseline == "adamic_adar_index"
    assert choice.baseline_scores["adamic_adar_index"] == pytest.approx(1.3)  # 0.3 + 1, twice
    # the learned scores are noise here: the weight goes as far towards the baseline as it may
    assert choice.weight >= 0.5
    assert choice.score > choice.model_scores[choice.model][0.0] + 0.5


def test_choice_keeps_a_learned_model_that_is_right_alone():
    relevant, allowed, company = _validation(seed=1)
    q, n = allowed.shape
    baselines = {name: _ranks(q, n, i) for i, name in enumerate(horizon.STRUCTURAL)}
    right = _ranks(q, n, 21)
    for i, rel in enumerate(relevant):
        right[i, list(rel)] = 2.0  # far above the rest: several weights rank them all first
    learned = {"logreg": _ranks(q, n, 20), "hgb_small": right}
    choice = horizon.choose_blend(baselines, learned, allowed, relevant, company, k=10)
    assert choice.model_scores["hgb_small"][0.3] == pytest.approx(1.3)  # a tie...
    # ...and equal scores go to the smaller weight: the right model alone
    assert (choice.model, choice.weight) == ("hgb_small", 0.0)
    assert choice.score == pytest.approx(1.3)


def synthetic_cordis(rewrite_from: int | None = None, seed: int = 0,
                     first_x_year: int = 2014) -> ev.CordisData:
    """Projects of part X (and a few of Y) from 2014 to 2021 among 40 organisations, a few of
    them much more active. With ``rewrite_from``, every project starting in that year or later
    gets other members, and new projects (with organisations never seen before) are added.
    Before ``first_x_year`` every project is of part Y."""
    rng = np.random.default_rng(seed)
    orgs = [f"o{i:02d}" for i in range(40)]
    activity = np.where(np.arange(40) < 6, 6.0, 1.0)
    year, members, parts = {}, {}, {}
    for y in range(2014, 2022):
        for j in range(10 if y < 2021 else 2):
            rcn = f"r{y}{j:02d}"
            year[rcn] = y
            pick = rng.choice(40, 4, replace=False, p=activity / activity.sum())
            members[rcn] = frozenset(orgs[i] for i in pick)
            parts[rcn] = frozenset({"X" if j < 8 and y >= first_x_year else "Y"})
    org_type = {o: ("PRC", "HES", "REC")[i % 3] for i, o in enumerate(orgs)}
    country = {o: ("DE", "FR", "IT", "ES")[i % 4] for i, o in enumerate(orgs)}
    if rewrite_from is not None:
        other = np.random.default_rng(seed + 99)
        for rcn in [r for r in year if year[r] >= rewrite_from]:
            members[rcn] = frozenset(orgs[i] for i in other.choice(40, 5, replace=False))
        for j in range(15):
            rcn = f"new{j:02d}"
            year[rcn] = rewrite_from + j % 3
            members[rcn] = frozenset([*(orgs[i] for i in other.choice(40, 3, replace=False)),
                                      f"late{j}"])
            parts[rcn] = frozenset({"X"})
            org_type[f"late{j}"], country[f"late{j}"] = "PRC", "ZZ"
    group = {o: "tc" if c == "ZZ" else "eu15" for o, c in country.items()}
    return ev.CordisData(year, members, parts, {}, org_type, country, group)


def _fit(data: ev.CordisData, cut: int = 2019) -> horizon.HorizonRanker:
    return horizon.cordis_fit_horizon(data, cut, programme="X", models=("logreg",), k=5)


def _coefficients(ranker: horizon.HorizonRanker) -> np.ndarray:
    return ranker.model[-1].coef_


def test_nothing_from_the_cut_on_changes_any_choice():
    reference = _fit(synthetic_cordis())
    assert reference.validation_window == (2017, 2)
    assert reference.validation_train_window == (2015, 2)
    assert reference.train_window == (2017, 2)
    rewritten = _fit(synthetic_cordis(rewrite_from=2019))
    assert rewritten.choice == reference.choice
    assert (rewritten.validation_window, rewritten.train_window) == (
        reference.validation_window, reference.train_window)
    np.testing.assert_array_equal(_coefficients(rewritten), _coefficients(reference))
    # the same rewrite one year earlier (inside the validation window) does change the fit:
    # the test above can see a leak
    earlier = _fit(synthetic_cordis(rewrite_from=2018))
    assert not np.array_equal(_coefficients(earlier), _coefficients(reference))


def test_windows_without_queries_shorten_the_training_horizon_then_the_validation_one():
    # part X starts in 2015: the two-year training window 2015-2016 has no feature year of X,
    # so no query; the one-year window 2016 is next, and the deployed model has horizon 1 too
    ranker = _fit(synthetic_cordis(first_x_year=2015))
    assert ranker.validation_window == (2017, 2)
    assert ranker.validation_train_window == (2016, 1)
    assert ranker.train_window == (2018, 1)
    assert (2015, 2) in ranker.skipped_windows
    # part X starts in 2016: no training window before the two-year validation window has a
    # query, so validation falls back to the new pairs of 2018
    ranker = _fit(synthetic_cordis(first_x_year=2016))
    assert ranker.validation_window == (2018, 1)
    assert ranker.validation_train_window == (2017, 1)
    # part X starts in 2018: nothing to validate on before 2019
    with pytest.raises(ValueError, match="no pre-cut validation window with queries"):
        _fit(synthetic_cordis(first_x_year=2018))
