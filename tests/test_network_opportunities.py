"""Cross-training, natural leaders and network metrics on small networks with known answers."""

from __future__ import annotations

import json
from typing import Any

import networkx as nx
import numpy as np
import pytest

from matching.cross_training import cross_training
from matching.leaders import natural_leaders
from matching.metrics import network_metrics
from matching.projection import build_projection
from matching.scoring import PartnerMatcher
from seed_data import SEED_DIR
from tests.conftest import member

TAXONOMY = [
    {"id": "genetics", "label": "Genetic testing", "kind": "service"},
    {"id": "pgt", "label": "Preimplantation genetic testing", "kind": "service",
     "broader": "genetics"},
    {"id": "carrier", "label": "Carrier screening", "kind": "service", "broader": "genetics"},
    {"id": "x", "label": "Welding", "kind": "service"},
    {"id": "y", "label": "Quality management", "kind": "knowhow"},
    {"id": "iso", "label": "ISO 9001", "kind": "certification"},
    {"id": "secret", "label": "Accounting", "kind": "service"},
]


def tie(a: str, b: str, kind: str = "TRUSTS", since: str | None = None) -> dict[str, Any]:
    return {"source": a, "target": b, "type": kind, "weight": 0.8, "since": since}


def project(members, ties=()):
    return build_projection({"id": "t", "name": "T"}, TAXONOMY, members, ties)


def pairs_of(result) -> set[tuple[str, str, str]]:
    return {(p["capability"], p["mentor"], p["mentee"]) for p in result["pairs"]}


# -- cross-training ---------------------------------------------------------------------------
def test_flow_beats_greedy_on_a_contested_mentor() -> None:
    # Greedy takes the best-fit pair first, m1 -> a (fit 1.0), and b is left with nobody.
    members = [member("a", weak=[("y", 3)]), member("b", weak=[("x", 3)]),
               member("m1", caps=[("y", 5), ("x", 4)]), member("m2", caps=[("y", 4)])]
    result = cross_training(project(members), capacity=1)
    assert pairs_of(result) == {("x", "m1", "b"), ("y", "m2", "a")}
    assert result["unmet"] == []
    assert [p["fit"] for p in result["pairs"]] == [0.8, 0.8]
    assert result["pairs"][0]["reason"] == ("M1 is at level 4 in Welding and can train B, weak in "
                                            "Welding (severity 3).")


def test_capacity_is_respected_and_the_rest_is_unmet() -> None:
    members = [member("m", caps=[("x", 5), ("y", 5)]),
               *(member(f"w{k}", weak=[("x" if k % 2 else "y", 3)]) for k in range(5))]
    for capacity, served in [(0, 0), (2, 2), (3, 3), (10, 5)]:
        result = cross_training(project(members), capacity=capacity)
        assert len(result["pairs"]) == served
        assert len(result["unmet"]) == 5 - served
    unmet = cross_training(project(members), capacity=2)["unmet"][0]
    assert set(unmet) == {"member", "capability", "severity", "agents", "able", "capacity",
                          "min_level", "reason"}
    assert "no place left" in unmet["reason"] and "outside training" in unmet["reason"]
    # what the reason says, as fields a page can say in its own language
    assert unmet["able"] == ["m"] and unmet["capacity"] == 2


def test_most_severe_weaknesses_are_served_first_even_at_a_lower_fit() -> None:
    # m knows "genetics" itself; it covers "pgt" only as the broader capability (fit 0.5)
    members = [member("m", caps=[("genetics", 5)]),
               member("low", weak=[("genetics", 2)]), member("mid", weak=[("genetics", 4)]),
               member("top", weak=[("pgt", 5)])]
    one = cross_training(project(members), capacity=1)
    assert pairs_of(one) == {("pgt", "m", "top")} and one["pairs"][0]["fit"] == 0.5
    assert "broader" in one["pairs"][0]["reason"]
    two = cross_training(project(members), capacity=2)
    assert pairs_of(two) == {("pgt", "m", "top"), ("genetics", "m", "mid")}
    assert [(u["member"], u["severity"]) for u in two["unmet"]] == [("low", 2.0)]


