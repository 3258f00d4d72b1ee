"""Consortia for big orders: known answers, then the integer program against brute force."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from scipy.optimize import linprog

from matching.consortium import (
    LEAD_HOURS,
    MEMBER_HOURS,
    Order,
    OrderInvalid,
    Requirement,
    form_consortia,
)
from matching.projection import build_projection

TAXONOMY = [
    {"id": "weld", "label": "Welding", "kind": "service", "unit": "hours"},
    {"id": "weld-tig", "label": "TIG welding", "kind": "service", "broader": "weld",
     "unit": "hours"},
    {"id": "paint", "label": "Painting", "kind": "service", "unit": "m2"},
    {"id": "cert", "label": "Quality certification", "kind": "certification", "unit": "audits"},
    {"id": "truck", "label": "Lorry fleet", "kind": "asset", "unit": "trips"},
    {"id": "finance", "label": "Financing", "kind": "service"},
]
CHILD_OF = {"weld-tig": "weld"}
POSITIVE = ("TRUSTS", "COLLABORATES_WITH", "SUPPLIES")


def firm(mid, caps=(), sector=None, region=None, hours=None):
    """caps: (capability, level, capacity or None)."""
    row = {"id": mid, "name": mid.title(), "sector": sector, "region": region,
           "capabilities": [{"id": c, "level": lvl, **({"capacity": cap} if cap else {})}
                            for c, lvl, cap in caps], "weaknesses": [], "needs": []}
    if hours is not None:
        row["hours_per_month"] = hours
    return row


def project(members, ties=(), agents=(), verdicts=()):
    return build_projection({"id": "t", "name": "T"}, TAXONOMY, members,
                            [{"source": a, "target": b, "type": k} for a, b, k in ties],
                            agents=agents,
                            verdicts=[{"a": a, "b": b, "verdict": v} for a, b, v in verdicts])


def order(*reqs, **kwargs) -> Order:
    return Order([Requirement(*r) for r in reqs], **kwargs)


# -- known answers ------------------------------------------------------------------------
def test_one_big_supplier_beats_two_small_ones_and_they_come_as_the_alternative() -> None:
    p = project([firm("a", [("weld", 4, 60)]), firm("b", [("weld", 4, 50)]),
                 firm("c", [("weld", 3, 100)])])
    result = form_consortia(p, order(("weld", 100)))
    assert [m["member"] for m in result["best"]["members"]] == ["c"]
    assert result["best"]["coverage"] == 1.0 and result["best"]["gaps"] == []
    alt = result["alternatives"][0]
    assert sorted(m["member"] for m in alt["members"]) == ["a", "b"]
    assert alt["coverage"] == 1.0
    shares = {m["member"]: m["share"] for m in alt["members"]}
    assert sum(shares.values()) == pytest.approx(1.0)


def test_narrower_capability_delivers_and_capacity_is_shared_between_requirements() -> None:
    # tig welding serves both requirements (weld-tig itself and its parent weld) from one
    # capacity of 50: it cannot deliver 50 of each.
    p = project([firm("a", [("weld-tig", 5, 50)])])
    result = form_consortia(p, order(("weld", 50), ("weld-tig", 50)))
    best = result["best"]
    assert sum(r["covered"] for r in best["requirements"]) == pytest.approx(50)
    assert best["coverage"] == pytest.approx(0.5)


def test_existing_ties_decide_between_equal_consortia() -> None:
    members = [firm("lead", [("paint", 4, 100)]), firm("x", [("weld", 4, 100)]),
               firm("y", [("weld", 4, 100)])]
    p = project(members, ties=[("y", "lead", "TRUSTS"), ("x", "y", "COMPETES_WITH")])
    best = form_consortia(p, order(("paint", 100), ("weld", 100), lead="lead"))["best"]
    assert sorted(m["member"] for m in best["members"]) == ["lead", "y"]
    assert best["ties_inside"] == 1
    y = next(m for m in best["members"] if m["member"] == "y")
    assert y["trust_path"] == ["lead", "y"] and "Lead" in y["reason"]


def test_rivals_of_the_lead_only_outside_their_core_offer_under_penalise() -> None:
    members = [firm("lead", [("weld", 5, 40)], sector="metal", region="north"),
               firm("rival", [("weld", 5, 100), ("cert", 4, 10)], sector="metal",
                    region="north"),
               firm("other", [("weld", 3, 30)])]
    p = project(members)
    ask = (("weld", 100), ("cert", 2))
    include = form_consortia(p, order(*ask, lead="lead", competitors="include"))["best"]
    assert include["coverage"] == 1.0
    penalise = form_consortia(p, order(*ask, lead="lead", competitors="penalise"))["best"]
    supplied = {(s["member"], r["capability"]) for r in penalise["requirements"]
                for s in r["supplies"]}
    assert ("rival", "cert") in supplied and ("rival", "weld") not in supplied
    by_cap = {r["capability"]: r["covered"] for r in penalise["requirements"]}
    assert by_cap == {"weld": 70, "cert": 2}
    exclude = form_consortia(p, order(*ask, lead="lead", competitors="exclude"))["best"]
    assert "rival" not in {m["member"] for m in exclude["members"]}


def test_a_facilitators_verdict_decides_who_may_sit_together() -> None:
    members = [firm("lead", [("paint", 5, 40)]),
               firm("a", [("weld", 5, 60)], sector="metal", region="north"),
               firm("b", [("weld", 5, 60)], sector="metal", region="north"),
               firm("c", [("weld", 3, 60)], sector="metal", region="south")]
    ask = order(("paint", 40), ("weld", 120), lead="lead", competitors="exclude")

    def chosen(verdicts=()):
        best = form_consortia(project(members, verdicts=verdicts), ask)["best"]
        return {m["member"] for m in best["members"]}, best["coverage"]

    # a and b sell welding in the same market: inferred rivals, never both (c, weaker, joins)
    together, coverage = chosen()
    assert coverage == 1.0 and "c" in together and not {"a", "b"} <= together
    # rejected: the two best welders together
    assert chosen([("b", "a", "not_rivals")]) == ({"lead", "a", "b"}, 1.0)
    # confirmed between c and both others (no inference there): only one welder fits
    together, coverage = chosen([("a", "c", "rivals"), ("c", "b", "rivals")])
    assert coverage == 0.75 and len(together) == 2 and "c" not in together


def test_a_gap_names_the_agent_that_offers_it() -> None:
    agents = [{"id": "savings-bank", "name": "Caja Rural", "kind": "bank", "offers": ["finance"]},
              {"id": "uni", "name": "University", "kind": "university", "offers": ["cert"]}]
    p = project([firm("a", [("weld", 4, 100)])], agents=agents)
    best = form_consortia(p, order(("weld", 100), ("finance", 1)))["best"]
    [gap] = best["gaps"]
    assert gap["capability"] == "finance" and gap["missing"] == 1
    assert [a["agent"] for a in gap["agents"]] == ["savings-bank"]
    assert "Caja Rural" in gap["reason"]


def test_undeclared_capacity_and_no_time_are_explained_not_planned() -> None:
    members = [firm("sized", [("weld", 4, 10)]), firm("unsized", [("weld", 5, None)]),
               firm("busy", [("weld", 5, 500)], hours=MEMBER_HOURS - 1)]
    p = project(members)
    best = form_consortia(p, order(("weld", 100)))["best"]
    assert [m["member"] for m in best["members"]] == ["sized"]
    assert "Unsized" in best["gaps"][0]["reason"] and "Busy" in best["gaps"][0]["reason"]
    # hours already committed elsewhere count too
    p = project([firm("a", [("weld", 4, 100)], hours=10)])
    assert form_consortia(p, order(("weld", 10)), committed={"a": 7})["best"]["members"] == []
    with pytest.raises(OrderInvalid) as err:
        form_consortia(p, order(("weld", 10), lead="a"), committed={"a": 10 - LEAD_HOURS + 1})
    assert err.value.path == "lead"


def test_bad_orders_say_where() -> None:
    p = project([firm("a", [("weld", 4, 100)])])
    for bad, path in ((order(("nope", 1)), "requirements[0].capability"),
                      (order(("weld", 0)), "requirements[0].quantity"),
                      (order(("weld", 1), lead="zz"), "lead"),
                      (order(("weld", 1), competitors="maybe"), "competitors"),
                      (Order([]), "requirements")):
        with pytest.raises(OrderInvalid) as err:
            form_consortia(p, bad)
        assert err.value.path == path


# -- brute force ----------------------------------------------------------------------------
def _serves(c: str, d: str) -> bool:
    return c == d or CHILD_OF.get(c) == d


def _core(member) -> set[str]:
    """Core offers: the top offers at level 3 or more (no member here marks ``core``)."""
    top = max((c["level"] for c in member["capabilities"]), default=0)
    return {c["id"] for c in member["capabilities"] if c["level"] == top >= 3}


def _brute_force(members, ties, reqs, lead, policy, max_members, verdicts=(), avoid=()):
    ids = [m["id"] for m in members]
    by_id = {m["id"]: m for m in members}
    positive = {frozenset((a, b)) for a, b, k in ties if k in POSITIVE}
    rivals = {frozenset((a, b)) for a, b, k in ties if k == "COMPETES_WITH"}
    for a, b in itertools.combinations(ids, 2):
        ma, mb = by_id[a], by_id[b]
        if ma["sector"] and ma["sector"] == mb["sector"] and ma["region"] == mb["region"] \
                and ma["region"] and _core(ma) & _core(mb):
            rivals.add(frozenset((a, b)))
    for a, b, verdict in verdicts:  # a facilitator's word overrides ties and inference
        (rivals.add if verdict == "rivals" else rivals.discard)(frozenset((a, b)))

    def has_time(mid):
        hours = by_id[mid].get("hours_per_month")
        return hours is None or hours >= (LEAD_HOURS if mid == lead else MEMBER_HOURS)

    def lp(subset, fix_coverage=None):
        triples = []
        for mid in subset:
            penalised = policy == "penalise" and mid != lead and any(frozenset((mid, o)) in rivals
                                                     for o in subset if o != mid)
            for cap in by_id[mid]["capabilities"]:
                if not cap.get("capacity"):
                    continue
                core = cap["id"] in _core(by_id[mid])
                for r, (d, q, low) in enumerate(reqs):
                    if _serves(cap["id"], d) and cap["level"] >= low and not (penalised and core):
                        triples.append((mid, cap["id"], r, cap["capacity"], cap["level"]))
        if not triples:
            return 0.0, 0.0
        cov = np.array([1 / reqs[r][1] for _, _, r, _, _ in triples])
        lvl = np.array([lv / reqs[r][1] for _, _, r, _, lv in triples])
        rows, bounds = [], []
        for key in sorted({(m, c) for m, c, _, _, _ in triples}):
            rows.append([1.0 if (m, c) == key else 0.0 for m, c, _, _, _ in triples])
            bounds.append(next(cap for m, c, _, cap, _ in triples if (m, c) == key))
        for r, (_, q, _) in enumerate(reqs):
            rows.append([1.0 if rr == r else 0.0 for _, _, rr, _, _ in triples])
            bounds.append(q)
        a_eq = b_eq = None
        if fix_coverage is not None:
            rows.append(list(-cov))
            bounds.append(-fix_coverage + 1e-9)
        res = linprog(-lvl if fix_coverage is not None else -cov, A_ub=rows, b_ub=bounds,
                      A_eq=a_eq, b_eq=b_eq, bounds=(0, None))
        return float(cov @ res.x), float(lvl @ res.x)

    best = None
    pool = [m for m in ids if m != lead and has_time(m)]
    for size in range(len(pool) + 1):
        for extra in itertools.combinations(pool, size):
            subset = ([lead] if lead else []) + list(extra)
            if max_members is not None and len(subset) > max_members:
                continue
            if any(set(earlier) <= set(subset) for earlier in avoid):
                continue
            if policy == "exclude" and any(frozenset(p) in rivals
                                           for p in itertools.combinations(subset, 2)):
                continue
            coverage, _ = lp(subset)
            n_ties = sum(1 for p in itertools.combinations(subset, 2) if frozenset(p) in positive)
            key = (round(coverage, 6), -len(subset), n_ties)
            if best is None or key > best[0]:
                best = (key, subset, coverage)
            elif key == best[0]:
                best = (key, best[1], best[2], subset)
    (coverage, members_neg, n_ties), subset = best[0], best[1]
    # the best levels among the consortia tied on the first three criteria
    tied = [s for s in best[1:] if isinstance(s, list)]
    levels = max(lp(s, fix_coverage=lp(s)[0])[1] for s in tied)
    return coverage, -members_neg, n_ties, levels


def _random_instance(rng: random.Random):
    caps = [t["id"] for t in TAXONOMY if t["id"] != "finance"]
    members = []
    for k in range(rng.randint(3, 6)):
        held = rng.sample(caps, rng.randint(1, 3))
        members.append(firm(f"m{k}", [(c, rng.randint(1, 5), rng.choice([None, 10, 20, 35, 60]))
                                      for c in held],
                            sector=rng.choice(["metal", "paint", None]),
                            region=rng.choice(["north", "south"]),
                            hours=rng.choice([None, None, 3, 6, 10])))
    ids = [m["id"] for m in members]
    ties = sorted({(a, b, rng.choice(["TRUSTS", "COLLABORATES_WITH", "SUPPLIES", "COMPETES_WITH"]))
                   for a, b in itertools.permutations(ids, 2) if rng.random() < 0.25})
    reqs = [(c, rng.choice([15, 30, 50, 80]), rng.randint(1, 4))
            for c in rng.sample(caps, rng.randint(1, 3))]
    lead = rng.choice([None, None] + [m["id"] for m in members if m.get("hours_per_month")
                                      in (None, 10)])
    verdicts = [(a, b, rng.choice(["rivals", "not_rivals"]))
                for a, b in itertools.combinations(ids, 2) if rng.random() < 0.2]
    return members, ties, reqs, lead, rng.choice(["include", "penalise", "exclude"]), \
        rng.choice([None, 2, 3]), verdicts


@pytest.mark.parametrize("seed", range(60))
def test_same_optimum_as_brute_force(seed: int) -> None:
    members, ties, reqs, lead, policy, max_members, verdicts = _random_instance(
        random.Random(seed))
    p = project(members, ties, verdicts=verdicts)
    result = form_consortia(p, order(*reqs, lead=lead, competitors=policy,
                                     max_members=max_members))
    best = result["best"]
    coverage, n_members, n_ties, levels = _brute_force(members, ties, reqs, lead, policy,
                                                       max_members, verdicts)
    assert best["coverage"] * len(reqs) == pytest.approx(coverage, abs=1e-3)
    assert len(best["members"]) == n_members
    assert best["ties_inside"] == n_ties
    got_levels = sum(s["level"] * s["quantity"] / r["quantity"] for r in best["requirements"]
                     for s in r["supplies"])
    assert got_levels == pytest.approx(levels, abs=1e-3)
    # every answer keeps capacities, quantities and the member limit
    for answer in [best, *result["alternatives"]]:
        assert max_members is None or len(answer["members"]) <= max_members
        for r in answer["requirements"]:
            assert sum(s["quantity"] for s in r["supplies"]) <= r["quantity"] + 1e-6
    sets = [frozenset(m["member"] for m in a["members"]) for a in [best, *result["alternatives"]]]
    assert len(set(sets)) == len(sets)


@pytest.mark.parametrize("seed", range(60))
def test_each_alternative_is_the_optimum_without_the_earlier_answers(seed: int) -> None:
    # An alternative found by swapping one member of the last answer skips the search for the
    # best coverage and size: brute force over the member sets left must agree.
    members, ties, reqs, lead, policy, max_members, verdicts = _random_instance(
        random.Random(seed))
    p = project(members, ties, verdicts=verdicts)
    result = form_consortia(p, order(*reqs, lead=lead, competitors=policy,
                                     max_members=max_members))
    answers = [result["best"], *result["alternatives"]]
    for k, answer in enumerate(answers[1:], start=1):
        earlier = [[m["member"] for m in a["members"]] for a in answers[:k]]
        coverage, n_members, n_ties, levels = _brute_force(
            members, ties, reqs, lead, policy, max_members, verdicts, avoid=earlier)
        assert answer["coverage"] * len(reqs) == pytest.approx(coverage, abs=1e-3)
        assert len(answer["members"]) == n_members
        assert answer["exact"]
        assert answer["ties_inside"] == n_ties
        got = sum(s["level"] * s["quantity"] / r["quantity"] for r in answer["requirements"]
                  for s in r["supplies"])
        assert got == pytest.approx(levels, abs=1e-3)


def test_alternatives_by_one_swap_keep_the_size_and_prefer_ties() -> None:
    # Three interchangeable suppliers: every pair covers the order, so each alternative is one
    # swap away from the last, and among the swaps the one keeping a trust tie comes first.
    members = [firm(m, [("weld", 4, 50)]) for m in ("a", "b", "c", "d")]
    p = project(members, ties=[("a", "b", "TRUSTS"), ("c", "d", "TRUSTS"), ("b", "d", "TRUSTS")])
    result = form_consortia(p, order(("weld", 100)))
    sets = [sorted(m["member"] for m in a["members"]) for a in [result["best"],
                                                                 *result["alternatives"]]]
    assert len(sets) == 3 and len({tuple(s) for s in sets}) == 3
    assert all(len(s) == 2 for s in sets)
    assert all(a["ties_inside"] == 1 and a["exact"] and a["coverage"] == 1.0
               for a in [result["best"], *result["alternatives"]])
