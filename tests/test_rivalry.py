"""The one rival rule: suggestions, consortia, the roadmap and the facilitator's list agree on who
competes, on random networks with random verdicts; and what the rule says on small cases."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.features import RIVALRY_FEATURES, NetworkFeatures
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
    block = features.block(rows, RIVALRY_FEATURES)
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
                     np.array([3]), np.array([2])).tolist() == [False]  # a rejection beats all


def test_a_customer_segment_in_common_is_a_market_of_its_own() -> None:
    """Same sector and region, or a declared customer segment in common; and still a core offer
    in common. A member in several segments is in several markets; a pair found in two is
    listed once; a rejection still wins."""
    members = [
        member("tv-a", caps=[("bread", 5)], sector="tv", region="H",
               customers=["advertisers", "town-hall"]),
        member("tv-b", caps=[("bread", 5)], sector="radio", region="K",
               customers=["advertisers", "town-hall"]),  # other sector and region: two segments
        member("tv-c", caps=[("cake", 5)], sector="tv", region="K", customers=["advertisers"]),
        member("tv-d", caps=[("bread", 5)], sector="press", region="M", customers=["retail"]),
        member("tv-e", caps=[("bread", 5)], sector="tv", region="H")]  # tv-a's sector and region
    p = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, [])
    assert [(r["a"], r["b"], r["shared_core"], r["shared_customers"], r["rivals"])
            for r in rivalries(p)] == [
        ("tv-a", "tv-b", ["bread"], ["advertisers", "town-hall"], True),
        ("tv-a", "tv-e", ["bread"], [], True)]  # tv-c sells cake; tv-d other customers
    features = NetworkFeatures(p)
    block = features.block(np.arange(p.n_members), RIVALRY_FEATURES)
    a, b = p.member_index["tv-a"], p.member_index["tv-b"]
    assert block["shared_customers"][a, b] == 2 and block["same_sector"][a, b] == 0
    assert features.competitor(block)[a, b]
    rejected = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, [], verdicts=[
        {"a": "tv-b", "b": "tv-a", "verdict": "not_rivals"}])
    assert [(r["a"], r["b"], r["inferred"], r["verdict"], r["rivals"])
            for r in rivalries(rejected)][0] == ("tv-a", "tv-b", True, "rejected", False)
    features = NetworkFeatures(rejected)
    assert not features.competitor(features.block(np.array([a]), RIVALRY_FEATURES))[0, b]


def test_changing_customers_updates_rivalry_in_place() -> None:
    """A live member edit that declares (then drops) a segment in common makes (then unmakes)
    the rivalry, exactly as a fit from scratch would."""
    from matching.projection import with_members
    members = [member("a", caps=[("bread", 5)], sector="x", region="H"),
               member("b", caps=[("bread", 5)], sector="y", region="K", customers=["schools"])]
    p = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, [])
    features = NetworkFeatures(p)
    rows = np.arange(2)
    assert not features.competitor(features.block(rows, RIVALRY_FEATURES))[0, 1]
    for customers, expected in ((["hotels", "schools"], True), ([], False)):
        edited = member("a", caps=[("bread", 5)], sector="x", region="H", customers=customers)
        p, changed = with_members(p, [edited])
        features.update_members(p, changed)
        assert features.competitor(features.block(rows, RIVALRY_FEATURES))[0, 1] == expected
        fresh = NetworkFeatures(p)
        assert (fresh.block(rows, RIVALRY_FEATURES)["shared_customers"]
                == features.block(rows, RIVALRY_FEATURES)["shared_customers"]).all()
        assert [r["rivals"] for r in rivalries(p)] == ([True] if expected else [])


def test_local_tv_stations_selling_to_national_advertisers() -> None:
    """In the local-tv seed, three stations in three regions declare national advertisers as
    customers (the network's story: they compete for the same advertisers). Only the two whose
    core offer is news are inferred rivals; Costa Blanca's core offers are others. A
    facilitator's rejection beats the inference and their COMPETES_WITH tie alike."""
    from matching.evaluation.facilitator import seed_matcher
    from matching.projection import with_verdicts
    p = seed_matcher("local-tv").projection_
    inferred = [(r["a"], r["b"], r["shared_core"], r["shared_customers"])
                for r in rivalries(p) if r["inferred"]]
    assert inferred == [("canal-ebro-television", "television-mancha-centro",
                         ["news-production"], ["national-advertisers"])]
    judged = with_verdicts(p, [{"a": "television-mancha-centro", "b": "canal-ebro-television",
                                "verdict": "not_rivals"}])
    row = next(r for r in rivalries(judged) if r["a"] == "canal-ebro-television"
               and r["b"] == "television-mancha-centro")
    assert (row["inferred"], row["tie"], row["verdict"], row["rivals"]) == \
        (True, True, "rejected", False)
    features = NetworkFeatures(judged)
    a, b = judged.member_index["canal-ebro-television"], judged.member_index[
        "television-mancha-centro"]
    block = features.block(np.array([a]), RIVALRY_FEATURES)
    assert block["shared_customers"][0, b] == 1 and not features.competitor(block)[0, b]