def test_taxonomy_aware_fit_and_thresholds() -> None:
    members = [member("narrow", caps=[("pgt", 5)]), member("sibling", caps=[("carrier", 5)]),
               member("weak-level", caps=[("x", 3)]),
               member("a", weak=[("genetics", 3), ("x", 2)])]
    result = cross_training(project(members))
    # a narrower capability covers 0.8; a sibling (0.3) and a level-3 mentor do not qualify
    assert result["pairs"] == [{"capability": "genetics", "mentor": "narrow", "mentee": "a",
                                "fit": 0.8, "reason": result["pairs"][0]["reason"]}]
    assert "narrower" in result["pairs"][0]["reason"]
    assert [(u["capability"], u["member"]) for u in result["unmet"]] == [("x", "a")]
    assert "no member is at level 4" in result["unmet"][0]["reason"]
    assert pairs_of(cross_training(project(members), min_level=3)) == {
        ("genetics", "narrow", "a"), ("x", "weak-level", "a")}


def test_nobody_mentors_itself_or_in_its_own_weakness() -> None:
    members = [member("self", caps=[("pgt", 5)], weak=[("genetics", 4)]),
               member("shaky", caps=[("x", 5)], weak=[("x", 1)]),
               member("b", weak=[("x", 3)])]
    result = cross_training(project(members))
    assert result["pairs"] == []
    assert [(u["capability"], u["member"]) for u in result["unmet"]] == [
        ("genetics", "self"), ("x", "b"), ("x", "shaky")]


def test_pairs_are_sorted_and_deterministic() -> None:
    members = [member(f"m{k}", caps=[("x", 5), ("y", 4)]) for k in range(3)]
    members += [member(f"w{k}", weak=[("x", 1 + k % 5), ("y", 2)]) for k in range(8)]
    first = cross_training(project(members), capacity=2)
    assert first == cross_training(project(list(reversed(members))), capacity=2)
    keys = [(p["capability"], p["mentor"], p["mentee"]) for p in first["pairs"]]
    assert keys == sorted(keys) and len(keys) == 6
    served = {(p["capability"], p["mentee"]) for p in first["pairs"]}
    assert len(served) == 6  # each weakness at most once
    assert {u["severity"] for u in first["unmet"] if u["capability"] == "x"} <= {1.0, 2.0, 3.0}


# -- leaders ----------------------------------------------------------------------------------
def test_a_hub_trusted_by_everyone_leads() -> None:
    others = [member(f"m{k}", caps=[("x", 2)], weak=[("secret", 5)]) for k in range(4)]
    hub = member("hub", caps=[("iso", 5), ("y", 5), ("x", 4)], weak=[("secret", 2)],
                 name="Hub Ltd")
    ties = [tie(f"m{k}", "hub") for k in range(4)] + [tie("m0", "m1", "SUPPLIES")]
    result = natural_leaders(project([*others, hub], ties), limit=3)
    first = result["leaders"][0]
    assert first["member"] == "hub" and first["name"] == "Hub Ltd" and first["score"] == 1.0
    assert "Trusted by 4 members (the most in the network)" in first["reasons"]
    assert "Holds ISO 9001 certification" in first["reasons"]
    assert "Strong in 3 capabilities at level 4-5" in first["reasons"]
    assert set(first["components"]) == {"trust", "betweenness", "degree", "brokerage",
                                        "capabilities", "certifications"}
    assert len(result["leaders"]) == 3
    text = json.dumps(result)
    assert "secret" not in text and "Accounting" not in text and "weak" not in text.lower()


def test_the_bridge_between_two_cliques_gets_the_betweenness_reason() -> None:
    cliques = [["a1", "a2", "a3"], ["b1", "b2", "b3"]]
    ties = [tie(u, v, "COLLABORATES_WITH") for c in cliques for u in c for v in c if u < v]
    ties += [tie("bridge", "a1", "COLLABORATES_WITH"), tie("bridge", "b1", "COLLABORATES_WITH")]
    members = [member(m) for m in ["a1", "a2", "a3", "b1", "b2", "b3", "bridge"]]
    leaders = natural_leaders(project(members, ties))["leaders"]
    bridge = next(x for x in leaders if x["member"] == "bridge")
    # all 9 shortest paths between the two cliques, of the 15 pairs of other members, cross it
    assert bridge["components"]["betweenness"] == 1.0
    assert bridge["reasons"][0].startswith("Bridges otherwise separate groups (betweenness 0.60, "
                                           "highest in the network)")
    assert not any(r.startswith("Bridges") for x in leaders if x["member"] in ("a2", "b3")
                   for r in x["reasons"])


# -- metrics ----------------------------------------------------------------------------------
SMALL_TIES = [tie("a", "b", since="2010-01-01"), tie("b", "a", since="2012-05-01"),
              tie("b", "c", "SUPPLIES", since="2015-06-01"), tie("c", "d", "COMPETES_WITH")]


def small_network():
    members = [member(m, weak=[("secret", 3)] if m == "c" else ()) for m in "abcde"]
    return project(members, SMALL_TIES)


