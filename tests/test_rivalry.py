"""The one rival rule: suggestions, consortia, the roadmap and the facilitator's list agree on who
competes, on random networks with random verdicts; and what the rule says on small cases."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.features import NetworkFeatures
from matching.projection import build_projection
from matching.rivalry import competing, rival_pairs, rivalries
from tests.conftest import member
from tests.networks import network_documents

TAXONOMY = [{"id": "bread", "label": "Bread", "kind": "product"},
            {"id": "cake", "label": "Cake", "kind": "product"}]


@st.composite
def judged_networks(draw):
    doc = draw(network_documents("r", min_members=2, max_members=7))
    ids = [m["id"] for m in doc["members"]]
    pairs = [(a, b) for a in ids for b in ids if a < b]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=4)) if pairs else []
    verdicts = [{"a": b, "b": a, "verdict": draw(st.sampled_from(["rivals", "not_rivals"]))}
                for a, b in chosen]
    return build_projection(doc["network"], doc["capabilities"], doc["members"], doc["ties"],
                            verdicts=verdicts)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(p=judged_networks())
def test_suggestions_consortia_and_the_list_apply_one_rule(p) -> None:
    features = NetworkFeatures(p)
    rows = np.arange(p.n_members)
    block = features.block(rows, ("rival", "not_rival", "same_sector", "same_region",
                                  "core_overlap"))
    matrix = features.competitor(block)
    assert (matrix == matrix.T).all()  # (its diagonal is never read: no one pairs with itself)
    from_features = {(int(k), int(l)) for k, l in zip(*np.nonzero(np.triu(matrix, 1)))}
    assert set(rival_pairs(p, rows)) == from_features
    listed = rivalries(p)
    index = p.member_index
    assert {tuple(sorted((index[r["a"]], index[r["b"]]))) for r in listed if r["rivals"]} \
        == from_features
    assert [(r["a"], r["b"]) for r in listed] == sorted((r["a"], r["b"]) for r in listed)
    for (a, b), verdict in p.verdicts.items():  # a verdict always decides, and is listed
        row = next(r for r in listed if (r["a"], r["b"]) == (a, b))
        assert row["rivals"] == (verdict["verdict"] == "rivals")


def test_the_rule_on_small_cases() -> None:
    members = [member("shop", caps=[("bread", 4)], sector="food", region="H"),
               member("baker", caps=[("bread", 5), ("cake", 2)], sector="food", region="H"),
               member("cafe", caps=[("cake", 4)], sector="food", region="H"),
               member("mill", caps=[("bread", 4)], sector="food", region="K"),
               member("nowhere", caps=[("bread", 4)], sector="food")]
    p = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, [])
    assert [(r["a"], r["b"], r["shared_core"]) for r in rivalries(p)] == [
        ("baker", "shop", ["bread"])]  # cake is not the baker's core; no region, no market
    tie = [{"source": "mill", "target": "shop", "type": "COMPETES_WITH"}]
    judged = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, tie, verdicts=[
        {"a": "shop", "b": "baker", "verdict": "not_rivals", "note": "wholesale"},
        {"a": "cafe", "b": "nowhere", "verdict": "rivals"}])
    assert [(r["a"], r["b"], r["inferred"], r["tie"], r["verdict"], r["rivals"])
            for r in rivalries(judged)] == [
        ("baker", "shop", True, False, "rejected", False),
        ("cafe", "nowhere", False, False, "confirmed", True),
        ("mill", "shop", False, True, None, True)]
    assert competing(np.array([1]), np.array([1]), np.array([1]), np.array([1]),
                     np.array([3])).tolist() == [False]  # a rejection beats everything
