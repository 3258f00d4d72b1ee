"""The query-rank ranker of consortium completion (matching.evaluation.consortium_ranks): the
coordinator's habits as features, ranks that ignore how busy a year was, and that nothing from
the cut on changes its fit. Tiny synthetic inputs (no CORDIS data needed)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from matching import evaluation as ev
from matching.evaluation import consortium_ranks as cr
from matching.evaluation.consortium import consortium_task
from tests.test_evaluation_horizon import synthetic_cordis


def coordinated(data: ev.CordisData) -> ev.CordisData:
    """``data`` with a coordinator for every project: its first member by id."""
    return dataclasses.replace(data, coordinator={r: min(m) for r, m in data.members.items()})


def test_the_coordinators_habits_and_what_a_candidate_would_add():
    # o1 (coordinator) worked twice with a company from DE and once with a university from FR
    data = ev.CordisData(
        year={"p1": 2015, "p2": 2016, "p3": 2016, "t": 2017},
        members={"p1": frozenset({"o1", "a"}), "p2": frozenset({"o1", "a", "b"}),
                 "p3": frozenset({"c", "d"}), "t": frozenset({"o1", "c", "d"})},
        parts={r: frozenset({"X"}) for r in ("p1", "p2", "p3", "t")},
        coordinator={"p1": "o1", "p2": "o1", "p3": "c", "t": "o1"},
        org_type={"o1": "HES", "a": "PRC", "b": "HES", "c": "REC", "d": "PRC"},
        country={"o1": "DE", "a": "DE", "b": "FR", "c": "IT", "d": "DE"}, group={})
    task = consortium_task(data, 2017, "X", end=2017)
    f = cr.consortium_features(data, task, engine=False)
    at = {p: i for i, p in enumerate(task.nodes)}
    pair = {name: dict(zip(task.nodes, v[0])) for name, v in f.pair.items()}
    assert pair["joint"]["a"] == 2 and pair["joint"]["b"] == 1 and pair["joint"]["c"] == 0
    # partners weighted by joint projects: companies 2 of 3, universities 1 of 3, no REC
    assert pair["type_share"]["d"] == pytest.approx(2 / 3)
    assert pair["type_share"]["c"] == 0 and pair["new_type"]["c"] == 1
    assert pair["country_share"]["d"] == pytest.approx(2 / 3)
    assert pair["new_country"]["c"] == 1 and pair["new_country"]["a"] == 0
    assert pair["same_country"]["d"] == 1 and pair["same_type"]["b"] == 1
    x = cr.design_block(f, 0)
    assert x.shape == (len(task.nodes), len(cr.FEATURE_NAMES))
    # ranked among the coordinator's candidates: a (2 joint projects) first, c and d tie last
    joint = x[:, cr.FEATURE_NAMES.index("joint")]
    assert joint[at["a"]] == 1.0 and joint[at["c"]] == joint[at["d"]] < joint[at["b"]]
    assert np.all(x[at["o1"], len(cr.NODE_FEATURES):] == 0)  # never its own candidate


def test_ranks_ignore_how_busy_a_year_was():
    data = coordinated(synthetic_cordis())
    f = cr.consortium_features(data, consortium_task(data, 2018, "X", end=2018), engine=False)
    busier = dataclasses.replace(
        f, node=np.where(cr._NODE_RANKED, 2.0 * f.node + 3.0, f.node),
        pair={n: (np.power(v, 3) + v if n not in cr.INDICATOR_PAIR else v)
              for n, v in f.pair.items()})
    for r in range(len(f.task.rows)):
        np.testing.assert_allclose(cr.design_block(busier, r), cr.design_block(f, r), rtol=1e-6)


def _fit(data: ev.CordisData, cut: int = 2020) -> cr.ConsortiumRanker:
    return cr.fit_consortium_ranker(data, cut, "X", models=("logreg",), k=5, engine=False)


def test_nothing_from_the_cut_on_changes_the_fit():
    reference = _fit(coordinated(synthetic_cordis()))
    assert reference.validation_year == 2019
    assert reference.validation_train_years == (2015, 2016, 2017, 2018)
    assert reference.train_years == (2015, 2016, 2017, 2018, 2019)
    rewritten = _fit(coordinated(synthetic_cordis(rewrite_from=2020)))
    assert rewritten.validation_scores == reference.validation_scores
    np.testing.assert_array_equal(rewritten.model[-1].coef_, reference.model[-1].coef_)
    earlier = _fit(coordinated(synthetic_cordis(rewrite_from=2019)))
    assert not np.array_equal(earlier.model[-1].coef_, reference.model[-1].coef_)


def test_a_part_without_validation_projects_has_no_ranker():
    with pytest.raises(ValueError, match="no query in the validation year"):
        _fit(coordinated(synthetic_cordis(first_x_year=2019)))


def test_every_consortium_method_has_a_label_for_the_tables():
    from matching.evaluation.consortium import CONSORTIUM_BASELINES, CONSORTIUM_LABELS

    labels = {**ev.METHOD_LABELS, **CONSORTIUM_LABELS}
    assert {*CONSORTIUM_BASELINES, "engine", "builder", "blend", "ranks"} <= labels.keys()
