"""The network-aware order of a member's suggestions (``matching.allocation``) is computed on the
best few candidates only; these tests check it is the order over every candidate."""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matching.scoring as scoring
from matching.features import View
from matching.projection import build_projection
from matching.scoring import CompetitorPolicy, PartnerMatcher
from tests.networks import network_documents, taxonomy

NID = "order"


def _answers(matcher: PartnerMatcher, limit: int) -> list[Any]:
    return [[(s.member, round(s.score, 9), [(r.kind, r.text) for r in s.reasons])
             for s in matcher.suggest(mid, limit=limit, competitors=policy, view=view)]
            for mid in matcher.projection_.member_ids[:8]
            for view, policy in ((View.MEMBER, CompetitorPolicy.PENALISE),
                                 (View.FACILITATOR, CompetitorPolicy.EXCLUDE))]


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=network_documents(NID, min_members=25, max_members=45), limit=st.integers(1, 6))
def test_ordering_the_best_few_gives_the_order_over_everyone(doc: dict[str, Any],
                                                            limit: int) -> None:
    projection = build_projection(doc["network"], doc["capabilities"], doc["members"],
                                  doc["ties"])
    matcher = PartnerMatcher().fit(projection)
    pruned = _answers(matcher, limit)
    saved = scoring.POOL_PER_ENTRY
    scoring.POOL_PER_ENTRY = 10 ** 6  # every candidate ordered: the definition
    try:
        assert _answers(matcher, limit) == pruned
    finally:
        scoring.POOL_PER_ENTRY = saved


def test_a_network_with_more_candidates_than_the_best_few_orders_as_over_everyone() -> None:
    """Thirty bakeries that all weld, each needing what the others offer (many equal scores at
    the edge of the best few): more candidates than are ordered first, the same answers."""
    doc = {"network": {"id": NID, "name": "Order"}, "capabilities": taxonomy(NID), "ties": [],
           "members": [{"id": f"m{i:02d}", "name": f"M{i}", "sector": "food",
                        "region": "Herencia" if i % 3 else "Madrid",
                        "capabilities": [{"id": f"{NID}-welding", "level": 1 + i % 5},
                                         {"id": f"{NID}-bread", "level": 1 + i % 4}],
                        "needs": [{"id": f"{NID}-welding", "urgency": 1 + i % 3,
                                   "kind": "service"},
                                  {"id": f"{NID}-bread", "urgency": 2, "kind": "partner"}]}
                       for i in range(30)]}
    matcher = PartnerMatcher().fit(build_projection(doc["network"], doc["capabilities"],
                                                    doc["members"], doc["ties"]))
    suggestible = np.isfinite(matcher.score_block(np.arange(30), view=View.MEMBER)[0])
    assert suggestible.sum(axis=1).min() > max(scoring.FIRST_CHECKS, scoring.POOL_PER_ENTRY)
    for limit in (1, 5):
        pruned = _answers(matcher, limit)
        saved = scoring.POOL_PER_ENTRY
        scoring.POOL_PER_ENTRY = 10 ** 6
        try:
            assert _answers(matcher, limit) == pruned
        finally:
            scoring.POOL_PER_ENTRY = saved


def test_a_need_left_uncovered_by_the_best_few_still_reaches_the_list() -> None:
    """Twenty-five welders outscore five bakers for a member that needs welding most and bread
    too: the best few are all welders, yet the second entry is a baker (a varied list)."""
    welders = [{"id": f"a{i:02d}", "name": f"Welder {i}", "sector": "metal",
                "capabilities": [{"id": f"{NID}-welding", "level": 5}]} for i in range(25)]
    bakers = [{"id": f"b{i}", "name": f"Baker {i}", "sector": "food",
               "capabilities": [{"id": f"{NID}-bread", "level": 5}]} for i in range(5)]
    asker = {"id": "q", "name": "Asker", "sector": "retail",
             "needs": [{"id": f"{NID}-welding", "urgency": 5, "kind": "service"},
                       {"id": f"{NID}-bread", "urgency": 3, "kind": "partner"}]}
    matcher = PartnerMatcher().fit(build_projection(
        {"id": NID, "name": "Order"}, taxonomy(NID), [asker, *welders, *bakers], []))
    listed = [s.member for s in matcher.suggest("q", limit=5, view=View.MEMBER)]
    assert listed[0].startswith("a") and listed[1].startswith("b")
