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


# -- the consortium builder as a method (matching.evaluation.consortium_builder) -----------------

def builder_order_of(task, scores, row):
    """Candidates of one score row, best first (the coordinator left out)."""
    coord = task.rows[row]
    order = sorted((j for j in range(len(task.nodes)) if j != coord),
                   key=lambda j: -scores[row, j])
    return [task.nodes[j] for j in order]


def test_builder_ranks_its_consortium_first_then_what_each_could_supply_as_worked_by_hand():
    from matching.evaluation import consortium_builder as cb

    data = tiny()
    task = cs.consortium_task(data, 2018, "X")
    p = cb.builder_projection(data, task.graph, 2018, "X")
    past = cb.past_projects(data, 2018, "X")
    # C's partners A (HES, DE) and B (REC, FR), one joint project each, both with X; C's one
    # past project has 2 partners (m = 2): X share 1 -> 2 + C's own; HES, DE 1/2 -> 1 + C's own;
    # REC, FR 1/2 -> 1.
    order = cb.coordinator_order(task.graph, p, "C", past)
    assert order.lead == "C"
    assert {(r.capability, r.quantity) for r in order.requirements} == {
        ("prog:X", 3.0), ("type:HES", 2.0), ("country:DE", 2.0), ("type:REC", 1.0),
        ("country:FR", 1.0)}
    # Only B is REC, so B (REC, FR, X) is in; HES + DE + X from A or E: A, tied to C and B, wins
    # the builder's tie-break. Picks by share: B then A. Fallback (share of the order alone):
    # E (X, DE, HES: 1/3 + 1/2 + 1/2) = D (X, FR: 1/3 + 1), E's mean level higher (X 1, 5, 5 vs
    # X 2, 5: 3.67 > 3.5); F and G (X 1, FR 5) last.
    scores = cb.builder_scores(data, task)
    ranked = builder_order_of(task, scores, list(task.rows).index(task.nodes.index("C")))
    assert ranked[:4] == ["B", "A", "E", "D"] and set(ranked[4:]) == {"F", "G"}
    # A's order: B (REC) is needed, D or F (PRC), C or E (HES, DE); {B, D, C} holds the most
    # ties (A-B, A-C, A-D, B-C, B-D). B and D share equally (X, FR, their type), B's id first.
    # Then F (X, FR, PRC: 1/3 + 1/2 + 1) > E (X, HES, DE) > G (X, FR).
    ranked = builder_order_of(task, scores, list(task.rows).index(task.nodes.index("A")))
    assert ranked == ["B", "D", "C", "F", "E", "G"]
    m = cs.consortium_metrics(task, scores)["overall"]
    # t1 (C): positives D and E at ranks 4 and 3 -> RR 1/3; t5 (A): B first -> RR 1
    assert m["mrr"].tolist() == pytest.approx([1 / 3, 1.0])


def test_blend_weights_move_between_past_partners_and_the_builder():
    from matching.evaluation import consortium_builder as cb

    data = tiny()
    task = cs.consortium_task(data, 2018, "X")
    scores = cs.consortium_scores(data, task, engine=False)
    built = cb.builder_scores(data, task)
    row = list(task.rows).index(task.nodes.index("C"))
    at_0 = cb.blend(built, scores["repeat_partners"], 0.0)
    at_1 = cb.blend(built, scores["repeat_partners"], 1.0)
    # w 0 is past partners first (C's partners A and B, then by degree: D 3 before E 1)
    assert set(builder_order_of(task, at_0, row)[:2]) == {"A", "B"}
    assert builder_order_of(task, at_0, row)[2] == "D"
    assert builder_order_of(task, at_1, row)[:4] == ["B", "A", "E", "D"]


def with_projects(extra: dict) -> ev.CordisData:
    data = tiny()
    for rcn, (year, members, coord, part) in extra.items():
        data.year[rcn] = year
        data.members[rcn] = frozenset(members)
        data.coordinator[rcn] = coord
        data.parts[rcn] = frozenset({part})
    return data


def test_blend_weight_is_chosen_on_the_year_before_the_cut_and_nothing_after():
    from matching.evaluation import consortium_builder as cb

    # v1 starts in 2017 (the validation year of cut 2018): A with B and E, known before 2017
    data = with_projects({"v1": (2017, "ABE", "A", "X")})
    weight, table = cb.select_blend_weight(data, 2018, "X")
    assert [t["weight"] for t in table] == list(cb.BLEND_WEIGHTS)
    assert all(t["queries"] == 1 for t in table)
    best = max((t["precision"] + t["mrr"]) / 2 for t in table)
    assert weight == min(t["weight"] for t in table if (t["precision"] + t["mrr"]) / 2 == best)
    # Projects from the cut on (new ones, and the test projects rewritten) change nothing
    changed = with_projects({"v1": (2017, "ABE", "A", "X"), "t9": (2018, "ABCDEFG", "E", "X"),
                             "t10": (2020, "CF", "C", "X")})
    changed.members["t1"] = frozenset("CFG")
    assert cb.select_blend_weight(changed, 2018, "X") == (weight, table)
    # The 2017 project is no validation query of cut 2017's own test (graph before 2016)
    assert cb.select_blend_weight(data, 2017, "X") == (0.0, [])


def test_evaluation_with_the_builder_compares_it_and_its_blend_to_the_baselines():
    out = cs.consortium_evaluation(with_projects({"v1": (2017, "ABE", "A", "X")}), 2018, "X",
                                   n_resamples=20, engine=False, builder=True)
    assert set(out["means"]["overall"]) == {*cs.CONSORTIUM_BASELINES, "builder", "blend"}
    assert set(out["compare_methods"]) == {"builder", "blend"}
    assert out["blend_weight"] in cb_weights()
    assert out["compare_methods"]["blend"]["overall"]["mrr"]["baseline"] in \
        cs.CONSORTIUM_BASELINES


def cb_weights():
    from matching.evaluation import consortium_builder as cb

    return cb.BLEND_WEIGHTS


def test_a_coordinator_that_worked_alone_has_an_empty_order_and_ties_every_candidate():
    from matching.evaluation import consortium_builder as cb

    # H ran a project alone before the cut: in the graph, without a partner
    data = with_projects({"p0": (2016, "H", "H", "X")})
    data.org_type["H"], data.country["H"], data.group["H"] = "PRC", "FR", "eu15"
    task = cs.consortium_task(data, 2018, "X")
    p = cb.builder_projection(data, task.graph, 2018, "X")
    order = cb.coordinator_order(task.graph, p, "H", cb.past_projects(data, 2018, "X"))
    assert order.requirements == []
    row, picks = cb.builder_row(p, order, task.nodes)
    assert picks == [] and not row.any()