def test_exact_figures_on_a_tiny_graph() -> None:
    m = network_metrics(small_network())
    assert m["members"] == 5 and m["ties"] == 4
    assert m["ties_by_type"] == {"COMPETES_WITH": 1, "SUPPLIES": 1, "TRUSTS": 2}
    assert m["density"] == pytest.approx(3 / 10)  # a-b, b-c, c-d out of 10 pairs
    assert m["components"] == 2 and m["isolated"] == ["e"]
    assert m["competition"] == {"tie_share": 0.25, "pairs": 1, "member_share": 0.4}
    assert m["communities"] and sorted(x for c in m["communities"] for x in c) == ["a", "b", "c"]
    assert m["suggestion_share"] is None and "range" not in m
    assert m["weaknesses_total"] == 1
    assert m["reasons"][0] == "5 members joined by 4 ties (density 0.30, 2 connected components)"
    text = json.dumps(m)
    assert "secret" not in text and "Accounting" not in text


def test_date_range_filters_ties_by_since_and_excludes_undated() -> None:
    net = small_network()
    r = network_metrics(net, since="2011-01-01", until="2015-12-31")["range"]
    assert r["ties"] == 2 and r["ties_by_type"] == {"SUPPLIES": 1, "TRUSTS": 1}
    assert r["undated_excluded"] == 1 and r["density"] == pytest.approx(2 / 10)
    assert r["isolated"] == ["d", "e"] and r["components"] == 3
    assert r["competition"] == {"tie_share": 0.0}  # inferred rivalry has no date
    assert network_metrics(net, since="2012-05-01")["range"]["ties"] == 2  # bounds included
    assert network_metrics(net, until="2012-05-01")["range"]["ties"] == 2
    assert network_metrics(net, until="2009-12-31T00:00:00")["range"]["ties"] == 0


def test_competition_counts_the_rivalry_the_engine_uses() -> None:
    """Not only COMPETES_WITH ties: a core offer in common in one market (sector and region, or
    a customer segment) counts, a facilitator's confirmation counts, a rejection removes a pair
    (even a tied one); weaknesses play no part."""
    members = [member("a", caps=[("x", 5)], sector="metal", region="H"),
               member("b", caps=[("x", 4)], sector="metal", region="H"),  # a's market: inferred
               member("c", caps=[("x", 5)], sector="food", region="K", customers=["ports"]),
               member("d", caps=[("x", 5)], sector="wood", region="M", customers=["ports"]),
               member("e", caps=[("y", 5)], weak=[("x", 5)]),
               member("f", caps=[("y", 5)])]
    ties = [tie("e", "f", "COMPETES_WITH"), tie("a", "e")]
    verdicts = [{"a": "f", "b": "e", "verdict": "not_rivals"},
                {"a": "a", "b": "f", "verdict": "rivals"}]
    p = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, ties, verdicts=verdicts)
    m = network_metrics(p, view="public")
    # a-b (sector and region), c-d (segment), a-f (confirmed); e-f's tie is rejected
    assert m["competition"] == {"tie_share": 0.5, "pairs": 3, "member_share": round(5 / 6, 4)}
    assert "3 pairs of members compete" in " ".join(m["reasons"])
    members[4]["weaknesses"] = []  # another member's weaknesses change nothing
    q = build_projection({"id": "t", "name": "T"}, TAXONOMY, members, ties, verdicts=verdicts)
    assert network_metrics(q, view="public") == m


def test_communities_split_two_loosely_joined_cliques() -> None:
    cliques = [["a1", "a2", "a3", "a4"], ["b1", "b2", "b3", "b4"]]
    ties = [tie(u, v) for c in cliques for u in c for v in c if u < v]
    ties += [tie("a1", "b1", "SUPPLIES"), tie("a2", "b2", "COMPETES_WITH")]
    m = network_metrics(project([member(x) for c in cliques for x in c] + [member("z")], ties))
    assert m["communities"] == cliques
    assert m["isolated"] == ["z"] and m["components"] == 2


def test_suggestion_share_with_a_fitted_matcher() -> None:
    members = [member("clinic", needs=[("pgt", 5, "service")]), member("lab", caps=[("pgt", 5)]),
               member("quiet", caps=[("secret", 1)]), member("loner")]
    net = project(members)
    matcher = PartnerMatcher().fit(net)
    # only the clinic has a partner clearly worth meeting (the lab covers its urgent need)
    assert network_metrics(net, matcher=matcher, threshold=0.5)["suggestion_share"] == 0.25
    share = network_metrics(net, matcher=matcher, threshold=0.0)["suggestion_share"]
    expected = sum(bool(matcher.suggest(m)) for m in net.member_ids) / 4
    assert share == expected and 0.25 <= share < 1
    other = PartnerMatcher().fit(project(members[:2]))
    with pytest.raises(ValueError):
        network_metrics(net, matcher=other)


