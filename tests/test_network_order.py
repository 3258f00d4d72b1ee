"""The network-aware order of a member's suggestions (``matching.allocation``): a varied list."""

from __future__ import annotations

from matching.features import View
from matching.projection import build_projection
from matching.scoring import PartnerMatcher
from tests.networks import taxonomy

NID = "order"


def test_a_need_left_uncovered_by_the_best_few_still_reaches_the_list() -> None:
    """Twenty-five welders outscore five bakers for a member that needs welding most and bread
    too: the second entry is a baker, not a second welder."""
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
