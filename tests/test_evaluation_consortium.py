"""Consortium completion (matching.evaluation.consortium) on a tiny hand-built CORDIS extract
whose right answers are known (no CORDIS data needed)."""

from __future__ import annotations

import numpy as np
import pytest

from matching import evaluation as ev
from matching.evaluation import consortium as cs

# Before the cut (2018), part X:   C-A-B triangle, A and B with D, D with E, F with G.
# From the test period: t1 (C with D, E and a newcomer Z), t5 (A with its partner B and E) are
# queries; t2 (unknown coordinator), t3 (one known partner only) and t4 (part Y) are not.
PROJECTS = {
    "p1": (2015, "CAB", "C", "X"), "p2": (2016, "ABD", "A", "X"), "p3": (2016, "DE", "D", "X"),
    "p4": (2017, "FG", "F", "X"),
    "t1": (2019, "CDEZ", "C", "X"), "t2": (2019, "QAB", "Q", "X"), "t3": (2020, "CAZ", "C", "X"),
    "t4": (2018, "CFG", "C", "Y"), "t5": (2019, "ABE", "A", "X"),
}
TYPES = {"A": "HES", "B": "REC", "C": "HES", "D": "PRC", "E": "HES", "F": "PRC", "G": "PUB",
         "Q": "PRC", "Z": "PRC"}


def tiny() -> ev.CordisData:
    year = {r: y for r, (y, _, _, _) in PROJECTS.items()}
    members = {r: frozenset(m) for r, (_, m, _, _) in PROJECTS.items()}
    coordinator = {r: c for r, (_, _, c, _) in PROJECTS.items()}
    parts = {r: frozenset({p}) for r, (_, _, _, p) in PROJECTS.items()}
    country = {o: ("DE" if o in "ACE" else "FR") for o in TYPES}
    group = {o: "eu15" for o in TYPES}
    return ev.CordisData(year, members, parts, coordinator, dict(TYPES), country, group)


def test_queries_are_the_test_projects_with_a_known_coordinator_and_two_known_partners():
    task = cs.consortium_task(tiny(), 2018, "X")
    assert task.nodes == list("ABCDEFG")  # organisations of part X before the cut
    assert task.projects == ["t1", "t5"]
    names = [(task.nodes[c], {task.nodes[j] for j in r})
             for c, r in zip(task.coordinator, task.relevant)]
    # the newcomer Z is no positive (unknown before the cut); A's existing partner B is one
    assert names == [("C", {"D", "E"}), ("A", {"B", "E"})]
    # every node but the coordinator is a candidate, existing partners included
    assert task.allowed.sum(axis=1).tolist() == [6, 6]
    assert not task.allowed[0, task.nodes.index("C")] and task.allowed[1, task.nodes.index("B")]


def test_baselines_rank_from_the_coordinator_as_worked_out_by_hand():
    task = cs.consortium_task(tiny(), 2018, "X")
    scores = cs.consortium_scores(tiny(), task, engine=False)
    cn = cs.consortium_metrics(task, scores["common_neighbors"])
    # C: D shares A and B with C (2), A and B share one (1), E/F/G none -> D first: RR 1;
    # both positives within the 6 candidates: P@10 = 2/10, R@20 = 1
    assert cn["overall"]["mrr"][0] == 1.0
    assert cn["overall"]["precision"][0] == pytest.approx(0.2)
    assert cn["overall"]["recall"][0] == 1.0
    repeat = cs.consortium_metrics(task, scores["repeat_partners"])
    # C's past partners A and B come first (tie order), then D (degree 3): RR 1/3
    assert repeat["overall"]["mrr"][0] == pytest.approx(1 / 3)
    # A's past partner B is a positive of t5: the repeat-partner baseline ranks it in the top 2
    assert repeat["overall"]["mrr"][1] >= 0.5


def test_companies_subset_ranks_companies_only():
    task = cs.consortium_task(tiny(), 2018, "X")
    mask, allowed, relevant = task.company_subset()
    assert mask.tolist() == [True, False]  # t5 has no company partner
    assert relevant[0] == {task.nodes.index("D")}
    assert {task.nodes[j] for j in np.flatnonzero(allowed[0])} == {"D", "F"}
    scores = cs.consortium_scores(tiny(), task, engine=False)
    cn = cs.consortium_metrics(task, scores["common_neighbors"])
    assert cn["companies"]["mrr"].tolist() == [1.0]  # D (2 common neighbours) before F (0)


def test_evaluation_runs_the_engine_against_the_same_baselines():
    out = cs.consortium_evaluation(tiny(), 2018, "X", n_resamples=20)
    assert out["n_queries"] == {"overall": 2, "companies": 1}
    assert set(out["means"]["overall"]) == {*cs.CONSORTIUM_BASELINES, "engine"}
    for sub in ("overall", "companies"):
        cmp = out["compare"][sub]
        assert set(cmp) == {"precision", "recall", "mrr"}
        assert cmp["mrr"]["baseline"] in cs.CONSORTIUM_BASELINES
        assert 0.0 <= cmp["mrr"]["method_value"] <= 1.0