# -- every seed network -----------------------------------------------------------------------
SEEDS = sorted(p for p in SEED_DIR.glob("*.json") if p.name != "taxonomy.json")


@pytest.fixture(scope="module", params=SEEDS, ids=[p.stem for p in SEEDS])
def seed(request):
    taxonomy = json.loads((SEED_DIR / "taxonomy.json").read_text())["capabilities"]
    doc = json.loads(request.param.read_text())
    return build_projection(doc["network"], taxonomy + doc.get("capabilities", []),
                            doc["members"], doc["ties"])


def test_sane_shapes_on_seed_networks(seed) -> None:
    ids = set(seed.member_ids)
    training = cross_training(seed)
    assert len(training["pairs"]) + len(training["unmet"]) == seed.severities.nnz
    served = [(p["capability"], p["mentee"]) for p in training["pairs"]]
    assert len(served) == len(set(served))
    load: dict[str, int] = {}
    for p in training["pairs"]:
        assert p["mentor"] != p["mentee"] and {p["mentor"], p["mentee"]} <= ids
        assert 0.5 * 4 / 5 <= p["fit"] <= 1 and p["reason"].endswith(")."), p
        load[p["mentor"]] = load.get(p["mentor"], 0) + 1
    assert max(load.values(), default=0) <= 3

    leaders = natural_leaders(seed)["leaders"]
    assert 1 <= len(leaders) <= 5
    assert [x["score"] for x in leaders] == sorted((x["score"] for x in leaders), reverse=True)
    for x in leaders:
        assert x["member"] in ids and x["reasons"]
        assert all(0 <= v <= 1 for v in x["components"].values())

    m = network_metrics(seed, matcher=PartnerMatcher().fit(seed), since="2015-01-01")
    assert m["members"] == len(ids) and sum(m["ties_by_type"].values()) == m["ties"]
    assert 0 < m["density"] <= 1 and m["components"] >= 1
    assert 0 <= m["suggestion_share"] <= 1 and m["range"]["ties"] <= m["ties"]
    grouped = [x for c in m["communities"] for x in c]
    assert len(grouped) == len(set(grouped)) and set(grouped) <= ids
    json.dumps([training, leaders, m])  # plain data all the way down
    if seed.network["id"] == "herencia":
        assert leaders[0]["member"] == "carrocerias-martin-romero"
        assert any(r.startswith("Trusted by") for r in leaders[0]["reasons"])


def test_brokerage_is_networkx_effective_size_on_a_seed_network() -> None:
    from matching.leaders import _raw_components

    taxonomy = json.loads((SEED_DIR / "taxonomy.json").read_text())["capabilities"]
    doc = json.loads((SEED_DIR / "herencia.json").read_text())
    p = build_projection(doc["network"], taxonomy, doc["members"], doc["ties"])
    trusted = nx.Graph()
    trusted.add_nodes_from(p.member_ids)
    trusted.add_edges_from((a, b) for a, b, kind in p.ties.edges(keys=True)
                           if kind in ("TRUSTS", "COLLABORATES_WITH") and a != b)
    expected = nx.effective_size(trusted)
    got = _raw_components(p)["brokerage"]
    for i, mid in enumerate(p.member_ids):
        assert got[i] == pytest.approx(0.0 if np.isnan(expected[mid]) else expected[mid])


def test_coverage_rows_asked_alone_equal_those_of_the_whole_matrix() -> None:
    # Cross-training reads only its weak capabilities' rows (a member's own view: a few rows of
    # a large taxonomy); they must be the rows of the whole matrix, synonyms and "serves" too.
    from matching.taxonomy import coverage_matrix

    taxonomy = json.loads((SEED_DIR / "taxonomy.json").read_text(encoding="utf-8"))
    p = build_projection({"id": "t"}, taxonomy["capabilities"], [], [])
    ids = p.capability_ids
    whole = coverage_matrix(p.taxonomy, ids).toarray()
    served = [c["serves"][0] for c in taxonomy["capabilities"] if c.get("serves")][:3]
    rows = sorted(set(ids[::7]) | set(served))
    part = coverage_matrix(p.taxonomy, ids, rows=rows).toarray()
    at = [ids.index(d) for d in rows]
    assert np.array_equal(part[at], whole[at]) and whole[at].any()
    others = np.setdiff1d(np.arange(len(ids)), at)
    assert not part[others].any()
